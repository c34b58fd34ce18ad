//! Each static C guest in `guests/`, run natively and under `uml run --`; stdout and exit status
//! must be identical.
#![allow(clippy::unwrap_used)]

use std::ffi::OsStr;

use integration_tests::{
    assert_no_bad_lines, compare, guests, run_command, run_native, run_uml, uml_command, RunOpts,
    TempDir, DEFAULT_TIMEOUT,
};

fn plain() -> RunOpts {
    RunOpts::default()
}

#[test]
fn hello() {
    let o = compare(&[guests::HELLO], &plain());
    assert_eq!(o.stdout_str(), "hello, world\n");
    assert_eq!(o.status, 0);
}

#[test]
fn exit_code() {
    let o = compare(&[guests::EXIT_CODE], &plain());
    assert_eq!(o.status, 42);
}

#[test]
fn argv_and_env_via_e_flag() {
    let opts = RunOpts {
        env: vec![
            ("UML_TEST_A".into(), "alpha".into()),
            ("UML_TEST_B".into(), "with space=and equals".into()),
            ("UML_TEST_EMPTY".into(), String::new()),
        ],
        ..plain()
    };
    let o = compare(
        &[
            guests::ARGV_ENVP,
            "one",
            "",
            "two words",
            "ünïcødé",
            "--",
            "-e",
            "last",
        ],
        &opts,
    );
    let out = o.stdout_str();
    assert!(out.contains("argc=8\n"), "{out}");
    assert!(
        out.contains("env UML_TEST_B=with space=and equals\n"),
        "{out}"
    );
    // execve with argv NULL: the program still gets argc 1 (an empty argv[0]).
    let o = compare(&[guests::ARGV_ENVP, "exec-empty-argv"], &plain());
    assert!(
        o.stdout_str().starts_with("argc=1\nargv[0]=\n"),
        "{}",
        o.describe("argv")
    );
}

#[test]
fn env_inherited_from_host_and_overridden_by_e() {
    // Inherited: set in uml's own environment.
    let mut native = std::process::Command::new(guests::ARGV_ENVP);
    native
        .env("UML_TEST_A", "from-host")
        .env_remove("UML_TEST_B");
    let n = run_command(native, DEFAULT_TIMEOUT);
    let mut uml = uml_command(&[guests::ARGV_ENVP], &plain());
    uml.env("UML_TEST_A", "from-host").env_remove("UML_TEST_B");
    let u = run_command(uml, DEFAULT_TIMEOUT);
    integration_tests::assert_same("inherited env", &n, &u);
    assert!(n.stdout_str().contains("env UML_TEST_A=from-host\n"));

    // Overridden: host has one value, -e gives another.
    let mut native = std::process::Command::new(guests::ARGV_ENVP);
    native.env("UML_TEST_A", "override");
    let n = run_command(native, DEFAULT_TIMEOUT);
    let opts = RunOpts {
        env: vec![("UML_TEST_A".into(), "override".into())],
        ..plain()
    };
    let mut uml = uml_command(&[guests::ARGV_ENVP], &opts);
    uml.env("UML_TEST_A", "from-host");
    let u = run_command(uml, DEFAULT_TIMEOUT);
    integration_tests::assert_same("-e overrides host env", &n, &u);
}

#[test]
fn working_directory_flag() {
    let tmp = TempDir::new("cwd");
    let opts = RunOpts {
        cwd: Some(tmp.path().to_path_buf()),
        ..plain()
    };
    let o = compare(&[guests::ARGV_ENVP], &opts);
    assert!(o
        .stdout_str()
        .contains(&format!("cwd={}\n", tmp.path().display())));
}

#[test]
fn default_working_directory_is_hosts() {
    let o = compare(&[guests::ARGV_ENVP], &plain());
    let cwd = std::env::current_dir().unwrap();
    assert!(o.stdout_str().contains(&format!("cwd={}\n", cwd.display())));
}

#[test]
fn auxv() {
    let o = compare(&[guests::AUXV], &plain());
    assert_no_bad_lines("auxv", &o);
    assert_eq!(o.status, 0);
}

