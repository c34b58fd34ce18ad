//! Credentials (issue 14): every set*id call with Linux's rules for a privileged and an
//! unprivileged caller, supplementary groups, `/proc/self/status`, set-user-ID execs
//! (`guests/creds.c`); and the programs that failed while they were ENOSYS — GNU make's
//! recipes, `su`, `runuser`, python's `os.set*id` — each compared with the same run natively.
#![allow(clippy::unwrap_used)]

use integration_tests::{assert_no_bad_lines, compare, guests, which, RunOpts, TempDir};

fn same(what: &str, argv: &[&str], opts: &RunOpts) -> String {
    let o = compare(argv, opts);
    assert_no_bad_lines(what, &o);
    assert_eq!(o.status, 0, "{what}: {}", o.describe("native"));
    o.stdout_str()
}

#[test]
fn set_id_calls_groups_and_set_user_id_exec() {
    let out = same("creds", &[guests::CREDS], &RunOpts::default());
    assert!(out.contains("setuid 0=EPERM\n"), "{out}");
    assert!(out.contains("groups: Groups:\t10 20 30 \n"), "{out}");
    assert!(
        out.contains("set-id program: uid 1000 1234 1234 gid 1000 4321 4321"),
        "{out}"
    );
    assert!(out.ends_with("done\n"));
}

/// make's child calls set*id before it execs a recipe's command (it printed "make: gcc:
/// Function not implemented" and exited 2 before).
#[test]
fn make_runs_its_recipes() {
    let Some(make) = which("make") else {
        panic!("make not installed: scripts/test.sh installs it");
    };
    let dir = TempDir::new("make");
    std::fs::write(
        dir.join("Makefile"),
        ".PHONY: all version\nall: version\n\techo made\nversion:\n\tgcc --version | head -1\n",
    )
    .unwrap();
    let opts = RunOpts {
        cwd: Some(dir.path().to_path_buf()),
        ..RunOpts::default()
    };
    let make = make.display().to_string();
    let out = same("make", &[&make, "-s"], &opts);
    assert!(out.ends_with("made\n"), "{out}");
}

#[test]
fn su_and_runuser_switch_to_nobody() {
    let want = "uid=65534(nobody) gid=65534(nogroup) groups=65534(nogroup)\n";
    let out = same(
        "su",
        &["su", "nobody", "-s", "/bin/sh", "-c", "id"],
        &RunOpts::default(),
    );
    assert_eq!(out, want);
    let out = same(
        "runuser",
        &["runuser", "-u", "nobody", "--", "id"],
        &RunOpts::default(),
    );
    assert_eq!(out, want);
}

#[test]
fn python_set_id_calls() {
    let py = "import os\n\
              os.setgid(0); os.setgroups([5, 1, 2]); print(os.getgroups())\n\
              os.setresgid(100, 100, 0); print(os.getresgid())\n\
              os.setresuid(1000, 1000, 0); print(os.getresuid())\n\
              os.seteuid(0); print(os.getresuid())\n\
              os.setuid(1000); print(os.getresuid())\n\
              try:\n    os.setuid(0)\nexcept PermissionError as e:\n    print('setuid', e.errno)\n";
    let out = same(
        "python",
        &["/usr/bin/python3", "-c", py],
        &RunOpts::default(),
    );
    assert!(out.ends_with("setuid 1\n"), "{out}");
}

/// Capability sets: what root holds, what leaving root does with and without
/// `PR_SET_KEEPCAPS`, `setpriv` dropping bounding and inheritable capabilities,
/// `capget`/`capset` and the `prctl` capability calls, against native. (The script starts
/// by dropping `CAP_SYS_RESOURCE` from the bounding set: hosts that run tests in a
/// container often lack it.)
#[test]
fn capabilities_keepcaps_and_setpriv() {
    let py = "import ctypes, os\n\
              libc = ctypes.CDLL(None, use_errno=True)\n\
              def caps():\n    return [l.split()[1] for l in open('/proc/self/status') if l.startswith('Cap')]\n\
              print('root', caps())\n\
              print('keepcaps', libc.prctl(8, 1, 0, 0, 0), libc.prctl(7, 0, 0, 0, 0))\n\
              print('bset', libc.prctl(23, 40, 0, 0, 0), libc.prctl(23, 41, 0, 0, 0), ctypes.get_errno())\n\
              hdr = (ctypes.c_uint32 * 2)(0x20080522, 0)\n\
              data = (ctypes.c_uint32 * 6)()\n\
              print('capget', libc.capget(hdr, data), list(data))\n\
              old = (ctypes.c_uint32 * 2)(1, 0)\n\
              print('unknown version', libc.capget(old, data), ctypes.get_errno(), hex(old[0]))\n\
              data[0] &= ~(1 << 7)\n\
              print('drop setuid', libc.capset(hdr, data), caps())\n\
              data[0] |= 1 << 7\n\
              print('regain', libc.capset(hdr, data), ctypes.get_errno())\n\
              os.setresuid(1000, 1000, 1000)\n\
              print('kept', caps())\n\
              print('ambient', libc.prctl(47, 2, 7, 0, 0), ctypes.get_errno())\n";
    let script = format!(
        "grep Cap /proc/self/status; setpriv --dump | grep -v '^Capability bounding'; \
         setpriv --reuid=65534 --regid=65534 --clear-groups -- grep Cap /proc/self/status; \
         setpriv --inh-caps=-all --bounding-set=-chown -- grep Cap /proc/self/status; \
         python3 -c \"{py}\""
    );
    let out = same(
        "capabilities",
        &[
            "setpriv",
            "--bounding-set=-sys_resource",
            "--",
            "/bin/sh",
            "-c",
            &script,
        ],
        &RunOpts::default(),
    );
    assert!(out.contains("keepcaps 0 1\n"), "{out}");
}
