//! The whole state of the cockpit, `now` included. Only `update` changes it.

use super::run::RunState;
use crate::config::checklist::{Checklist, Step};
use crate::config::keymap::Keymap;
use crate::config::layout::PaneId;
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

/// Output lines kept per step in memory (the full output is in the step's log file).
pub const OUTPUT_CAP: usize = 5_000;

/// A line of the checklist pane.
#[derive(Debug, Clone, PartialEq)]
pub enum Row {
    Phase(usize),
    Step {
        id: String,
        depth: usize,
        phase: usize,
    },
}

/// What a running step is doing now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Command,
    Action,
    /// Its command or action is done; waiting for the rollout, pods or a probe.
    Waiting,
}

/// The step whose process is running now.
#[derive(Debug, Clone, PartialEq)]
pub struct Running {
    pub phase: Phase,
    /// Exit code of the command, kept while its wait goes on.
    pub exit_code: Option<i32>,
    /// When its wait began (probe waits time out from here).
    pub wait_started: Option<DateTime<Utc>>,
    pub step: String,
    pub attempt: u32,
    pub since: DateTime<Utc>,
    pub pgid: Option<i32>,
    /// Abort was asked for; the escalation is under way.
    pub aborting: bool,
    /// This is the step's rollback command, not the step.
    pub rollback: bool,
}

/// Output of one step's latest attempt.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Output {
    pub attempt: u32,
    pub lines: VecDeque<String>,
    /// Lines dropped from the front to stay within [`OUTPUT_CAP`].
    pub dropped: usize,
}

