//! Loop block devices: `/dev/loop-control` (char 10:237) and `/dev/loopN` (block 7:N).
//!
//! A loop device shows a *backing file* (any regular file the guest can open: in-memory or
//! host) as a block device: reads, writes and discards of `/dev/loopN` at offset `o` go to
//! the backing file at `lo_offset + o`, within `lo_sizelimit` (0: to the end of the file),
//! a device that was bound read-only (`LO_FLAGS_READ_ONLY`: the device or the backing file
//! was opened read-only) or made read-only by `BLKROSET` refuses writes with `EPERM`, and writes past the end are `ENOSPC`.
//! Linux's requests are here as methods (`LOOP_SET_FD`, `LOOP_CONFIGURE`, `LOOP_CLR_FD`,
//! `LOOP_GET_STATUS`/`LOOP_SET_STATUS`, `LOOP_SET_CAPACITY`, `LOOP_SET_BLOCK_SIZE`,
//! `LOOP_SET_DIRECT_IO`, `LOOP_CHANGE_FD`, and the control device's `LOOP_CTL_GET_FREE`,
//! `LOOP_CTL_ADD`, `LOOP_CTL_REMOVE`); the syscall layer decodes the guest's structures.
//! As on Linux, eight devices exist at boot (`/dev/loop0` to `/dev/loop7`), more are made
//! by `LOOP_CTL_GET_FREE`/`LOOP_CTL_ADD` (devfs gains their nodes) or by opening a node of
//! that number (`mknod b 7 N`, Linux's `loop_probe`).
//!
//! Every write (or discard) through the device bumps its *generation*: a disk file system
//! mounted from the device ([`blockfs`](crate::blockfs)) is kept across mounts only while
//! the generation it was made at is current.
//!
//! Each device counts its I/O, which `/sys/block/loopN/stat` shows
//! ([`blockstat`](crate::blockstat)); the rest of `/sys/block/loopN` is
//! [`loopsysfs`](crate::loopsysfs)'s.
//!
//! Not implemented: partitions (`LO_FLAGS_PARTSCAN` is kept, no `loopNpM` appears),
//! encryption (the key is ignored, as Linux does today), direct I/O (the flag is kept),
//! and Linux's deferred detach: `LOOP_CLR_FD` detaches at once even
//! while the device is open or mounted (a mounted file system lives on in memory).

use std::collections::BTreeMap;
use std::io::{IoSlice, IoSliceMut};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use abi::flags::blk::*;
use abi::flags::mode::S_IFBLK;
use abi::Errno;
use parking_lot::Mutex;

use crate::blockstat::IoStat;
use crate::dentry::OvlFs;
use crate::tmpfs::{DevKind, MemData, MemEntry, MemInode};
use crate::{Arc, FileRef};

/// Most loop devices (Linux's minor numbers are 20 bits).
const MAX_LOOP: u32 = 1 << 20;

/// Devices made at boot (`CONFIG_BLK_DEV_LOOP_MIN_COUNT`).
const BOOT_LOOPS: u32 = 8;

/// The loop devices of one `Vfs`, and devfs, where their nodes are.
pub(crate) struct LoopDevices {
    devs: Mutex<BTreeMap<u32, Arc<LoopDevice>>>,
    dev_dir: Arc<MemInode>,
    devfs: Arc<OvlFs>,
    /// The `block` directories of the sysfs instances (and their devices), which show every
    /// device ([`blockstat`](crate::blockstat)).
    sys_block: Mutex<Vec<(std::sync::Weak<MemInode>, u64)>>,
}

/// The status of a bound device (`struct loop_info64`, decoded).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LoopInfo {
    /// `st_dev` of the backing file.
    pub device: u64,
    /// `st_ino` of the backing file.
    pub inode: u64,
    /// `st_rdev` of the backing file.
    pub rdevice: u64,
    /// Where the device starts in the backing file (bytes).
    pub offset: u64,
    /// Most bytes the device shows (0: to the end of the file).
    pub sizelimit: u64,
    /// The device's number.
    pub number: u32,
    /// `LO_FLAGS_*`.
    pub flags: u32,
    /// `lo_file_name` (at most 63 bytes, as set).
    pub file_name: Vec<u8>,
    /// `lo_crypt_name`.
    pub crypt_name: Vec<u8>,
}

