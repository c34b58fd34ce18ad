//! `syslog(2)` (Linux's `do_syslog`) over a kernel log that stays empty: uml's kernel
//! writes no messages to the guest. Permission as Linux's `check_syslog_permissions`:
//! reading everything and the buffer size are open to all unless
//! `/proc/sys/kernel/dmesg_restrict` says otherwise, the rest needs `CAP_SYSLOG` or
//! `CAP_SYS_ADMIN` (`EPERM`). `SYSLOG_ACTION_READ` waits for a message that never comes
//! (until a signal), `READ_ALL`/`READ_CLEAR` return nothing, the console actions and
//! levels are checked and accepted without effect (there is no console log).

use abi::{Errno, SysResult};

use crate::{Args, Ctx, WaitKey};

const READ: i32 = 2;
const READ_ALL: i32 = 3;
const READ_CLEAR: i32 = 4;
const CONSOLE_LEVEL: i32 = 8;
const SIZE_BUFFER: i32 = 10;
/// The log buffer's size (`CONFIG_LOG_BUF_SHIFT=17`).
const LOG_BUF_LEN: u64 = 1 << 17;

pub(crate) fn sys_syslog(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let (action, buf, len) = (a.i32(0), a.addr(1), a.i32(2));
    let restricted = ctx.procs.sysctl.int("kernel/dmesg_restrict") != 0
        || !(action == READ_ALL || action == SIZE_BUFFER);
    let caps = &ctx.proc.cred.caps;
    if restricted && !caps.has(crate::caps::CAP_SYSLOG) && !caps.has(crate::caps::CAP_SYS_ADMIN) {
        return Err(Errno::EPERM);
    }
    match action {
        0 | 1 | 5..=7 => Ok(0),
        READ | READ_ALL | READ_CLEAR => {
            if buf.is_null() || len < 0 {
                return Err(Errno::EINVAL);
            }
            if len == 0 {
                return Ok(0);
            }
            Ctx::access_ok(buf, len as u64)?;
            if action != READ {
                return Ok(0);
            }
            let me = ctx.proc.pid;
            ctx.on_signal(crate::OnSignal::RestartSys);
            Err(ctx.block_on(WaitKey::Signal(me)))
        }
        CONSOLE_LEVEL if !(1..=8).contains(&len) => Err(Errno::EINVAL),
        CONSOLE_LEVEL | 9 => Ok(0),
        SIZE_BUFFER => Ok(LOG_BUF_LEN),
        _ => Err(Errno::EINVAL),
    }
}
