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
