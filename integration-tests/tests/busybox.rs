//! busybox-static applets that do not fork, run natively (`busybox APPLET ...`) and under
//! `uml run -- busybox APPLET ...`, on a fixture directory with fixed contents and mtimes.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Command;

use integration_tests::{busybox, compare, run_native, run_uml, RunOpts, TempDir};

const WORDS: &str = "banana\napple\ncherry\napple\ndate\nbanana\nbanana\nelderberry\n";
const CSV: &str = "id,name,score\n1,alice,90\n2,bob,85\n3,carol,92\n4,dave,70\n";
const TEXT: &str =
    "The quick brown fox\njumps over the lazy dog.\nPack my box with\nfive dozen liquor jugs.\n";

fn touch_d(path: &Path, when: &str) {
    let st = Command::new("touch")
        .arg("-h")
        .arg("-d")
        .arg(when)
        .arg(path)
        .status()
        .expect("run touch");
    assert!(st.success(), "touch -d failed on {}", path.display());
}

/// Creates `<tmp>/fix` with files, a subdir and a symlink, all with fixed mtimes. The parent
/// `<tmp>` also gets a fixed mtime so `ls -la` output (which shows `..`) is stable.
fn fixture(tag: &str) -> (TempDir, std::path::PathBuf) {
    let tmp = TempDir::new(tag);
    let fix = tmp.join("fix");
    fs::create_dir(&fix).unwrap();
    fs::write(fix.join("words.txt"), WORDS).unwrap();
    fs::write(fix.join("data.csv"), CSV).unwrap();
    fs::write(fix.join("text.txt"), TEXT).unwrap();
    fs::write(fix.join("empty"), "").unwrap();
    fs::write(
        fix.join("binary.bin"),
        (0..=255u8).cycle().take(5000).collect::<Vec<u8>>(),
    )
    .unwrap();
    fs::create_dir(fix.join("sub")).unwrap();
    fs::write(fix.join("sub/inner.txt"), "inner\n").unwrap();
    std::os::unix::fs::symlink("words.txt", fix.join("link")).unwrap();
    fs::set_permissions(fix.join("text.txt"), fs::Permissions::from_mode(0o640)).unwrap();
    fs::set_permissions(fix.join("binary.bin"), fs::Permissions::from_mode(0o755)).unwrap();
    for name in [
        "words.txt",
        "data.csv",
        "text.txt",
        "empty",
        "binary.bin",
        "sub/inner.txt",
        "link",
        "sub",
    ] {
        touch_d(&fix.join(name), "2020-02-03 04:05:06");
    }
    touch_d(&fix, "2021-06-07 08:09:10");
    touch_d(tmp.path(), "2021-06-07 08:09:10");
    (tmp, fix)
}

fn in_dir(dir: &Path) -> RunOpts {
    RunOpts {
        cwd: Some(dir.to_path_buf()),
        env: vec![("TZ".into(), "UTC".into())],
        ..RunOpts::default()
    }
}

/// Runs `busybox ARGS` natively and under uml in `dir`; asserts identical stdout and status.
fn bb(dir: &Path, args: &[&str]) -> String {
    bb_opts(&in_dir(dir), args)
}

fn bb_opts(opts: &RunOpts, args: &[&str]) -> String {
    let _ = busybox(); // asserts a static busybox is installed
    let mut argv = vec!["busybox"];
    argv.extend_from_slice(args);
    let o = compare(&argv, opts);
    assert_eq!(
        o.status,
        0,
        "busybox {args:?} failed natively:\n{}",
        o.describe("native")
    );
    o.stdout_str()
}

#[test]
fn echo() {
    let (_t, fix) = fixture("echo");
    assert_eq!(
        bb(&fix, &["echo", "hello", "from", "busybox"]),
        "hello from busybox\n"
    );
    bb(&fix, &["echo", "-n", "no newline"]);
    bb(&fix, &["echo", "-e", "tab\\there\\nnewline"]);
}

#[test]
fn cat() {
    let (_t, fix) = fixture("cat");
    assert_eq!(
        bb(&fix, &["cat", "words.txt", "data.csv"]),
        format!("{WORDS}{CSV}")
    );
    bb(&fix, &["cat", "binary.bin"]);
    bb(&fix, &["cat", "link", "sub/inner.txt", "empty"]);
    bb(&fix, &["cat", "-n", "text.txt"]);
}

#[test]
fn cat_stdin() {
    let (_t, fix) = fixture("cat-stdin");
    let opts = RunOpts {
        stdin: Some(b"piped through stdin\n".to_vec()),
        ..in_dir(&fix)
    };
    assert_eq!(bb_opts(&opts, &["cat"]), "piped through stdin\n");
}

#[test]
fn cat_missing_file_status() {
    let (_t, fix) = fixture("cat-missing");
    let o = compare(&["busybox", "cat", "no-such-file"], &in_dir(&fix));
    assert_eq!(o.status, 1);
}

