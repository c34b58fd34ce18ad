//! trap (to be written).
