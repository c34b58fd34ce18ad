//! Guest virtual addresses.

use serde::{Deserialize, Serialize};

/// Size of a guest page (and of a host page: uml maps guest pages 1:1 onto host pages).
pub const PAGE_SIZE: u64 = 4096;

/// A guest virtual address. Arithmetic is checked: guest values are untrusted.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct UserAddr(pub u64);

impl UserAddr {
    /// The null pointer.
    pub const NULL: UserAddr = UserAddr(0);

    /// `self + off`, or `None` on overflow.
    pub fn checked_add(self, off: u64) -> Option<UserAddr> {
        self.0.checked_add(off).map(UserAddr)
    }
    /// Whether this is the null pointer.
    pub fn is_null(self) -> bool {
        self.0 == 0
    }
    /// Rounded down to a page boundary.
    pub fn page_down(self) -> UserAddr {
        UserAddr(self.0 & !(PAGE_SIZE - 1))
    }
    /// Rounded up to a page boundary, or `None` on overflow.
    pub fn page_up(self) -> Option<UserAddr> {
        self.0
            .checked_add(PAGE_SIZE - 1)
            .map(|v| UserAddr(v & !(PAGE_SIZE - 1)))
    }
    /// Whether the address is page aligned.
    pub fn is_page_aligned(self) -> bool {
        self.0.is_multiple_of(PAGE_SIZE)
    }
}

impl std::fmt::LowerHex for UserAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::LowerHex::fmt(&self.0, f)
    }
}
