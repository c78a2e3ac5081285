//! Step timing statistics across past runs of one checklist (SPEC §7 `history`), and the
//! expected durations and ETA the cockpit shows from them.

use super::run::RunState;
use std::collections::BTreeMap;

/// One step's numbers over past runs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StepStats {
    /// Past runs in which the step ran at least one attempt.
    pub runs: usize,
    /// Durations of the attempts that succeeded (ms), oldest first.
    pub durations_ms: Vec<u64>,
    pub median_ms: Option<u64>,
    pub p90_ms: Option<u64>,
    /// Duration of the step's last finished attempt in the newest run that ran it.
    pub last_ms: Option<u64>,
    /// Runs in which at least one attempt of the step failed, timed out or was aborted.
    pub failed_runs: usize,
}

impl StepStats {
    /// Failed runs over runs, 0.0..=1.0.
    pub fn failure_rate(&self) -> f64 {
        if self.runs == 0 {
            0.0
        } else {
            self.failed_runs as f64 / self.runs as f64
        }
    }
}

/// Per step id, from past runs given oldest first.
pub fn step_stats(runs: &[RunState]) -> BTreeMap<String, StepStats> {
    let _ = runs;
    BTreeMap::new()
}
