//! I/O statistics of loop devices, as `/sys/block/loopN/stat` shows them (Linux's
//! `Documentation/block/stat.rst` fields, each an 8-wide column).
//!
//! What the emulation counts: reads and writes of `/dev/loopN` itself, when they are made
//! (one request per call, its bytes in 512-byte sectors, a millisecond of `io_ticks`
//! each); and for the in-memory disk file system mounted from the device
//! ([`blockfs`](crate::blockfs)), which never writes to the device, the bytes written to its
//! files are *dirty* until a sync (`fsync`, `fdatasync`, `sync_file_range`, `syncfs`,
//! `sync`) or the unmount writes them back: then they count as one write request of that
//! many sectors and a flush. A sync writes back everything dirty on the file system, not
//! only the file or range asked for; nothing is written back by time.
//!
//! Each sysfs instance shows every loop device as `block/loopN/stat`; the files are
//! rewritten whenever the counters move.

use std::sync::Weak;

use abi::flags::mode::S_IFREG;
use parking_lot::Mutex;

use crate::sparse::FileData;
use crate::tmpfs::{MemData, MemEntry, MemInode};
use crate::Arc;

#[derive(Default)]
struct Counters {
    read_ios: u64,
    read_sectors: u64,
    write_ios: u64,
    write_sectors: u64,
    io_ticks: u64,
    flush_ios: u64,
    /// Bytes written to the device's file system and not yet written back.
    dirty: u64,
}

/// One device's counters and the sysfs files that show them.
#[derive(Default)]
pub(crate) struct IoStat {
    counters: Mutex<Counters>,
    files: Mutex<Vec<Weak<MemInode>>>,
}

impl IoStat {
    /// A read of `bytes` from the device.
    pub fn read(&self, bytes: u64) {
        self.change(|c| {
            c.read_ios += 1;
            c.read_sectors += bytes.div_ceil(512);
            c.io_ticks += 1;
        });
    }

    /// A write of `bytes` to the device.
    pub fn write(&self, bytes: u64) {
        self.change(|c| {
            c.write_ios += 1;
            c.write_sectors += bytes.div_ceil(512);
            c.io_ticks += 1;
        });
    }

    /// `bytes` written to a file of the device's file system.
    pub fn dirtied(&self, bytes: u64) {
        self.counters.lock().dirty += bytes;
    }

    /// A sync of the device's file system: what is dirty is written back.
    pub fn sync(&self) {
        if self.counters.lock().dirty == 0 {
            return;
        }
        self.change(|c| {
            let bytes = std::mem::take(&mut c.dirty);
            c.write_ios += 1;
            c.write_sectors += bytes.div_ceil(512);
            c.flush_ios += 1;
            c.io_ticks += 1;
        });
    }

    fn change(&self, f: impl FnOnce(&mut Counters)) {
        let text = {
            let mut c = self.counters.lock();
            f(&mut c);
            text(&c)
        };
        self.files.lock().retain(|w| match w.upgrade() {
            Some(file) => {
                file.inner.lock().data = MemData::File(FileData::from_bytes(&text));
                true
            }
            None => false,
        });
    }

    /// Adds `stat` to the device's sysfs directory `dir` (on device `dev`, inode numbers
    /// from `ino`).
    pub fn show_in(&self, dir: &Arc<MemInode>, dev: u64, ino: &dyn Fn() -> u64) {
        let data = MemData::File(FileData::from_bytes(&text(&self.counters.lock())));
        let file = MemInode::new(ino(), dev, S_IFREG | 0o444, 0, 0, data);
        let _ = dir.with_dir(false, |e, _| {
            e.insert(b"stat".to_vec(), MemEntry::Node(file.clone()))
        });
        self.files.lock().push(Arc::downgrade(&file));
    }
}

/// The `stat` line of `c`.
fn text(c: &Counters) -> Vec<u8> {
    let fields = [
        c.read_ios,
        0,
        c.read_sectors,
        c.read_ios,
        c.write_ios,
        0,
        c.write_sectors,
        c.write_ios,
        0,
        c.io_ticks,
        c.io_ticks,
        0,
        0,
        0,
        0,
        c.flush_ios,
        c.flush_ios,
    ];
    let mut s: String = fields.iter().map(|v| format!("{v:>8} ")).collect();
    s.pop();
    s.push('\n');
    s.into_bytes()
}
