//! Guest-memory layout constants.

use crate::PAGE_SIZE;

/// Guest addresses are below this; the runner's stub lives at/above it.
pub const TASK_SIZE: u64 = 0x7f00_0000_0000;
/// Initial stack top (exclusive end of the stack VMA).
pub const STACK_TOP: u64 = TASK_SIZE - PAGE_SIZE;
/// Size of the initial stack VMA.
pub const STACK_SIZE: u64 = 8 << 20;
/// Top-down mmap allocation starts below here.
pub const MMAP_BASE: u64 = STACK_TOP - STACK_SIZE - (1 << 30);
/// Load base of `ET_DYN` executables.
pub const ELF_ET_DYN_BASE: u64 = 0x5555_5555_4000;
/// Lowest mappable address (`vm.mmap_min_addr`).
pub const MMAP_MIN_ADDR: u64 = 0x10000;
/// Mappings one address space may hold (Linux's default `vm.max_map_count`, `USHRT_MAX - 5`).
pub const MAX_MAP_COUNT: usize = 65530;
/// Pages populated around a not-present fault (an aligned window).
pub const FAULT_AROUND: u64 = 64;
/// Largest window of a private anonymous mapping touched in sequence: each fault just past
/// the previous window doubles it up to this (a huge page's worth, as Linux's THP and
/// gVisor's private allocation unit), so that a sequential first touch costs one trap per
/// 2 MiB instead of per 256 KiB. A fault elsewhere starts again at [`FAULT_AROUND`].
pub const FAULT_AROUND_MAX: u64 = 512;
