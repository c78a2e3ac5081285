//! Impure tasks that feed the app: step processes (later kube, logs, probes).

mod pgroup;
pub mod runner;
