//! Impure tasks that feed the app: step processes (later kube, logs, probes).

pub mod pgroup;
pub mod runner;
pub mod terminal;