#[test]
fn memory() {
    let tmp = TempDir::new("memory");
    let scratch = tmp.join("scratch");
    let o = compare(&[OsStr::new(guests::MEMORY), scratch.as_os_str()], &plain());
    assert_no_bad_lines("memory", &o);
    assert_eq!(o.status, 0);
    assert!(!scratch.exists(), "guest left its scratch dir on the host");
}

#[test]
fn mremap() {
    let o = compare(&[guests::MREMAP], &plain());
    assert_no_bad_lines("mremap", &o);
    assert_eq!(o.status, 0);
}

#[test]
fn shared_file_mapping() {
    let tmp = TempDir::new("shared_map");
    let scratch = tmp.join("scratch");
    let o = compare(
        &[OsStr::new(guests::SHARED_MAP), scratch.as_os_str()],
        &plain(),
    );
    assert_no_bad_lines("shared_map", &o);
    assert_eq!(o.status, 0);
}

#[test]
fn files() {
    let tmp = TempDir::new("files");
    let scratch = tmp.join("scratch");
    let o = compare(&[OsStr::new(guests::FILES), scratch.as_os_str()], &plain());
    assert_no_bad_lines("files", &o);
    assert_eq!(o.status, 0);
    assert!(!scratch.exists(), "scratch dir left on the host");
}

#[test]
fn files_overlay_does_not_touch_host() {
    // Under the default overlay root the guest's writes must not reach the host: run only the
    // uml side and check the host directory stays empty.
    let tmp = TempDir::new("files-overlay");
    let scratch = tmp.join("scratch");
    let u = integration_tests::run_uml(&[OsStr::new(guests::FILES), scratch.as_os_str()], &plain());
    assert_eq!(u.status, 0, "{}", u.describe("uml"));
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);
}

#[test]
fn errnos() {
    let tmp = TempDir::new("errnos");
    let scratch = tmp.join("scratch");
    let o = compare(&[OsStr::new(guests::ERRNOS), scratch.as_os_str()], &plain());
    assert_no_bad_lines("errnos", &o);
    assert_eq!(o.status, 0);
}

#[test]
fn garbage_pointers() {
    let o = compare(&[guests::GARBAGE], &plain());
    assert_eq!(o.status, 0);
    assert!(o.stdout_str().ends_with("done\n"));
}

#[test]
fn segv_kills_with_139() {
    let tmp = TempDir::new("segv"); // cwd: a core file, if any, lands here
    let opts = RunOpts {
        cwd: Some(tmp.path().to_path_buf()),
        ..plain()
    };
    let o = compare(&[guests::SEGV], &opts);
    assert_eq!(o.status, 139);
}

#[test]
fn fpu_state_preserved() {
    let o = compare(&[guests::FPU], &plain());
    assert_no_bad_lines("fpu", &o);
    assert_eq!(o.status, 0);
}

#[test]
fn time() {
    let o = compare(&[guests::TIME], &plain());
    assert_no_bad_lines("time", &o);
    assert_eq!(o.status, 0);
}

#[test]
fn sleeper_short() {
    let o = compare(&[guests::SLEEPER, "0"], &plain());
    assert_eq!(o.stdout_str(), "sleeping\nwoke\n");
}

#[test]
fn native_guests_are_static() {
    for g in [guests::HELLO, guests::AUXV, guests::FILES, guests::FPU] {
        assert!(
            !integration_tests::is_dynamic_elf(g.as_ref()),
            "{g} must be static"
        );
    }
    let o = run_native(&[guests::HELLO], &plain());
    assert_eq!(o.status, 0);
}

#[test]
fn memory_beyond_mem_is_enomem() {
    let opts = RunOpts {
        uml_flags: vec!["--mem".into(), "64M".into()],
        ..RunOpts::default()
    };
    let o = integration_tests::run_uml(&[guests::OOM, "128"], &opts);
    assert_eq!(o.status, 0, "{}", o.describe("uml --mem 64M"));
    assert_eq!(
        o.stdout_str(),
        "mmap big: Cannot allocate memory\nsbrk big: failed\nbreak unchanged: yes\nmalloc big: NULL\nsmall touched: ok\n",
        "{}",
        o.describe("uml --mem 64M")
    );
}

