//! The x86-64 signal frame, exactly as Linux builds it (`arch/x86/kernel/signal.c`,
//! `signal_64.c`, `fpu/signal.c`).
//!
//! From high to low addresses, below the interrupted stack pointer minus the 128-byte red
//! zone (or at the top of the alternate stack):
//!
//! ```text
//! [magic2 u32]                         FP_XSTATE_MAGIC2, right after the XSAVE image
//! [XSAVE image, 64-byte aligned]       <- uc_mcontext.fpstate; sw_reserved @464 filled in
//! [struct rt_sigframe, 440 bytes]      <- rsp, with (rsp + 8) 16-byte aligned
//!    @0   pretcode  (sa_restorer: the handler's `ret` goes there, to rt_sigreturn)
//!    @8   ucontext  { uc_flags @0, uc_link @8, uc_stack @16, uc_mcontext @40 (sigcontext,
//!                     256 bytes), uc_sigmask @296 }
//!    @312 siginfo   (written only with SA_SIGINFO)
//! ```
//!
//! The FP state crosses this module as the host's `PTRACE_GETREGSET NT_X86_XSTATE` image
//! (standard-format XSAVE area of the host's full user size, XCR0 in the first word of
//! `sw_reserved`): [`setup_rt_frame`] writes such an image to the frame, and
//! [`restore_rt_frame`] returns one, validated as `PTRACE_SETREGSET` requires.

use abi::signal::{sa, KSigAction, SigSet, StackT};
use abi::structs::UserRegs;
use abi::{Errno, UserAddr};
use mm::{MmId, MmService};

#[cfg(test)]
use super::SIGINFO_SIZE;
use super::{sigmask, SigInfo, SigState};

/// `sizeof(struct rt_sigframe)` on x86-64.
pub const RT_SIGFRAME_SIZE: u64 = 440;
/// `fpx_sw_bytes.magic1`.
pub const FP_XSTATE_MAGIC1: u32 = 0x4650_5853;
/// The word after the XSAVE image in a frame.
pub const FP_XSTATE_MAGIC2: u32 = 0x4650_5845;

const RED_ZONE: u64 = 128;
const UC: u64 = 8;
const UC_STACK: u64 = UC + 16;
const MCTX: u64 = UC + 40;
const UC_SIGMASK: u64 = UC + 296;
const INFO: u64 = 312;
/// Bytes of `sigcontext` before `reserved1`, what `rt_sigreturn` reads.
const SC_LEN: usize = 192;

/// `uc_flags`: the frame has XSAVE state, `ss` is saved, and restore it strictly.
const UC_FP_XSTATE: u64 = 1;
const UC_SIGCONTEXT_SS: u64 = 2;
const UC_STRICT_RESTORE_SS: u64 = 4;

// sigcontext offsets.
const SC_R8: usize = 0;
const SC_RDI: usize = 64;
const SC_RSI: usize = 72;
const SC_RBP: usize = 80;
const SC_RBX: usize = 88;
const SC_RDX: usize = 96;
const SC_RAX: usize = 104;
const SC_RCX: usize = 112;
const SC_RSP: usize = 120;
const SC_RIP: usize = 128;
const SC_EFLAGS: usize = 136;
const SC_CS: usize = 144;
const SC_SS: usize = 150;
const SC_ERR: usize = 152;
const SC_TRAPNO: usize = 160;
const SC_OLDMASK: usize = 168;
const SC_CR2: usize = 176;
const SC_FPSTATE: usize = 184;

// EFLAGS bits.
const EF_CF: u64 = 0x1;
const EF_PF: u64 = 0x4;
const EF_AF: u64 = 0x10;
const EF_ZF: u64 = 0x40;
const EF_SF: u64 = 0x80;
const EF_TF: u64 = 0x100;
const EF_DF: u64 = 0x400;
const EF_OF: u64 = 0x800;
const EF_RF: u64 = 0x1_0000;
const EF_AC: u64 = 0x4_0000;
/// The flags `rt_sigreturn` takes from the frame (`FIX_EFLAGS`).
const FIX_EFLAGS: u64 =
    EF_AC | EF_OF | EF_DF | EF_TF | EF_SF | EF_ZF | EF_AF | EF_PF | EF_CF | EF_RF;

