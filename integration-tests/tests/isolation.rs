//! Process-level properties: what a stub process maps, that killing uml leaves no process
//! behind, and running unprivileged.
#![allow(clippy::unwrap_used)]

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use integration_tests::{
    alive, assert_same, descendants, guests, run_command, uml_bin, uml_command, RunOpts, TempDir,
    DEFAULT_TIMEOUT,
};

/// The path column of a /proc/PID/maps line ("" for anonymous mappings).
fn map_path(line: &str) -> String {
    let fields: Vec<&str> = line.split_whitespace().collect();
    if fields.len() > 5 {
        fields[5..].join(" ")
    } else {
        String::new()
    }
}

const ALLOWED: &[&str] = &[
    "memfd:uml-stub (deleted)",
    "/memfd:uml-stub (deleted)",
    "memfd:uml-phys (deleted)",
    "/memfd:uml-phys (deleted)",
    "[vsyscall]",
];

#[test]
fn stub_maps_only_uml_memory() {
    let tmp = TempDir::new("stubpids");
    let pids_file = tmp.join("stub-pids");
    let mut cmd = uml_command(&[guests::SLEEPER, "2"], &RunOpts::default());
    cmd.env("UML_DEBUG_STUB_PIDS_FILE", &pids_file)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let mut child = cmd.spawn().expect("spawn uml");

    // Wait for the stub to be announced and the guest to be running.
    let deadline = Instant::now() + Duration::from_millis(1500);
    let mut pids: Vec<u32> = Vec::new();
    while Instant::now() < deadline {
        pids = fs::read_to_string(&pids_file)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.trim().parse().ok())
            .collect();
        if !pids.is_empty() {
            break;
        }
        sleep(Duration::from_millis(20));
    }
    sleep(Duration::from_millis(300));
    let mut report = Vec::new();
    let mut checked = 0;
    for pid in &pids {
        let Ok(maps) = fs::read_to_string(format!("/proc/{pid}/maps")) else {
            report.push(format!("pid {pid}: cannot read maps (already gone?)"));
            continue;
        };
        checked += 1;
        for line in maps.lines() {
            let path = map_path(line);
            let forbidden = path.contains("uml") && !path.contains("memfd:uml-")
                || path == "[heap]"
                || path == "[stack]"
                || path == "[vdso]"
                || path == "[vvar]"
                || path.contains(".so");
            if forbidden || !ALLOWED.contains(&path.as_str()) {
                report.push(format!("pid {pid}: {line}"));
            }
        }
    }
    let status = child.wait().expect("wait uml");
    assert!(
        !pids.is_empty(),
        "uml wrote no stub pid to UML_DEBUG_STUB_PIDS_FILE"
    );
    assert!(checked > 0, "no stub maps could be read: {report:?}");
    assert!(
        report.is_empty(),
        "stub mappings not allowed:\n{}",
        report.join("\n")
    );
    assert!(status.success(), "uml exited with {status:?}");
}

#[test]
fn killing_uml_leaves_no_process() {
    let mut cmd = uml_command(&[guests::SLEEPER, "30"], &RunOpts::default());
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut child = cmd.spawn().expect("spawn uml");
    let uml_pid = child.id();

    let deadline = Instant::now() + Duration::from_secs(10);
    let mut procs = Vec::new();
    while Instant::now() < deadline {
        procs = descendants(uml_pid);
        if !procs.is_empty() {
            break;
        }
        sleep(Duration::from_millis(20));
    }
    // Let the guest reach its nanosleep, then collect again (more stubs may have started).
    sleep(Duration::from_millis(500));
    for p in descendants(uml_pid) {
        if !procs.contains(&p) {
            procs.push(p);
        }
    }
    if procs.is_empty() {
        let _ = child.kill();
        let _ = child.wait();
        panic!("uml started no child process");
    }

    child.kill().expect("SIGKILL uml");
    child.wait().expect("reap uml");
    let deadline = Instant::now() + Duration::from_secs(2);
    let mut left: Vec<(u32, u64)> = procs.clone();
    while Instant::now() < deadline {
        left.retain(|&(pid, start)| alive(pid, start));
        if left.is_empty() {
            break;
        }
        sleep(Duration::from_millis(20));
    }
    // Clean up on failure so the test does not leak processes.
    for &(pid, _) in &left {
        // SAFETY: kill(2) with a pid we observed as uml's descendant; no memory is involved.
        unsafe { libc::kill(pid as i32, libc::SIGKILL) };
    }
    assert!(
        left.is_empty(),
        "processes survived SIGKILL of uml for 2 s: {left:?}"
    );
}

