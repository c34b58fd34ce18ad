//! File handles (`name_to_handle_at(2)`, `open_by_handle_at(2)`): a handle names an inode
//! by its inode number and device, as Linux's `FILEID_INO64_GEN` does. uml has no inode
//! table to look a number up in, so the handles handed out are remembered (the inode and
//! a name of it) and decoding finds them there; a handle of an inode since unlinked, of
//! another file system than the one asked about, or never handed out is stale (`ESTALE`),
//! as on Linux. At most [`MAX_HANDLES`] inodes are remembered; past that the table starts
//! again empty (older handles go stale, as they may on Linux after a reboot).
//!
//! procfs and sysfs cannot be exported: only an identifier (`AT_HANDLE_FID`) is given
//! for their files.

use std::collections::HashMap;
use std::sync::Arc;

use abi::Errno;

use crate::dentry::Dentry;
use crate::mount::SbKind;
use crate::Vfs;

/// Linux's `FILEID_INO64_GEN`: a 64-bit inode number and a 32-bit generation.
pub const FILEID_INO64_GEN: i32 = 0x81;
/// Bytes of a handle: the inode number, then the low half of its device.
pub const HANDLE_BYTES: usize = 12;
/// Most inodes whose handles are remembered at once.
const MAX_HANDLES: usize = 1 << 16;

/// The handles handed out: (inode number, low half of the device) to a name of the inode.
#[derive(Default)]
pub(crate) struct Handles(parking_lot::Mutex<HashMap<(u64, u32), Dentry>>);

/// The bytes of the handle (of type [`FILEID_INO64_GEN`]) of inode `(st_dev, st_ino)`.
pub(crate) fn handle_bytes((dev, ino): (u64, u64)) -> [u8; HANDLE_BYTES] {
    let mut b = [0u8; HANDLE_BYTES];
    b[..8].copy_from_slice(&ino.to_ne_bytes());
    b[8..].copy_from_slice(&(dev as u32).to_ne_bytes());
    b
}

impl Vfs {
    /// The handle of `d`: its type and bytes. `EOPNOTSUPP` for files that cannot be
    /// exported (procfs, sysfs) unless only an identifier is asked for (`fid`).
    pub fn encode_handle(&self, d: &Dentry, fid: bool) -> Result<(i32, Vec<u8>), Errno> {
        self.can_encode_handle(d, fid)?;
        let st = d.stat()?;
        let key = (st.st_ino, st.st_dev as u32);
        let bytes = handle_bytes((st.st_dev, st.st_ino));
        if !fid {
            let mut h = self.handles.0.lock();
            if h.len() >= MAX_HANDLES && !h.contains_key(&key) {
                h.clear();
            }
            h.insert(key, d.clone());
        }
        Ok((FILEID_INO64_GEN, bytes.to_vec()))
    }

    /// Whether [`Vfs::encode_handle`] of `d` would succeed (`EOPNOTSUPP` if not).
    pub fn can_encode_handle(&self, d: &Dentry, fid: bool) -> Result<(), Errno> {
        let exportable = d
            .mount()
            .is_some_and(|m| !matches!(m.sb.kind, SbKind::Proc | SbKind::Sysfs));
        if !exportable && !fid {
            return Err(Errno::EOPNOTSUPP);
        }
        Ok(())
    }

    /// Forgets the handles of inodes on mount `mnt` (it is being unmounted: they keep
    /// nothing busy, and go stale).
    pub(crate) fn forget_handles(&self, mnt: &Arc<crate::mount::Mnt>) {
        self.handles
            .0
            .lock()
            .retain(|_, d| !d.mount().is_some_and(|m| Arc::ptr_eq(m, mnt)));
    }

    /// The inode a handle of type `kind` names, on the file system `on` lies on.
    pub fn decode_handle(&self, on: &Dentry, kind: i32, bytes: &[u8]) -> Result<Dentry, Errno> {
        if kind != FILEID_INO64_GEN || bytes.len() != HANDLE_BYTES {
            return Err(Errno::ESTALE);
        }
        let ino = u64::from_ne_bytes(bytes[..8].try_into().map_err(|_| Errno::ESTALE)?);
        let dev = u32::from_ne_bytes(bytes[8..].try_into().map_err(|_| Errno::ESTALE)?);
        let d = self
            .handles
            .0
            .lock()
            .get(&(ino, dev))
            .cloned()
            .ok_or(Errno::ESTALE)?;
        let same_fs = match (d.mount(), on.mount()) {
            (Some(a), Some(b)) => Arc::ptr_eq(&a.sb, &b.sb),
            _ => false,
        };
        let st = d.stat().map_err(|_| Errno::ESTALE)?;
        if !same_fs || st.st_nlink == 0 || st.st_ino != ino {
            return Err(Errno::ESTALE);
        }
        Ok(d)
    }
}
