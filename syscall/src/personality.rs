//! `personality(2)`: the process's execution domain and its flags, as Linux keeps them
//! (`task->personality`): any 32-bit value is stored and the previous one returned;
//! `0xffffffff` only queries. A fork inherits it, an `execve` clears `READ_IMPLIES_EXEC`
//! (Linux's `set_personality_64bit`) and, when the program runs with new ids, the
//! `PER_CLEAR_ON_SETID` flags.
//!
//! What the flags do in uml: `UNAME26` makes `uname` report a 2.6 release (Linux's
//! `override_release`), `STICKY_TIMEOUTS` keeps `select` from writing back the time left.
//! The others (`ADDR_NO_RANDOMIZE`, `READ_IMPLIES_EXEC`, `ADDR_LIMIT_32BIT`, `MMAP_PAGE_ZERO`,
//! the execution domains such as `PER_LINUX32`) are kept and reported without effect on the
//! memory layout or on mappings.

use abi::flags::personality::{PER_CLEAR_ON_SETID, QUERY, READ_IMPLIES_EXEC};
use abi::SysResult;

use crate::{Args, Ctx};

pub(crate) fn sys_personality(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let old = ctx.proc.personality;
    let new = a.u32(0);
    if new != QUERY {
        ctx.proc.personality = new;
    }
    Ok(u64::from(old))
}

/// The personality a process keeps across `execve`; `secure`: the program runs with ids
/// it was not started with.
pub(crate) fn on_exec(personality: u32, secure: bool) -> u32 {
    let setid = if secure { PER_CLEAR_ON_SETID } else { 0 };
    personality & !(READ_IMPLIES_EXEC | setid)
}

/// The release `uname` reports under `UNAME26` (Linux's `override_release`): "2.6." and
/// 60 plus the minor version, then what follows the version numbers of `release` (from
/// its first character that is neither a digit nor a dot, or its third dot).
pub(crate) fn uname26_release(release: &[u8]) -> Vec<u8> {
    let mut dots = 0;
    let rest = release
        .iter()
        .position(|&c| {
            dots += usize::from(c == b'.');
            dots >= 3 || !(c.is_ascii_digit() || c == b'.')
        })
        .unwrap_or(release.len());
    let minor: u32 = release
        .split(|&c| c == b'.')
        .nth(1)
        .map(|s| {
            s.iter()
                .take_while(|c| c.is_ascii_digit())
                .fold(0u32, |v, &c| {
                    v.saturating_mul(10).saturating_add(u32::from(c - b'0'))
                })
        })
        .unwrap_or(0);
    let mut out = format!("2.6.{}", minor.saturating_add(60)).into_bytes();
    out.extend_from_slice(&release[rest..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use abi::flags::personality::*;

    #[test]
    fn uname26_follows_linux_override_release() {
        assert_eq!(uname26_release(b"6.18.44-fc-v1252"), b"2.6.78-fc-v1252");
        assert_eq!(uname26_release(b"3.2.0.1"), b"2.6.62.1");
        assert_eq!(uname26_release(b"5.10"), b"2.6.70");
    }

    #[test]
    fn exec_clears_read_implies_exec_and_setid_flags() {
        let all = READ_IMPLIES_EXEC | ADDR_NO_RANDOMIZE | UNAME26 | 0x8;
        assert_eq!(on_exec(all, false), ADDR_NO_RANDOMIZE | UNAME26 | 0x8);
        assert_eq!(on_exec(all, true), UNAME26 | 0x8);
    }
}
