//! Keys and keyrings (`add_key`, `request_key`, `keyctl`) and `personality`, run natively
//! and under uml with both trap mechanisms; stdout and exit status must be identical.
#![allow(clippy::unwrap_used)]

use integration_tests::{compare, guests, RunOpts};

const TRAPS: [&str; 2] = ["--trap=ptrace", "--trap=seccomp"];

#[test]
fn keys_and_personality() {
    for trap in TRAPS {
        let opts = RunOpts {
            uml_flags: vec![trap.into()],
            ..RunOpts::default()
        };
        let o = compare(&[guests::KEYS], &opts);
        assert_eq!(o.status, 0, "{}", o.describe(trap));
        let out = o.stdout_str();
        for want in [
            "payload: new\nadd again updates: 1\n",
            "description: user;0;0;3f010000;k1\n",
            "read logon: EOPNOTSUPP\n",
            "links: 1 1 0\n",
            "cycle: EDEADLK\n",
            "revoke again: EKEYREVOKED\n",
            "child session same: 1\nchild process keyring: ENOKEY\n",
            "now 0x8\nchild 0x8\nuname26 release starts 2.6.: 1\n",
        ] {
            assert!(out.contains(want), "missing {want:?} in:\n{out}");
        }
    }
}
