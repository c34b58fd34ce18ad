//! The LSM calls: `lsm_list_modules`, which names uml's security modules by their
//! `LSM_ID_*`: the capabilities ([`crate::caps`]) and Landlock ([`crate::landlock`]).

use abi::{Errno, SysResult};

use crate::{Args, Ctx};

/// `LSM_ID_CAPABILITY`, `LSM_ID_LANDLOCK`, in Linux's order of initialization.
const ACTIVE: [u64; 2] = [100, 110];

/// `lsm_list_modules(ids, size, flags)`: the active modules' ids; `*size` becomes the
/// bytes they take (`E2BIG` if it was less).
pub(crate) fn sys_lsm_list_modules(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let (ids, size) = (a.addr(0), a.addr(1));
    if a.u32(2) != 0 {
        return Err(Errno::EINVAL);
    }
    let usize: u32 = ctx.read_val(size)?;
    let total = (ACTIVE.len() * 8) as u32;
    ctx.write_val(size, &total)?;
    if usize < total {
        return Err(Errno::E2BIG);
    }
    let mut raw = Vec::with_capacity(ACTIVE.len() * 8);
    for id in ACTIVE {
        raw.extend_from_slice(&id.to_ne_bytes());
    }
    ctx.copy_out(ids, &raw)?;
    Ok(ACTIVE.len() as u64)
}
