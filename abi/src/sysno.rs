//! x86-64 syscall numbers.

use serde::{Deserialize, Serialize};

macro_rules! sysno_table {
    ($($name:ident = $num:literal;)*) => {
        /// An x86-64 Linux syscall number, named as in `unistd_64.h`.
        #[allow(non_camel_case_types)]
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[repr(u32)]
        pub enum Sysno {
            $(#[allow(missing_docs)] $name = $num,)*
        }

        impl Sysno {
            /// Every syscall number, in numeric order.
            pub const ALL: &'static [Sysno] = &[$(Sysno::$name,)*];

            /// The syscall for a number, or `None` if x86-64 Linux has none.
            pub fn from_raw(n: u64) -> Option<Sysno> {
                match n {
                    $($num => Some(Sysno::$name),)*
                    _ => None,
                }
            }
            /// The syscall's name, as strace prints it.
            pub fn name(self) -> &'static str {
                match self {
                    $(Sysno::$name => stringify!($name),)*
                }
            }
        }
    };
}

include!("sysno_table.rs");

impl Sysno {
    /// The raw number.
    pub fn raw(self) -> u64 {
        self as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_match_linux() {
        assert_eq!(Sysno::read.raw(), 0);
        assert_eq!(Sysno::getppid.raw(), 110);
        assert_eq!(Sysno::from_raw(231), Some(Sysno::exit_group));
        assert_eq!(Sysno::from_raw(100_000), None);
        assert_eq!(Sysno::openat.name(), "openat");
    }
}
