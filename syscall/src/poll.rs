//! Waiting for several files at once: `poll`, `ppoll`, `select`, `pselect6`.

use std::time::{Duration, Instant};

use abi::structs::Timeval;
use abi::{Errno, SysResult, UserAddr};

use vfs::WaitSet;

use crate::{Args, Ctx};

const POLLIN: i16 = 0x1;
const POLLPRI: i16 = 0x2;
const POLLOUT: i16 = 0x4;
const POLLERR: i16 = 0x8;
const POLLHUP: i16 = 0x10;
const POLLNVAL: i16 = 0x20;
const POLLRDNORM: i16 = 0x40;
const POLLWRNORM: i16 = 0x100;
const POLLRDHUP: i16 = 0x2000;

/// The events of `fd` that are ready among `events` (plus the always-reported ones); what
/// to sleep on if none is goes into `ws`.
fn ready(ctx: &mut Ctx<'_>, fd: i32, events: i16, ws: &mut WaitSet) -> i16 {
    let Ok(file) = ctx.file(fd) else {
        return POLLNVAL;
    };
    file.waits(ws);
    let st = match file.pidfd() {
        Some(pid) => crate::pidfd::poll_events(ctx, pid),
        None => file.poll_for(&ctx.poller()),
    };
    // As Linux's files (`DEFAULT_POLLMASK`), pipes and stream sockets: no priority or
    // band data.
    let mut r = 0;
    if st.readable {
        r |= POLLIN | POLLRDNORM;
    }
    if st.writable {
        r |= POLLOUT | POLLWRNORM;
    }
    if st.rdhup {
        r |= POLLRDHUP;
    }
    r &= events;
    if st.hangup {
        r |= POLLHUP;
    }
    if st.error {
        r |= POLLERR;
    }
    r
}

/// A timeout argument: `None` waits forever.
pub(crate) fn deadline(ctx: &mut Ctx<'_>, timeout: Option<Duration>) -> Option<Instant> {
    timeout.map(|t| ctx.deadline_after(t))
}

/// Applies a `ppoll`/`pselect6` signal mask for the duration of the call.
pub(crate) fn set_temp_mask(ctx: &mut Ctx<'_>, mask: Option<u64>) {
    if let Some(mask) = mask {
        let s = &mut ctx.proc.sig;
        if s.saved_mask.is_none() {
            s.saved_mask = Some(s.blocked);
        }
        s.set_blocked(mask);
    }
}

/// The call completes: a temporary mask goes back (unless a handler is about to run, which
/// restores it from its frame).
pub(crate) fn restore_temp_mask(ctx: &mut Ctx<'_>, had_mask: bool) {
    if had_mask {
        ctx.proc.sig.restore_saved_mask();
    }
}

fn do_poll(
    ctx: &mut Ctx<'_>,
    ufds: UserAddr,
    nfds: u64,
    timeout: Option<Duration>,
    mask: Option<u64>,
) -> SysResult {
    if nfds > ctx.proc.nofile() {
        return Err(Errno::EINVAL);
    }
    let mut raw = vec![0u8; nfds as usize * 8];
    ctx.copy_in(ufds, &mut raw)?;
    let deadline = deadline(ctx, timeout);
    set_temp_mask(ctx, mask);
    let mut count = 0;
    let mut ws = WaitSet::default();
    for entry in raw.chunks_exact_mut(8) {
        let fd = i32::from_ne_bytes([entry[0], entry[1], entry[2], entry[3]]);
        let events = i16::from_ne_bytes([entry[4], entry[5]]);
        let revents = if fd < 0 {
            0
        } else {
            ready(ctx, fd, events, &mut ws)
        };
        count += u64::from(revents != 0);
        entry[6..8].copy_from_slice(&revents.to_ne_bytes());
    }
    if count == 0 && deadline.is_none_or(|at| Instant::now() < at) {
        ctx.on_signal(crate::OnSignal::RestartNoHand);
        return Err(ctx.block_on_waits(ws, deadline));
    }
    restore_temp_mask(ctx, mask.is_some());
    ctx.copy_out(ufds, &raw)?;
    Ok(count)
}

pub(crate) fn sys_poll(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let ms = a.i32(2);
    let timeout = (ms >= 0).then(|| Duration::from_millis(ms as u64));
    do_poll(ctx, a.addr(0), u64::from(a.u32(1)), timeout, None)
}

pub(crate) fn read_sigmask(
    ctx: &mut Ctx<'_>,
    at: UserAddr,
    size: u64,
) -> Result<Option<u64>, Errno> {
    if at.is_null() {
        return Ok(None);
    }
    if size != 8 {
        return Err(Errno::EINVAL);
    }
    Ok(Some(ctx.read_val(at)?))
}

pub(crate) fn sys_ppoll(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let timeout = crate::time::read_timeout(ctx, a.addr(2))?;
    let mask = read_sigmask(ctx, a.addr(3), a.len(4))?;
    do_poll(ctx, a.addr(0), u64::from(a.u32(1)), timeout, mask)
}

