//! Helpers shared by the render test binaries (`render`, `render_cluster`, `render_probes`,
//! `render_history`, `render_timeline`): fixed times, the run's first journal entry, models
//! replayed from a checklist and a journal, drawing a model on a `TestBackend`, and reading the
//! drawn buffer back as text and colours. Each binary uses only some of them.
#![allow(dead_code)]

use chrono::{DateTime, Duration, TimeZone, Utc};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::style::Color;
use shipdeck::config::layout::{Layout, PaneId, builtin};
use shipdeck::config::load::{LoadOptions, load_checklist};
use shipdeck::core::journal::{ChecklistRef, Entry, Event, StepOutcome};
use shipdeck::core::keys::Key;
use shipdeck::core::model::{Model, Row};
use shipdeck::core::msg::Msg;
use shipdeck::core::run::RunState;
use shipdeck::core::update::update;
use shipdeck::ui::{Theme, clock, render};
use std::sync::Arc;

pub mod demo;
pub mod tls;

/// A scenario: a model drawn with the named built-in layout.
pub type Scenario = fn(&str) -> Model;

/// 2026-11-21 12:00:00 UTC, when every test run starts.
pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 21, 12, 0, 0).unwrap()
}

/// `ms` milliseconds after [`t0`].
pub fn at_ms(ms: i64) -> DateTime<Utc> {
    t0() + Duration::milliseconds(ms)
}

/// `s` seconds after [`t0`].
pub fn at_secs(s: i64) -> DateTime<Utc> {
    t0() + Duration::seconds(s)
}

/// The `RunStarted` entry that opens every test journal, at [`t0`]. The default is the web
/// release in the `tui` mode on the `prod/shop` cluster.
pub struct RunStart<'a> {
    pub run: &'a str,
    /// The checklist's name as the journal records it.
    pub name: &'a str,
    /// The checklist's file: also the name it is loaded under by [`replayed`].
    pub path: &'a str,
    pub mode: &'a str,
    /// Context and namespace.
    pub cluster: Option<(&'a str, &'a str)>,
}

impl Default for RunStart<'_> {
    fn default() -> Self {
        RunStart {
            run: "20261121T120000Z-3f2a",
            name: "Web release",
            path: "web.yaml",
            mode: "tui",
            cluster: Some(("prod", "shop")),
        }
    }
}

impl RunStart<'_> {
    pub fn entry(&self) -> Entry {
        Entry::new(
            t0(),
            Event::RunStarted {
                run: self.run.into(),
                checklist: ChecklistRef {
                    name: self.name.into(),
                    path: self.path.into(),
                    sha256: "00".into(),
                },
                vars: Default::default(),
                user: "ana".into(),
                host: "box".into(),
                pid: 1,
                mode: self.mode.into(),
                context: self.cluster.map(|(c, _)| c.into()),
                namespace: self.cluster.map(|(_, n)| n.into()),
                layout: None,
                kubeconfig: None,
            },
        )
    }
}

/// The model of checklist `yaml` driven by `ana@box` after `start` and `entries`, at `now`,
/// with the model's own default panes (no layout applied). Times show in UTC.
pub fn replayed(yaml: &str, start: &RunStart, entries: &[Entry], now: DateTime<Utc>) -> Model {
    clock::force_utc();
    let c = load_checklist(yaml, start.path, &LoadOptions::default()).unwrap();
    let mut all = vec![start.entry()];
    all.extend_from_slice(entries);
    Model::new(Arc::new(c), RunState::replay(&all), "ana@box".into(), now)
}

/// [`replayed`], laid out by the built-in layout `layout`.
pub fn model(
    yaml: &str,
    start: &RunStart,
    entries: &[Entry],
    now: DateTime<Utc>,
    layout: &str,
) -> Model {
    let mut m = replayed(yaml, start, entries, now);
    m.use_layout(&builtin(layout).unwrap());
    m
}

