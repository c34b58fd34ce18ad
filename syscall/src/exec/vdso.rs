//! uml's vDSO: a small shared object of our own (`vdso/vdso.c`, built by `build.rs`) that
//! exports the time calls under `LINUX_2.6`, as Linux's x86-64 vDSO, and its data page
//! (`[vvar]`, kept by [`crate::clock`]). Both are special mappings of [`mm`], made once and
//! shared by every address space: each exec maps `[vvar]` read-only and `[vdso]`
//! read+exec right above it, at a fixed place in the gap between the mmap area (which ends
//! at `MMAP_BASE`) and the stack, and passes the vDSO's address as `AT_SYSINFO_EHDR`.
//! A fork inherits both with the rest of the address space.
//!
//! A process in a time namespace other than the initial one has `[vvar]` replaced by a
//! page that tells the vDSO to make the syscall for every clock ([`TIMENS_VVAR_NAME`],
//! [`map_vvar`]; Linux's "timens" data page), so that it never reads the initial
//! namespace's clocks.

use abi::flags::Prot;
use abi::{Errno, UserAddr, PAGE_SIZE};
use mm::{MmId, MmService};

include!(concat!(env!("OUT_DIR"), "/vdso_layout.rs"));

/// The data page's name in the maps view.
pub const VVAR_NAME: &str = "[vvar]";
/// The vDSO's name in the maps view.
pub const VDSO_NAME: &str = "[vdso]";
/// The data page of the processes in a time namespace other than the initial one: its
/// `MODE` is `MODE_SYSCALL`, and it never changes.
pub const TIMENS_VVAR_NAME: &str = "[vvar timens]";
/// Where `[vvar]` goes; the vDSO starts one page above (its code finds the page there).
pub const VVAR_ADDR: u64 = mm::layout::MMAP_BASE;

/// Maps `[vvar]` and `[vdso]` into the new address space `id` (with the clocks published)
/// and returns the vDSO's address, for `AT_SYSINFO_EHDR`.
pub fn map(mm: &mut MmService, id: MmId) -> Result<u64, Errno> {
    let vvar = mm.special(VVAR_NAME, &[0; PAGE_SIZE as usize])?;
    let vdso = mm.special(VDSO_NAME, VDSO_IMAGE)?;
    let vdso_addr = VVAR_ADDR + vvar.len();
    mm.map_special(id, UserAddr(VVAR_ADDR), &vvar, Prot::READ)?;
    mm.map_special(id, UserAddr(vdso_addr), &vdso, Prot::READ | Prot::EXEC)?;
    crate::clock::refresh(mm);
    Ok(vdso_addr)
}

/// Maps the data page of a process in the initial time namespace (`timens` false) or in
/// another one over the `[vvar]` of address space `id` (at exec, fork and `setns`).
pub fn map_vvar(mm: &mut MmService, id: MmId, timens: bool) -> Result<(), Errno> {
    let page = if timens {
        let mut content = [0u8; PAGE_SIZE as usize];
        let mode = vvar::MODE_SYSCALL as u64;
        content[vvar::MODE * 8..][..8].copy_from_slice(&mode.to_ne_bytes());
        mm.special(TIMENS_VVAR_NAME, &content)?
    } else {
        mm.special(VVAR_NAME, &[0; PAGE_SIZE as usize])?
    };
    mm.map_special(id, UserAddr(VVAR_ADDR), &page, Prot::READ)
}