/// Most descriptors a `select` set covers (`FD_SETSIZE` is 1024, but Linux takes up to the
/// descriptor limit).
fn set_bytes(nfds: i32) -> usize {
    (nfds as usize).div_ceil(64) * 8
}

fn read_set(ctx: &mut Ctx<'_>, at: UserAddr, nfds: i32) -> Result<Option<Vec<u8>>, Errno> {
    if at.is_null() {
        return Ok(None);
    }
    let mut v = vec![0u8; set_bytes(nfds)];
    ctx.copy_in(at, &mut v)?;
    Ok(Some(v))
}

fn bit(set: &[u8], fd: usize) -> bool {
    set[fd / 8] & (1 << (fd % 8)) != 0
}

fn do_select(
    ctx: &mut Ctx<'_>,
    nfds: i32,
    sets: [UserAddr; 3],
    timeout: Option<Duration>,
    mask: Option<u64>,
) -> Result<(u64, Option<Instant>), Errno> {
    if nfds < 0 || nfds as u64 > ctx.proc.nofile().max(1024) {
        return Err(Errno::EINVAL);
    }
    let ins = [
        read_set(ctx, sets[0], nfds)?,
        read_set(ctx, sets[1], nfds)?,
        read_set(ctx, sets[2], nfds)?,
    ];
    let deadline = deadline(ctx, timeout);
    set_temp_mask(ctx, mask);
    let mut outs: Vec<Option<Vec<u8>>> = ins
        .iter()
        .map(|s| s.as_ref().map(|v| vec![0u8; v.len()]))
        .collect();
    let mut count = 0u64;
    let mut ws = WaitSet::default();
    for fd in 0..nfds as usize {
        let wanted: Vec<bool> = ins
            .iter()
            .map(|s| s.as_ref().is_some_and(|v| bit(v, fd)))
            .collect();
        if !wanted.iter().any(|&w| w) {
            continue;
        }
        let r = ready(ctx, fd as i32, POLLIN | POLLOUT | POLLPRI, &mut ws);
        if r & POLLNVAL != 0 {
            return Err(Errno::EBADF);
        }
        let hits = [
            r & (POLLIN | POLLHUP | POLLERR) != 0,
            r & (POLLOUT | POLLERR) != 0,
            r & POLLPRI != 0,
        ];
        for k in 0..3 {
            if wanted[k] && hits[k] {
                if let Some(o) = outs[k].as_mut() {
                    o[fd / 8] |= 1 << (fd % 8);
                }
                count += 1;
            }
        }
    }
    if count == 0 && deadline.is_none_or(|at| Instant::now() < at) {
        ctx.on_signal(crate::OnSignal::RestartNoHand);
        return Err(ctx.block_on_waits(ws, deadline));
    }
    restore_temp_mask(ctx, mask.is_some());
    for (k, out) in outs.iter().enumerate() {
        if let Some(o) = out {
            ctx.copy_out(sets[k], o)?;
        }
    }
    Ok((count, deadline))
}

pub(crate) fn sys_select(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let tv_at = a.addr(4);
    let timeout = if tv_at.is_null() {
        None
    } else {
        let tv: Timeval = ctx.read_val(tv_at)?;
        if tv.tv_sec < 0 || !(0..1_000_000).contains(&tv.tv_usec) {
            return Err(Errno::EINVAL);
        }
        Some(Duration::new(tv.tv_sec as u64, tv.tv_usec as u32 * 1000))
    };
    let (count, deadline) = do_select(
        ctx,
        a.i32(0),
        [a.addr(1), a.addr(2), a.addr(3)],
        timeout,
        None,
    )?;
    // Linux's select writes back the time left, unless the personality says not to.
    let sticky = ctx.proc.personality & abi::flags::personality::STICKY_TIMEOUTS != 0;
    if let Some(at) = deadline.filter(|_| !sticky) {
        let left = at.saturating_duration_since(Instant::now());
        let tv = Timeval {
            tv_sec: left.as_secs() as i64,
            tv_usec: i64::from(left.subsec_micros()),
        };
        ctx.write_val(tv_at, &tv)?;
    }
    Ok(count)
}

pub(crate) fn sys_pselect6(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let timeout = crate::time::read_timeout(ctx, a.addr(4))?;
    // The sixth argument points to { const sigset_t *ss; size_t ss_len; }.
    let mask = if a.addr(5).is_null() {
        None
    } else {
        let [ss, len]: [u64; 2] = ctx.read_val(a.addr(5))?;
        read_sigmask(ctx, UserAddr(ss), len)?
    };
    do_select(
        ctx,
        a.i32(0),
        [a.addr(1), a.addr(2), a.addr(3)],
        timeout,
        mask,
    )
    .map(|(n, _)| n)
}
