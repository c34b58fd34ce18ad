//! `mount(2)`/`umount2(2)`, the new mount API and loop devices: C guests that mount in a
//! fresh temporary directory (tmpfs, bind mounts, read-only and noexec remounts, busy and
//! detached unmounts, errnos; fsopen/fsconfig/fsmount/move_mount, fspick, open_tree clones,
//! mount_setattr, MS_MOVE, statmount/listmount and statx mount ids, /proc/self/ns,
//! unshare(CLONE_NEWNS), pivot_root in a new mount namespace and no mount on a /proc magic
//! link), inode flags on a tmpfs (`chattr`'s immutable and append-only and
//! what they forbid, statx attributes, `file_getattr`/`file_setattr`), the old getdents(2) and copy_file_range's checks
//! there, and bind an image to a
//! loop device, run `mkfs.ext4` on it and mount it, natively (as root: the host's own mounts and loop devices, each undone by the
//! guest before it exits) and under uml, whose stdout and exit status must be identical.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::sync::Mutex;

use integration_tests::{assert_no_bad_lines, compare, guests, Outcome, RunOpts, TempDir};

/// The native runs share the host's mount namespace: one that copies it (`unshare` or
/// `clone(CLONE_NEWNS)`) while another has a filesystem mounted keeps that superblock alive
/// after its owner unmounts it, so the owner's next mount of the same device reports EBUSY
/// and its loop device's clear is deferred. The guests here take turns.
static HOST_MOUNTS: Mutex<()> = Mutex::new(());

fn run_in_temp(guest: &str, tag: &str) -> Outcome {
    let _turn = HOST_MOUNTS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let dir = TempDir::new(tag);
    let o = compare(
        &[guest],
        &RunOpts {
            cwd: Some(dir.path().to_path_buf()),
            ..RunOpts::default()
        },
    );
    assert_no_bad_lines(tag, &o);
    assert_eq!(o.status, 0, "{}", o.stdout_str());
    o
}

#[test]
fn tmpfs_and_bind_mounts_as_linux() {
    let out = run_in_temp(guests::MOUNTS, "mounts").stdout_str();
    for want in [
        "mount-tmpfs=ok\n",
        "mounts m: src=uml-test rest=tmpfs rw,nosuid,relatime,size=1024k,mode=750 0 0\n",
        "statfs bsize=4096 blocks=256 free=256 flags=0x1022\n",
        "write-2m: short\n",
        "nosuid-exec euid=65534 suid=65534\n",
        "umount-busy-open=EBUSY\n",
        "umount-busy-cwd=EBUSY\n",
        "ro-creat=EROFS\n",
        "noexec-execve=EACCES\n",
        "user-mount=EPERM\n",
        "remount-ro-writer=EBUSY\n",
        "bind-remount-ro-writer=EBUSY\n",
        "remount-ro-reader=ok\n",
        "nosymfollow-open=ELOOP\n",
        "ok nosymfollow-readlink\n",
        "ok statfs-nosymfollow\n",
        "expire-first=EAGAIN\n",
        "expire-after-use=EAGAIN\n",
        "umount-detach-busy=ok\n",
        "mounts m: none\n",
        "relatime-stale-read-updates=1\n",
        "relatime-fresh-read-keeps=1\n",
        "strictatime-read-updates=1\n",
        "strictatime-readdir-updates=1\n",
        "nodiratime-readdir-keeps=1\n",
        "noatime-read-keeps=1\n",
    ] {
        assert!(out.contains(want), "missing {want:?} in:\n{out}");
    }
}

#[test]
fn new_mount_api_as_linux() {
    let out = run_in_temp(guests::MOUNT_API, "mount-api").stdout_str();
    for want in [
        "fsconfig-create=ok\n",
        "move-attach=ok\n",
        "attached: rw,nosuid,nodev,relatime,size=1024k,mode=750\n",
        "attached-mount-root=1\n",
        "picked-ro: ro,nosuid,nodev,relatime,size=1024k,mode=750\n",
        "ok recursive-clone-has-sub\n",
        "ok closed-clone-gone\n",
        "setattr-top: ro,nosuid,nodev,noexec,relatime,size=1024k,mode=750\n",
        "setattr-sub: ro,noexec,relatime\n",
        "statmount mask=0x3b type=tmpfs root=/ point-ok=1 magic=0x1021994 sb_flags=0\n",
        "ok statmount-ids\n",
        "ok listmount-root\n",
        "listmount-b=1 sub=1\n",
        "ns-mnt-link-form=1\n",
        "ok ns-mnt-stat\n",
        "ok bind-joins-group\n",
        "ok statmount-peer-group\n",
        "ok slave-master\n",
        "private-fields=0\n",
        "ok statmount-ns-id\n",
        "ok ms-moved-ids\n",
        "all-gone: none\n",
        "ok beneath-top-stays\n",
        "ok beneath-shows\n",
        "beneath-gone: none\n",
        "unshare-newns=ok\n",
        "ok ns-sees-own\n",
        "ok ns-listmount-own\n",
        "ok ns-parent-not-seen\n",
        "ns-parent-statmount=ENOENT\n",
        "ok ns-gone-with-child\n",
        "clone-ns-mount=ok\n",
        "ok clone-ns-parent-not-seen\n",
    ] {
        assert!(out.contains(want), "missing {want:?} in:\n{out}");
    }
}