struct Bound {
    backing: FileRef,
    info: LoopInfo,
    block_size: u32,
}

/// One loop device.
pub struct LoopDevice {
    number: u32,
    bound: Mutex<Option<Bound>>,
    /// Bumped by every change of the device's contents through it.
    generation: AtomicU64,
    /// The disk file system last mounted from it.
    pub(crate) disk: Mutex<Option<Arc<crate::blockfs::DiskFs>>>,
    /// Its I/O counters.
    pub(crate) io: Arc<IoStat>,
    /// The read-only policy `BLKROSET` sets (Linux's `bd_read_only`), on top of a
    /// read-only binding.
    ro_policy: AtomicBool,
    /// Read-ahead in pages (`BLKRASET`/`BLKRAGET`, Linux's `ra_pages`).
    ra_pages: AtomicU64,
    /// Its `/sys/block/loopN` directories.
    sysfs: crate::loopsysfs::SysfsDirs,
}

/// `lo_flags` `LOOP_SET_STATUS` may set and clear.
const STATUS_SETTABLE: u32 = LO_FLAGS_AUTOCLEAR | LO_FLAGS_PARTSCAN;
const STATUS_CLEARABLE: u32 = LO_FLAGS_AUTOCLEAR;
/// `lo_flags` `LOOP_CONFIGURE` takes.
const CONFIGURE_SETTABLE: u32 =
    LO_FLAGS_READ_ONLY | LO_FLAGS_AUTOCLEAR | LO_FLAGS_PARTSCAN | LO_FLAGS_DIRECT_IO;

/// 128 KiB of read-ahead, Linux's `VM_READAHEAD_PAGES`.
const DEFAULT_RA_PAGES: u64 = 32;
/// Sectors of a page, the unit of `BLKRAGET`.
const SECTORS_PER_PAGE: u64 = 8;

fn valid_block_size(n: u32) -> bool {
    (512..=4096).contains(&n) && n.is_power_of_two()
}

impl LoopDevice {
    fn new(number: u32) -> Arc<LoopDevice> {
        Arc::new(LoopDevice {
            number,
            bound: Mutex::new(None),
            generation: AtomicU64::new(0),
            disk: Mutex::new(None),
            io: Arc::default(),
            ro_policy: AtomicBool::new(false),
            ra_pages: AtomicU64::new(DEFAULT_RA_PAGES),
            sysfs: Default::default(),
        })
    }

    /// The device's number (its minor).
    pub fn number(&self) -> u32 {
        self.number
    }

    /// The generation of its contents (see the module doc).
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// `LOOP_SET_FD`: binds `backing` (which must be a regular file: `EINVAL`; `EBUSY` if
    /// bound). `writable`: the device was opened for writing (else it is read-only).
    pub fn set_fd(&self, backing: FileRef, writable: bool) -> Result<(), Errno> {
        let info = LoopInfo::default();
        self.configure(backing, writable, 0, info)
    }

    /// `LOOP_CONFIGURE`: binds `backing` with `info`'s offset, size limit, flags and names,
    /// and logical block size `block_size` (0: 512).
    pub fn configure(
        &self,
        backing: FileRef,
        writable: bool,
        block_size: u32,
        mut info: LoopInfo,
    ) -> Result<(), Errno> {
        let mut b = self.bound.lock();
        if b.is_some() {
            return Err(Errno::EBUSY);
        }
        let st = backing.stat()?;
        if st.st_mode & abi::flags::mode::S_IFMT != abi::flags::mode::S_IFREG {
            return Err(Errno::EINVAL);
        }
        if info.flags & !CONFIGURE_SETTABLE != 0 {
            return Err(Errno::EINVAL);
        }
        if block_size != 0 && !valid_block_size(block_size) {
            return Err(Errno::EINVAL);
        }
        if !writable || !backing.flags().writable() {
            info.flags |= LO_FLAGS_READ_ONLY;
        }
        info.device = st.st_dev;
        info.inode = st.st_ino;
        info.rdevice = st.st_rdev;
        info.number = self.number;
        *b = Some(Bound {
            backing,
            info,
            block_size: if block_size == 0 { 512 } else { block_size },
        });
        drop(b);
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.sysfs.refresh(self);
        Ok(())
    }