pub fn step_started(step: &str, attempt: u32, when: DateTime<Utc>) -> Entry {
    Entry::new(
        when,
        Event::StepStarted {
            step: step.into(),
            attempt,
            by: "ana@box".into(),
            what: None,
        },
    )
}

pub fn step_finished(
    step: &str,
    attempt: u32,
    outcome: StepOutcome,
    code: Option<i32>,
    when: DateTime<Utc>,
    duration_ms: u64,
) -> Entry {
    let ev = Event::StepFinished {
        step: step.into(),
        attempt,
        outcome,
        exit_code: code,
        signal: None,
        duration_ms,
        message: None,
    };
    Entry::new(when, ev)
}

/// Selects the checklist row of step `id`.
/// The cluster sources said they are connected: context `prod`, namespace `shop`.
pub fn connect(m: &mut Model) {
    let connected = shipdeck::core::msg::KubeMsg::Connected {
        context: "prod".into(),
        namespace: "shop".into(),
        server: "https://10.0.0.1:6443".into(),
    };
    update(m, Msg::Kube(connected));
}

pub fn select(m: &mut Model, id: &str) {
    m.selected = m
        .rows
        .iter()
        .position(|r| matches!(r, Row::Step { id: i, .. } if i == id))
        .unwrap();
}

pub fn key(m: &mut Model, k: Key) {
    update(m, Msg::Key(k));
}

/// Focuses `pane`, which the layout must have.
pub fn focus(m: &mut Model, pane: PaneId) {
    m.focus = m.panes.iter().position(|p| *p == pane).unwrap();
}

/// `pane` focused and zoomed.
pub fn zoomed(mut m: Model, pane: PaneId) -> Model {
    focus(&mut m, pane);
    m.zoom = true;
    m
}

/// The whole screen of `m` at `w`×`h`, drawn with `layout`.
pub fn draw_in(m: &Model, layout: &Layout, w: u16, h: u16, color: bool) -> Buffer {
    let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
    term.draw(|f| render(f, m, layout, &Theme { color }))
        .unwrap();
    term.backend().buffer().clone()
}

/// The whole screen of `m` at `w`×`h`, drawn with the model's built-in layout.
pub fn draw(m: &Model, w: u16, h: u16, color: bool) -> Buffer {
    draw_in(m, &builtin(&m.layout_name).unwrap(), w, h, color)
}

/// Row `y` as text (wide characters once).
pub fn row(buf: &Buffer, y: u16) -> String {
    let mut out = String::new();
    let mut skip = 0;
    for x in 0..buf.area.width {
        if skip > 0 {
            skip -= 1;
            continue;
        }
        let sym = buf[(x, y)].symbol();
        skip = unicode_width::UnicodeWidthStr::width(sym).saturating_sub(1);
        out.push_str(sym);
    }
    out
}

/// The buffer as lines of text (wide characters once), each ended by `|` so that trailing
/// spaces show the alignment.
pub fn text(buf: &Buffer) -> String {
    (0..buf.area.height)
        .map(|y| format!("{}|\n", row(buf, y)))
        .collect()
}

/// The colour screen of `m` at `w`×`h` as [`text`].
pub fn screen(m: &Model, w: u16, h: u16) -> String {
    text(&draw(m, w, h, true))
}

/// Foreground colour of the first cell of `needle` on screen (the topmost match).
pub fn fg_of(buf: &Buffer, needle: &str) -> Color {
    let first: String = needle.chars().take(1).collect();
    for y in 0..buf.area.height {
        let line = row(buf, y);
        if let Some(i) = line.find(needle) {
            // Column of the match: the display width of what precedes it.
            let x = unicode_width::UnicodeWidthStr::width(&line[..i]) as u16;
            assert_eq!(buf[(x, y)].symbol(), first);
            return buf[(x, y)].fg;
        }
    }
    panic!("{needle:?} not on screen:\n{}", text(buf));
}

