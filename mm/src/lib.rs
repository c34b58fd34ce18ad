//! mm (to be written).
