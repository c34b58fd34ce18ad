//! The file system notification calls: inotify ([`inotify`]). What they watch and the
//! events are [`vfs::notify`]'s; this layer reads the arguments, checks permissions and
//! limits, and hands out the descriptors.

pub(crate) mod inotify;