/// Asserts that no cell has a foreground or background colour (a `NO_COLOR` render).
pub fn assert_no_colour(buf: &Buffer, what: &str) {
    for c in buf.content() {
        assert_eq!((c.fg, c.bg), (Color::Reset, Color::Reset), "{what}");
    }
}

/// Draws `m` at sizes from 1×1 to 80×24: none may panic or draw another size.
pub fn assert_draws_at_tiny_sizes(m: &Model) {
    for (w, h) in [
        (1, 1),
        (2, 3),
        (10, 4),
        (20, 5),
        (30, 8),
        (40, 10),
        (60, 15),
        (80, 24),
    ] {
        let buf = draw(m, w, h, true);
        assert_eq!((buf.area.width, buf.area.height), (w, h));
    }
}

/// The real `shipdeck` binary in a real tmux, for the tests of hostile output, secrets and
/// runs-dir faults (`hostile_render`, `secrets_files`, `runs_dir_faults`): one tmux server and
/// one temporary directory (runs dir, state dir, cwd) per test, torn down on drop with whatever
/// the run left behind. Waits are polls with generous bounds, never fixed sleeps.
pub mod tmux {
    use std::cell::RefCell;
    use std::path::{Path, PathBuf};
    use std::process::{Command, Output};
    use std::time::{Duration, Instant};

    pub const BIN: &str = env!("CARGO_BIN_EXE_shipdeck");
    /// Upper bound for anything a test waits for; normally reached in well under a second.
    pub const WAIT: Duration = Duration::from_secs(20);
    const POLL: Duration = Duration::from_millis(50);
    const SESSION: &str = "t";

    pub fn sh_quote(s: &str) -> String {
        format!("'{}'", s.replace('\'', r"'\''"))
    }

    pub fn out_text(out: &Output) -> String {
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    }

