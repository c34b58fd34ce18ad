//! Namespaces (Linux's `nsproxy` with a task's pid and user namespaces): which namespaces
//! each process is in ([`NsSet`]), the registry of the namespaces made at run time
//! ([`Namespaces`], kept in the [`ProcessTable`](crate::ProcessTable)), making them
//! (`clone`/`unshare` with `CLONE_NEW*`: [`new_namespaces`]), entering them (`setns`:
//! [`setns`]) and the requests on their files (`ioctl_ns`: [`ioctl`]).
//!
//! Every kind has an initial namespace, id 0, which every process starts in; the others get
//! ids from 1 on, never reused. What each kind holds:
//! - pid ([`pid`]): the numbers its processes have there; processes and pidfds are kept
//!   by their number in the initial namespace, and a caller in another namespace sees and
//!   names them by theirs.
//! - user ([`user`]): its owner and id maps; its creator holds every capability in it (and
//!   none outside: [`Caps::in_child_user_ns`](crate::caps::Caps)).
//! - time ([`time`]): the offsets of `CLOCK_MONOTONIC` and `CLOCK_BOOTTIME`.
//! - UTS and IPC: their host and domain names, their SysV objects and message queues. The
//!   table holds those of one namespace at a time (`ProcessTable::sysctl` names,
//!   `ProcessTable::ipc`); [`ProcessTable::enter_ns`](crate::ProcessTable) parks the
//!   others here and brings a caller's in before its call runs.
//! - cgroup: nothing (uml has no cgroups).
//!
//! Mount namespaces are the vfs's (`Vfs::unshare_mounts`); network namespaces are not made
//! (`EINVAL` for `CLONE_NEWNET`, as a kernel without them). Namespaces are never freed: a
//! run makes few.

pub mod pid;
mod setns;
pub mod time;
pub mod user;

use std::collections::BTreeMap;

use abi::Errno;

pub(crate) use setns::{ioctl, sys_setns};

use crate::proc_calls::clone_flags::*;
use crate::Ctx;

/// The namespaces a process is in, by id (0: the initial one).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NsSet {
    /// Its pid namespace (where its own number is the one `getpid` gives).
    pub pid: u64,
    /// Where its children go (`unshare(CLONE_NEWPID)`, `setns` change only this).
    pub pid_for_children: u64,
    /// Its user namespace.
    pub user: u64,
    /// Its time namespace.
    pub time: u64,
    /// Where its children go (`unshare(CLONE_NEWTIME)`).
    pub time_for_children: u64,
    /// Its UTS namespace.
    pub uts: u64,
    /// Its IPC namespace.
    pub ipc: u64,
    /// Its cgroup namespace.
    pub cgroup: u64,
}

impl NsSet {
    /// The namespace a `/proc/PID/ns` link of this name leads to (0 for `mnt` and `net`).
    pub fn by_link(&self, name: &[u8]) -> u64 {
        match name {
            b"pid" => self.pid,
            b"pid_for_children" => self.pid_for_children,
            b"user" => self.user,
            b"time" => self.time,
            b"time_for_children" => self.time_for_children,
            b"uts" => self.uts,
            b"ipc" => self.ipc,
            b"cgroup" => self.cgroup,
            _ => 0,
        }
    }

    /// What a child gets (`clone` without new namespaces): the pid and time namespaces
    /// its parent gives children.
    pub fn for_child(&self) -> NsSet {
        NsSet {
            pid: self.pid_for_children,
            time: self.time_for_children,
            ..*self
        }
    }
}

/// What a namespace holds besides its place in the tree.
pub enum Data {
    /// A pid namespace's numbers.
    Pid(pid::PidNs),
    /// A user namespace's owner and maps.
    User(user::UserNs),
    /// A time namespace's offsets.
    Time(time::TimeNs),
    /// A UTS namespace's names while another's are in the table.
    Uts(Vec<u8>, Vec<u8>),
    /// An IPC namespace's objects while another's are in the table.
    Ipc(Box<crate::ipc::Ipc>),
    /// Nothing (a cgroup namespace; an IPC namespace whose objects are in the table).
    None,
}

/// One namespace made at run time.
pub struct Ns {
    /// Its `CLONE_NEW*` flag (its kind).
    pub kind: u64,
    /// The namespace it was made in (pid and user namespaces: its parent).
    pub parent: u64,
    /// The user namespace that owns it.
    pub owner: u64,
    /// What it holds.
    pub data: Data,
}

/// The namespaces made at run time, and which UTS and IPC namespace the table holds now.
#[derive(Default)]
pub struct Namespaces {
    spaces: BTreeMap<u64, Ns>,
    last: u64,
    /// The UTS namespace whose names are `ProcessTable::sysctl`'s.
    pub uts_in_table: u64,
    /// The IPC namespace whose objects are `ProcessTable::ipc`.
    pub ipc_in_table: u64,
    /// The initial UTS namespace's names while another's are in the table.
    pub initial_uts: (Vec<u8>, Vec<u8>),
    /// The initial IPC namespace's objects while another's are in the table.
    pub initial_ipc: Option<Box<crate::ipc::Ipc>>,
}

