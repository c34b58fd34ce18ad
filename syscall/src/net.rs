//! Sockets. uml has no sockets yet: `socket` fails with `EAFNOSUPPORT`, and the calls that
//! take a socket descriptor say whether the descriptor exists (`EBADF`) or is not a socket
//! (`ENOTSOCK`) — which is all a program asking "is my stdin a socket?" needs.

use abi::{Errno, SysResult};

use crate::{Args, Ctx};

pub(crate) fn sys_not_a_socket(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    ctx.file(a.i32(0))?;
    Err(Errno::ENOTSOCK)
}