    /// `LOOP_CLR_FD`: unbinds (`ENXIO` if not bound).
    pub fn clear(&self) -> Result<(), Errno> {
        let old = self.bound.lock().take();
        old.map(drop).ok_or(Errno::ENXIO)?;
        self.sysfs.refresh(self);
        Ok(())
    }

    /// Whether a backing file is bound.
    pub fn is_bound(&self) -> bool {
        self.bound.lock().is_some()
    }

    /// `f` on the binding (`ENXIO` if not bound); sysfs shows what it changed.
    fn with_bound<R>(&self, f: impl FnOnce(&mut Bound) -> Result<R, Errno>) -> Result<R, Errno> {
        let r = f(self.bound.lock().as_mut().ok_or(Errno::ENXIO)?)?;
        self.sysfs.refresh(self);
        Ok(r)
    }

    /// The path of the backing file (`loop/backing_file`).
    pub(crate) fn backing_path(&self) -> Option<Vec<u8>> {
        let d = self.bound.lock().as_ref()?.backing.dentry()?;
        Some(d.path())
    }

    /// `LOOP_GET_STATUS64` (`ENXIO` if not bound).
    pub fn status(&self) -> Result<LoopInfo, Errno> {
        let b = self.bound.lock();
        Ok(b.as_ref().ok_or(Errno::ENXIO)?.info.clone())
    }

    /// `LOOP_SET_STATUS64`: takes the offset, size limit, names and the flags Linux lets
    /// it change.
    pub fn set_status(&self, new: &LoopInfo) -> Result<(), Errno> {
        self.with_bound(|b| {
            b.info.offset = new.offset;
            b.info.sizelimit = new.sizelimit;
            b.info.file_name = new.file_name.clone();
            b.info.crypt_name = new.crypt_name.clone();
            let set = new.flags & STATUS_SETTABLE;
            let clear = !new.flags & STATUS_CLEARABLE;
            b.info.flags = (b.info.flags | set) & !clear;
            Ok(())
        })
    }

    /// `LOOP_SET_CAPACITY`: the size is read from the backing file at each use, so this
    /// only checks that the device is bound.
    pub fn set_capacity(&self) -> Result<(), Errno> {
        self.with_bound(|_| Ok(()))
    }

    /// `LOOP_SET_BLOCK_SIZE`: 512 to 4096, a power of two (`EINVAL`).
    pub fn set_block_size(&self, n: u64) -> Result<(), Errno> {
        self.with_bound(|b| {
            let n = u32::try_from(n).map_err(|_| Errno::EINVAL)?;
            if !valid_block_size(n) {
                return Err(Errno::EINVAL);
            }
            b.block_size = n;
            Ok(())
        })
    }

    /// `LOOP_SET_DIRECT_IO`: kept as `LO_FLAGS_DIRECT_IO`; on needs the offset aligned to
    /// the block size (`EINVAL`).
    pub fn set_direct_io(&self, on: bool) -> Result<(), Errno> {
        self.with_bound(|b| {
            if on && b.info.offset % u64::from(b.block_size) != 0 {
                return Err(Errno::EINVAL);
            }
            if on {
                b.info.flags |= LO_FLAGS_DIRECT_IO;
            } else {
                b.info.flags &= !LO_FLAGS_DIRECT_IO;
            }
            Ok(())
        })
    }