#[test]
fn ls() {
    let (_t, fix) = fixture("ls");
    bb(&fix, &["ls"]);
    bb(&fix, &["ls", "-la"]);
    bb(&fix, &["ls", "-la", "sub"]);
    bb(&fix, &["ls", "-lan", "--full-time"]);
    bb(&fix, &["ls", "-1R"]);
}

#[test]
fn ls_absolute_and_root() {
    let (_t, fix) = fixture("ls-abs");
    bb(&fix, &["ls", "-la", fix.to_str().unwrap()]);
    bb(&fix, &["ls", "/"]);
}

#[test]
fn wc_head_tail() {
    let (_t, fix) = fixture("wc");
    bb(
        &fix,
        &["wc", "words.txt", "data.csv", "text.txt", "binary.bin"],
    );
    bb(&fix, &["wc", "-l", "words.txt"]);
    bb(&fix, &["head", "-n", "3", "words.txt"]);
    bb(&fix, &["head", "-c", "10", "text.txt"]);
    bb(&fix, &["tail", "-n", "2", "words.txt"]);
    bb(&fix, &["tail", "-c", "7", "text.txt"]);
}

#[test]
fn sort_uniq_cut_tr() {
    let (_t, fix) = fixture("sort");
    bb(&fix, &["sort", "words.txt"]);
    bb(&fix, &["sort", "-r", "-u", "words.txt"]);
    bb(&fix, &["sort", "-t", ",", "-k", "3", "-n", "data.csv"]);
    let opts = RunOpts {
        stdin: Some(b"b\na\na\nc\nc\nc\n".to_vec()),
        ..in_dir(&fix)
    };
    bb_opts(&opts, &["uniq", "-c"]);
    bb(&fix, &["cut", "-d", ",", "-f", "2,3", "data.csv"]);
    bb(&fix, &["cut", "-c", "1-5", "text.txt"]);
    let opts = RunOpts {
        stdin: Some(TEXT.as_bytes().to_vec()),
        ..in_dir(&fix)
    };
    assert!(bb_opts(&opts, &["tr", "a-z", "A-Z"]).starts_with("THE QUICK"));
    bb_opts(&opts, &["tr", "-d", "aeiou"]);
}

#[test]
fn uniq_file() {
    let (_t, fix) = fixture("uniq");
    let sorted = bb(&fix, &["sort", "words.txt"]);
    fs::write(fix.join("sorted.txt"), sorted).unwrap();
    bb(&fix, &["uniq", "sorted.txt"]);
    bb(&fix, &["uniq", "-d", "sorted.txt"]);
}

#[test]
fn checksums() {
    let (_t, fix) = fixture("sums");
    bb(
        &fix,
        &["md5sum", "words.txt", "data.csv", "binary.bin", "empty"],
    );
    bb(
        &fix,
        &["sha256sum", "words.txt", "data.csv", "binary.bin", "empty"],
    );
}

#[test]
fn grep_sed_awk() {
    let (_t, fix) = fixture("grep");
    bb(&fix, &["grep", "-n", "an", "words.txt"]);
    bb(&fix, &["grep", "-c", "apple", "words.txt"]);
    bb(&fix, &["grep", "-r", "inner", "."]);
    let o = compare(&["busybox", "grep", "zzz", "words.txt"], &in_dir(&fix));
    assert_eq!(o.status, 1);
    bb(&fix, &["sed", "s/a/A/g", "words.txt"]);
    bb(&fix, &["sed", "-n", "2,3p", "data.csv"]);
    bb(
        &fix,
        &[
            "awk",
            "-F",
            ",",
            "NR>1 {s+=$3} END {print s, NR}",
            "data.csv",
        ],
    );
    bb(&fix, &["awk", "{print length($0), $1}", "text.txt"]);
}

#[test]
fn uname() {
    let (_t, fix) = fixture("uname");
    bb(&fix, &["uname", "-s", "-m", "-o"]);
    // The release/version/nodename may legitimately be uml's own; only sanity-check -a.
    let u = run_uml(&["busybox", "uname", "-a"], &in_dir(&fix));
    assert_eq!(u.status, 0, "{}", u.describe("uml"));
    let s = u.stdout_str();
    assert!(
        s.starts_with("Linux ") && s.contains("x86_64"),
        "uname -a: {s}"
    );
}

#[test]
fn date() {
    let (_t, fix) = fixture("date");
    assert_eq!(
        bb(&fix, &["date", "-u", "-d", "@0"]),
        "Thu Jan  1 00:00:00 UTC 1970\n"
    );
    bb(
        &fix,
        &[
            "date",
            "-u",
            "-d",
            "@1234567890",
            "+%Y-%m-%dT%H:%M:%S %j %a",
        ],
    );
}

#[test]
fn stat_fixed_format() {
    let (_t, fix) = fixture("stat");
    bb(
        &fix,
        &[
            "stat",
            "-c",
            "%n %s %a %A %F %h %Y",
            "words.txt",
            "text.txt",
            "binary.bin",
            "sub",
            "empty",
        ],
    );
    bb(&fix, &["stat", "-L", "-c", "%n %s %F", "link"]);
    bb(&fix, &["stat", "-c", "%n %F %N", "link"]);
}

