//! uml's vDSO: a small shared object of our own (`vdso/vdso.c`, built by `build.rs`) that
//! exports the time calls under `LINUX_2.6`, as Linux's x86-64 vDSO, and its data page
//! (`[vvar]`, kept by [`crate::clock`]). Both are special mappings of [`mm`], made once and
//! shared by every address space: each exec maps `[vvar]` read-only and `[vdso]`
//! read+exec right above it, at a fixed place in the gap between the mmap area (which ends
//! at `MMAP_BASE`) and the stack, and passes the vDSO's address as `AT_SYSINFO_EHDR`.
//! A fork inherits both with the rest of the address space.

use abi::flags::Prot;
use abi::{Errno, UserAddr, PAGE_SIZE};
use mm::{MmId, MmService};

include!(concat!(env!("OUT_DIR"), "/vdso_layout.rs"));

/// The data page's name in the maps view.
pub const VVAR_NAME: &str = "[vvar]";
/// The vDSO's name in the maps view.
pub const VDSO_NAME: &str = "[vdso]";
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
