//! Bind mounts (`uml run -v HOST:GUEST[:ro]`): read-write mounts write through to HOST and
//! nowhere else, read-only ones fail writes with `EROFS`, and nothing inside a mount
//! (`..`, relative or absolute symlinks) resolves outside it. There is no native
//! counterpart (mounting needs privileges), so these run under uml only and check the host
//! tree afterwards.
#![allow(clippy::unwrap_used)]

use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::Path;

use integration_tests::{run_uml, Outcome, RunOpts, TempDir};

const TRAPS: [&str; 2] = ["--trap=ptrace", "--trap=seccomp"];
const PYTHON: &str = "/usr/bin/python3";

/// A scratch tree: `host/` (to mount; `file`, `sub/`, and symlinks `rel` -> `../outside.txt`
/// and `abs` -> the absolute host path of `outside.txt`) and `outside.txt` beside it.
fn tree(tag: &str) -> TempDir {
    let tmp = TempDir::new(tag);
    fs::create_dir_all(tmp.join("host/sub")).unwrap();
    fs::write(tmp.join("host/file"), "data\n").unwrap();
    fs::write(tmp.join("host/doomed"), "bye\n").unwrap();
    fs::write(tmp.join("outside.txt"), "original\n").unwrap();
    symlink("../outside.txt", tmp.join("host/rel")).unwrap();
    symlink(tmp.join("outside.txt"), tmp.join("host/abs")).unwrap();
    tmp
}

fn run(flags: &[String], script: &str) -> Outcome {
    let opts = RunOpts {
        uml_flags: flags.to_vec(),
        ..RunOpts::default()
    };
    run_uml(&[PYTHON, "-c", script], &opts)
}

