//! File system contexts of the new mount API (Linux's `struct fs_context`): the kernel
//! object behind an `fsopen(2)` or `fspick(2)` descriptor.
//!
//! `fsopen` makes one for a file system type (`ENODEV` for a type uml lacks) in the
//! *create* phase; `fsconfig(2)` gives it parameters: the super block flags every type
//! knows (`ro`, `rw`, `sync`, `async`, `dirsync`, `lazytime`, `nolazytime`, `mand`,
//! `nomand`, whatever the value), `source` (a string, once), and the type's own options,
//! checked as `mount(2)` checks them (tmpfs: `size=`, `mode=`, ...; proc: `hidepid=`,
//! `gid=`, `subset=`; sysfs: none; ext2/3/4: any, as `mount(2)` ignores them there); a
//! value of the wrong kind is `EINVAL`. `FSCONFIG_CMD_CREATE` makes the file system (the
//! errors of `mount(2)`; a failure leaves the context failed: `EBUSY` from then on) and
//! `fsmount(2)` makes a detached mount of it ([`Vfs::fsmount`]), after which the context
//! reconfigures that file system, as one made by `fspick` on a mount root does:
//! `FSCONFIG_CMD_RECONFIGURE` applies `ro`/`rw` and a tmpfs's `size=` to the super block,
//! as a remount without `MS_BIND`. Reading the descriptor says `ENODATA`: uml logs no
//! messages there.

use abi::flags::mode::S_IFDIR;
use abi::flags::mount::*;
use abi::Errno;
use parking_lot::Mutex;

use crate::dentry::{Dentry, Inode};
use crate::mount::{Mnt, SuperBlock};
use crate::object::{new_wait_id, FileObject};
use crate::{Arc, At, PollEvents, Poller, Vfs};

/// Where a context is (Linux's `enum fs_context_phase`, as far as the calls see it).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Phase {
    /// Taking parameters for a new file system.
    Create,
    /// Made, waiting for `fsmount`.
    AwaitingMount,
    /// Taking parameters to reconfigure a file system.
    Reconf,
    /// `FSCONFIG_CMD_CREATE` failed.
    Failed,
}

/// A parameter's value, as `fsconfig` gives it.
#[derive(Clone, Copy, Debug)]
pub enum FsParam<'a> {
    /// `FSCONFIG_SET_FLAG`.
    Flag,
    /// `FSCONFIG_SET_STRING`.
    String(&'a [u8]),
    /// `FSCONFIG_SET_BINARY`, `FSCONFIG_SET_PATH`, `FSCONFIG_SET_PATH_EMPTY`,
    /// `FSCONFIG_SET_FD`: kinds no option of uml's file systems takes.
    Other,
}

struct State {
    phase: Phase,
    source: Option<Vec<u8>>,
    /// The type's own options, as `mount(2)`'s data string.
    options: Vec<u8>,
    /// `MS_RDONLY` and the other super block flags given, and which were given.
    sb_flags: u64,
    sb_mask: u64,
    /// The file system made or picked.
    sb: Option<Arc<SuperBlock>>,
    /// The root of the file system made, until `fsmount` takes it.
    root: Option<Inode>,
}

/// A file system context.
pub struct FsContext {
    id: u64,
    fstype: &'static str,
    state: Mutex<State>,
}

/// The super block flags a parameter name sets or clears (`vfs_parse_sb_flag`).
fn sb_flag(key: &[u8]) -> Option<(u64, bool)> {
    Some(match key {
        b"dirsync" => (MS_DIRSYNC, true),
        b"lazytime" => (MS_LAZYTIME, true),
        b"mand" => (MS_MANDLOCK, true),
        b"ro" => (MS_RDONLY, true),
        b"sync" => (MS_SYNCHRONOUS, true),
        b"async" => (MS_SYNCHRONOUS, false),
        b"nolazytime" => (MS_LAZYTIME, false),
        b"nomand" => (MS_MANDLOCK, false),
        b"rw" => (MS_RDONLY, false),
        _ => return None,
    })
}

impl FsContext {
    fn new(fstype: &'static str, phase: Phase, sb: Option<Arc<SuperBlock>>) -> Arc<FsContext> {
        Arc::new(FsContext {
            id: new_wait_id(),
            fstype,
            state: Mutex::new(State {
                phase,
                source: None,
                options: Vec::new(),
                sb_flags: 0,
                sb_mask: 0,
                sb,
                root: None,
            }),
        })
    }

    /// `fsconfig`'s `FSCONFIG_SET_*`: parameter `key` is `value`.
    pub fn set_param(&self, key: &[u8], value: FsParam<'_>) -> Result<(), Errno> {
        let mut st = self.state.lock();
        if !matches!(st.phase, Phase::Create | Phase::Reconf) {
            return Err(Errno::EBUSY);
        }
        if let Some((flag, set)) = sb_flag(key) {
            if set {
                st.sb_flags |= flag;
            } else {
                st.sb_flags &= !flag;
            }
            st.sb_mask |= flag;
            return Ok(());
        }
        let option = match value {
            FsParam::Flag => key.to_vec(),
            FsParam::String(v) if key == b"source" => {
                if st.source.is_some() {
                    return Err(Errno::EINVAL);
                }
                st.source = Some(v.to_vec());
                return Ok(());
            }
            FsParam::String(v) => [key, b"=", v].concat(),
            FsParam::Other => return Err(Errno::EINVAL),
        };
        self.check_option(&option)?;
        if !st.options.is_empty() {
            st.options.push(b',');
        }
        st.options.extend_from_slice(&option);
        Ok(())
    }

