//! Everything that can happen to the cockpit, as a message to `update`.

use super::journal::StepOutcome;
use super::keys::Key;
use super::kube::{EventView, PodView, WorkloadView};
use chrono::{DateTime, Utc};

/// A watch stream of the cluster, for "stale since" marks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Stream {
    Workloads,
    Pods,
    Events,
    Logs,
}

/// What the kube sources report.
#[derive(Debug, Clone, PartialEq)]
pub enum KubeMsg {
    Connected {
        context: String,
        namespace: String,
        server: String,
    },
    /// The cluster could not be reached at all (bad kubeconfig, unknown context).
    Unavailable(String),
    /// Connecting is under way.
    Connecting,
    Workload(WorkloadView),
    WorkloadGone {
        kind: String,
        name: String,
    },
    /// A full relist (watch restart, 410 Gone): replaces every pod known so far.
    PodsRelisted(Vec<PodView>),
    Pod(PodView),
    PodGone(String),
    Event(EventView),
    /// A stream broke; the panes it feeds say "stale since" until `Live`.
    Stale {
        stream: Stream,
        since: DateTime<Utc>,
        error: String,
    },
    Live {
        stream: Stream,
    },
}

/// One log line of one pod, with the timestamp the kubelet gave it.
#[derive(Debug, Clone, PartialEq)]
pub struct LogLine {
    pub pod: String,
    pub ts: DateTime<Utc>,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogStreamState {
    Attached,
    Detached,
    Retrying(String),
}

/// What a built-in action changed, for the journal and the record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionRecord {
    /// `set_image deployment/web web=registry/web:2.0`.
    pub what: String,
    pub target: String,
    /// Image(s), replica count or paused flag before and after, as text.
    pub before: String,
    pub after: String,
    pub revision_before: Option<i64>,
    pub revision_after: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WaitResult {
    Satisfied {
        detail: String,
        duration_ms: u64,
    },
    TimedOut {
        detail: String,
        duration_ms: u64,
    },
    /// The condition can no longer be met (e.g. ProgressDeadlineExceeded).
    Failed {
        detail: String,
        duration_ms: u64,
    },
}

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
    /// Events another process appended to the run's journal (a watcher's sign-off, or, for a
    /// watcher, everything the driver records).
    Journal(Vec<super::journal::Entry>),
    /// Step timings of past runs of the checklist, read in the background at start.
    History(std::collections::BTreeMap<String, super::history::StepStats>),
    /// For a watcher: who holds the run's lock now (None: nobody drives it).
    Driver(Option<String>),
    Kube(KubeMsg),
    /// A batch of log lines (at most about 50, or what came in 100 ms).
    Logs(Vec<LogLine>),
    LogStream {
        pod: String,
        state: LogStreamState,
    },
    ActionDone {
        step: String,
        attempt: u32,
        result: Result<ActionRecord, String>,
    },
    /// `rollback` is set when the action was a step's rollback, not the step.
    RollbackActionDone {
        step: String,
        result: Result<ActionRecord, String>,
    },
    WaitDone {
        step: String,
        attempt: u32,
        result: WaitResult,
    },
    /// One probe request's result.
    Probe(super::probes::Sample),
    /// From an automated driver (headless): start a step, already confirmed by its flags.
    Start {
        step: String,
    },
    /// From an automated driver: record a manual step as done by `by`.
    MarkDone {
        step: String,
        by: String,
    },
    /// From an automated driver: abort the running step (like `x`).
    Abort,
    /// From an automated driver: run a step's rollback.
    Rollback {
        step: String,
    },
    /// From an automated driver: close the run with this outcome and quit.
    EndRun {
        outcome: super::journal::RunOutcome,
    },
}