#[test]
fn unprivileged_user() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("not root: the test already runs unprivileged; covered by the other tests");
        return;
    }
    let Some(setpriv) = integration_tests::which("setpriv") else {
        eprintln!("setpriv missing; skipping");
        return;
    };
    let tmp = TempDir::new("nobody");
    fs::set_permissions(tmp.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let uml = tmp.join("uml");
    fs::copy(uml_bin(), &uml).unwrap();
    fs::set_permissions(&uml, fs::Permissions::from_mode(0o755)).unwrap();
    for guest in [guests::HELLO, guests::AUXV, guests::TIME] {
        let g = tmp.join(std::path::Path::new(guest).file_name().unwrap());
        fs::copy(guest, &g).unwrap();
        fs::set_permissions(&g, fs::Permissions::from_mode(0o755)).unwrap();
        let as_nobody = |prog: &[&std::ffi::OsStr]| {
            let mut cmd = Command::new(&setpriv);
            cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"]);
            cmd.args(prog);
            cmd.current_dir(tmp.path());
            run_command(cmd, DEFAULT_TIMEOUT)
        };
        let native = as_nobody(&[g.as_os_str()]);
        let under = as_nobody(&[
            uml.as_os_str(),
            "run".as_ref(),
            "--user=65534:65534".as_ref(),
            "--".as_ref(),
            g.as_os_str(),
        ]);
        assert_same(&format!("{} as nobody", g.display()), &native, &under);
        assert_eq!(native.status, 0, "{}", native.describe("native"));
    }
}

/// Started by an ordinary user, uml's guest is root by default (uml's root: it may change
/// anything in the overlay, new files are its own) while what reaches the host is still done
/// as the user: a host directory the user may not write stays unwritable.
#[test]
fn guest_is_root_by_default_even_unprivileged() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("not root: cannot switch to nobody");
        return;
    }
    let Some(setpriv) = integration_tests::which("setpriv") else {
        eprintln!("setpriv missing; skipping");
        return;
    };
    let tmp = TempDir::new("guestroot");
    fs::set_permissions(tmp.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let uml = tmp.join("uml");
    fs::copy(uml_bin(), &uml).unwrap();
    fs::set_permissions(&uml, fs::Permissions::from_mode(0o755)).unwrap();
    let host_dir = tmp.join("rootonly");
    fs::create_dir(&host_dir).unwrap();
    fs::set_permissions(&host_dir, fs::Permissions::from_mode(0o755)).unwrap();
    let script = "id -u; id -g; echo hi > /etc/uml-x && cat /etc/uml-x; \
                  touch /tmp/uml-y; stat -c '%u %g' /tmp/uml-y /etc/passwd; \
                  touch /mnt/z 2>/dev/null || echo host refused; \
                  su nobody -s /bin/sh -c 'touch /etc/uml-z' 2>/dev/null || echo nobody refused";
    let mut cmd = Command::new(&setpriv);
    cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(&uml)
        .arg("run")
        .arg("-v")
        .arg(format!("{}:/mnt", host_dir.display()))
        .args(["--", "/bin/sh", "-c", script])
        .current_dir(tmp.path());
    let o = run_command(cmd, DEFAULT_TIMEOUT);
    assert_eq!(o.status, 0, "{}", o.describe("uml as nobody"));
    assert_eq!(
        o.stdout_str(),
        "0\n0\nhi\n0 0\n0 0\nhost refused\nnobody refused\n",
        "{}",
        o.describe("uml as nobody")
    );
    assert!(!host_dir.join("z").exists());
}
