//! The file system notification calls: inotify ([`inotify`]), fanotify ([`fanotify`]) and
//! dnotify (`fcntl`'s `F_NOTIFY`, [`dnotify`]).
//! What they watch and the events are [`vfs::notify`]'s; this layer reads the arguments,
//! checks permissions and limits, and hands out the descriptors (a fanotify read installs
//! one per event in the reader).

pub(crate) mod dnotify;
pub(crate) mod fanotify;
pub(crate) mod inotify;
