//! Linux error numbers.

use serde::{Deserialize, Serialize};

macro_rules! errno_table {
    ($($name:ident = $num:literal, $desc:literal;)*) => {
        /// A Linux error number, as returned (negated) by a failing syscall.
        #[allow(non_camel_case_types, clippy::upper_case_acronyms)]
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[repr(i32)]
        pub enum Errno {
            $(#[doc = $desc] $name = $num,)*
        }

        impl Errno {
            /// The errno for a raw number, or `None` if Linux has no such errno.
            pub fn from_raw(n: i32) -> Option<Errno> {
                match n {
                    $($num => Some(Errno::$name),)*
                    _ => None,
                }
            }
            /// Linux's message for this errno (the `strerror` text of the UAPI header).
            pub fn description(self) -> &'static str {
                match self {
                    $(Errno::$name => $desc,)*
                }
            }
        }
    };
}

include!("errno_table.rs");

impl Errno {
    /// Linux's aliases.
    pub const EWOULDBLOCK: Errno = Errno::EAGAIN;
    /// Linux's alias for `EDEADLK`.
    pub const EDEADLOCK: Errno = Errno::EDEADLK;

    /// The positive errno number.
    pub const fn raw(self) -> i32 {
        self as i32
    }

    /// The value a syscall returns in `rax` for this error.
    pub const fn as_return(self) -> u64 {
        (-(self as i64)) as u64
    }

    /// Converts a host error number (x86-64 Linux numbers are the guest's too); unknown
    /// numbers become `EIO`.
    pub fn from_host(n: i32) -> Errno {
        Errno::from_raw(n).unwrap_or(Errno::EIO)
    }
}

impl From<std::io::Error> for Errno {
    fn from(e: std::io::Error) -> Errno {
        e.raw_os_error().map_or(Errno::EIO, Errno::from_host)
    }
}

impl std::fmt::Display for Errno {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?} ({})", self, self.description())
    }
}

impl std::error::Error for Errno {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_match_linux() {
        assert_eq!(Errno::ENOENT.raw(), 2);
        assert_eq!(Errno::EFAULT.raw(), 14);
        assert_eq!(Errno::ENOSYS.raw(), 38);
        assert_eq!(Errno::from_raw(40), Some(Errno::ELOOP));
        assert_eq!(Errno::EBADF.as_return(), (-9i64) as u64);
    }
}
