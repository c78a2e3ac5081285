//! The pure core: state, transitions, journal events, records. No IO.

pub mod effect;
pub mod follow;
pub mod history;
pub mod journal;
pub mod keys;
pub mod kube;
mod kube_update;
pub mod logs;
pub mod model;
pub mod msg;
mod probe_update;
pub mod probes;
pub mod redact;
pub mod report;
pub mod run;
pub mod steps;
pub mod update;