impl Output {
    pub fn push(&mut self, line: String) {
        if self.lines.len() == OUTPUT_CAP {
            self.lines.pop_front();
            self.dropped += 1;
        }
        self.lines.push_back(line);
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfirmWhat {
    Run,
    Rollback,
    QuitWhileRunning,
    /// Re-run (`r`) or mark done (`d`) a step cut off by a crash.
    Interrupted,
    /// A watcher's sign-off, named before it is recorded for good (the selection may have
    /// just followed the driver).
    SignOff,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputWhat {
    SkipReason,
    Comment,
    SignOffName,
    /// Text the logs pane filters on (`step` is empty).
    LogFilter,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Modal {
    Help,
    Confirm {
        step: String,
        what: ConfirmWhat,
    },
    Input {
        step: String,
        what: InputWhat,
        text: String,
    },
}

/// Whether this process drives the run or follows it (`shipdeck watch`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Role {
    #[default]
    Driver,
    /// Read-only: never runs a step; signs off and comments as `driver` (its own user@host).
    Watcher,
}

/// Who pressed what last, for the header (pair reviewers watch it).
#[derive(Debug, Clone, PartialEq)]
pub struct LastAction {
    pub what: String,
    pub by: String,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Flash {
    pub text: String,
    pub error: bool,
    pub until: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuitState {
    /// Waiting for the running step to end after an abort.
    AfterAbort {
        interrupted: bool,
    },
    Now {
        interrupted: bool,
    },
}

#[derive(Debug, Clone)]
pub struct Model {
    pub now: DateTime<Utc>,
    pub checklist: Arc<Checklist>,
    pub rows: Vec<Row>,
    pub run: RunState,
    pub run_id: String,
    /// `user@host` of this process: the driver, or the watcher in `Role::Watcher`.
    pub driver: String,
    pub role: Role,
    /// For a watcher: the `user@host` holding the run's lock, None once nobody drives it.
    pub driven_by: Option<String>,
    /// Step timings of past runs of this checklist (for expected durations and the ETA).
    pub history: BTreeMap<String, super::history::StepStats>,
    pub layout_name: String,
    /// The layout asks for large type (`large: true`, the pair layout).
    pub large_type: bool,
    pub panes: Vec<PaneId>,
    pub focus: usize,
    pub zoom: bool,
    /// Index into `rows`, always a `Row::Step`.
    pub selected: usize,
    pub running: Option<Running>,
    pub outputs: BTreeMap<String, Output>,
    pub kube: super::kube::KubeState,
    pub logs: super::logs::LogBuffer,
    /// Every probe's window, health and the rollback advice (from `checklist.probes`).
    pub probes: crate::core::probes::ProbeBoard,
    /// The probes pane shows the selected probe's last failure in full (Enter toggles).
    pub probe_detail: bool,
    /// The step that just finished keeps the output pane until the selection moves.
    pub shown: Option<String>,
    /// Lines scrolled up from the tail in the output pane; 0 with `follow` shows the tail.
    pub output_scroll: usize,
    pub follow: bool,
    pub details_scroll: u16,
    pub modal: Option<Modal>,
    pub last_action: Option<LastAction>,
    pub flash: Option<Flash>,
    pub quit: Option<QuitState>,
    pub keymap: Keymap,
    pub secrets: Vec<String>,
    /// Rows that fit in the checklist pane (set by the renderer via `Msg::Resize`), for paging.
    pub page: usize,
    pub size: (u16, u16),
    pub dirty: bool,
    /// Only background news arrived (log lines, step output, probe samples, cluster changes,
    /// the clock): redrawn at a lower rate than what the user did or a step's state.
    pub lazy_dirty: bool,
    /// Changes with every update except new log lines and a clock tick that changed nothing
    /// on screen, so the renderer can tell a frame where only log lines came.
    pub version: u64,
}

impl Model {
    pub fn new(
        checklist: Arc<Checklist>,
        run: RunState,
        driver: String,
        now: DateTime<Utc>,
    ) -> Self {
        let rows = rows_of(&checklist);
        let probes =
            crate::core::probes::ProbeBoard::new(&checklist.probes, &checklist.rollback_when, now);
        let mut m = Model {
            now,
            run_id: run.run_id.clone(),
            checklist,
            rows,
            run,
            driver,
            role: Role::Driver,
            driven_by: None,
            history: BTreeMap::new(),
            layout_name: "default".into(),
            large_type: false,
            panes: vec![PaneId::Checklist, PaneId::Output, PaneId::Details],
            focus: 0,
            zoom: false,
            selected: 0,
            running: None,
            outputs: BTreeMap::new(),
            kube: Default::default(),
            logs: Default::default(),
            probes,
            probe_detail: false,
            shown: None,
            output_scroll: 0,
            follow: true,
            details_scroll: 0,
            modal: None,
            last_action: None,
            flash: None,
            quit: None,
            keymap: Keymap::default(),
            secrets: Vec::new(),
            page: 10,
            size: (80, 24),
            dirty: true,
            lazy_dirty: false,
            version: 0,
        };
        m.selected = m.first_open_row();
        m
    }

    pub fn step(&self, id: &str) -> Option<&Step> {
        self.checklist.step(id)
    }

    /// Takes a layout's panes (focus order), name and type size.
    pub fn use_layout(&mut self, layout: &crate::config::layout::Layout) {
        self.panes = layout.panes();
        self.layout_name = layout.name.clone();
        self.large_type = layout.large;
        self.focus = self.focus.min(self.panes.len().saturating_sub(1));
    }

    pub fn selected_id(&self) -> Option<&str> {
        match self.rows.get(self.selected)? {
            Row::Step { id, .. } => Some(id),
            Row::Phase(_) => None,
        }
    }

    pub fn selected_step(&self) -> Option<&Step> {
        self.step(self.selected_id()?)
    }

    pub fn focused(&self) -> PaneId {
        self.panes
            .get(self.focus)
            .copied()
            .unwrap_or(PaneId::Checklist)
    }

    /// The step whose output the output pane shows: the running one, else the selected one.
    pub fn output_step(&self) -> Option<&str> {
        self.running
            .as_ref()
            .map(|r| r.step.as_str())
            .or(self.shown.as_deref())
            .or(self.selected_id())
    }

    /// The first step row that is not done yet (or the last row when all are).
    pub fn first_open_row(&self) -> usize {
        let open = self.rows.iter().position(|r| match r {
            Row::Step { id, .. } => {
                let leaf = self.step(id).is_some_and(|s| s.steps.is_empty());
                leaf && !self.run.state_of(id).is_done()
            }
            Row::Phase(_) => false,
        });
        open.or_else(|| {
            self.rows
                .iter()
                .rposition(|r| matches!(r, Row::Step { .. }))
        })
        .unwrap_or(0)
    }
}

/// Phase headers followed by their steps, depth first.
pub fn rows_of(c: &Checklist) -> Vec<Row> {
    let mut rows = Vec::new();
    let mut last_phase = usize::MAX;
    for f in c.flat_steps() {
        if f.phase != last_phase {
            rows.push(Row::Phase(f.phase));
            last_phase = f.phase;
        }
        rows.push(Row::Step {
            id: f.step.id.clone(),
            depth: f.depth,
            phase: f.phase,
        });
    }
    rows
}