/// Python that tries `calls` (source lines evaluating to a call) and prints each result.
fn probe(calls: &[&str]) -> String {
    let mut s = String::from(
        "import errno, os\n\
         def t(name, f):\n\
         \x20   try:\n\
         \x20       r = f()\n\
         \x20       print(name, 'ok' if r is None else r)\n\
         \x20   except OSError as e:\n\
         \x20       print(name, errno.errorcode[e.errno])\n",
    );
    for c in calls {
        s.push_str(&format!("t({c:?}, lambda: {c})\n"));
    }
    s
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn read_write_mount_writes_only_under_host() {
    for trap in TRAPS {
        let tmp = tree("bind-rw");
        let vol = format!("{}:/mnt/deep/m", tmp.join("host").display());
        let flags = vec![trap.to_string(), "-v".into(), vol];
        let script = probe(&[
            "open('/mnt/deep/m/file').read()",
            "open('/mnt/deep/m/new.txt', 'w').write('hello\\n')",
            "os.mkdir('/mnt/deep/m/d')",
            "os.unlink('/mnt/deep/m/doomed')",
            "sorted(os.listdir('/mnt/deep'))",
            "open('/mnt/deep/m/../m/file').read()",
            "os.path.exists('/mnt/deep/m/../outside.txt')",
            "open('/mnt/deep/m/rel').read()",
            "open('/mnt/deep/m/rel', 'w').write('pwned')",
            "open('/mnt/deep/m/abs', 'w').write('pwned')",
            "open('/mnt/deep/m/abs').read()",
            "os.rename('/mnt/deep/m/file', '/tmp/moved')",
            "os.rmdir('/mnt/deep/m')",
            "os.chdir('/mnt/deep/m/sub') or os.getcwd()",
            "os.chdir('../..') or os.getcwd()",
        ]);
        let o = run(&flags, &script);
        assert_eq!(o.status, 0, "{}", o.describe(trap));
        assert_eq!(
            o.stdout_str(),
            "open('/mnt/deep/m/file').read() data\n\n\
             open('/mnt/deep/m/new.txt', 'w').write('hello\\n') 6\n\
             os.mkdir('/mnt/deep/m/d') ok\n\
             os.unlink('/mnt/deep/m/doomed') ok\n\
             sorted(os.listdir('/mnt/deep')) ['m']\n\
             open('/mnt/deep/m/../m/file').read() data\n\n\
             os.path.exists('/mnt/deep/m/../outside.txt') False\n\
             open('/mnt/deep/m/rel').read() ENOENT\n\
             open('/mnt/deep/m/rel', 'w').write('pwned') ENOENT\n\
             open('/mnt/deep/m/abs', 'w').write('pwned') 5\n\
             open('/mnt/deep/m/abs').read() pwned\n\
             os.rename('/mnt/deep/m/file', '/tmp/moved') EXDEV\n\
             os.rmdir('/mnt/deep/m') EBUSY\n\
             os.chdir('/mnt/deep/m/sub') or os.getcwd() /mnt/deep/m/sub\n\
             os.chdir('../..') or os.getcwd() /mnt/deep\n",
            "{}",
            o.describe(trap)
        );
        // The guest's changes reached HOST; the absolute symlink was resolved in the guest
        // (its write went to the overlay), and nothing beside HOST changed.
        assert_eq!(
            fs::read_to_string(tmp.join("host/new.txt")).unwrap(),
            "hello\n"
        );
        assert!(tmp.join("host/d").is_dir());
        assert!(!tmp.join("host/doomed").exists());
        assert_eq!(
            names(&tmp.join("host")),
            ["abs", "d", "file", "new.txt", "rel", "sub"]
        );
        assert_eq!(names(tmp.path()), ["host", "outside.txt"]);
        assert_eq!(
            fs::read_to_string(tmp.join("outside.txt")).unwrap(),
            "original\n"
        );
    }
}

#[test]
fn read_only_mount_fails_writes_with_erofs() {
    let tmp = tree("bind-ro");
    let vol = format!("{}:/ro:ro", tmp.join("host").display());
    let script = probe(&[
        "open('/ro/file').read()",
        "open('/ro/file', 'w')",
        "open('/ro/file', 'a')",
        "open('/ro/new', 'w')",
        "os.mkdir('/ro/d')",
        "os.unlink('/ro/file')",
        "os.rmdir('/ro/sub')",
        "os.rename('/ro/file', '/ro/f2')",
        "os.symlink('x', '/ro/l')",
        "os.link('/ro/file', '/ro/l2')",
        "os.chmod('/ro/file', 0o600)",
        "os.utime('/ro/file')",
        "os.truncate('/ro/file', 0)",
        "os.access('/ro/file', os.W_OK)",
        "os.access('/ro/file', os.R_OK)",
        "sorted(os.listdir('/ro'))",
    ]);
    let before = names(&tmp.join("host"));
    let o = run(&["-v".into(), vol], &script);
    assert_eq!(o.status, 0, "{}", o.describe("uml"));
    assert_eq!(
        o.stdout_str(),
        "open('/ro/file').read() data\n\n\
         open('/ro/file', 'w') EROFS\n\
         open('/ro/file', 'a') EROFS\n\
         open('/ro/new', 'w') EROFS\n\
         os.mkdir('/ro/d') EROFS\n\
         os.unlink('/ro/file') EROFS\n\
         os.rmdir('/ro/sub') EROFS\n\
         os.rename('/ro/file', '/ro/f2') EROFS\n\
         os.symlink('x', '/ro/l') EROFS\n\
         os.link('/ro/file', '/ro/l2') EROFS\n\
         os.chmod('/ro/file', 0o600) EROFS\n\
         os.utime('/ro/file') EROFS\n\
         os.truncate('/ro/file', 0) EROFS\n\
         os.access('/ro/file', os.W_OK) False\n\
         os.access('/ro/file', os.R_OK) True\n\
         sorted(os.listdir('/ro')) ['abs', 'doomed', 'file', 'rel', 'sub']\n",
        "{}",
        o.describe("uml")
    );
    assert_eq!(names(&tmp.join("host")), before);
    assert_eq!(fs::read_to_string(tmp.join("host/file")).unwrap(), "data\n");
}

#[test]
fn mount_points_are_made_in_the_overlay_and_may_nest() {
    let tmp = tree("bind-nest");
    let other = TempDir::new("bind-nest-other");
    fs::write(other.join("inner.txt"), "inner\n").unwrap();
    // The first mount point lies under a host directory that exists: it is created in the
    // guest only. The second is nested inside the first mount.
    let outer = tmp.join("made/here");
    let flags = vec![
        "-v".into(),
        format!("{}:{}", tmp.join("host").display(), outer.display()),
        "-v".into(),
        format!("{}:{}/sub:ro", other.path().display(), outer.display()),
    ];
    let script = format!(
        "import os\nprint(sorted(os.listdir({made:?})))\nprint(open({inner:?}).read(), end='')\n\
         print(sorted(os.listdir({outer:?})))",
        made = tmp.join("made").display().to_string(),
        inner = outer.join("sub/inner.txt").display().to_string(),
        outer = outer.display().to_string(),
    );
    let o = run(&flags, &script);
    assert_eq!(o.status, 0, "{}", o.describe("uml"));
    assert_eq!(
        o.stdout_str(),
        "['here']\ninner\n['abs', 'doomed', 'file', 'rel', 'sub']\n"
    );
    assert_eq!(names(tmp.path()), ["host", "outside.txt"]);
    assert!(names(&tmp.join("host/sub")).is_empty());
}

#[test]
fn bad_volumes_are_cli_errors() {
    let tmp = tree("bind-bad");
    let host = tmp.join("host").display().to_string();
    for vol in [
        format!("{}:/x", tmp.join("missing").display()),
        format!("{host}:relative"),
        format!("{host}:/a/../b"),
        format!("{host}:/"),
        host.clone(),
        format!("{}:/x", tmp.join("outside.txt").display()),
    ] {
        let o = run_uml(
            &["/bin/true"],
            &RunOpts {
                uml_flags: vec!["-v".into(), vol.clone()],
                ..RunOpts::default()
            },
        );
        assert_eq!(o.status, 2, "-v {vol}: {}", o.describe("uml"));
    }
}

#[test]
fn read_only_mount_errors_come_before_permissions() {
    // As root every permission check passes; as nobody, EROFS must still win where Linux
    // checks the mount first (creating, removing, chmod, chown) and lose where it checks
    // permissions first (opening for writing, access).
    let root = std::process::Command::new("id").arg("-u").output().unwrap();
    if String::from_utf8_lossy(&root.stdout).trim() != "0" {
        eprintln!("not root: cannot switch to nobody");
        return;
    }
    let setpriv = "/usr/bin/setpriv";
    assert!(
        Path::new(setpriv).exists(),
        "{setpriv} is needed (util-linux)"
    );
    let tmp = tree("bind-nobody");
    for p in [tmp.path().to_path_buf(), tmp.join("host")] {
        fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).unwrap();
    }
    let uml = tmp.join("uml");
    fs::copy(integration_tests::uml_bin(), &uml).unwrap();
    fs::set_permissions(&uml, fs::Permissions::from_mode(0o755)).unwrap();
    let script = probe(&[
        "open('/ro/file', 'w')",
        "os.access('/ro/file', os.W_OK)",
        "os.mkdir('/ro/d')",
        "os.unlink('/ro/file')",
        "os.chmod('/ro/file', 0o600)",
        "os.chown('/ro/file', 65534, 65534)",
    ]);
    let mut cmd = std::process::Command::new(setpriv);
    cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(&uml)
        .arg("run")
        .arg("--user=65534:65534")
        .arg("-v")
        .arg(format!("{}:/ro:ro", tmp.join("host").display()))
        .args(["--", PYTHON, "-c", &script])
        .current_dir(tmp.path());
    let o = integration_tests::run_command(cmd, integration_tests::DEFAULT_TIMEOUT);
    assert_eq!(o.status, 0, "{}", o.describe("uml as nobody"));
    assert_eq!(
        o.stdout_str(),
        "open('/ro/file', 'w') EACCES\n\
         os.access('/ro/file', os.W_OK) False\n\
         os.mkdir('/ro/d') EROFS\n\
         os.unlink('/ro/file') EROFS\n\
         os.chmod('/ro/file', 0o600) EROFS\n\
         os.chown('/ro/file', 65534, 65534) EROFS\n"
    );
}
