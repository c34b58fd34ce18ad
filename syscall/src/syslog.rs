//! `syslog(2)` (`klogctl`): the kernel's log buffer.
//!
//! uml's kernel log holds the line it logs at boot; reads return it in `syslog`'s record
//! form (`<level>[seconds] text`). Who may do what is Linux's: unless
//! `/proc/sys/kernel/dmesg_restrict` is set, reading everything (`SYSLOG_ACTION_READ_ALL`)
//! and the buffer's size are for everyone; the rest needs `CAP_SYSLOG` (or `CAP_SYS_ADMIN`). `SYSLOG_ACTION_CONSOLE_LEVEL` sets the
//! first number of `/proc/sys/kernel/printk`. Nothing is ever logged after boot, so a
//! destructive read (`SYSLOG_ACTION_READ`) of the emptied log waits as Linux's does, for
//! ever (a signal ends it).

use abi::{Errno, SysResult};

use crate::{Args, Ctx, OnSignal, WaitKey};

/// `SYSLOG_ACTION_*`.
const CLOSE: i32 = 0;
const OPEN: i32 = 1;
const READ: i32 = 2;
const READ_ALL: i32 = 3;
const READ_CLEAR: i32 = 4;
const CLEAR: i32 = 5;
const CONSOLE_OFF: i32 = 6;
const CONSOLE_ON: i32 = 7;
const CONSOLE_LEVEL: i32 = 8;
const SIZE_UNREAD: i32 = 9;
const SIZE_BUFFER: i32 = 10;
/// The size Linux's log buffer has on this machine kind (`CONFIG_LOG_BUF_SHIFT` 18).
const LOG_BUF_LEN: u64 = 1 << 18;

/// The log as uml writes it at boot.
fn boot_log() -> Vec<u8> {
    let uts = crate::info::utsname();
    let release = String::from_utf8_lossy(crate::procfs::sys::cstr(&uts.release)).into_owned();
    format!("<5>[    0.000000] Linux version {release} (uml)\n").into_bytes()
}

/// `syslog(type, buf, len)`.
pub(crate) fn sys_syslog(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let (action, buf, len) = (a.i32(0), a.addr(1), a.i32(2));
    let restricted = ctx.procs.sysctl.int("kernel/dmesg_restrict") != 0
        || !matches!(action, READ_ALL | SIZE_BUFFER);
    let caps = &ctx.proc.cred.caps;
    if restricted && !caps.has(crate::caps::CAP_SYSLOG) && !caps.has(crate::caps::CAP_SYS_ADMIN) {
        return Err(Errno::EPERM);
    }
    let mut log = ctx.procs.sysctl.klog.get_or_insert_with(boot_log).clone();
    match action {
        CLOSE | OPEN | CONSOLE_OFF | CONSOLE_ON => Ok(0),
        READ | READ_ALL | READ_CLEAR => {
            if buf.is_null() || len < 0 {
                return Err(Errno::EINVAL);
            }
            if len == 0 {
                return Ok(0);
            }
            if action == READ && log.is_empty() {
                ctx.on_signal(OnSignal::RestartSys);
                let me = ctx.proc.pid;
                return Err(ctx.block_on(WaitKey::Timeout(me)));
            }
            log.truncate(len as usize);
            ctx.copy_out(buf, &log)?;
            if action != READ_ALL {
                ctx.procs.sysctl.klog = Some(Vec::new());
            }
            Ok(log.len() as u64)
        }
        CLEAR => {
            ctx.procs.sysctl.klog = Some(Vec::new());
            Ok(0)
        }
        CONSOLE_LEVEL => {
            if !(1..=8).contains(&len) {
                return Err(Errno::EINVAL);
            }
            ctx.procs.sysctl.set_console_loglevel(len);
            Ok(0)
        }
        SIZE_UNREAD => Ok(log.len() as u64),
        SIZE_BUFFER => Ok(LOG_BUF_LEN),
        _ => Err(Errno::EINVAL),
    }
}
