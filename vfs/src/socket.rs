//! Socket names: socket inodes in the guest's file system (`bind` to a path) and the
//! abstract namespace (names with a leading NUL), both holding the bound socket weakly.
//!
//! A socket inode is an in-memory inode of the overlay's upper layer (or of an in-memory
//! file system such as devfs); binding never creates anything on the host, and with `rw`
//! (where new entries would be host files) binding to a path is `EPERM`. Host sockets seen
//! through the lower layer are never connected to: they are `ECONNREFUSED`, as a socket
//! file nobody listens on.
//!
//! The abstract namespace belongs to one [`Vfs`], that is to one uml instance; a name is
//! free again once its socket is gone.

use std::collections::HashMap;
use std::sync::Weak;

use abi::flags::mode::S_IFSOCK;
use abi::Errno;

use crate::dentry::Inode;
use crate::object::FileObject;
use crate::tmpfs::MemData;
use crate::{overlay, Arc, At, Vfs};

/// The abstract socket namespace: name → bound socket.
#[derive(Default)]
pub(crate) struct AbstractNames(parking_lot::Mutex<HashMap<Vec<u8>, Weak<dyn FileObject>>>);

impl Vfs {
    /// `bind(2)` to a path: creates a socket inode with permission bits `mode` (already
    /// masked by the umask) naming `sock`. `EADDRINUSE` if the name exists.
    pub fn bind_socket<'b>(
        &self,
        base: impl Into<At<'b>>,
        path: &[u8],
        mode: u32,
        sock: Weak<dyn FileObject>,
    ) -> Result<(), Errno> {
        let base: At<'_> = base.into();
        let _ns = self.ns.lock();
        let (dir, name) = self.new_entry(base, path, false).map_err(|e| match e {
            Errno::EEXIST => Errno::EADDRINUSE,
            e => e,
        })?;
        let who = self.who(&base);
        who.landlock_check(&dir, abi::flags::landlock::ACCESS_FS_MAKE_SOCK)?;
        self.may_modify(&who, &dir)?;
        match &dir.0.inode {
            Inode::Host(_) | Inode::Proc(_) => return Err(Errno::EPERM),
            Inode::Ovl(_) => overlay::create(
                &dir,
                &name,
                S_IFSOCK | (mode & 0o7777),
                who.new_owner(&dir),
                MemData::Socket(Some(sock)),
            )?,
        };
        crate::notify::create(&dir, &name, false, None);
        Ok(())
    }

    /// `connect(2)`/`sendto(2)` to a path: the socket bound there. `ENOENT` and the other
    /// lookup errors as `stat`; `EACCES` without write permission; `ECONNREFUSED` if the
    /// file is not a socket or its socket is gone.
    pub fn socket_at<'b>(
        &self,
        base: impl Into<At<'b>>,
        path: &[u8],
    ) -> Result<Arc<dyn FileObject>, Errno> {
        let base: At<'_> = base.into();
        let d = self.walk(base, path, true, &mut 0)?;
        self.check(&self.who(&base), &d, 2)?;
        if d.ftype() != S_IFSOCK {
            return Err(Errno::ECONNREFUSED);
        }
        let bound = overlay::upper(&d).and_then(|u| match &u.inner.lock().data {
            MemData::Socket(w) => w.as_ref().and_then(std::sync::Weak::upgrade),
            _ => None,
        });
        bound.ok_or(Errno::ECONNREFUSED)
    }

    /// `bind(2)` to an abstract name; `EADDRINUSE` if a live socket has it.
    pub fn bind_abstract(&self, name: &[u8], sock: Weak<dyn FileObject>) -> Result<(), Errno> {
        let mut names = self.abstract_names.0.lock();
        if names.get(name).is_some_and(|w| w.strong_count() > 0) {
            return Err(Errno::EADDRINUSE);
        }
        names.retain(|_, w| w.strong_count() > 0);
        names.insert(name.to_vec(), sock);
        Ok(())
    }

    /// The socket bound to an abstract name, or `ECONNREFUSED`.
    pub fn abstract_socket(&self, name: &[u8]) -> Result<Arc<dyn FileObject>, Errno> {
        let names = self.abstract_names.0.lock();
        names
            .get(name)
            .and_then(Weak::upgrade)
            .ok_or(Errno::ECONNREFUSED)
    }

    /// An open file over `obj` (a socket); `flags`: access mode and status flags
    /// (`O_NONBLOCK`).
    pub fn open_object(
        &self,
        obj: Arc<dyn FileObject>,
        flags: abi::flags::OFlags,
    ) -> crate::FileRef {
        crate::file::open_object(obj, flags)
    }
}
