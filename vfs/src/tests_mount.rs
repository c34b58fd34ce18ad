//! Unit tests of the mount table: mounting, stacking, busy and detached unmounts,
//! read-only remounts, statfs, loop devices as `mount`'s source and their I/O counters,
//! mount attributes and file system contexts of the new mount API.
#![allow(clippy::unwrap_used)]

use abi::flags::mount::*;
use abi::flags::OFlags;
use abi::Errno;

use crate::tests::{vfs, TempDir, ROOT};
use crate::{At, MountArgs, NoProcs};

fn tmpfs(data: Option<&'static [u8]>) -> MountArgs<'static> {
    MountArgs {
        source: Some(b"t"),
        fstype: Some(b"tmpfs"),
        flags: 0,
        data,
    }
}

#[test]
fn mount_stack_and_umount() {
    let dir = TempDir::new("mnt-stack");
    let v = vfs(dir.path(), false);
    let root = v.root();
    let a = At::new(&root, &NoProcs, ROOT);
    v.mkdir(a, b"/m", 0o755).unwrap();
    v.mount(a, b"/m", &tmpfs(Some(b"size=8k")), true).unwrap();
    let f = v
        .open(a, b"/m/f", OFlags::CREAT | OFlags::WRONLY, 0o644)
        .unwrap();
    // 8 KiB hold two blocks: a third is ENOSPC.
    let block = [0u8; 4096];
    assert_eq!(f.write(&[std::io::IoSlice::new(&block)]), Ok(4096));
    assert_eq!(f.write(&[std::io::IoSlice::new(&block)]), Ok(4096));
    assert_eq!(
        f.write(&[std::io::IoSlice::new(&block)]),
        Err(Errno::ENOSPC)
    );
    let s = v.statfs(&v.lookup(a, b"/m", true).unwrap());
    assert_eq!(s.magic, abi::flags::magic::TMPFS_MAGIC);
    assert_eq!(s.blocks, Some((2, 0, 0)));
    // An open file below the root makes the mount busy; MNT_DETACH takes it anyway.
    assert_eq!(v.umount(a, b"/m", 0, true), Err(Errno::EBUSY));
    drop(f);
    // A second mount hides the first; unmounting it shows the first again.
    v.mount(a, b"/m", &tmpfs(None), true).unwrap();
    assert_eq!(v.lookup(a, b"/m/f", true).err(), Some(Errno::ENOENT));
    v.umount(a, b"/m", 0, true).unwrap();
    assert!(v.lookup(a, b"/m/f", true).is_ok());
    v.umount(a, b"/m", MNT_DETACH, true).unwrap();
    assert_eq!(v.umount(a, b"/m", 0, true), Err(Errno::EINVAL));
    assert_eq!(v.umount(a, b"/m", 0, false), Err(Errno::EPERM));
}

#[test]
fn read_only_remount_and_errors() {
    let dir = TempDir::new("mnt-ro");
    let v = vfs(dir.path(), false);
    let root = v.root();
    let a = At::new(&root, &NoProcs, ROOT);
    v.mkdir(a, b"/m", 0o755).unwrap();
    let bad = MountArgs {
        fstype: Some(b"nosuchfs"),
        ..tmpfs(None)
    };
    assert_eq!(v.mount(a, b"/m", &bad, true), Err(Errno::ENODEV));
    assert_eq!(
        v.mount(a, b"/m", &tmpfs(Some(b"bogus")), true),
        Err(Errno::EINVAL)
    );
    assert_eq!(v.mount(a, b"/nope", &tmpfs(None), true), Err(Errno::ENOENT));
    v.mount(a, b"/m", &tmpfs(None), true).unwrap();
    let ro = MountArgs {
        flags: MS_REMOUNT | MS_RDONLY,
        ..MountArgs::default()
    };
    v.mount(a, b"/m", &ro, true).unwrap();
    assert_eq!(v.mkdir(a, b"/m/d", 0o755), Err(Errno::EROFS));
    let s = v.statfs(&v.lookup(a, b"/m", true).unwrap());
    assert_ne!(s.flags & ST_RDONLY, 0);
    // Remounting what is not a mount root is EINVAL.
    v.mkdir(a, b"/n", 0o755).unwrap();
    assert_eq!(v.mount(a, b"/n", &ro, true), Err(Errno::EINVAL));
    let disk = MountArgs {
        source: Some(b"/dev/null"),
        fstype: Some(b"ext4"),
        ..MountArgs::default()
    };
    assert_eq!(v.mount(a, b"/n", &disk, true), Err(Errno::ENOTBLK));
    // An unbound loop device holds no file system.
    let loop0 = MountArgs {
        source: Some(b"/dev/loop0"),
        ..disk
    };
    assert_eq!(v.mount(a, b"/n", &loop0, true), Err(Errno::EINVAL));
}

#[test]
fn mount_attr_checks_as_linux() {
    use crate::{fsmount_flags, MountAttr};
    assert_eq!(
        fsmount_flags(MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOATIME),
        Ok(MS_RDONLY | MS_NOATIME)
    );
    assert_eq!(fsmount_flags(0), Ok(MS_RELATIME));
    assert_eq!(fsmount_flags(MOUNT_ATTR_STRICTATIME), Ok(0));
    assert_eq!(fsmount_flags(0x30), Err(Errno::EINVAL));
    assert_eq!(fsmount_flags(0x100), Err(Errno::EINVAL));
    // An atime value needs the whole atime field cleared.
    let a = MountAttr::new(MOUNT_ATTR_NOATIME, MOUNT_ATTR__ATIME, 0, false).unwrap();
    assert_eq!((a.set, a.clear), (MS_NOATIME, MS_RELATIME | MS_NOATIME));
    assert!(MountAttr::new(MOUNT_ATTR_NOATIME, 0, 0, false).is_err());
    assert!(MountAttr::new(0, 0x10, 0, false).is_err());
    assert!(MountAttr::new(0, 0, MS_SHARED | MS_SLAVE, false).is_err());
    assert!(MountAttr::new(0, 0, MS_RDONLY, false).is_err());
}

#[test]
fn fs_context_phases() {
    use crate::FsParam;
    let dir = TempDir::new("fs-context");
    let v = vfs(dir.path(), false);
    let root = v.root();
    let a = At::new(&root, &NoProcs, ROOT);
    assert!(v.fs_open(b"nosuchfs").is_err());
    let fc = v.fs_open(b"tmpfs").unwrap();
    fc.set_param(b"ro", FsParam::String(b"ignored")).unwrap();
    fc.set_param(b"source", FsParam::String(b"s")).unwrap();
    assert_eq!(
        fc.set_param(b"source", FsParam::String(b"t")),
        Err(Errno::EINVAL)
    );
    assert_eq!(fc.set_param(b"size", FsParam::Other), Err(Errno::EINVAL));
    assert_eq!(fc.set_param(b"nosuch", FsParam::Flag), Err(Errno::EINVAL));
    fc.set_param(b"rw", FsParam::Flag).unwrap();
    assert_eq!(v.fsmount(&fc, 0).err(), Some(Errno::EINVAL));
    assert_eq!(v.fs_create(&fc, a, false), Err(Errno::EPERM));
    v.fs_create(&fc, a, true).unwrap();
    assert_eq!(v.fs_create(&fc, a, true), Err(Errno::EBUSY));
    let m = v.fsmount(&fc, MS_NOSUID).unwrap();
    assert_eq!(v.fsmount(&fc, 0).err(), Some(Errno::EBUSY));
    // The detached mount attaches where asked.
    v.mkdir(a, b"/m", 0o755).unwrap();
    let at = v.lookup(a, b"/m", true).unwrap();
    v.move_mount(&m, &at, false).unwrap();
    let s = v.statfs(&v.lookup(a, b"/m", true).unwrap());
    assert_eq!(s.flags & ST_NOSUID, ST_NOSUID);
    v.umount(a, b"/m", 0, true).unwrap();
}

#[test]
fn loop_stat_counts_write_back() {
    use crate::tmpfs::{MemData, MemInode};
    let io = crate::blockstat::IoStat::default();
    let dir = MemInode::new_dir(1, 0, 0o755, 0, 0);
    io.show_in(&dir, 0, &|| 9);
    let file = dir
        .with_dir(false, |e, _| match e.get(&b"stat"[..]) {
            Some(crate::tmpfs::MemEntry::Node(f)) => f.clone(),
            _ => panic!("no stat"),
        })
        .unwrap();
    let fields = |f: &MemInode| -> Vec<u64> {
        match &f.inner.lock().data {
            MemData::File(f) => String::from_utf8_lossy(&{
                let mut t = vec![0; f.len() as usize];
                f.read(&mut [std::io::IoSliceMut::new(&mut t)], 0);
                t
            })
            .split_whitespace()
            .map(|w| w.parse().unwrap())
            .collect(),
            _ => Vec::new(),
        }
    };
    assert_eq!(fields(&file), vec![0; 17]);
    io.dirtied(4096);
    io.dirtied(1);
    assert_eq!(fields(&file)[6], 0, "dirty until a sync");
    io.sync();
    let f = fields(&file);
    assert_eq!((f[4], f[6], f[9], f[15]), (1, 9, 1, 1));
    io.sync();
    assert_eq!(fields(&file)[4], 1, "nothing left to write back");
}
