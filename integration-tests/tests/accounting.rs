//! BSD process accounting: a C guest checks `acct(2)`'s errnos and the `acct_v3` records
//! written for its children (an exit, a kill, an exec) and for itself when accounting
//! stops, run natively (as root) and under uml with both trap mechanisms, in a scratch
//! directory; stdout and exit status must be identical.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use integration_tests::{assert_no_bad_lines, compare, guests, RunOpts, TempDir, TRAPS};

#[test]
fn acct_records_as_linux() {
    for trap in TRAPS {
        let dir = TempDir::new("acct");
        let o = compare(
            &[guests::ACCT],
            &RunOpts {
                cwd: Some(dir.path().to_path_buf()),
                uml_flags: vec![trap.into()],
                timeout: Some(Duration::from_secs(60)),
                ..RunOpts::default()
            },
        );
        assert_no_bad_lines("acct", &o);
        assert!(
            o.stdout_str().contains("records=4\n"),
            "{}",
            o.describe(trap)
        );
        assert!(o.stdout_str().ends_with("done\n"), "{}", o.describe(trap));
        assert_eq!(o.status, 0, "{}", o.describe(trap));
    }
}
