//! Time namespaces: the offsets of `CLOCK_MONOTONIC` and `CLOCK_BOOTTIME` (and their
//! variants) a namespace's processes see.

/// One time namespace.
#[derive(Clone, Copy, Debug, Default)]
pub struct TimeNs {
    /// `CLOCK_MONOTONIC`'s offset, in ns.
    pub monotonic: i64,
    /// `CLOCK_BOOTTIME`'s offset, in ns.
    pub boottime: i64,
    /// Whether a process has entered it (its offsets are then fixed).
    pub entered: bool,
}

/// The caller enters time namespace `ns` (a child at `fork`, or by `setns`): its offsets
/// are fixed from then on.
pub(crate) fn enter(ctx: &mut crate::Ctx<'_>, ns: u64) -> Result<(), abi::Errno> {
    if let Some(super::Ns {
        data: super::Data::Time(t),
        ..
    }) = ctx.procs.ns.get_mut(ns)
    {
        t.entered = true;
    }
    Ok(())
}
