//! [`InetSocket`]: an inet socket as a `vfs` file object. It holds its [`SockId`] and the
//! stack; reads, writes and readiness are calls to the stack, and dropping the last
//! reference (the last descriptor closed) closes the socket.

use std::io::{IoSlice, IoSliceMut};

use abi::flags::mode::S_IFSOCK;
use abi::structs::Stat;
use abi::Errno;
use vfs::{FileObject, PollEvents, Poller};

use crate::{Family, Kind, NetService, SockId};

/// Synthetic `st_dev` of sockets ("sockfs").
const SOCKFS_DEV: (u32, u32) = (0, 0x08);

/// An `AF_INET` or `AF_INET6` socket.
pub struct InetSocket {
    /// Its id in the stack.
    pub id: SockId,
    /// The stack.
    pub net: NetService,
    /// Its family.
    pub family: Family,
    /// Its protocol.
    pub kind: Kind,
    /// Its `protocol` number as `socket` was given or implied (`SO_PROTOCOL`).
    pub protocol: i32,
    wait: u64,
    uid: u32,
    gid: u32,
    /// Its host socket (`--net host`), which the kernel watches while tasks wait.
    host: crate::HostHandle,
}

impl InetSocket {
    /// A new socket of the stack `net`, created by `uid`:`gid`.
    pub fn new(
        net: &NetService,
        family: Family,
        kind: Kind,
        protocol: i32,
        (uid, gid): (u32, u32),
    ) -> Result<InetSocket, Errno> {
        let wait = vfs::new_wait_id();
        let id = net.socket(family, kind, uid, wait)?;
        let host = net.info(id).map(|i| i.host).unwrap_or_default();
        Ok(InetSocket {
            host,
            id,
            net: net.clone(),
            family,
            kind,
            protocol,
            wait,
            uid,
            gid,
        })
    }

    /// The object for a socket the stack made (an accepted connection's server end).
    pub fn accepted(&self, id: SockId) -> Result<InetSocket, Errno> {
        let info = self.net.info(id)?;
        Ok(InetSocket {
            id,
            net: self.net.clone(),
            family: info.family,
            kind: info.kind,
            protocol: self.protocol,
            wait: info.wait,
            host: info.host,
            uid: self.uid,
            gid: self.gid,
        })
    }
}

impl Drop for InetSocket {
    fn drop(&mut self) {
        self.net.close(self.id);
    }
}

impl FileObject for InetSocket {
    fn read(&self, bufs: &mut [IoSliceMut<'_>]) -> Result<usize, Errno> {
        let max = vfs::object::iov_len_mut(bufs);
        let r = self.net.recv(self.id, max, false)?;
        let n = vfs::object::scatter(bufs, &r.data);
        self.net.recycle(r.data);
        Ok(n)
    }

    fn write(&self, bufs: &[IoSlice<'_>]) -> Result<usize, Errno> {
        let mut data = self.net.buffer(vfs::object::iov_len(bufs));
        vfs::object::append(&mut data, bufs);
        self.net.send(self.id, data, None)
    }

    fn poll(&self, _who: &Poller) -> PollEvents {
        let r = self.net.poll(self.id);
        PollEvents {
            readable: r.readable,
            writable: r.writable,
            hangup: r.hangup,
            error: r.error,
            rdhup: r.rdhup,
            seq: Some(r.seq),
        }
    }

    fn wait_id(&self) -> u64 {
        self.wait
    }

    fn host_watch(&self) -> Option<(std::os::fd::BorrowedFd<'_>, bool)> {
        self.host.0.as_ref().map(|h| h.watch())
    }

    fn write_waits_for_all(&self) -> bool {
        self.kind == Kind::Stream
    }

    fn lseek(&self) -> Result<u64, Errno> {
        Err(Errno::ESPIPE)
    }

    fn stat(&self) -> Stat {
        sock_stat(self.wait, self.uid, self.gid)
    }
}

/// `fstat` of a socket: an inode of sockfs numbered by its wait id, owned by its creator.
pub(crate) fn sock_stat(ino: u64, uid: u32, gid: u32) -> Stat {
    Stat {
        st_dev: abi::structs::makedev(SOCKFS_DEV.0, SOCKFS_DEV.1),
        st_ino: ino,
        st_nlink: 1,
        st_mode: S_IFSOCK | 0o777,
        st_uid: uid,
        st_gid: gid,
        st_blksize: 4096,
        ..Stat::default()
    }
}