impl Namespaces {
    /// Adds a namespace; its id.
    pub fn add(&mut self, ns: Ns) -> u64 {
        self.last += 1;
        self.spaces.insert(self.last, ns);
        self.last
    }

    /// Namespace `id` (`None` for an initial one).
    pub fn get(&self, id: u64) -> Option<&Ns> {
        self.spaces.get(&id)
    }

    /// Namespace `id`, writable.
    pub fn get_mut(&mut self, id: u64) -> Option<&mut Ns> {
        self.spaces.get_mut(&id)
    }

    /// The namespace `id` was made in (0 for an initial one).
    pub fn parent(&self, id: u64) -> u64 {
        self.get(id).map_or(0, |n| n.parent)
    }

    /// The user namespace owning `id` of kind `kind`: a user namespace's is its parent.
    pub fn owner(&self, id: u64) -> u64 {
        self.get(id).map_or(0, |n| n.owner)
    }

    /// Whether `id` is `ancestor` or lies below it (in the tree of `parent`).
    pub fn is_within(&self, mut id: u64, ancestor: u64) -> bool {
        loop {
            if id == ancestor {
                return true;
            }
            if id == 0 {
                return false;
            }
            id = self.parent(id);
        }
    }
}

/// The `CLONE_NEW*` flags of the namespaces uml makes.
pub const MADE: u64 = NEWUSER | NEWPID | NEWTIME | NEWUTS | NEWIPC | NEWCGROUP;

/// Every `CLONE_NEW*` flag.
pub const ALL: u64 = MADE | NEWNS | NEWNET;

/// Whether the caller may make namespaces of `flags` (besides a user namespace made
/// first): `CAP_SYS_ADMIN` in its user namespace, or in the one it makes with them.
pub(crate) fn may_make(ctx: &Ctx<'_>, flags: u64) -> Result<(), Errno> {
    if flags & ALL & !NEWUSER != 0
        && flags & NEWUSER == 0
        && !ctx.proc.cred.caps.has_in_own_ns(crate::caps::CAP_SYS_ADMIN)
    {
        return Err(Errno::EPERM);
    }
    Ok(())
}

/// The namespaces after making those `flags` ask for (`CLONE_NEW*` but `CLONE_NEWNS`), as
/// `clone` (`for_child`: the child's) or `unshare` (the caller's own, where
/// `CLONE_NEWPID` and `CLONE_NEWTIME` change what children get) make them. The caller
/// has checked [`may_make`]. `EINVAL` for `CLONE_NEWNET`; `EUSERS`/`ENOSPC` past the depth
/// Linux allows (32).
pub(crate) fn new_namespaces(
    ctx: &mut Ctx<'_>,
    flags: u64,
    for_child: bool,
) -> Result<NsSet, Errno> {
    if flags & NEWNET != 0 {
        return Err(Errno::EINVAL);
    }
    let mine = ctx.proc.ns;
    let mut set = if for_child { mine.for_child() } else { mine };
    let table = &mut *ctx.procs;
    if flags & NEWUSER != 0 {
        let c = &ctx.proc.cred;
        if user::depth(&table.ns, mine.user) >= user::MAX_DEPTH {
            return Err(Errno::EUSERS);
        }
        set.user = table.ns.add(Ns {
            kind: NEWUSER,
            parent: mine.user,
            owner: mine.user,
            data: Data::User(user::UserNs::new(c.euid, c.egid)),
        });
    }
    let owner = set.user;
    let add = |table: &mut crate::ProcessTable, kind: u64, parent: u64, data: Data| {
        table.ns.add(Ns {
            kind,
            parent,
            owner,
            data,
        })
    };
    if flags & NEWPID != 0 {
        let parent = mine.pid_for_children;
        if pid::level(&table.ns, parent) >= pid::MAX_LEVEL {
            return Err(Errno::ENOSPC);
        }
        let id = add(table, NEWPID, parent, Data::Pid(pid::PidNs::default()));
        set.pid_for_children = id;
        if for_child {
            set.pid = id;
        }
    }
    if flags & NEWTIME != 0 {
        let id = add(
            table,
            NEWTIME,
            mine.time_for_children,
            Data::Time(Default::default()),
        );
        set.time_for_children = id;
        if for_child {
            set.time = id;
        }
    }
    if flags & NEWUTS != 0 {
        let names = (
            table.sysctl.hostname.clone(),
            table.sysctl.domainname.clone(),
        );
        set.uts = add(table, NEWUTS, mine.uts, Data::Uts(names.0, names.1));
    }
    if flags & NEWIPC != 0 {
        set.ipc = add(table, NEWIPC, mine.ipc, Data::Ipc(Box::default()));
    }
    if flags & NEWCGROUP != 0 {
        set.cgroup = add(table, NEWCGROUP, mine.cgroup, Data::None);
    }
    if flags & NEWUSER != 0 {
        // The creator holds every capability in its new user namespace, none outside.
        let caps = &mut ctx.proc.cred.caps;
        if !for_child {
            caps.enter_child_user_ns();
        }
    }
    Ok(set)
}