    /// Polls `probe` every 50 ms until it yields a value; panics after `limit` with `what` and
    /// what `last()` describes.
    pub fn poll<T>(
        what: &str,
        limit: Duration,
        mut probe: impl FnMut() -> Option<T>,
        last: impl Fn() -> String,
    ) -> T {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(v) = probe() {
                return v;
            }
            if Instant::now() >= deadline {
                panic!("timed out after {limit:?} waiting for {what}\n{}", last());
            }
            std::thread::sleep(POLL);
        }
    }

    /// Events of every journal under `runs` (torn lines skipped).
    pub fn journal_events(runs: &Path) -> Vec<serde_json::Value> {
        let mut out = Vec::new();
        for d in std::fs::read_dir(runs).into_iter().flatten().flatten() {
            for f in std::fs::read_dir(d.path()).into_iter().flatten().flatten() {
                if f.path().extension().is_some_and(|e| e == "jsonl") {
                    let text = std::fs::read_to_string(f.path()).unwrap_or_default();
                    out.extend(text.lines().filter_map(|l| serde_json::from_str(l).ok()));
                }
            }
        }
        out
    }

    /// Whether a live (non-zombie) process is in process group `pgid`.
    pub fn group_alive(pgid: i32) -> bool {
        for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
                continue;
            };
            let Some(close) = stat.rfind(')') else {
                continue;
            };
            let f: Vec<&str> = stat[close + 1..].split_whitespace().collect();
            let state = f.first().and_then(|s| s.chars().next()).unwrap_or('?');
            if f.get(2).and_then(|g| g.parse::<i32>().ok()) == Some(pgid)
                && state != 'Z'
                && state != 'X'
            {
                return true;
            }
        }
        false
    }

    pub struct Tmux {
        socket: String,
        pub dir: tempfile::TempDir,
        socket_path: RefCell<Option<PathBuf>>,
    }

    impl Tmux {
        /// A tmux server and a temporary directory for test `test`; nothing runs yet (write
        /// the files the run needs into [`Tmux::dir`], then [`Tmux::launch`]).
        pub fn new(test: &str) -> Tmux {
            let out = Command::new("tmux").arg("-V").output();
            assert!(
                out.as_ref().is_ok_and(|o| o.status.success()),
                "these tests need tmux (apt-get install tmux): {out:?}"
            );
            let dir = tempfile::Builder::new()
                .prefix(&format!("shipdeck-{test}-"))
                .tempdir()
                .expect("temp dir");
            Tmux {
                socket: format!("shipdeck-{test}-{}", std::process::id()),
                dir,
                socket_path: RefCell::new(None),
            }
        }

        pub fn path(&self, name: &str) -> PathBuf {
            self.dir.path().join(name)
        }

        /// Starts `shipdeck --runs-dir DIR/runs ARGS…` (state in DIR/state, cwd DIR) in a
        /// `w`×`h` tmux window, after the shell code `pre`; the shell then prints `EXIT=<code>`
        /// and waits, so the exit code and what was printed can be read from the pane.
        pub fn launch(&self, (w, h): (u16, u16), env: &[(&str, &str)], pre: &str, args: &[&str]) {
            let mut cmd = vec!["env".to_string(), "-u".into(), "SHIPDECK_RUNS_DIR".into()];
            cmd.push(format!("XDG_STATE_HOME={}", self.state_dir().display()));
            cmd.extend(env.iter().map(|(k, v)| format!("{k}={v}")));
            cmd.push(BIN.into());
            cmd.push("--runs-dir".into());
            cmd.push(self.runs_dir().display().to_string());
            cmd.extend(args.iter().map(|a| a.to_string()));
            let line: Vec<String> = cmd.iter().map(|a| sh_quote(a)).collect();
            let script = format!("{pre} {}; echo EXIT=$?; sleep 600", line.join(" "));
            let (w, h) = (w.to_string(), h.to_string());
            let cwd = self.dir.path().display().to_string();
            #[rustfmt::skip]
            let new = [
                "new-session", "-d", "-s", SESSION, "-x", &w, "-y", &h, "-c", &cwd,
                "sh", "-c", &script,
            ];
            let out = self.tmux(&new);
            assert!(out.status.success(), "tmux new-session: {}", out_text(&out));
            let socket = self.display("#{socket_path}");
            if !socket.is_empty() {
                *self.socket_path.borrow_mut() = Some(PathBuf::from(socket));
            }
        }

        pub fn tmux(&self, args: &[&str]) -> Output {
            Command::new("tmux")
                .args(["-f", "/dev/null", "-L", &self.socket])
                .args(args)
                .env_remove("TMUX")
                .current_dir(self.dir.path())
                .output()
                .expect("run tmux")
        }

        pub fn runs_dir(&self) -> PathBuf {
            self.dir.path().join("runs")
        }

        pub fn state_dir(&self) -> PathBuf {
            self.dir.path().join("state")
        }

        /// The visible screen, one line per row.
        pub fn capture(&self) -> String {
            let out = self.tmux(&["capture-pane", "-p", "-t", SESSION]);
            String::from_utf8_lossy(&out.stdout).into_owned()
        }

        /// Scrollback and screen, wrapped lines joined.
        pub fn capture_all(&self) -> String {
            let out = self.tmux(&["capture-pane", "-p", "-J", "-S", "-", "-t", SESSION]);
            String::from_utf8_lossy(&out.stdout).into_owned()
        }

        pub fn display(&self, format: &str) -> String {
            let out = self.tmux(&["display-message", "-p", "-t", SESSION, format]);
            String::from_utf8_lossy(&out.stdout).trim().to_string()
        }

        /// From now on a copy of every byte written to the pane goes to a file; its path.
        pub fn record(&self) -> PathBuf {
            let raw = self.dir.path().join("pane.raw");
            let pipe = format!("cat >> {}", sh_quote(&raw.display().to_string()));
            let out = self.tmux(&["pipe-pane", "-o", "-t", SESSION, &pipe]);
            assert!(out.status.success(), "pipe-pane: {}", out_text(&out));
            raw
        }

        pub fn wait_for(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
            poll(
                what,
                WAIT,
                || {
                    let screen = self.capture();
                    pred(&screen).then_some(screen)
                },
                || format!("last screen:\n{}", self.capture()),
            )
        }

        /// Key names for `send-keys` (Enter, q, …).
        pub fn send(&self, keys: &[&str]) {
            let mut args = vec!["send-keys", "-t", SESSION];
            args.extend_from_slice(keys);
            let out = self.tmux(&args);
            assert!(
                out.status.success(),
                "send-keys {keys:?}: {}",
                out_text(&out)
            );
        }

        /// Literal text, typed as is.
        pub fn type_text(&self, s: &str) {
            let out = self.tmux(&["send-keys", "-t", SESSION, "-l", s]);
            assert!(
                out.status.success(),
                "send-keys -l {s:?}: {}",
                out_text(&out)
            );
        }

        /// Waits for the first whole frame of the cockpit (header names `name`, footer drawn).
        pub fn wait_cockpit(&self, name: &str) -> String {
            self.wait_for(&format!("the cockpit showing {name:?}"), |s| {
                s.lines().next().unwrap_or_default().contains(name)
                    && s.contains("checklist")
                    && s.lines()
                        .last()
                        .is_some_and(|l| l.contains("help") || l.contains("quit"))
            })
        }

        /// Waits for the binary to end: its exit code and everything printed from the start.
        pub fn wait_exit(&self) -> (i32, String) {
            poll(
                "the shell to print EXIT=",
                WAIT,
                || {
                    let all = self.capture_all();
                    let at = all
                        .match_indices("EXIT=")
                        .map(|(i, _)| i)
                        .filter(|&i| i == 0 || all[..i].ends_with('\n'))
                        .last()?;
                    let digits: String = all[at + 5..]
                        .chars()
                        .take_while(char::is_ascii_digit)
                        .collect();
                    Some((digits.parse().ok()?, all.clone()))
                },
                || format!("last screen:\n{}", self.capture_all()),
            )
        }

        pub fn journal(&self) -> Vec<serde_json::Value> {
            journal_events(&self.runs_dir())
        }

        pub fn wait_journal(
            &self,
            what: &str,
            pred: impl Fn(&[serde_json::Value]) -> bool,
        ) -> Vec<serde_json::Value> {
            poll(
                &format!("journal: {what}"),
                WAIT,
                || {
                    let ev = self.journal();
                    pred(&ev).then_some(ev)
                },
                || format!("journal so far: {:#?}", self.journal()),
            )
        }
    }

    impl Drop for Tmux {
        fn drop(&mut self) {
            use nix::sys::signal::{Signal, kill, killpg};
            use nix::unistd::Pid;
            let _ = self.tmux(&["kill-server"]);
            if let Some(socket) = self.socket_path.borrow().as_ref() {
                let _ = std::fs::remove_file(socket);
            }
            // The hang-up ends shipdeck and its steps; what a failing test left is killed here.
            let events = self.journal();
            for e in &events {
                if e["event"] == "run_started"
                    && let Some(pid) = e["pid"].as_i64().filter(|p| *p > 1)
                {
                    let deadline = Instant::now() + Duration::from_secs(2);
                    let alive = || {
                        std::fs::read(format!("/proc/{pid}/cmdline"))
                            .is_ok_and(|c| String::from_utf8_lossy(&c).contains(BIN))
                    };
                    while alive() && Instant::now() < deadline {
                        std::thread::sleep(POLL);
                    }
                    if alive() {
                        let _ = kill(Pid::from_raw(pid as i32), Signal::SIGKILL);
                    }
                }
                if e["event"] == "step_spawned"
                    && let Some(pgid) = e["pgid"].as_i64().filter(|g| *g > 1)
                    && group_alive(pgid as i32)
                {
                    let _ = killpg(Pid::from_raw(pgid as i32), Signal::SIGKILL);
                }
            }
        }
    }
}
