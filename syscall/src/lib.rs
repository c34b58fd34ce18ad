//! syscall (to be written).
