//! The pure core: state, transitions, journal events, records. No IO.

pub mod journal;
pub mod redact;
pub mod report;
pub mod run;
