//! The sysfs directory of a loop device, `/sys/block/loopN`: the attributes of the disk
//! (`ro`, `size` in 512-byte sectors, `removable`, `dev`), of its request queue
//! (`queue/logical_block_size`, `physical_block_size`, `hw_sector_size`,
//! `minimum_io_size`, `optimal_io_size`, `dma_alignment`, `rotational`) and, while a
//! backing file is bound, of the binding (`loop/backing_file`, `offset`, `sizelimit`,
//! `autoclear`, `partscan`, `dio`), with Linux's text; `stat` is
//! [`blockstat`](crate::blockstat)'s.
//!
//! The files are in-memory files of each sysfs instance; the device rewrites them (and adds
//! or removes `loop/`) whenever its state changes ([`SysfsDirs::refresh`]), as the I/O
//! counters do.

use std::sync::Weak;

use abi::flags::mode::S_IFREG;
use parking_lot::Mutex;

use crate::loopdev::LoopDevice;
use crate::sparse::FileData;
use crate::tmpfs::{MemData, MemEntry, MemInode};
use crate::Arc;

/// One attribute file.
#[derive(Clone, Copy)]
enum Attr {
    Ro,
    Size,
    Removable,
    Dev,
    BlockSize,
    OptimalIoSize,
    DmaAlignment,
    Rotational,
    BackingFile,
    Offset,
    Sizelimit,
    Autoclear,
    Partscan,
    Dio,
}

/// The disk's and its queue's attributes, by path below `loopN`.
const DISK: [(&str, Attr); 11] = [
    ("ro", Attr::Ro),
    ("size", Attr::Size),
    ("removable", Attr::Removable),
    ("dev", Attr::Dev),
    ("queue/logical_block_size", Attr::BlockSize),
    ("queue/physical_block_size", Attr::BlockSize),
    ("queue/hw_sector_size", Attr::BlockSize),
    ("queue/minimum_io_size", Attr::BlockSize),
    ("queue/optimal_io_size", Attr::OptimalIoSize),
    ("queue/dma_alignment", Attr::DmaAlignment),
    ("queue/rotational", Attr::Rotational),
];

/// The binding's attributes, in `loopN/loop`.
const BINDING: [(&str, Attr); 6] = [
    ("backing_file", Attr::BackingFile),
    ("offset", Attr::Offset),
    ("sizelimit", Attr::Sizelimit),
    ("autoclear", Attr::Autoclear),
    ("partscan", Attr::Partscan),
    ("dio", Attr::Dio),
];

/// Linux's `loop` queue limits: the DMA alignment of a request (`dma_alignment`).
pub(crate) const DMA_ALIGNMENT: u32 = 511;

/// `attr`'s text for device `d`.
fn text(d: &LoopDevice, attr: Attr) -> String {
    use abi::flags::blk::{LO_FLAGS_AUTOCLEAR, LO_FLAGS_DIRECT_IO, LO_FLAGS_PARTSCAN};
    let info = d.status().unwrap_or_default();
    let flag = |f: u32| u8::from(info.flags & f != 0).to_string();
    let s = match attr {
        Attr::Ro => u8::from(d.read_only()).to_string(),
        Attr::Size => (d.size() / 512).to_string(),
        Attr::Removable => "0".into(),
        Attr::Dev => format!("{}:{}", abi::flags::blk::LOOP_MAJOR, d.number()),
        Attr::BlockSize => d.block_size().to_string(),
        Attr::OptimalIoSize => "0".into(),
        Attr::DmaAlignment => DMA_ALIGNMENT.to_string(),
        Attr::Rotational => "1".into(),
        Attr::BackingFile => d
            .backing_path()
            .map(|p| String::from_utf8_lossy(&p).into_owned())
            .unwrap_or_default(),
        Attr::Offset => info.offset.to_string(),
        Attr::Sizelimit => info.sizelimit.to_string(),
        Attr::Autoclear => flag(LO_FLAGS_AUTOCLEAR),
        Attr::Partscan => flag(LO_FLAGS_PARTSCAN),
        Attr::Dio => flag(LO_FLAGS_DIRECT_IO),
    };
    s + "\n"
}

