//! The page cache behind file mappings: C guests and Python's `mmap` module run natively and
//! under uml with both trap mechanisms, and host files stay untouched in overlay mode.
#![allow(clippy::unwrap_used)]

use std::ffi::OsStr;
use std::path::Path;
use std::time::Duration;

use integration_tests::{assert_no_bad_lines, compare, guests, run_uml, RunOpts, TempDir};

const TRAPS: [&str; 2] = ["--trap=ptrace", "--trap=seccomp"];
const PYTHON: &str = "/usr/bin/python3";

fn opts(flags: &[&str]) -> RunOpts {
    RunOpts {
        uml_flags: flags.iter().map(|s| s.to_string()).collect(),
        timeout: Some(Duration::from_secs(120)),
        ..RunOpts::default()
    }
}

/// Runs a guest that takes a scratch directory, natively and under uml, with each trap.
fn compare_with_scratch(guest: &str) {
    for trap in TRAPS {
        let tmp = TempDir::new("pagecache");
        let scratch = tmp.join("scratch");
        let o = compare(&[OsStr::new(guest), scratch.as_os_str()], &opts(&[trap]));
        assert_no_bad_lines(guest, &o);
        assert_eq!(o.status, 0, "{guest} {trap}");
    }
}

#[test]
fn shared_file_mappings_match_native() {
    compare_with_scratch(guests::PAGECACHE);
}

#[test]
fn shared_map_matches_native_both_traps() {
    compare_with_scratch(guests::SHARED_MAP);
}

#[test]
fn memfd_and_fallocate_match_native() {
    for trap in TRAPS {
        let o = compare(&[guests::MEMFD], &opts(&[trap]));
        assert_no_bad_lines("memfd", &o);
        assert_eq!(o.status, 0, "{trap}");
    }
}

/// Python's `mmap` module over a shared file mapping: stores reach `read`, `write`s reach
/// the mapping, `flush` (msync) and a forked child share the pages, `resize` (ftruncate +
/// mremap), and an anonymous shared map across fork.
const PY_MMAP: &str = r#"
import mmap, os, sys
d = sys.argv[1]
os.mkdir(d)
p = os.path.join(d, "f")
with open(p, "wb") as f:
    f.write(b"0123456789" * 1000)
with open(p, "r+b") as f:
    m = mmap.mmap(f.fileno(), 0)
    m[0:5] = b"hello"
    f.seek(0)
    print("read sees store:", f.read(5))
    os.pwrite(f.fileno(), b"WORLD", 5)
    print("map sees write:", m[0:10])
    pid = os.fork()
    if pid == 0:
        m[100:105] = b"child"
        m.flush()
        os._exit(0)
    os.waitpid(pid, 0)
    print("parent sees child:", m[100:105])
    m.flush()
    m.resize(20000)
    m[19990:20000] = b"resized..."
    print("size:", os.fstat(f.fileno()).st_size, m.size())
    m.close()
with open(p, "rb") as f:
    data = f.read()
print("file:", data[:10], data[100:105], data[19990:], len(data))
a = mmap.mmap(-1, 4096)
if os.fork() == 0:
    a[0:4] = b"anon"
    os._exit(0)
os.wait()
print("anon shared:", a[0:4])
os.unlink(p)
os.rmdir(d)
"#;

#[test]
fn python_mmap_matches_native() {
    if !Path::new(PYTHON).exists() {
        panic!("{PYTHON} is missing on this host");
    }
    for trap in TRAPS {
        let tmp = TempDir::new("pymmap");
        let scratch = tmp.join("scratch");
        let o = compare(
            &[
                OsStr::new(PYTHON),
                OsStr::new("-c"),
                OsStr::new(PY_MMAP),
                scratch.as_os_str(),
            ],
            &opts(&[trap]),
        );
        assert_eq!(o.status, 0, "{}", o.describe(trap));
        let out = o.stdout_str();
        assert!(out.contains("parent sees child: b'child'"), "{out}");
        assert!(out.contains("anon shared: b'anon'"), "{out}");
    }
}

/// Writes through a shared mapping of an existing host file, then reads it back (the
/// guest prints what it sees).
const PY_WRITE_HOST: &str = r#"
import mmap, os, sys
with open(sys.argv[1], "r+b") as f:
    m = mmap.mmap(f.fileno(), 0)
    m[0:7] = b"changed"
    m.flush()
    m.close()
with open(sys.argv[1], "rb") as f:
    print("guest sees:", f.read(7))
"#;

/// Runs python3 `script` on `file` under uml with `flags`.
fn run_py(script: &str, file: &std::path::Path, flags: &[&str]) -> integration_tests::Outcome {
    run_uml(
        &[
            OsStr::new(PYTHON),
            OsStr::new("-c"),
            OsStr::new(script),
            file.as_os_str(),
        ],
        &opts(flags),
    )
}

fn host_file(tmp: &TempDir) -> (std::path::PathBuf, Vec<u8>) {
    let p = tmp.join("host.bin");
    let data: Vec<u8> = (0..3 * 4096u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(&p, &data).unwrap();
    (p, data)
}

#[test]
fn overlay_shared_mapping_leaves_host_file_unchanged() {
    for trap in TRAPS {
        let tmp = TempDir::new("ovl-map");
        let (p, data) = host_file(&tmp);
        let o = run_py(PY_WRITE_HOST, &p, &[trap]);
        assert_eq!(o.status, 0, "{}", o.describe(trap));
        assert!(
            o.stdout_str().contains("guest sees: b'changed'"),
            "{}",
            o.stdout_str()
        );
        assert_eq!(
            std::fs::read(&p).unwrap(),
            data,
            "host file changed ({trap})"
        );
    }
}

#[test]
fn rw_shared_mapping_writes_back_to_host_file() {
    for trap in TRAPS {
        let tmp = TempDir::new("rw-map");
        let (p, mut data) = host_file(&tmp);
        let o = run_py(PY_WRITE_HOST, &p, &[trap, "--rw"]);
        assert_eq!(o.status, 0, "{}", o.describe(trap));
        data[..7].copy_from_slice(b"changed");
        assert_eq!(std::fs::read(&p).unwrap(), data, "host file ({trap})");
    }
}

/// A lower host file mapped before the guest writes it (which copies it up): a mapping
/// made after the write, and `read`, see the new contents; the host file does not change.
const PY_COPY_UP: &str = r#"
import mmap, os, sys
p = sys.argv[1]
with open(p, "rb") as f:
    a = mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ)
    print("before:", a[0:4])
with open(p, "r+b") as f:
    f.write(b"NEW!")
with open(p, "rb") as f:
    b = mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ)
    print("after:", b[0:4], os.pread(f.fileno(), 4, 0))
"#;

#[test]
fn mapping_after_copy_up_sees_the_upper_file() {
    for trap in TRAPS {
        let tmp = TempDir::new("copy-up-map");
        let (p, data) = host_file(&tmp);
        let o = run_py(PY_COPY_UP, &p, &[trap]);
        assert_eq!(o.status, 0, "{}", o.describe(trap));
        assert!(
            o.stdout_str().contains("after: b'NEW!' b'NEW!'"),
            "{}",
            o.stdout_str()
        );
        assert_eq!(
            std::fs::read(&p).unwrap(),
            data,
            "host file changed ({trap})"
        );
    }
}
