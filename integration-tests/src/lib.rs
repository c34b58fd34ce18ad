//! integration-tests (to be written).