    /// `LOOP_CHANGE_FD`: replaces the backing file of a read-only device by one of the
    /// same size (`EINVAL` otherwise).
    pub fn change_fd(&self, backing: FileRef) -> Result<(), Errno> {
        self.with_bound(|b| {
            let st = backing.stat()?;
            let regular = st.st_mode & abi::flags::mode::S_IFMT == abi::flags::mode::S_IFREG;
            if b.info.flags & LO_FLAGS_READ_ONLY == 0 || !regular {
                return Err(Errno::EINVAL);
            }
            if backing.size() != b.backing.size() {
                return Err(Errno::EINVAL);
            }
            b.info.device = st.st_dev;
            b.info.inode = st.st_ino;
            b.info.rdevice = st.st_rdev;
            b.backing = backing;
            Ok(())
        })
    }

    /// The logical block size (`BLKSSZGET`); 512 while unbound.
    pub fn block_size(&self) -> u32 {
        self.bound.lock().as_ref().map_or(512, |b| b.block_size)
    }

    /// Whether writes are refused (`BLKROGET`): bound read-only, or made so by
    /// [`LoopDevice::set_read_only`].
    pub fn read_only(&self) -> bool {
        self.ro_policy.load(Ordering::Relaxed) || self.bound_read_only()
    }

    fn bound_read_only(&self) -> bool {
        self.bound
            .lock()
            .as_ref()
            .is_some_and(|b| b.info.flags & LO_FLAGS_READ_ONLY != 0)
    }

    /// `BLKROSET`: the device refuses writes (and read-write mounts) while `on`, bound or
    /// not; clearing it leaves a read-only binding read-only.
    pub fn set_read_only(&self, on: bool) {
        self.ro_policy.store(on, Ordering::Relaxed);
        self.sysfs.refresh(self);
    }

    /// `BLKRAGET`: the read-ahead, in 512-byte sectors.
    pub fn read_ahead(&self) -> u64 {
        self.ra_pages.load(Ordering::Relaxed) * SECTORS_PER_PAGE
    }

    /// `BLKRASET`: sets the read-ahead to `sectors`, rounded down to whole pages.
    pub fn set_read_ahead(&self, sectors: u64) {
        self.ra_pages
            .store(sectors / SECTORS_PER_PAGE, Ordering::Relaxed);
    }

    /// The size in bytes (0 while unbound), a multiple of 512.
    pub fn size(&self) -> u64 {
        self.bound.lock().as_ref().map_or(0, Bound::size)
    }

