//! `memfd_create(2)` files: regular in-memory files with no name in the tree. Each has a
//! dentry of its own under the root, named as Linux shows it (`memfd:NAME (deleted)`), so
//! that `fstat`, `fchmod` and a path for `/proc/PID/fd` work as for any in-memory file.

use abi::flags::mode::S_IFREG;
use abi::flags::OFlags;

use crate::dentry::{Dentry, Inode, OvlNode};
use crate::file::{FileKind, OpenFile};
use crate::tmpfs::{MemData, MemInode};
use crate::{FileRef, Vfs};

impl Vfs {
    /// A new, empty memfd named `name` (without the `memfd:` prefix), open read-write.
    pub fn memfd_create(&self, name: &[u8]) -> FileRef {
        let fs = &self.memfd;
        let inode = MemInode::new(
            fs.shared.ino(),
            fs.dev,
            S_IFREG | 0o777,
            self.uid,
            self.gid,
            MemData::File(Vec::new()),
        );
        let mut shown = b"memfd:".to_vec();
        shown.extend_from_slice(name);
        shown.extend_from_slice(b" (deleted)");
        let node = OvlNode::new(Some(inode.clone()), None, fs.clone());
        let d = Dentry::new(Some(self.root()), &shown, Inode::Ovl(node), S_IFREG);
        OpenFile::new(Some(d), FileKind::Mem(inode), OFlags::RDWR)
    }
}
