//! `O_TMPFILE`: an unnamed regular file made in a directory, as Linux's `vfs_tmpfile`. It
//! has no link (`st_nlink` 0) and no entry in the directory, and goes away with its last
//! descriptor, unless `linkat` (through `/proc/self/fd/N` or `AT_EMPTY_PATH`) gives it a
//! name, which only a file opened without `O_EXCL` takes (Linux's `I_LINKABLE`). Its
//! dentry is named as Linux shows it (`#INO (deleted)`) under the directory, which no
//! lookup finds. The in-memory file systems (the overlay, tmpfs, disk file systems of loop
//! devices) make them; host directories (`--rw`, `-v`) and `/proc` do not (`EOPNOTSUPP`).

use abi::flags::mode::S_IFREG;
use abi::Errno;

use crate::dentry::{Dentry, Inode, OvlNode};
use abi::flags::OFlags;

use crate::file::{self, FileRef};
use crate::procfs::At;
use crate::tmpfs::MemInode;
use crate::{mount, notify, Vfs};

impl Vfs {
    /// `open(path, O_TMPFILE | flags, mode)` (`mode` with the umask applied): the checks
    /// of Linux's `vfs_tmpfile` in its order (a directory, a writable mount, write and
    /// search permission on it, a file system that makes such files), then the new file,
    /// open; with `events`, its use sends file system events.
    pub(crate) fn open_tmpfile(
        &self,
        base: At<'_>,
        path: &[u8],
        flags: OFlags,
        mode: u32,
        events: bool,
    ) -> Result<FileRef, Errno> {
        let _ns = self.ns.lock();
        let dir = self.walk(base, path, true, &mut 0)?;
        if !dir.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        if mount::read_only(&dir) {
            return Err(Errno::EROFS);
        }
        let who = self.who(&base);
        self.check(&who, &dir, 2 | 1)?;
        let Inode::Ovl(o) = &dir.0.inode else {
            return Err(Errno::EOPNOTSUPP);
        };
        let (uid, gid) = who.new_owner(&dir);
        let data = o.fs.new_file();
        let inode = MemInode::new(o.fs.shared.ino(), o.fs.dev, S_IFREG | mode, uid, gid, data);
        {
            let mut i = inode.inner.lock();
            i.nlink = 0;
            i.linkable = !flags.contains(OFlags::EXCL);
        }
        let name = format!("#{} (deleted)", inode.ino);
        let node = OvlNode::new(Some(inode), None, o.fs.clone());
        let d = Dentry::new(
            Some(dir.clone()),
            name.as_bytes(),
            Inode::Ovl(node),
            S_IFREG,
        );
        let f = file::open_dentry(&d, flags.difference(OFlags::TMPFILE | OFlags::EXCL))?;
        f.set_events(events);
        notify::open(&f);
        Ok(f)
    }
}
