//! vfs (to be written).
