//! Impure tasks that feed the app: step processes (later kube, logs, probes).

pub mod journal_tail;
pub mod kube_actions;
pub mod kube_client;
pub mod kube_convert;
pub mod kube_logs;
pub mod kube_logs_follow;
pub mod kube_wait;
pub mod kube_watch;
pub mod kube_watch_state;
pub mod kube_workload;
pub mod pgroup;
pub mod probes;
pub mod runner;
pub mod signals;
pub mod terminal;
