//! kernel (to be written).
