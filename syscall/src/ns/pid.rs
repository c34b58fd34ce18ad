//! Pid namespaces: the numbers processes and threads have in each namespace they are in.
//!
//! A process's number in the initial namespace (its "global" pid) is the one uml keeps it
//! by; a process in namespace N (level L) also has a number in N and in every ancestor of
//! N up to, not counting, the initial one, given from each namespace's own counter
//! (the first process made in a namespace is its 1, its init). A caller sees another
//! process by its number in the caller's namespace, and not at all (0, `ESRCH`) if that
//! process is not in it or below it. A number leaves a namespace when its global pid is
//! given out again (as `exit_codes` does).

use std::collections::BTreeMap;

use super::{Data, Namespaces};

/// Linux's `MAX_PID_NS_LEVEL`.
pub const MAX_LEVEL: u32 = 32;

/// One pid namespace's numbers.
#[derive(Default)]
pub struct PidNs {
    /// The last number given here (`/proc/sys/kernel/ns_last_pid`).
    pub last_pid: i32,
    /// Global pid to number here.
    local: BTreeMap<i32, i32>,
    /// Number here to global pid.
    global: BTreeMap<i32, i32>,
}

fn pid_ns(spaces: &Namespaces, ns: u64) -> Option<&PidNs> {
    match &spaces.get(ns)?.data {
        Data::Pid(p) => Some(p),
        _ => None,
    }
}

fn pid_ns_mut(spaces: &mut Namespaces, ns: u64) -> Option<&mut PidNs> {
    match &mut spaces.get_mut(ns)?.data {
        Data::Pid(p) => Some(p),
        _ => None,
    }
}

/// The level of pid namespace `ns` (the initial one's is 0).
pub fn level(spaces: &Namespaces, mut ns: u64) -> u32 {
    let mut l = 0;
    while ns != 0 {
        l += 1;
        ns = spaces.parent(ns);
    }
    l
}

/// The number of the process or thread `global` in namespace `ns`; 0 if it is not there.
pub fn pid_in(spaces: &Namespaces, ns: u64, global: i32) -> i32 {
    if ns == 0 || global <= 0 {
        return global;
    }
    pid_ns(spaces, ns)
        .and_then(|p| p.local.get(&global).copied())
        .unwrap_or(0)
}

/// The global pid of number `local` of namespace `ns`, if it names one.
pub fn global_of(spaces: &Namespaces, ns: u64, local: i32) -> Option<i32> {
    if ns == 0 {
        return Some(local);
    }
    pid_ns(spaces, ns)?.global.get(&local).copied()
}

/// Whether number `local` is taken in namespace `ns` (0: the initial one, where the
/// table knows).
pub fn taken(spaces: &Namespaces, ns: u64, local: i32) -> bool {
    pid_ns(spaces, ns).is_some_and(|p| p.global.contains_key(&local))
}

/// Gives the new process or thread `global` its numbers in `ns` and its ancestors, the
/// innermost first: `wanted[i]` (`clone3`'s `set_tid`) at level `i` from `ns` when given
/// and non-zero, else the next free one. The caller has checked that wanted numbers are
/// free.
pub fn assign(spaces: &mut Namespaces, mut ns: u64, global: i32, wanted: &[i32], pid_max: i32) {
    let mut i = 0;
    while ns != 0 {
        let parent = spaces.parent(ns);
        if let Some(p) = pid_ns_mut(spaces, ns) {
            let n = match wanted.get(i).copied().filter(|&w| w > 0) {
                Some(w) => w,
                None => {
                    let mut n = p.last_pid;
                    loop {
                        n = if n >= pid_max - 1 { 1 } else { n + 1 };
                        if !p.global.contains_key(&n) {
                            break n;
                        }
                    }
                }
            };
            p.last_pid = n;
            p.local.insert(global, n);
            p.global.insert(n, global);
        }
        ns = parent;
        i += 1;
    }
}

/// Global pid `global` is given out again: its numbers in every namespace go.
pub fn forget(spaces: &mut Namespaces, global: i32) {
    for ns in spaces.spaces.values_mut() {
        if let Data::Pid(p) = &mut ns.data {
            if let Some(n) = p.local.remove(&global) {
                p.global.remove(&n);
            }
        }
    }
}

/// The global pid of namespace `ns`'s init (its number 1), if it has one.
pub fn reaper(spaces: &Namespaces, ns: u64) -> Option<i32> {
    if ns == 0 {
        return Some(1);
    }
    global_of(spaces, ns, 1)
}

/// The last number given in namespace `ns` (`None`: the initial one's is the table's).
pub fn last_pid(spaces: &Namespaces, ns: u64) -> Option<i32> {
    pid_ns(spaces, ns).map(|p| p.last_pid)
}

/// The numbers of `global` from the initial namespace down to namespace `ns`, where it
/// is (`/proc/PID/status`'s `NSpid`).
pub fn chain(spaces: &Namespaces, mut ns: u64, global: i32) -> Vec<i32> {
    let mut v = Vec::new();
    while ns != 0 {
        v.push(pid_in(spaces, ns, global));
        ns = spaces.parent(ns);
    }
    v.push(global);
    v.reverse();
    v
}

impl crate::Ctx<'_> {
    /// The caller's number for process or thread `global` (0: not in its namespace).
    pub(crate) fn pid_seen(&self, global: i32) -> i32 {
        pid_in(&self.procs.ns, self.proc.ns.pid, global)
    }

    /// The process or thread the caller's number `local` names, by its global pid
    /// (`ESRCH`: none in the caller's namespace).
    pub(crate) fn pid_named(&self, local: i32) -> Result<i32, abi::Errno> {
        global_of(&self.procs.ns, self.proc.ns.pid, local).ok_or(abi::Errno::ESRCH)
    }
}
