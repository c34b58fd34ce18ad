//! Extended attributes stored in the overlay: `user.*` by file permissions, `trusted.*` and
//! `security.*` for root, the create/replace flags, size limits, symlinks, directories,
//! descriptors and an unprivileged caller, against native.
#![allow(clippy::unwrap_used)]

use integration_tests::{arg, compare, script, RunOpts};

#[test]
fn xattrs_round_trip_as_linux() {
    let o = compare(
        &[arg("/usr/bin/python3"), arg(script("xattrs.py"))],
        &RunOpts::default(),
    );
    let out = o.stdout_str();
    assert!(out.contains("get2 ok b'world'\n"), "{out}");
    assert!(out.contains("nobody trusted ENODATA\n"), "{out}");
}
