//! `reboot(2)`: guest root only (`CAP_SYS_BOOT`, else `EPERM`), with Linux's magic numbers
//! (`EINVAL`). `LINUX_REBOOT_CMD_CAD_ON`/`CAD_OFF` set what Ctrl-Alt-Del does, which
//! `/proc/sys/kernel/ctrl-alt-del` shows (uml has no Ctrl-Alt-Del to act on). Restarting,
//! halting, powering off, kexec and suspend are refused with `EPERM`, as in a container
//! without `CAP_SYS_BOOT`: uml does not end the instance from inside. Other commands are
//! `EINVAL`.

use abi::{Errno, SysResult};

use crate::{Args, Ctx};

const MAGIC1: u32 = 0xfee1_dead;
/// `LINUX_REBOOT_MAGIC2`, `2A`, `2B`, `2C`.
const MAGIC2: [u32; 4] = [672_274_793, 85_072_278, 369_367_448, 537_993_216];

const CMD_RESTART: u32 = 0x0123_4567;
const CMD_HALT: u32 = 0xcdef_0123;
const CMD_CAD_ON: u32 = 0x89ab_cdef;
const CMD_CAD_OFF: u32 = 0x0000_0000;
const CMD_POWER_OFF: u32 = 0x4321_fedc;
const CMD_RESTART2: u32 = 0xa1b2_c3d4;
const CMD_SW_SUSPEND: u32 = 0xd000_fce2;
const CMD_KEXEC: u32 = 0x4558_4543;

pub(crate) fn sys_reboot(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    if !ctx.proc.cred.caps.has(crate::caps::CAP_SYS_BOOT) {
        return Err(Errno::EPERM);
    }
    if a.u32(0) != MAGIC1 || !MAGIC2.contains(&a.u32(1)) {
        return Err(Errno::EINVAL);
    }
    match a.u32(2) {
        CMD_CAD_ON => ctx.procs.sysctl.set_int("kernel/ctrl-alt-del", 1),
        CMD_CAD_OFF => ctx.procs.sysctl.set_int("kernel/ctrl-alt-del", 0),
        CMD_RESTART | CMD_HALT | CMD_POWER_OFF | CMD_RESTART2 | CMD_SW_SUSPEND | CMD_KEXEC => {
            return Err(Errno::EPERM)
        }
        _ => return Err(Errno::EINVAL),
    }
    Ok(0)
}
