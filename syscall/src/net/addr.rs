//! `struct sockaddr_un` to and from the guest.

use abi::{Errno, UserAddr};

use crate::Ctx;

/// `offsetof(struct sockaddr_un, sun_path)`.
const PATH_OFF: usize = 2;
/// `sizeof(struct sockaddr_un)`.
const SUN_LEN: usize = 110;
const AF_UNSPEC: u16 = 0;
const AF_UNIX: u16 = 1;

/// A socket address the guest passed.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum SockAddr {
    /// `AF_UNSPEC` (datagram `connect`: dissolve the association).
    Unspec,
    /// Only the family: `bind` picks an abstract name.
    Auto,
    /// A file system path (no NUL).
    Path(Vec<u8>),
    /// An abstract name, its leading NUL included.
    Abstract(Vec<u8>),
}

impl SockAddr {
    /// The `sockaddr_un` `getsockname` returns for it: a path with its NUL, an abstract
    /// name exactly as long as given.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = AF_UNIX.to_ne_bytes().to_vec();
        match self {
            SockAddr::Path(p) => {
                v.extend_from_slice(p);
                v.push(0);
            }
            SockAddr::Abstract(n) => v.extend_from_slice(n),
            SockAddr::Unspec | SockAddr::Auto => {}
        }
        v
    }
}

/// Reads an address of `len` bytes at `at`, as Linux's `move_addr_to_kernel` and
/// `unix_validate_addr`: `EINVAL` for a bad length or family.
pub(crate) fn read(ctx: &mut Ctx<'_>, at: UserAddr, len: i32) -> Result<SockAddr, Errno> {
    let len = usize::try_from(len).map_err(|_| Errno::EINVAL)?;
    if len > 128 {
        return Err(Errno::EINVAL);
    }
    let mut raw = vec![0u8; len];
    ctx.copy_in(at, &mut raw)?;
    if len < PATH_OFF {
        return Err(Errno::EINVAL);
    }
    let family = u16::from_ne_bytes([raw[0], raw[1]]);
    if family == AF_UNSPEC {
        return Ok(SockAddr::Unspec);
    }
    if family != AF_UNIX || len > SUN_LEN {
        return Err(Errno::EINVAL);
    }
    let path = &raw[PATH_OFF..];
    Ok(match path.first() {
        None => SockAddr::Auto,
        Some(0) => SockAddr::Abstract(path.to_vec()),
        Some(_) => {
            let end = path.iter().position(|&c| c == 0).unwrap_or(path.len());
            SockAddr::Path(path[..end].to_vec())
        }
    })
}

/// Writes a socket address (`accept`, `getsockname`, `getpeername`): `name`, or just the
/// family for an unbound socket (`None`).
pub(crate) fn write_name(
    ctx: &mut Ctx<'_>,
    at: UserAddr,
    len_at: UserAddr,
    name: Option<&[u8]>,
) -> Result<(), Errno> {
    let family = AF_UNIX.to_ne_bytes();
    write_raw(ctx, at, len_at, name.unwrap_or(&family))
}

/// Writes `name` (any bytes, possibly none) truncated to `*len_at` and stores its full
/// length there, as Linux's `move_addr_to_user`.
pub(crate) fn write_raw(
    ctx: &mut Ctx<'_>,
    at: UserAddr,
    len_at: UserAddr,
    name: &[u8],
) -> Result<(), Errno> {
    let ulen: i32 = ctx.read_val(len_at)?;
    let ulen = usize::try_from(ulen).map_err(|_| Errno::EINVAL)?;
    let k = ulen.min(name.len());
    if k > 0 {
        ctx.copy_out(at, &name[..k])?;
    }
    ctx.write_val(len_at, &(name.len() as i32))
}