/// One sysfs instance's `loopN` directory.
struct Shown {
    dir: Weak<MemInode>,
    dev: u64,
    ino: Arc<dyn Fn() -> u64 + Send + Sync>,
    files: Vec<(Weak<MemInode>, Attr)>,
}

/// A device's directories in every sysfs instance.
#[derive(Default)]
pub(crate) struct SysfsDirs {
    shown: Mutex<Vec<Shown>>,
}

/// `name` in directory `dir`, made if missing.
fn subdir(dir: &Arc<MemInode>, name: &[u8], dev: u64, ino: &dyn Fn() -> u64) -> Arc<MemInode> {
    let found = dir.with_dir(false, |e, _| match e.get(name) {
        Some(MemEntry::Node(n)) => Some(n.clone()),
        _ => None,
    });
    if let Ok(Some(n)) = found {
        return n;
    }
    let n = MemInode::new_dir(ino(), dev, 0o755, 0, 0);
    let _ = dir.with_dir(false, |e, _| {
        e.insert(name.to_vec(), MemEntry::Node(n.clone()))
    });
    dir.add_links(1);
    n
}

/// Adds the files `attrs` below `dir`; the new files are pushed on `files`.
fn add_files(
    d: &LoopDevice,
    dir: &Arc<MemInode>,
    attrs: &[(&str, Attr)],
    (dev, ino): (u64, &dyn Fn() -> u64),
    files: &mut Vec<(Weak<MemInode>, Attr)>,
) {
    for &(path, attr) in attrs {
        let (parent, name) = match path.rsplit_once('/') {
            Some((p, n)) => (subdir(dir, p.as_bytes(), dev, ino), n),
            None => (dir.clone(), path),
        };
        let data = MemData::File(FileData::from_bytes(text(d, attr).as_bytes()));
        let f = MemInode::new(ino(), dev, S_IFREG | 0o444, 0, 0, data);
        let _ = parent.with_dir(false, |e, _| {
            e.insert(name.as_bytes().to_vec(), MemEntry::Node(f.clone()))
        });
        files.push((Arc::downgrade(&f), attr));
    }
}

impl SysfsDirs {
    /// Adds `name` (`loopN`) for `d` to the sysfs directory `block` (on device `dev`,
    /// inode numbers from `ino`); returns the new directory.
    pub fn show_in(
        &self,
        d: &LoopDevice,
        block: &Arc<MemInode>,
        name: &str,
        dev: u64,
        ino: Arc<dyn Fn() -> u64 + Send + Sync>,
    ) -> Arc<MemInode> {
        let dir = subdir(block, name.as_bytes(), dev, &*ino);
        let mut files = Vec::new();
        add_files(d, &dir, &DISK, (dev, &*ino), &mut files);
        let mut shown = Shown {
            dir: Arc::downgrade(&dir),
            dev,
            ino,
            files,
        };
        Self::bind(d, &dir, &mut shown);
        self.shown.lock().push(shown);
        dir
    }

    /// Adds or removes `loop/` as `d` is bound or not.
    fn bind(d: &LoopDevice, dir: &Arc<MemInode>, shown: &mut Shown) {
        let has = dir
            .with_dir(false, |e, _| e.contains_key(&b"loop"[..]))
            .unwrap_or(false);
        if d.is_bound() && !has {
            let sub = subdir(dir, b"loop", shown.dev, &*shown.ino);
            add_files(
                d,
                &sub,
                &BINDING,
                (shown.dev, &*shown.ino),
                &mut shown.files,
            );
        } else if !d.is_bound() && has {
            let _ = dir.with_dir(false, |e, _| e.remove(&b"loop"[..]));
            dir.add_links(-1);
        }
    }

    /// Rewrites every attribute file of `d` from its state now.
    pub fn refresh(&self, d: &LoopDevice) {
        self.shown.lock().retain_mut(|s| {
            let Some(dir) = s.dir.upgrade() else {
                return false;
            };
            Self::bind(d, &dir, s);
            s.files.retain(|(w, attr)| match w.upgrade() {
                Some(f) => {
                    let t = text(d, *attr);
                    f.inner.lock().data = MemData::File(FileData::from_bytes(t.as_bytes()));
                    true
                }
                None => false,
            });
            true
        });
    }
}
