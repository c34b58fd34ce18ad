//! sched (to be written).