    /// Whether the type takes `option` (`EINVAL` otherwise).
    fn check_option(&self, option: &[u8]) -> Result<(), Errno> {
        let key = option.split(|&c| c == b'=').next().unwrap_or_default();
        match self.fstype {
            "tmpfs" => crate::do_mount::check_tmpfs_options(option),
            "proc" if matches!(key, b"hidepid" | b"gid" | b"subset") => Ok(()),
            "ext2" | "ext3" | "ext4" if !key.is_empty() => Ok(()),
            _ => Err(Errno::EINVAL),
        }
    }
}

impl FileObject for FsContext {
    fn read(&self, _bufs: &mut [std::io::IoSliceMut<'_>]) -> Result<usize, Errno> {
        Err(Errno::ENODATA)
    }

    fn poll(&self, _who: &Poller) -> PollEvents {
        crate::object::default_pollmask()
    }

    fn wait_id(&self) -> u64 {
        self.id
    }

    fn can_poll(&self) -> bool {
        false
    }
}

impl Vfs {
    /// `fsopen(2)`: a context to make a file system of type `name` (one of
    /// `/proc/filesystems`; those uml cannot mount fail at `FSCONFIG_CMD_CREATE`).
    pub fn fs_open(&self, name: &[u8]) -> Result<Arc<FsContext>, Errno> {
        let fstype = crate::procfs::FILESYSTEM_TYPES
            .iter()
            .map(|(n, _)| *n)
            .find(|n| n.as_bytes() == name)
            .ok_or(Errno::ENODEV)?;
        Ok(FsContext::new(fstype, Phase::Create, None))
    }

    /// `fspick(2)` of `d`: a context to reconfigure the file system mounted there
    /// (`EINVAL` if `d` is no mount root).
    pub fn fs_pick(&self, d: &Dentry) -> Result<Arc<FsContext>, Errno> {
        let mnt = d.0.mnt.as_ref().ok_or(Errno::EINVAL)?;
        Ok(FsContext::new(
            mnt.sb.fstype,
            Phase::Reconf,
            Some(mnt.sb.clone()),
        ))
    }

    /// `FSCONFIG_CMD_CREATE`: makes the file system (`base`: the caller, who resolves the
    /// source and owns a new tmpfs); `privileged`: the caller has `CAP_SYS_ADMIN`.
    pub fn fs_create(&self, fc: &FsContext, base: At<'_>, privileged: bool) -> Result<(), Errno> {
        let mut st = fc.state.lock();
        if st.phase != Phase::Create {
            return Err(Errno::EBUSY);
        }
        if !privileged {
            return Err(Errno::EPERM);
        }
        let data = (!st.options.is_empty()).then_some(&st.options[..]);
        let made = self.make_fs(
            base,
            fc.fstype.as_bytes(),
            st.source.as_deref(),
            data,
            st.sb_flags,
        );
        match made {
            Ok((sb, root)) => {
                st.sb = Some(sb);
                st.root = Some(root);
                st.phase = Phase::AwaitingMount;
                Ok(())
            }
            Err(e) => {
                st.phase = Phase::Failed;
                Err(e)
            }
        }
    }

    /// `FSCONFIG_CMD_RECONFIGURE`: applies the parameters given to the file system.
    pub fn fs_reconfigure(&self, fc: &FsContext, privileged: bool) -> Result<(), Errno> {
        let mut st = fc.state.lock();
        if st.phase != Phase::Reconf {
            return Err(Errno::EBUSY);
        }
        if !privileged {
            return Err(Errno::EPERM);
        }
        let sb = st.sb.clone().ok_or(Errno::EINVAL)?;
        if st.sb_mask & MS_RDONLY != 0 {
            sb.set_read_only(st.sb_flags & MS_RDONLY != 0)?;
        }
        crate::do_mount::reconfigure_tmpfs(&sb, Some(&st.options))?;
        st.options.clear();
        st.sb_mask = 0;
        Ok(())
    }

    /// `fsmount(2)`: a detached mount, with per-mount flags `mnt_flags` (`MS_*`), of the
    /// file system the context made; returns its root.
    pub fn fsmount(&self, fc: &FsContext, mnt_flags: u64) -> Result<Dentry, Errno> {
        let mut st = fc.state.lock();
        let sb = st.sb.clone().ok_or(Errno::EINVAL)?;
        if st.phase != Phase::AwaitingMount {
            return Err(Errno::EBUSY);
        }
        let root = st.root.take().ok_or(Errno::EINVAL)?;
        st.phase = Phase::Reconf;
        st.options.clear();
        st.sb_mask = 0;
        let mnt = Mnt::new(self.next_mnt_id(), mnt_flags, sb);
        Ok(Dentry::new_root(root, S_IFDIR, mnt))
    }
}
