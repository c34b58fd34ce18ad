//! The Linux x86-64 ABI, as uml's guests see it.
//!
//! This crate owns every number and layout that crosses the guest/kernel boundary: syscall
//! numbers ([`Sysno`]), error numbers ([`Errno`]), flag sets, and `#[repr(C)]` structs whose
//! sizes are asserted at compile time against Linux's. It holds no host code and no logic
//! beyond encoding; every other crate names Linux things through it.
//!
//! Invariants: every struct here has exactly Linux's x86-64 layout (checked by `const`
//! assertions) and is [`bytemuck::Pod`], so it can be copied to and from guest memory as bytes.
#![forbid(unsafe_code)]

mod addr;
mod errno;
pub mod flags;
pub mod ipc;
pub mod net;
pub mod signal;
pub mod structs;
mod sysno;

pub use addr::{UserAddr, PAGE_SIZE};
pub use errno::Errno;
pub use sysno::Sysno;

/// Result of a syscall handler: the raw return value, or the errno to return negated.
pub type SysResult = Result<u64, Errno>;
