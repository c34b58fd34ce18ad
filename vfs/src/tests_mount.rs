//! Unit tests of the mount table: mounting, stacking, busy and detached unmounts,
//! read-only remounts, statfs, and loop devices as `mount`'s source.
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