    /// Reads at `pos`; short (0) at the end.
    pub(crate) fn read(&self, bufs: &mut [IoSliceMut<'_>], pos: u64) -> Result<usize, Errno> {
        let b = self.bound.lock();
        let Some(b) = b.as_ref() else {
            return Ok(0);
        };
        let size = b.size();
        let mut at = pos;
        for buf in bufs.iter_mut() {
            let want = (buf.len() as u64).min(size.saturating_sub(at)) as usize;
            if want == 0 {
                break;
            }
            let n = b.backing.read_at(b.info.offset + at, &mut buf[..want])?;
            // A backing file shorter than the device reads as zeros.
            buf[n..want].fill(0);
            at += want as u64;
        }
        self.io.read(at - pos);
        Ok((at - pos) as usize)
    }

    /// Writes at `pos`: `EPERM` on a read-only device, `ENOSPC` at or past the end,
    /// short if it reaches the end.
    pub(crate) fn write(&self, bufs: &[IoSlice<'_>], pos: u64) -> Result<usize, Errno> {
        let b = self.bound.lock();
        let Some(b) = b.as_ref() else {
            return Err(Errno::ENXIO);
        };
        if b.info.flags & LO_FLAGS_READ_ONLY != 0 || self.ro_policy.load(Ordering::Relaxed) {
            return Err(Errno::EPERM);
        }
        let size = b.size();
        let total = crate::object::iov_len(bufs);
        if total > 0 && pos >= size {
            return Err(Errno::ENOSPC);
        }
        self.generation.fetch_add(1, Ordering::AcqRel);
        let mut at = pos;
        for buf in bufs {
            let want = (buf.len() as u64).min(size.saturating_sub(at)) as usize;
            if want == 0 {
                break;
            }
            let n = b.backing.write_at(b.info.offset + at, &buf[..want])?;
            at += n as u64;
            if n < want {
                break;
            }
        }
        self.io.write(at - pos);
        Ok((at - pos) as usize)
    }

    /// `BLKDISCARD`/`BLKZEROOUT`: the range (512-byte aligned: `EINVAL`; within the device:
    /// `EINVAL`) reads as zeros afterwards (a hole punched in the backing file).
    pub fn discard(&self, start: u64, len: u64) -> Result<(), Errno> {
        self.with_bound(|b| {
            if !start.is_multiple_of(512) || !len.is_multiple_of(512) {
                return Err(Errno::EINVAL);
            }
            let end = start.checked_add(len).ok_or(Errno::EINVAL)?;
            if end > b.size() {
                return Err(Errno::EINVAL);
            }
            if b.info.flags & LO_FLAGS_READ_ONLY != 0 || self.ro_policy.load(Ordering::Relaxed) {
                return Err(Errno::EPERM);
            }
            if len == 0 {
                return Ok(());
            }
            self.generation.fetch_add(1, Ordering::AcqRel);
            use abi::flags::falloc::{KEEP_SIZE, PUNCH_HOLE};
            let off = i64::try_from(b.info.offset + start).map_err(|_| Errno::EINVAL)?;
            let len = i64::try_from(len).map_err(|_| Errno::EINVAL)?;
            b.backing.fallocate(PUNCH_HOLE | KEEP_SIZE, off, len)
        })
    }
}

impl Bound {
    fn size(&self) -> u64 {
        let avail = self.backing.size().saturating_sub(self.info.offset);
        let size = match self.info.sizelimit {
            0 => avail,
            l => l.min(avail),
        };
        size & !511
    }
}

impl LoopDevices {
    /// Makes the boot devices and their nodes in devfs (`dev_dir` is `/dev`).
    pub fn new(dev_dir: Arc<MemInode>, devfs: Arc<OvlFs>) -> Arc<LoopDevices> {
        let l = Arc::new(LoopDevices {
            devs: Mutex::new(BTreeMap::new()),
            dev_dir,
            devfs,
            sys_block: Mutex::new(Vec::new()),
        });
        l.add_node(b"loop-control".to_vec(), DevKind::LoopControl);
        for n in 0..BOOT_LOOPS {
            l.add(n);
        }
        l
    }

    fn add_node(&self, name: Vec<u8>, kind: DevKind) {
        let ino = self.devfs.shared.ino();
        let node = MemInode::new_dev(ino, self.devfs.dev, kind);
        if let DevKind::Loop(_) = kind {
            let mut i = node.inner.lock();
            i.mode = S_IFBLK | 0o660;
            i.gid = 6; // disk
        } else {
            node.inner.lock().mode = abi::flags::mode::S_IFCHR | 0o660;
        }
        let _ = self.dev_dir.with_dir(false, |e, _| {
            e.entry(name).or_insert(MemEntry::Node(node));
        });
    }

    /// Makes device `n` and its node (it must not exist).
    fn add(&self, n: u32) -> Arc<LoopDevice> {
        let d = LoopDevice::new(n);
        self.devs.lock().insert(n, d.clone());
        self.add_node(format!("loop{n}").into_bytes(), DevKind::Loop(n));
        self.sys_block.lock().retain(|(w, dev)| match w.upgrade() {
            Some(block) => {
                self.show(&d, &block, *dev);
                true
            }
            None => false,
        });
        d
    }

    /// Shows device `d` in sysfs directory `block` (on device `dev`).
    fn show(&self, d: &LoopDevice, block: &Arc<MemInode>, dev: u64) {
        let name = format!("loop{}", d.number);
        let shared = self.devfs.shared.clone();
        let ino = Arc::new(move || shared.ino());
        let dir = d.sysfs.show_in(d, block, &name, dev, ino.clone());
        d.io.show_in(&dir, dev, &*ino);
    }

    /// A sysfs instance's `block` directory (on device `dev`): every device shows there,
    /// now and when made.
    pub(crate) fn show_in_sysfs(&self, block: &Arc<MemInode>, dev: u64) {
        for d in self.devs.lock().values() {
            self.show(d, block, dev);
        }
        self.sys_block.lock().push((Arc::downgrade(block), dev));
    }

    /// `sync(2)`: every device's file system writes back what is dirty.
    pub(crate) fn sync_all(&self) {
        for d in self.devs.lock().values() {
            d.io.sync();
        }
    }

    /// Device `n`, if it exists.
    pub(crate) fn get(&self, n: u32) -> Option<Arc<LoopDevice>> {
        self.devs.lock().get(&n).cloned()
    }

    /// Device `n`, made if missing (opening a node of its number).
    pub fn get_or_probe(&self, n: u32) -> Result<Arc<LoopDevice>, Errno> {
        if n >= MAX_LOOP {
            return Err(Errno::ENXIO);
        }
        let found = self.devs.lock().get(&n).cloned();
        Ok(found.unwrap_or_else(|| self.add(n)))
    }

    /// `LOOP_CTL_GET_FREE`: the lowest unbound device, made if all are bound.
    pub fn get_free(&self) -> Result<u32, Errno> {
        let devs = self.devs.lock();
        if let Some(d) = devs.values().find(|d| !d.is_bound()) {
            return Ok(d.number);
        }
        let next = devs.keys().next_back().map_or(0, |k| k + 1);
        drop(devs);
        if next >= MAX_LOOP {
            return Err(Errno::ENOSPC);
        }
        Ok(self.add(next).number)
    }

    /// `LOOP_CTL_ADD`: makes device `n` (`EEXIST` if it exists; a negative `n`: the first
    /// unused number).
    pub fn ctl_add(&self, n: i64) -> Result<u32, Errno> {
        let devs = self.devs.lock();
        let n = if n < 0 {
            (0..MAX_LOOP)
                .find(|k| !devs.contains_key(k))
                .ok_or(Errno::ENOSPC)?
        } else {
            let n = u32::try_from(n).map_err(|_| Errno::EINVAL)?;
            if n >= MAX_LOOP {
                return Err(Errno::EINVAL);
            }
            if devs.contains_key(&n) {
                return Err(Errno::EEXIST);
            }
            n
        };
        drop(devs);
        Ok(self.add(n).number)
    }

    /// `LOOP_CTL_REMOVE`: removes device `n` and its node (`ENODEV` if there is none,
    /// `EBUSY` while bound).
    pub fn ctl_remove(&self, n: i64) -> Result<(), Errno> {
        let n = u32::try_from(n).map_err(|_| Errno::EINVAL)?;
        let mut devs = self.devs.lock();
        match devs.get(&n) {
            None => return Err(Errno::ENODEV),
            Some(d) if d.is_bound() => return Err(Errno::EBUSY),
            Some(_) => {}
        }
        devs.remove(&n);
        let name = format!("loop{n}").into_bytes();
        let _ = self.dev_dir.with_dir(false, |e, _| {
            if let Some(MemEntry::Node(node)) = e.get(&name) {
                if matches!(node.inner.lock().data, MemData::Dev(DevKind::Loop(k)) if k == n) {
                    e.remove(&name);
                }
            }
        });
        for (w, _) in self.sys_block.lock().iter() {
            if let Some(block) = w.upgrade() {
                if block.with_dir(false, |e, _| e.remove(&name).is_some()) == Ok(true) {
                    block.add_links(-1);
                }
            }
        }
        Ok(())
    }
}

impl crate::Vfs {
    /// `sync(2)`: the disk file systems write back what is dirty.
    pub fn sync(&self) {
        self.loops.sync_all();
    }

    /// The `/dev/loop-control` requests: `LOOP_CTL_GET_FREE`, `LOOP_CTL_ADD`,
    /// `LOOP_CTL_REMOVE` with `arg` (`EINVAL` for another request).
    pub fn loop_control(&self, request: u32, arg: i64) -> Result<u64, Errno> {
        match request {
            LOOP_CTL_GET_FREE => self.loops.get_free().map(u64::from),
            LOOP_CTL_ADD => self.loops.ctl_add(arg).map(u64::from),
            LOOP_CTL_REMOVE => self.loops.ctl_remove(arg).map(|()| 0),
            _ => Err(Errno::EINVAL),
        }
    }
}
