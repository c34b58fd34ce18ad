//! Typed access to the six raw syscall arguments.

use abi::UserAddr;

/// The raw arguments of one syscall (rdi, rsi, rdx, r10, r8, r9). Every value is
/// guest-controlled: accessors only reinterpret bits, the handlers validate.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Args(pub [u64; 6]);

impl Args {
    /// Argument `i` as a raw 64-bit value.
    pub fn raw(&self, i: usize) -> u64 {
        self.0[i]
    }
    /// Argument `i` as an `int` (file descriptors, flags given as int): the low 32 bits.
    pub fn i32(&self, i: usize) -> i32 {
        self.0[i] as u32 as i32
    }
    /// Argument `i` as an `unsigned int`: the low 32 bits.
    pub fn u32(&self, i: usize) -> u32 {
        self.0[i] as u32
    }
    /// Argument `i` as a signed 64-bit value (`off_t`, `long`).
    pub fn i64(&self, i: usize) -> i64 {
        self.0[i] as i64
    }
    /// Argument `i` as a length (`size_t`).
    pub fn len(&self, i: usize) -> u64 {
        self.0[i]
    }
    /// Argument `i` as a guest address.
    pub fn addr(&self, i: usize) -> UserAddr {
        UserAddr(self.0[i])
    }
}