#[test]
fn native_aio() {
    let o = compare(&[guests::AIO], &plain());
    assert_no_bad_lines("aio", &o);
    assert!(o.stdout_str().ends_with("done\n"), "{}", o.describe("aio"));
    assert_eq!(o.status, 0);
}

/// Setting the clock: the failures compared with Linux (none of the calls sets anything,
/// so the native run leaves the host's clock alone); then, under uml only, the instance's
/// wall clock and time zone set, every reader agreeing, and the host's clock untouched.
#[test]
fn setting_the_clock() {
    let o = compare(&[guests::SETTIME, "errors"], &plain());
    assert_no_bad_lines("settime", &o);
    assert!(
        o.stdout_str().ends_with("done\n"),
        "{}",
        o.describe("settime")
    );
    let before = std::time::SystemTime::now();
    let o = run_uml(&[guests::SETTIME, "set"], &plain());
    assert_no_bad_lines("settime set", &o);
    let out = o.stdout_str();
    for line in out
        .lines()
        .filter(|l| l.ends_with(": 0") || l.ends_with(": 1"))
    {
        let want_zero = line.starts_with("clock_settime 2001")
            || line.starts_with("adjtimex set")
            || line.starts_with("settimeofday tz");
        assert_eq!(line.ends_with(": 0"), want_zero, "{line}\n{out}");
    }
    assert!(
        out.contains("adjtimex read: state=0 maxerror=1234\n"),
        "{out}"
    );
    assert!(out.contains("gettimeofday tz: -60\n"), "{out}");
    assert!(out.ends_with("done\n"), "{}", o.describe("settime set"));
    let host = std::time::SystemTime::now();
    assert!(host >= before, "the host's clock went back");
}

#[test]
fn unshare_files() {
    let o = compare(&[guests::UNSHARE], &plain());
    assert_no_bad_lines("unshare", &o);
    assert!(
        o.stdout_str().ends_with("done\n"),
        "{}",
        o.describe("unshare")
    );
    assert_eq!(o.status, 0);
}

#[test]
fn kernel_log() {
    let o = compare(&[guests::KLOG], &plain());
    assert_no_bad_lines("klog", &o);
    assert!(o.stdout_str().ends_with("done\n"), "{}", o.describe("klog"));
    assert_eq!(o.status, 0);
}

#[test]
fn chroot() {
    let o = compare(&[guests::CHROOT, guests::HELLO], &plain());
    assert_no_bad_lines("chroot", &o);
    assert!(
        o.stdout_str().contains("hello, world\n"),
        "{}",
        o.describe("chroot")
    );
    assert!(
        o.stdout_str().ends_with("done\n"),
        "{}",
        o.describe("chroot")
    );
    assert_eq!(o.status, 0);
}

#[test]
fn file_call_details() {
    let o = compare(&[guests::FS_DETAILS], &plain());
    assert_no_bad_lines("fs_details", &o);
    for want in [
        "write across the limit: 100\n",
        "write at the limit=EFBIG\n",
        "truncate past the limit=EFBIG\n",
        "SIGXFSZ pending: 1\n",
        "mmap of an O_PATH fd=EBADF\n",
        "readlinkat of the fd itself: 11\n",
        "poll of a directory: revents=0x5\n",
        "entropy: ioctl 256, proc 256\n",
        "epoll nesting stops at level 6: ELOOP\n",
        "close_range UNSHARE: child closed 1, parent's still open 1\n",
        "F_CREATED_QUERY after creating: 1\nF_CREATED_QUERY after reopening: 0\n",
    ] {
        assert!(o.stdout_str().contains(want), "missing {want:?}");
    }
    assert!(
        o.stdout_str().ends_with("done\n"),
        "{}",
        o.describe("fs_details")
    );
    assert_eq!(o.status, 0);
}

#[test]
fn signal_driven_io() {
    let o = compare(&[guests::FASYNC], &plain());
    assert_no_bad_lines("fasync", &o);
    assert!(
        o.stdout_str().ends_with("done\n"),
        "{}",
        o.describe("fasync")
    );
    assert_eq!(o.status, 0);
}
