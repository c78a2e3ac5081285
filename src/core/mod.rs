//! The pure core: state, transitions, journal events, records. No IO.

pub mod effect;
pub mod journal;
pub mod keys;
pub mod kube;
pub mod model;
pub mod msg;
pub mod redact;
pub mod report;
pub mod run;
pub mod update;
