//! The file system notification calls: inotify ([`inotify`]) and fanotify ([`fanotify`]).
//! What they watch and the events are [`vfs::notify`]'s; this layer reads the arguments,
//! checks permissions and limits, and hands out the descriptors (a fanotify read installs
//! one per event in the reader).

pub(crate) mod fanotify;
pub(crate) mod inotify;
