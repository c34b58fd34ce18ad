//! The host CPU's time-stamp counter, which guest code reads directly with `rdtsc` (the vDSO
//! computes time from it without a trap); the kernel reads it to publish the time base the
//! vDSO starts from.
#![allow(unsafe_code)]

/// Reads the time-stamp counter, ordered after every earlier load (`lfence; rdtsc`, as
/// Linux's `rdtsc_ordered`), so it is not taken before the clock reads that precede it.
pub fn rdtsc() -> u64 {
    // SAFETY: `lfence` and `rdtsc` only read the CPU's counter into registers; every x86-64
    // CPU has both, and user mode may execute `rdtsc` unless CR4.TSD is set (then the
    // kernel's guests could not use the vDSO either; `invariant()` is checked first).
    unsafe {
        core::arch::x86_64::_mm_lfence();
        core::arch::x86_64::_rdtsc()
    }
}

/// Whether the counter ticks at a constant rate in every power state (CPUID
/// `0x8000_0007` EDX bit 8, "invariant TSC"), so that counter differences measure time.
pub fn invariant() -> bool {
    let max_ext = core::arch::x86_64::__cpuid(0x8000_0000).eax;
    max_ext >= 0x8000_0007 && core::arch::x86_64::__cpuid(0x8000_0007).edx & (1 << 8) != 0
}