// XSAVE layout.
const FXSAVE_SIZE: usize = 512;
const XSAVE_HDR: usize = 512;
const XSAVE_MIN: usize = 576;
const SW_RESERVED: usize = 464;
const MXCSR: usize = 24;
const MXCSR_MASK: usize = 28;
const XFEATURE_FPSSE: u64 = 3;
const XFEATURE_YMM: u64 = 4;
/// Largest XSAVE image accepted from a frame when the host size is unknown.
const XSAVE_MAX: usize = 1 << 20;

fn rd32(b: &[u8], at: usize) -> u32 {
    let mut w = [0u8; 4];
    w.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(w)
}
fn rd64(b: &[u8], at: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(w)
}
fn wr16(b: &mut [u8], at: usize, v: u16) {
    b[at..at + 2].copy_from_slice(&v.to_le_bytes());
}
fn wr32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}
fn wr64(b: &mut [u8], at: usize, v: u64) {
    b[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

/// What the host's XSAVE state looks like.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct XstateInfo {
    /// Size of the full user XSAVE image (0: not known yet).
    pub size: usize,
    /// User-enabled features (XCR0).
    pub features: u64,
    /// `MXCSR_MASK`: the MXCSR bits the CPU supports (0 when unknown: 0xffff is assumed).
    pub mxcsr_mask: u32,
}

impl XstateInfo {
    /// Reads the layout off a `PTRACE_GETREGSET NT_X86_XSTATE` image (XCR0 is its word at
    /// offset 464). `None` if the image is shorter than the XSAVE minimum.
    pub fn from_image(img: &[u8]) -> Option<XstateInfo> {
        if img.len() < XSAVE_MIN {
            return None;
        }
        let word = if rd32(img, SW_RESERVED) == FP_XSTATE_MAGIC1 {
            rd64(img, SW_RESERVED + 8)
        } else {
            rd64(img, SW_RESERVED)
        };
        let features = if word & 1 != 0 {
            word
        } else {
            rd64(img, XSAVE_HDR) | XFEATURE_FPSSE
        };
        Some(XstateInfo {
            size: img.len(),
            features,
            mxcsr_mask: rd32(img, MXCSR_MASK),
        })
    }

    fn mxcsr_ok(&self, mxcsr: u32) -> bool {
        let mask = if self.mxcsr_mask == 0 {
            0xffff
        } else {
            self.mxcsr_mask
        };
        mxcsr & !mask == 0
    }

    /// Writes the ptrace form of `sw_reserved` (XCR0, then zeros).
    fn put_ptrace_sw(&self, img: &mut [u8]) {
        img[SW_RESERVED..FXSAVE_SIZE].fill(0);
        wr64(img, SW_RESERVED, self.features);
    }
}

/// The FPU state a signal handler starts with (Linux's `fpu__clear_user_states`): x87
/// control word 0x37f, MXCSR 0x1f80, all registers zero, every other component in its
/// initial state. An image of `xs.size` bytes (at least the XSAVE minimum) for
/// `PTRACE_SETREGSET`.
pub fn init_fpstate(xs: &XstateInfo) -> Vec<u8> {
    let mut img = vec![0u8; xs.size.max(XSAVE_MIN)];
    wr16(&mut img, 0, 0x037f);
    wr32(&mut img, MXCSR, 0x1f80);
    wr32(
        &mut img,
        MXCSR_MASK,
        if xs.mxcsr_mask == 0 {
            0xffff
        } else {
            xs.mxcsr_mask
        },
    );
    xs.put_ptrace_sw(&mut img);
    wr64(&mut img, XSAVE_HDR, XFEATURE_FPSSE);
    img
}

/// `img`, an image made while the host's layout was not known yet (`rt_sigreturn` before
/// any handler ran), in the host's layout `xs`: cut or zero-padded to its size, with the
/// host's XCR0 in `sw_reserved` and only the host's features in `XSTATE_BV` (zeroed
/// components of those are their initial state).
pub fn fit_fpstate(mut img: Vec<u8>, xs: &XstateInfo) -> Vec<u8> {
    img.resize(xs.size.max(XSAVE_MIN), 0);
    xs.put_ptrace_sw(&mut img);
    let bv = rd64(&img, XSAVE_HDR) & xs.features;
    wr64(&mut img, XSAVE_HDR, bv);
    img
}

fn check_range(addr: u64, len: u64) -> Result<(), Errno> {
    crate::Ctx::access_ok(UserAddr(addr), len)
}

/// Builds the signal frame for `info` handled by `act` and points `regs` at the handler
/// (Linux's `x64_setup_rt_frame` + `signal_delivered`).
///
/// `fpstate` is the interrupted thread's XSAVE image as `PTRACE_GETREGSET NT_X86_XSTATE`
/// returns it. On success: `rip` = handler, `rdi` = signo, `rsi` = &siginfo, `rdx` =
/// &ucontext, `rax` = 0, `rsp` = frame, DF/RF/TF cleared; the mask saved in the frame is
/// `saved_mask` (taken) or `blocked`, and `blocked` gains `act.mask` and the signal
/// (unless `SA_NODEFER`); an `SS_AUTODISARM` alternate stack is disarmed; and
/// `state.fpu_load` holds [`init_fpstate`], which the kernel must load into the FPU (the
/// handler starts with a clean FPU, as on Linux).
///
/// `EFAULT` (nothing changed) when the action lacks `SA_RESTORER` (x86-64 requires it),
/// the frame overflows the alternate stack, or the stack is not writable: the caller then
/// calls [`SigState::force_sigsegv`] with the signal, as Linux does.
pub fn setup_rt_frame(
    mm: &mut MmService,
    id: MmId,
    regs: &mut UserRegs,
    fpstate: &[u8],
    info: &SigInfo,
    act: &KSigAction,
    state: &mut SigState,
) -> Result<(), Errno> {
    if act.flags & sa::RESTORER == 0 {
        return Err(Errno::EFAULT);
    }
    let xs = XstateInfo::from_image(fpstate).ok_or(Errno::EFAULT)?;

    // get_sigframe.
    let nested = state.on_altstack(regs.rsp);
    let mut sp = regs.rsp.wrapping_sub(RED_ZONE);
    let mut entering = false;
    if act.flags & sa::ONSTACK != 0 && state.altstack_flags(sp) == 0 {
        sp = state.altstack.sp.wrapping_add(state.altstack.size);
        entering = true;
    }
    let math_size = fpstate.len() as u64 + 4;
    let buf_fx = sp.wrapping_sub(math_size) & !63;
    let frame = (buf_fx.wrapping_sub(RT_SIGFRAME_SIZE) & !15).wrapping_sub(8);
    if (nested || entering) && !state.on_altstack_raw(frame) {
        return Err(Errno::EFAULT);
    }

    // copy_fpstate_to_sigframe: the image, its software-reserved bytes, magic2.
    check_range(buf_fx, math_size)?;
    let mut fx = Vec::with_capacity(fpstate.len() + 4);
    fx.extend_from_slice(fpstate);
    fx[SW_RESERVED..FXSAVE_SIZE].fill(0);
    wr32(&mut fx, SW_RESERVED, FP_XSTATE_MAGIC1);
    wr32(&mut fx, SW_RESERVED + 4, math_size as u32);
    wr64(&mut fx, SW_RESERVED + 8, xs.features);
    wr32(&mut fx, SW_RESERVED + 16, fpstate.len() as u32);
    let bv = rd32(&fx, XSAVE_HDR) | XFEATURE_FPSSE as u32;
    wr32(&mut fx, XSAVE_HDR, bv);
    fx.extend_from_slice(&FP_XSTATE_MAGIC2.to_le_bytes());
    mm.copy_out(id, UserAddr(buf_fx), &fx)?;

    // The frame up to siginfo.
    let set: SigSet = state.saved_mask.unwrap_or(state.blocked);
    check_range(frame, RT_SIGFRAME_SIZE)?;
    let mut f = [0u8; INFO as usize];
    wr64(&mut f, 0, act.restorer);
    let uc = UC as usize;
    wr64(
        &mut f,
        uc,
        UC_FP_XSTATE | UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS,
    );
    let ss = UC_STACK as usize;
    wr64(&mut f, ss, state.altstack.sp);
    wr32(&mut f, ss + 8, state.altstack.flags as u32);
    wr64(&mut f, ss + 16, state.altstack.size);
    let m = MCTX as usize;
    let gprs = [
        regs.r8, regs.r9, regs.r10, regs.r11, regs.r12, regs.r13, regs.r14, regs.r15,
    ];
    for (i, v) in gprs.into_iter().enumerate() {
        wr64(&mut f, m + SC_R8 + 8 * i, v);
    }
    wr64(&mut f, m + SC_RDI, regs.rdi);
    wr64(&mut f, m + SC_RSI, regs.rsi);
    wr64(&mut f, m + SC_RBP, regs.rbp);
    wr64(&mut f, m + SC_RBX, regs.rbx);
    wr64(&mut f, m + SC_RDX, regs.rdx);
    wr64(&mut f, m + SC_RAX, regs.rax);
    wr64(&mut f, m + SC_RCX, regs.rcx);
    wr64(&mut f, m + SC_RSP, regs.rsp);
    wr64(&mut f, m + SC_RIP, regs.rip);
    wr64(&mut f, m + SC_EFLAGS, regs.eflags);
    wr16(&mut f, m + SC_CS, regs.cs as u16);
    // gs and fs are written as 0.
    wr16(&mut f, m + SC_SS, regs.ss as u16);
    wr64(&mut f, m + SC_ERR, state.trap.err);
    wr64(&mut f, m + SC_TRAPNO, state.trap.trapno);
    wr64(&mut f, m + SC_OLDMASK, set);
    wr64(&mut f, m + SC_CR2, state.trap.cr2);
    wr64(&mut f, m + SC_FPSTATE, buf_fx);
    wr64(&mut f, UC_SIGMASK as usize, set);
    mm.copy_out(id, UserAddr(frame), &f)?;
    if act.flags & sa::SIGINFO != 0 {
        mm.copy_out(id, UserAddr(frame + INFO), &info.to_bytes())?;
    }

    // Registers for the handler.
    regs.rdi = info.signo as u64;
    regs.rax = 0;
    regs.rsi = frame + INFO;
    regs.rdx = frame + UC;
    regs.rip = act.handler;
    regs.rsp = frame;
    regs.eflags &= !(EF_DF | EF_RF | EF_TF);

    // signal_delivered.
    state.saved_mask = None;
    let mut blocked = state.blocked | act.mask;
    if act.flags & sa::NODEFER == 0 {
        blocked |= sigmask(info.signo);
    }
    state.set_blocked(blocked);
    if state.altstack.flags & abi::signal::SS_AUTODISARM != 0 {
        state.altstack = super::DISABLED_STACK;
    }
    state.wait_set = 0;
    state.xstate = xs;
    state.fpu_load = Some(init_fpstate(&xs));
    Ok(())
}

/// `rt_sigreturn`: restores what [`setup_rt_frame`] saved, from the frame at
/// `regs.rsp - 8` (the handler's `ret` popped `pretcode`). Sets the blocked mask from
/// `uc_sigmask` (without `SIGKILL`/`SIGSTOP`), the general registers from `uc_mcontext`
/// (only the user-changeable EFLAGS bits; `cs`/`ss` and the FS/GS bases are kept;
/// `orig_rax` = -1 so nothing restarts), the alternate stack from `uc_stack` (silently
/// unchanged if invalid), and returns the XSAVE image to load, in `PTRACE_SETREGSET`
/// form, `state.xstate.size` bytes: the frame's image if it carries valid XSAVE magic,
/// else its legacy FXSAVE part with the other components reset, or the initial state when
/// `fpstate` is NULL. Components outside the frame's `xfeatures` are reset, as `XRSTOR`
/// with that mask would.
///
/// `EFAULT` for a bad frame: unreadable memory, a misaligned FP area, an XSAVE header or
/// MXCSR `XRSTOR` would fault on. The mask (and, if only the FP state was bad, the
/// registers) may already be restored; the caller forces `SIGSEGV` as Linux does.
pub fn restore_rt_frame(
    mm: &mut MmService,
    id: MmId,
    regs: &mut UserRegs,
    state: &mut SigState,
) -> Result<Vec<u8>, Errno> {
    let frame = regs.rsp.wrapping_sub(8);
    check_range(frame, RT_SIGFRAME_SIZE)?;
    let mut w = [0u8; 8];
    mm.copy_in(id, UserAddr(frame + UC_SIGMASK), &mut w)?;
    let set = u64::from_le_bytes(w);
    mm.copy_in(id, UserAddr(frame + UC), &mut w)?;
    state.set_blocked(set);
    state.wait_set = 0;

    let mut sc = [0u8; SC_LEN];
    mm.copy_in(id, UserAddr(frame + MCTX), &mut sc)?;
    let r = |i: usize| rd64(&sc, i);
    regs.r8 = r(SC_R8);
    regs.r9 = r(SC_R8 + 8);
    regs.r10 = r(SC_R8 + 16);
    regs.r11 = r(SC_R8 + 24);
    regs.r12 = r(SC_R8 + 32);
    regs.r13 = r(SC_R8 + 40);
    regs.r14 = r(SC_R8 + 48);
    regs.r15 = r(SC_R8 + 56);
    regs.rdi = r(SC_RDI);
    regs.rsi = r(SC_RSI);
    regs.rbp = r(SC_RBP);
    regs.rbx = r(SC_RBX);
    regs.rdx = r(SC_RDX);
    regs.rax = r(SC_RAX);
    regs.rcx = r(SC_RCX);
    regs.rsp = r(SC_RSP);
    regs.rip = r(SC_RIP);
    regs.eflags = (regs.eflags & !FIX_EFLAGS) | (r(SC_EFLAGS) & FIX_EFLAGS);
    regs.orig_rax = u64::MAX;
    let fp = restore_fpstate(mm, id, r(SC_FPSTATE), &state.xstate)?;

    // restore_altstack: only a fault reading it is an error.
    let mut st = [0u8; 24];
    mm.copy_in(id, UserAddr(frame + UC_STACK), &mut st)?;
    let ss: StackT = bytemuck::pod_read_unaligned(&st);
    let _ = state.set_altstack(ss, regs.rsp);
    Ok(fp)
}

/// `fpu__restore_sig` as a ptrace image.
fn restore_fpstate(
    mm: &mut MmService,
    id: MmId,
    fp: u64,
    known: &XstateInfo,
) -> Result<Vec<u8>, Errno> {
    if fp == 0 {
        return Ok(init_fpstate(known));
    }
    // check_xstate_in_sigframe.
    let mut sw = [0u8; 48];
    check_range(fp, (known.size.max(XSAVE_MIN) + 4) as u64)?;
    mm.copy_in(id, UserAddr(fp + SW_RESERVED as u64), &mut sw)?;
    let (magic1, ext, sw_features, xsize) = (
        rd32(&sw, 0),
        rd32(&sw, 4) as usize,
        rd64(&sw, 8),
        rd32(&sw, 16) as usize,
    );
    let limit = if known.size == 0 {
        XSAVE_MAX
    } else {
        known.size
    };
    let mut xsave =
        magic1 == FP_XSTATE_MAGIC1 && xsize >= XSAVE_MIN && xsize <= limit && xsize <= ext;
    if xsave {
        let mut m2 = [0u8; 4];
        mm.copy_in(id, UserAddr(fp + xsize as u64), &mut m2)?;
        xsave = u32::from_le_bytes(m2) == FP_XSTATE_MAGIC2;
    }
    let size = if known.size != 0 {
        known.size
    } else if xsave {
        xsize
    } else {
        XSAVE_MIN
    };
    let xs = XstateInfo {
        size,
        features: if known.features != 0 {
            known.features
        } else {
            sw_features | XFEATURE_FPSSE
        },
        mxcsr_mask: known.mxcsr_mask,
    };
    let mut img = vec![0u8; size];
    if xsave {
        if fp & 63 != 0 {
            return Err(Errno::EFAULT);
        }
        mm.copy_in(id, UserAddr(fp), &mut img[..xsize])?;
        let rfbm = sw_features & xs.features;
        let bv = rd64(&img, XSAVE_HDR);
        let header_ok =
            bv & !xs.features == 0 && img[XSAVE_HDR + 8..XSAVE_MIN].iter().all(|&b| b == 0);
        if !header_ok {
            return Err(Errno::EFAULT);
        }
        if rfbm & (XFEATURE_FPSSE | XFEATURE_YMM) != 0 && !xs.mxcsr_ok(rd32(&img, MXCSR)) {
            return Err(Errno::EFAULT);
        }
        wr64(&mut img, XSAVE_HDR, bv & rfbm);
    } else {
        if fp & 15 != 0 {
            return Err(Errno::EFAULT);
        }
        mm.copy_in(id, UserAddr(fp), &mut img[..FXSAVE_SIZE])?;
        if !xs.mxcsr_ok(rd32(&img, MXCSR)) {
            return Err(Errno::EFAULT);
        }
        img[XSAVE_HDR..XSAVE_MIN].fill(0);
        wr64(&mut img, XSAVE_HDR, XFEATURE_FPSSE);
    }
    xs.put_ptrace_sw(&mut img);
    Ok(img)
}

#[cfg(test)]
mod layout_tests {
    use super::*;
    use nix::libc;

    #[test]
    fn sigcontext_matches_glibc_mcontext() {
        assert_eq!(std::mem::offset_of!(libc::ucontext_t, uc_stack), 16);
        assert_eq!(
            std::mem::offset_of!(libc::ucontext_t, uc_mcontext),
            (MCTX - UC) as usize
        );
        assert_eq!(
            std::mem::offset_of!(libc::ucontext_t, uc_sigmask),
            (UC_SIGMASK - UC) as usize
        );
        let reg = |r: libc::c_int| r as usize * 8;
        assert_eq!(reg(libc::REG_R8), SC_R8);
        assert_eq!(reg(libc::REG_R15), SC_R8 + 56);
        assert_eq!(reg(libc::REG_RDI), SC_RDI);
        assert_eq!(reg(libc::REG_RSI), SC_RSI);
        assert_eq!(reg(libc::REG_RBP), SC_RBP);
        assert_eq!(reg(libc::REG_RBX), SC_RBX);
        assert_eq!(reg(libc::REG_RDX), SC_RDX);
        assert_eq!(reg(libc::REG_RAX), SC_RAX);
        assert_eq!(reg(libc::REG_RCX), SC_RCX);
        assert_eq!(reg(libc::REG_RSP), SC_RSP);
        assert_eq!(reg(libc::REG_RIP), SC_RIP);
        assert_eq!(reg(libc::REG_EFL), SC_EFLAGS);
        assert_eq!(reg(libc::REG_CSGSFS), SC_CS);
        assert_eq!(reg(libc::REG_ERR), SC_ERR);
        assert_eq!(reg(libc::REG_TRAPNO), SC_TRAPNO);
        assert_eq!(reg(libc::REG_OLDMASK), SC_OLDMASK);
        assert_eq!(reg(libc::REG_CR2), SC_CR2);
        // fpregs pointer follows the 23 gregs.
        assert_eq!(23 * 8, SC_FPSTATE);
        // The frame: pretcode, ucontext (304 bytes), siginfo.
        assert_eq!(UC + 304, INFO);
        assert_eq!(INFO + SIGINFO_SIZE as u64, RT_SIGFRAME_SIZE);
    }
}
