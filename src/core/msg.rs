//! Everything that can happen to the cockpit, as a message to `update`.

use super::journal::StepOutcome;
use super::keys::Key;
use chrono::{DateTime, Utc};

#[derive(Debug, Clone, PartialEq)]
pub struct Finished {
    pub outcome: StepOutcome,
    pub exit_code: Option<i32>,
    pub signal: Option<i32>,
    pub duration_ms: u64,
    pub message: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignalKind {
    Interrupt,
    Terminate,
    Hangup,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Msg {
    Key(Key),
    /// Time enters the core only here.
    Tick(DateTime<Utc>),
    Resize(u16, u16),
    StepSpawned {
        step: String,
        attempt: u32,
        pgid: i32,
    },
    StepLine {
        step: String,
        attempt: u32,
        line: String,
    },
    StepDone {
        step: String,
        attempt: u32,
        done: Finished,
    },
    RollbackDone {
        step: String,
        done: Finished,
    },
    /// Output of an earlier attempt, read back from its log file.
    LogLoaded {
        step: String,
        attempt: u32,
        lines: Vec<String>,
    },
    Signal(SignalKind),
    /// The journal could not be written: the run must not go on unrecorded.
    JournalFailed(String),
}
