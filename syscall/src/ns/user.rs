//! User namespaces: who owns one (`NS_GET_OWNER_UID`) and how deep they nest.
//!
//! The process that makes a user namespace holds every capability in it and none outside
//! ([`Caps::enter_child_user_ns`](crate::caps::Caps::enter_child_user_ns)): uml's objects
//! all belong to the initial user namespace, so a check there fails, while making
//! namespaces owned by it succeeds. Its ids are not mapped (no `uid_map`): they stay what
//! they were.

use super::{Data, Namespaces};

/// Linux's limit on nested user namespaces.
pub const MAX_DEPTH: u32 = 32;

/// One user namespace.
pub struct UserNs {
    /// The effective ids of its creator.
    pub owner: (u32, u32),
}

impl UserNs {
    /// A namespace made by a process with effective ids `uid` and `gid`.
    pub fn new(uid: u32, gid: u32) -> UserNs {
        UserNs { owner: (uid, gid) }
    }
}

/// How many user namespaces lie between `ns` and the initial one.
pub fn depth(spaces: &Namespaces, ns: u64) -> u32 {
    super::pid::level(spaces, ns)
}

/// The owner's uid of user namespace `ns` (the initial one's is 0).
pub fn owner_uid(spaces: &Namespaces, ns: u64) -> u32 {
    match spaces.get(ns).map(|n| &n.data) {
        Some(Data::User(u)) => u.owner.0,
        _ => 0,
    }
}
