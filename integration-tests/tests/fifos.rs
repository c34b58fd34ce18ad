//! FIFOs (named pipes) and `mknod`: a C guest (open rules, data, readiness, names, device
//! nodes as root) and shell scripts (busybox and the host's bash and coreutils), run
//! natively and under uml in scratch directories; stdout and status must match. uml's FIFOs
//! live in the overlay: the host directory stays empty. On host trees (bind mounts) FIFOs
//! are neither made nor opened.
#![allow(clippy::unwrap_used)]

use std::fs;
use std::path::Path;
use std::process::Command;

use integration_tests::{
    arg, assert_no_bad_lines, assert_same, busybox, guests, run_native, run_uml, script, Outcome,
    RunOpts, TempDir,
};

fn has(o: &Outcome, line: &str) {
    let out = o.stdout_str();
    assert!(
        out.lines().any(|l| l == line),
        "expected line {line:?} in:\n{out}"
    );
}

fn empty(dir: &Path) -> bool {
    fs::read_dir(dir).unwrap().next().is_none()
}

/// Runs `argv` + a scratch directory natively and under uml (each in its own directory),
/// with `env`: same stdout and status, a final `done`, and nothing left on the host by uml.
fn compare_in_scratch(tag: &str, argv: &[std::ffi::OsString], env: &[(&str, &Path)]) -> Outcome {
    let native_dir = TempDir::new(&format!("{tag}-native"));
    let uml_dir = TempDir::new(&format!("{tag}-uml"));
    let with = |d: &TempDir| {
        let mut v = argv.to_vec();
        v.push(arg(d.path()));
        v
    };
    let opts = RunOpts {
        env: env
            .iter()
            .map(|(k, v)| (k.to_string(), v.display().to_string()))
            .collect(),
        ..RunOpts::default()
    };
    let native = run_native(&with(&native_dir), &opts);
    let uml = run_uml(&with(&uml_dir), &opts);
    assert_same(tag, &native, &uml);
    assert_no_bad_lines(tag, &native);
    assert!(
        native.stdout_str().ends_with("done\n"),
        "{}",
        native.describe("native")
    );
    assert_eq!(native.status, 0, "{}", native.describe("native"));
    assert!(empty(uml_dir.path()), "uml wrote to the host directory");
    native
}

#[test]
fn fifo_guest() {
    let o = compare_in_scratch("fifo", &[arg(guests::FIFO)], &[]);
    has(&o, "mkfifo: fifo perm=644 size=0 nlink=1");
    has(&o, "reader first: read 5 'hello' then 0");
    has(&o, "writer first: child read 5 'world'");
    has(&o, "nonblocking writer, no reader=ENXIO");
    has(&o, "writer without reader: signaled=1 sig=13");
    has(&o, "no reader left behind=ENXIO");
    has(&o, "/proc/self/fd link is the path: 1");
    has(&o, "unknown char: char perm=600 size=0 nlink=1 rdev=240:7");
}

#[test]
fn fifo_in_busybox_sh() {
    let bb = busybox();
    let argv = [arg(&bb), arg("sh"), arg(script("fifo.sh"))];
    let o = compare_in_scratch("fifo-bb", &argv, &[("BB", &bb)]);
    has(&o, "prw-r--r--");
    has(&o, "fifo 644");
}

#[test]
fn fifo_in_bash_with_coreutils() {
    let o = compare_in_scratch(
        "fifo-bash",
        &[arg("/bin/bash"), arg(script("fifo.sh"))],
        &[],
    );
    has(&o, "hi");
    has(&o, "regular file");
}

#[test]
fn fifos_on_host_trees_are_neither_made_nor_opened() {
    let rw = TempDir::new("fifo-rw");
    let ro = TempDir::new("fifo-ro");
    let made = Command::new("mkfifo")
        .arg(rw.join("host.fifo"))
        .status()
        .unwrap();
    assert!(made.success());
    let bb = busybox();
    let sh = format!(
        "{bb} mkfifo /mnt/ro/p; {bb} mkfifo /mnt/rw/p; {bb} cat /mnt/rw/host.fifo; \
         {bb} stat -c %F /mnt/rw/host.fifo; echo done",
        bb = bb.display()
    );
    let opts = RunOpts {
        uml_flags: vec![
            "-v".into(),
            format!("{}:/mnt/ro:ro", ro.path().display()),
            "-v".into(),
            format!("{}:/mnt/rw", rw.path().display()),
        ],
        ..RunOpts::default()
    };
    let o = run_uml(&[arg(&bb), arg("sh"), arg("-c"), arg(sh)], &opts);
    let err = o.stderr_str();
    assert!(err.contains("/mnt/ro/p: Read-only file system"), "{err}");
    assert!(err.contains("/mnt/rw/p: Operation not permitted"), "{err}");
    assert!(
        err.contains("/mnt/rw/host.fifo': Permission denied"),
        "{err}"
    );
    has(&o, "fifo");
    has(&o, "done");
    assert!(empty(ro.path()));
    let names: Vec<_> = fs::read_dir(rw.path()).unwrap().collect();
    assert_eq!(names.len(), 1, "only the host's own FIFO");
}