#[test]
fn pivot_root_in_a_mount_namespace_as_linux() {
    let out = run_in_temp(guests::PIVOT_ROOT, "pivot-root").stdout_str();
    for want in [
        "new-on-root-mount=EBUSY\n",
        "put-old-on-root-mount=EBUSY\n",
        "put-old-not-under-new=EINVAL\n",
        "put-old-file=ENOTDIR\n",
        "new-not-mount-root=EINVAL\n",
        "put-old-shared=EINVAL\n",
        "unprivileged-bad-path=EPERM\n",
        "pivot=ok\n",
        "ok new-root\n",
        "ok cwd-moved\n",
        "ok old-root-at-put-old\n",
        "ok sibling-sees-new-root\n",
        "ok old-gone\n",
        "pivot-dot-dot=ok\n",
        "ok dot-new-root\n",
        "mount-on-magic-link=ENOENT\n",
        "magic-exit=0\n",
    ] {
        assert!(out.contains(want), "missing {want:?} in:\n{out}");
    }
}

#[test]
fn loop_device_mkfs_and_mount_as_linux() {
    assert!(
        Path::new("/sbin/mkfs.ext4").exists(),
        "mkfs.ext4 is missing on this host"
    );
    let out = run_in_temp(guests::LOOPDEV, "loopdev").stdout_str();
    for want in [
        "set-fd=ok\n",
        "status name=uml-image number-ok=1 inode-ok=1 offset=0 flags=0\n",
        "size=33554432 sectors=65536 ssz=512 pbsz=512\n",
        "write-past-end=ENOSPC\n",
        "mkfs.ext4=0\n",
        "mount-ext4=ok\n",
        "mount-ext4-same-point=EBUSY\n",
        "stat-sectors-grow=1\n",
        "remount-ro-writer=EBUSY\n",
        "mount-ext4-as-ext2=EINVAL\n",
        "ro-ext4-creat=EROFS\n",
        "ro-ext4-link-dir=EROFS\n",
        "ext4-statx attrs=0x44 mask=0x74 btime=1 dio=1\n",
        "ext4-set-dirsync-file=EOPNOTSUPP\n",
        "ext4-immutable-unlink=EPERM\n",
        "ro-dev-write=EPERM\n",
        "ro-dev-mount-rw=EACCES\n",
        "ro-dev-mount-ro=ok\n",
        "ra=4088\n",
        "status-cleared=ENXIO\n",
    ] {
        assert!(out.contains(want), "missing {want:?} in:\n{out}");
    }
}

#[test]
fn inode_flags_as_linux() {
    let out = run_in_temp(guests::FILEATTR, "fileattr").stdout_str();
    for want in [
        "statx new attrs=0 mask=0x70 btime=1\n",
        "set-compr=EOPNOTSUPP\n",
        "statx append attrs=0x20 mask=0x70 btime=1\n",
        "append-open-wronly=EPERM\n",
        "append-clear-o_append=EPERM\n",
        "append-unlink=EPERM\n",
        "append-utimens-now=ok\n",
        "append-utimens-now-omit=EPERM\n",
        "append-utimens-omit=ok\n",
        "immutable-access-w=EPERM\n",
        "immutable-fallocate=EPERM\n",
        "immutable-dir-create=EPERM\n",
        "append-dir-unlink=EPERM\n",
        "user-set-immutable=EPERM\n",
        "user-fchmod-not-owner=EPERM\n",
        "clone=EOPNOTSUPP\n",
        "clone-other-fs=EXDEV\n",
        "fa-get-empty-path=0 xflags=0xc0 flags=0xc0\n",
        "fa-immutable-write=EPERM\n",
        "fa-set-projid=EOPNOTSUPP\n",
        "fa-set-unknown=EINVAL\n",
        "fa-file-dirfd=ENOTDIR\n",
    ] {
        assert!(out.contains(want), "missing {want:?} in:\n{out}");
    }
}

#[test]
fn old_getdents_and_copy_file_range_checks_as_linux() {
    let out = run_in_temp(guests::DIRENTS_COPY, "dirents-copy").stdout_str();
    for want in [
        "getdents-tiny=EINVAL\n",
        "getdents entries=5 aligned=1 end=0: dir:4 file:8 link:10\n",
        "getdents-removed=ENOENT\n",
        "getdents64-removed=ENOENT\n",
        "cfr-dir=EISDIR\n",
        "cfr-pipe-read-end=EINVAL\n",
        "cfr-wrap=EOVERFLOW\n",
        "cfr-past-max=EFBIG\n",
        "cfr-overlap=EINVAL\n",
        "cfr-immutable=EPERM\n",
    ] {
        assert!(out.contains(want), "missing {want:?} in:\n{out}");
    }
}