#[test]
fn seq_expr_printf() {
    let (_t, fix) = fixture("seq");
    bb(&fix, &["seq", "1", "10"]);
    bb(&fix, &["seq", "-s", ",", "5", "-2", "-5"]);
    assert_eq!(bb(&fix, &["expr", "6", "*", "7"]), "42\n");
    bb(&fix, &["expr", "length", "hello"]);
    let o = compare(&["busybox", "expr", "0", "+", "0"], &in_dir(&fix));
    assert_eq!(o.status, 1);
    bb(
        &fix,
        &[
            "printf",
            "%s=%05d|%x|%-6s|%.3f\\n",
            "n",
            "42",
            "255",
            "ab",
            "3.14159",
        ],
    );
}

/// Snapshot of a directory tree: relative path -> description (type, mode, size, content
/// or link target, mtime for files/links).
fn snapshot(root: &Path) -> BTreeMap<String, String> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
        let mut entries: Vec<_> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for p in entries {
            let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
            let md = fs::symlink_metadata(&p).unwrap();
            let desc = if md.file_type().is_symlink() {
                format!("link -> {}", fs::read_link(&p).unwrap().display())
            } else if md.is_dir() {
                format!("dir {:o}", md.mode() & 0o7777)
            } else {
                format!(
                    "file {:o} {} mtime={} {:?}",
                    md.mode() & 0o7777,
                    md.len(),
                    md.mtime(),
                    String::from_utf8_lossy(&fs::read(&p).unwrap())
                )
            };
            out.insert(rel, desc);
            if md.is_dir() {
                walk(root, &p, out);
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

/// Runs a sequence of write-type applets natively in one fixture and under `uml run --rw` in
/// another; each step's stdout/status and the final host trees must match.
fn write_steps(tag: &str, steps: &[&[&str]]) {
    let _ = busybox();
    let (_tn, fix_native) = fixture(&format!("{tag}-native"));
    let (_tu, fix_uml) = fixture(&format!("{tag}-uml"));
    for step in steps {
        let mut argv = vec!["busybox"];
        argv.extend_from_slice(step);
        let n = run_native(&argv, &in_dir(&fix_native));
        let uml_opts = RunOpts {
            uml_flags: vec!["--rw".into()],
            ..in_dir(&fix_uml)
        };
        let u = run_uml(&argv, &uml_opts);
        integration_tests::assert_same(&format!("--rw {step:?}"), &n, &u);
        assert_eq!(
            n.status,
            0,
            "{step:?} failed natively:\n{}",
            n.describe("native")
        );
    }
    let sn = snapshot(&fix_native);
    let su = snapshot(&fix_uml);
    assert_eq!(
        sn, su,
        "host trees differ after {tag} (left: native, right: uml --rw)"
    );
}

#[test]
fn rw_touch_mkdir() {
    write_steps(
        "rw-touch",
        &[
            &[
                "touch",
                "-d",
                "2019-01-01 00:00:00",
                "new-file",
                "words.txt",
            ],
            &["mkdir", "newdir"],
            &["mkdir", "-p", "a/b/c"],
            &["touch", "-d", "2018-05-05 05:05:05", "a/b/c/deep"],
        ],
    );
}

#[test]
fn rw_cp_mv_rm() {
    write_steps(
        "rw-cp",
        &[
            &["cp", "-p", "words.txt", "copy.txt"],
            &["cp", "-a", "sub", "subcopy"],
            &["mv", "data.csv", "sub/moved.csv"],
            &["mv", "subcopy", "renamed-dir"],
            &["rm", "text.txt", "link"],
            &["rm", "-r", "renamed-dir"],
            &["cp", "-p", "binary.bin", "sub/bin2"],
        ],
    );
}

fn tree_digest(root: &Path) -> String {
    format!("{:?}", snapshot(root))
}

#[test]
fn without_rw_host_is_unchanged() {
    let _ = busybox();
    let (_t, fix) = fixture("ro");
    let before = tree_digest(&fix);
    let steps: &[&[&str]] = &[
        &["touch", "new-file"],
        &["mkdir", "newdir"],
        &["rm", "-r", "sub"],
        &["cp", "words.txt", "copy"],
        &["mv", "data.csv", "moved.csv"],
        &["rm", "-f", "words.txt", "link"],
        &["sed", "-i", "s/a/X/", "text.txt"],
    ];
    for step in steps {
        let mut argv = vec!["busybox"];
        argv.extend_from_slice(step);
        let u = run_uml(&argv, &in_dir(&fix));
        assert_eq!(
            u.status,
            0,
            "overlay write {step:?} failed:\n{}",
            u.describe("uml")
        );
        assert_eq!(
            before,
            tree_digest(&fix),
            "host changed by `uml run -- busybox {step:?}` without --rw"
        );
    }
}
