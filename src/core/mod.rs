//! The pure core: state, transitions, journal events, records. No IO.

pub mod redact;
