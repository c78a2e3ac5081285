//! End-to-end tests of the cockpit: the real `shipdeck` binary in a real tmux.
//!
//! Every test has its own tmux server (`tmux -L shipdeck-e2e-<test>-<pid>`) and
//! its own temporary directory (runs dir, state dir and cwd), so they can run in
//! parallel. The binary runs under `sh -c '…; echo EXIT=$?; stty -a; sleep 600'`
//! so that its exit code and the terminal modes it left behind can be read from
//! the pane after it quits. Synchronisation is by polling (screen, journal,
//! /proc) with generous bounds, never by fixed sleeps. The tmux server, a
//! shipdeck that outlived it and any step process group of the run are killed
//! on drop, pass or fail.
//!
//! Some tests reproduce product bugs found earlier; they pass once
//! the bug is fixed (`cargo test --test tmux_e2e -- --ignored`).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use serde_json::Value;
use unicode_width::UnicodeWidthStr;

mod common;
use common::tmux::poll;

const BIN: &str = env!("CARGO_BIN_EXE_shipdeck");
/// Upper bound for anything a test waits for; normally reached in well under a second.
const WAIT: Duration = Duration::from_secs(20);
const POLL: Duration = Duration::from_millis(50);
const SESSION: &str = "e2e";

fn repo_file(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

fn fixture(name: &str) -> PathBuf {
    repo_file("tests/fixtures/e2e").join(name)
}

fn hello() -> PathBuf {
    repo_file("checklists/hello.yaml")
}

fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A process as /proc/PID/stat shows it: (pid, state, pgrp).
fn proc_stats() -> Vec<(i32, char, i32)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // `pid (comm) state ppid pgrp …`; comm may hold spaces and parentheses.
        let Some(close) = stat.rfind(')') else {
            continue;
        };
        let fields: Vec<&str> = stat[close + 1..].split_whitespace().collect();
        let state = fields.first().and_then(|s| s.chars().next()).unwrap_or('?');
        let Some(pgrp) = fields.get(2).and_then(|f| f.parse().ok()) else {
            continue;
        };
        out.push((pid, state, pgrp));
    }
    out
}

/// Live (non-zombie) members of process group `pgid`, as `pid state cmdline`.
fn live_in_group(pgid: i32) -> Vec<String> {
    proc_stats()
        .into_iter()
        .filter(|&(_, state, pgrp)| pgrp == pgid && state != 'Z' && state != 'X')
        .map(|(pid, state, _)| {
            let cmd = std::fs::read(format!("/proc/{pid}/cmdline"))
                .map(|b| String::from_utf8_lossy(&b).replace('\0', " "))
                .unwrap_or_default();
            format!("{pid} {state} {cmd}")
        })
        .collect()
}

fn pid_alive(pid: i32) -> bool {
    proc_stats()
        .into_iter()
        .any(|(p, state, _)| p == pid && state != 'Z' && state != 'X')
}

fn wait_group_gone(pgid: i32) {
    poll(
        &format!("process group {pgid} to be gone"),
        WAIT,
        || live_in_group(pgid).is_empty().then_some(()),
        || format!("still alive: {:#?}", live_in_group(pgid)),
    );
}

/// `stty -a` output says canonical mode and echo are on (a restored terminal).
fn assert_sane_tty(after_exit: &str) {
    let words: Vec<&str> = after_exit.split_whitespace().collect();
    for flag in ["icanon", "echo"] {
        assert!(
            words.contains(&flag) && !words.contains(&format!("-{flag}").as_str()),
            "terminal not restored: `{flag}` is not set in stty -a output:\n{after_exit}"
        );
    }
}

/// The title of every bordered pane on screen (text between a top-left corner
/// and the first horizontal rule that follows it).
fn pane_titles(screen: &str) -> Vec<String> {
    let mut titles = Vec::new();
    for line in screen.lines() {
        for (i, c) in line.char_indices() {
            if c == '┌' || c == '┏' {
                let rest = &line[i + c.len_utf8()..];
                let end = rest.find(['─', '━']).unwrap_or(rest.len());
                titles.push(rest[..end].trim().to_string());
            }
        }
    }
    titles
}

fn has_pane(screen: &str, name: &str) -> bool {
    pane_titles(screen)
        .iter()
        .any(|t| t.split_whitespace().any(|w| w == name))
}

/// The checklist row of the step titled `title`: the first bordered line where
/// the title follows a state glyph (the header and the details pane also name
/// the selected step, but not after a glyph).
fn step_row<'a>(screen: &'a str, title: &str) -> Option<(&'a str, char)> {
    screen.lines().find_map(|line| {
        if !line.starts_with(['┃', '│']) {
            return None;
        }
        let at = line.find(title)?;
        let glyph = line[..at].trim_end().chars().last()?;
        (!matches!(glyph, '┃' | '│')).then_some((line, glyph))
    })
}

/// The state glyph in front of the step titled `title` in the checklist pane.
fn glyph(screen: &str, title: &str) -> Option<char> {
    step_row(screen, title).map(|(_, g)| g)
}

fn selected(screen: &str, title: &str) -> bool {
    step_row(screen, title).is_some_and(|(line, _)| line[..line.find(title).unwrap()].contains('›'))
}

fn widest(screen: &str) -> usize {
    screen
        .lines()
        .map(UnicodeWidthStr::width)
        .max()
        .unwrap_or(0)
}

fn find_event<'a>(events: &'a [Value], event: &str, step: &str) -> Option<&'a Value> {
    events
        .iter()
        .find(|e| e["event"] == event && (step.is_empty() || e["step"] == step))
}

/// The event names at the end of a journal, oldest first.
fn tail_names(events: &[Value], n: usize) -> Vec<String> {
    events[events.len().saturating_sub(n)..]
        .iter()
        .map(|e| e["event"].as_str().unwrap_or("?").to_string())
        .collect()
}

/// How the pane's command gets its signal dispositions.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Signals {
    /// As tmux 3.3 starts a pane command: SIGTTIN and SIGTTOU ignored (and
    /// `sh -c` may not reset what it inherited ignored), as with
    /// `tmux new-session 'shipdeck run …'`.
    FromTmux,
    /// As an interactive shell starts a job: everything at its default.
    FromShell,
}

/// One shipdeck under its own tmux server; everything is torn down on drop.
struct Tmux {
    socket: String,
    dir: tempfile::TempDir,
    /// Step process groups seen in the journal: SIGKILLed on drop so a failing
    /// test never leaves a `sleep 600` behind.
    groups: std::cell::RefCell<Vec<i32>>,
    /// tmux 3.3 leaves its socket file behind when the server exits.
    socket_path: std::cell::RefCell<Option<PathBuf>>,
}

impl Tmux {
    /// Starts `shipdeck --runs-dir DIR/runs ARGS…` in a `w`×`h` tmux window.
    fn start(test: &str, size: (u16, u16), env: &[(&str, &str)], args: &[&str]) -> Tmux {
        Tmux::launch(test, size, env, args, Signals::FromTmux)
    }

    /// Like `start`, but with the default dispositions for the job-control
    /// signals, as an interactive shell gives the jobs it starts.
    fn start_from_shell(test: &str, size: (u16, u16), args: &[&str]) -> Tmux {
        Tmux::launch(test, size, &[], args, Signals::FromShell)
    }

    fn launch(
        test: &str,
        (w, h): (u16, u16),
        env: &[(&str, &str)],
        args: &[&str],
        signals: Signals,
    ) -> Tmux {
        match Command::new("tmux").arg("-V").output() {
            Ok(out) if out.status.success() => {}
            Ok(out) => panic!("`tmux -V` failed; these tests need tmux: {}", text(&out)),
            Err(err) => panic!(
                "tmux is required by tests/tmux_e2e.rs but could not be run ({err}); \
                 install tmux (e.g. `apt-get install tmux`)"
            ),
        }
        let dir = tempfile::Builder::new()
            .prefix(&format!("shipdeck-e2e-{test}-"))
            .tempdir()
            .expect("temp dir");
        let runs = dir.path().join("runs");
        let state = dir.path().join("state");
        let mut cmd = vec!["env".to_string(), "-u".into(), "SHIPDECK_RUNS_DIR".into()];
        if signals == Signals::FromShell {
            cmd.push("--default-signal=TTIN,TTOU,TSTP".into());
        }
        cmd.push(format!("XDG_STATE_HOME={}", state.display()));
        for (k, v) in env {
            cmd.push(format!("{k}={v}"));
        }
        cmd.push(BIN.to_string());
        cmd.push("--runs-dir".into());
        cmd.push(runs.display().to_string());
        cmd.extend(args.iter().map(|a| a.to_string()));
        let line: Vec<String> = cmd.iter().map(|a| sh_quote(a)).collect();
        let script = format!("{}; echo EXIT=$?; stty -a; sleep 600", line.join(" "));
        let t = Tmux {
            socket: format!("shipdeck-e2e-{test}-{}", std::process::id()),
            dir,
            groups: Default::default(),
            socket_path: Default::default(),
        };
        let (w, h) = (w.to_string(), h.to_string());
        let cwd = t.dir.path().display().to_string();
        #[rustfmt::skip]
        let new = [
            "new-session", "-d", "-s", SESSION, "-x", &w, "-y", &h, "-c", &cwd,
            "sh", "-c", &script,
        ];
        let out = t.tmux(&new);
        assert!(out.status.success(), "tmux new-session: {}", text(&out));
        let socket = t.display("#{socket_path}");
        if !socket.is_empty() {
            *t.socket_path.borrow_mut() = Some(PathBuf::from(socket));
        }
        t
    }

    fn tmux(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .args(["-f", "/dev/null", "-L", &self.socket])
            .args(args)
            .env_remove("TMUX")
            .current_dir(self.dir.path())
            .output()
            .expect("run tmux")
    }

    /// The visible screen, one line per row.
    fn capture(&self) -> String {
        let out = self.tmux(&["capture-pane", "-p", "-t", SESSION]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Scrollback and screen, wrapped lines joined: for what the shell printed.
    fn capture_all(&self) -> String {
        let out = self.tmux(&["capture-pane", "-p", "-J", "-S", "-", "-t", SESSION]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn wait_for(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
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
    fn send(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", SESSION];
        args.extend_from_slice(keys);
        let out = self.tmux(&args);
        assert!(out.status.success(), "send-keys {keys:?}: {}", text(&out));
    }

    /// Literal text, typed as is.
    fn type_text(&self, s: &str) {
        let out = self.tmux(&["send-keys", "-t", SESSION, "-l", s]);
        assert!(out.status.success(), "send-keys -l {s:?}: {}", text(&out));
    }

    /// From now on, a copy of everything written to the pane goes to a file
    /// (escape sequences included); returns its path.
    fn record(&self) -> PathBuf {
        let raw = self.dir.path().join("pane.raw");
        let pipe = format!("cat >> {}", sh_quote(path_str(&raw)));
        let out = self.tmux(&["pipe-pane", "-o", "-t", SESSION, &pipe]);
        assert!(out.status.success(), "pipe-pane: {}", text(&out));
        raw
    }

    fn display(&self, format: &str) -> String {
        let out = self.tmux(&["display-message", "-p", "-t", SESSION, format]);
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Waits for the binary to end; returns its exit code and everything the
    /// shell printed from `EXIT=` on (the `stty -a` output included).
    fn wait_exit(&self) -> (i32, String) {
        poll(
            "the shell to print EXIT= and stty -a",
            WAIT,
            || {
                let all = self.capture_all();
                // The last line starting with EXIT= (possibly the very first line).
                let at = all
                    .match_indices("EXIT=")
                    .map(|(i, _)| i)
                    .filter(|&i| i == 0 || all[..i].ends_with('\n'))
                    .last()?;
                let after = &all[at..];
                // stty -a prints the local modes (icanon) on its last lines.
                if !after.contains("icanon") {
                    return None;
                }
                let digits: String = after["EXIT=".len()..]
                    .chars()
                    .take_while(char::is_ascii_digit)
                    .collect();
                Some((digits.parse().ok()?, after.to_string()))
            },
            || format!("last screen:\n{}", self.capture_all()),
        )
    }

    fn runs_dir(&self) -> PathBuf {
        self.dir.path().join("runs")
    }

    fn journal_files(&self) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for d in std::fs::read_dir(self.runs_dir())
            .into_iter()
            .flatten()
            .flatten()
        {
            for f in std::fs::read_dir(d.path()).into_iter().flatten().flatten() {
                if f.path().extension().is_some_and(|e| e == "jsonl") {
                    out.push(f.path());
                }
            }
        }
        out
    }

    /// Events of the run's journal (a torn last line is skipped).
    fn journal(&self) -> Vec<Value> {
        let files = self.journal_files();
        assert!(files.len() <= 1, "expected one journal, found {files:?}");
        let Some(file) = files.first() else {
            return Vec::new();
        };
        std::fs::read_to_string(file)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    fn journal_text(&self) -> String {
        self.journal()
            .iter()
            .map(Value::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn wait_journal(&self, what: &str, pred: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        poll(
            &format!("journal: {what}"),
            WAIT,
            || {
                let events = self.journal();
                pred(&events).then_some(events)
            },
            || format!("journal so far:\n{}", self.journal_text()),
        )
    }

    /// Waits for `step` to be spawned and returns its process group.
    fn wait_spawned(&self, step: &str) -> i32 {
        let events = self.wait_journal(&format!("step_spawned for {step}"), |ev| {
            find_event(ev, "step_spawned", step).is_some()
        });
        let pgid = find_event(&events, "step_spawned", step).unwrap()["pgid"]
            .as_i64()
            .expect("step_spawned has a numeric pgid") as i32;
        assert!(pgid > 1, "implausible pgid {pgid}");
        self.groups.borrow_mut().push(pgid);
        pgid
    }

    /// Waits for the first draw of the cockpit (its header names the checklist).
    fn wait_cockpit(&self, name: &str) -> String {
        self.wait_for(&format!("the cockpit showing {name:?}"), |s| {
            // The footer is the last row written: with it on screen the frame is whole.
            s.lines().next().unwrap_or_default().contains(name)
                && has_pane(s, "checklist")
                && s.lines()
                    .last()
                    .is_some_and(|l| l.contains("help") || l.contains("quit"))
        })
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
        // The hang-up should end shipdeck and its steps; whatever a failing
        // test (or a product bug) left behind is killed here.
        let events = self.journal_files().first().map(|_| self.journal());
        let events = events.unwrap_or_default();
        let mut groups = self.groups.borrow().clone();
        groups.extend(
            events
                .iter()
                .filter(|e| e["event"] == "step_spawned")
                .filter_map(|e| e["pgid"].as_i64())
                .map(|g| g as i32),
        );
        let pid = find_event(&events, "run_started", "").and_then(|e| e["pid"].as_i64());
        if let Some(pid) = pid.map(|p| p as i32).filter(|&p| p > 1) {
            let deadline = Instant::now() + Duration::from_secs(2);
            while pid_alive(pid) && Instant::now() < deadline {
                std::thread::sleep(POLL);
            }
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            if pid_alive(pid) && String::from_utf8_lossy(&cmdline).contains(BIN) {
                let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
            }
        }
        for pgid in groups.into_iter().filter(|&g| g > 1) {
            if !live_in_group(pgid).is_empty() {
                let _ = killpg(Pid::from_raw(pgid), Signal::SIGKILL);
            }
        }
    }
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

#[test]
fn hello_runs_a_step_and_quits_with_the_terminal_restored() {
    let hello = hello();
    let t = Tmux::start("hello", (120, 40), &[], &["run", path_str(&hello)]);
    let screen = t.wait_cockpit("Hello shipdeck");
    assert!(
        has_pane(&screen, "checklist"),
        "no checklist pane:\n{screen}"
    );
    assert!(has_pane(&screen, "output"), "no output pane:\n{screen}");
    assert!(
        selected(&screen, "Create a workspace for 1.0.0"),
        "the first step should be selected:\n{screen}"
    );

    t.send(&["Enter"]);
    let screen = t.wait_for("✔ on the workspace row and its output", |s| {
        glyph(s, "Create a workspace for 1.0.0") == Some('✔') && s.contains("workspace ready at")
    });
    assert_eq!(
        glyph(&screen, "Build the release artefact"),
        Some('·'),
        "only the first step ran:\n{screen}"
    );

    t.send(&["q"]);
    let (code, after) = t.wait_exit();
    assert_eq!(code, 1, "an unfinished run exits 1:\n{after}");
    assert_sane_tty(&after);

    let events = t.journal();
    let fin = find_event(&events, "step_finished", "workspace")
        .unwrap_or_else(|| panic!("no step_finished for workspace:\n{}", t.journal_text()));
    assert_eq!(fin["outcome"], "succeeded", "{fin}");
    assert_eq!(
        t.display("#{alternate_on}"),
        "0",
        "left the alternate screen"
    );
}

#[test]
fn skip_asks_for_a_reason_and_journals_it() {
    let hello = hello();
    let t = Tmux::start("skip", (120, 40), &[], &["run", path_str(&hello)]);
    t.wait_cockpit("Hello shipdeck");

    t.send(&["s"]);
    t.wait_for("the skip reason prompt", |s| {
        s.to_lowercase().contains("reason")
    });
    t.type_text("not needed today");
    t.wait_for("the typed reason", |s| s.contains("not needed today"));
    t.send(&["Enter"]);
    let screen = t.wait_for("↷ on the workspace row", |s| {
        glyph(s, "Create a workspace for 1.0.0") == Some('↷')
    });
    assert!(
        !screen.to_lowercase().contains("reason for skipping"),
        "the prompt should be closed:\n{screen}"
    );

    let events = t.wait_journal("step_skipped for workspace", |ev| {
        find_event(ev, "step_skipped", "workspace").is_some()
    });
    let skipped = find_event(&events, "step_skipped", "workspace").unwrap();
    assert_eq!(skipped["reason"], "not needed today", "{skipped}");
    assert!(
        find_event(&events, "step_started", "workspace").is_none(),
        "a skipped step does not run:\n{}",
        t.journal_text()
    );
}

#[test]
fn abort_kills_the_whole_process_group() {
    let checklist = fixture("abort.yaml");
    let t = Tmux::start("abort", (120, 40), &[], &["run", path_str(&checklist)]);
    t.wait_cockpit("E2E abort");

    t.send(&["Enter"]);
    let pgid = t.wait_spawned("twin-sleep");
    // Both sleeps (the background one ignores SIGINT) are in the step's group.
    poll(
        "both sleeps of the step to be running",
        WAIT,
        || {
            let live = live_in_group(pgid);
            (live.iter().filter(|p| p.contains("sleep 600")).count() >= 2).then_some(())
        },
        || format!("group {pgid}: {:#?}", live_in_group(pgid)),
    );

    t.send(&["x"]);
    t.wait_for("✘ on the aborted row", |s| {
        glyph(s, "Two sleepers in one group") == Some('✘')
    });
    let events = t.wait_journal("step_finished for twin-sleep", |ev| {
        find_event(ev, "step_finished", "twin-sleep").is_some()
    });
    let fin = find_event(&events, "step_finished", "twin-sleep").unwrap();
    assert_eq!(fin["outcome"], "aborted", "{fin}");
    wait_group_gone(pgid);
    let screen = t.capture();
    assert!(
        screen
            .lines()
            .all(|l| !l.contains("never") || l.contains("echo never")),
        "the command after the sleeps must not run:\n{screen}"
    );
}

#[test]
fn compact_layout_fits_80x24() {
    let hello = hello();
    let t = Tmux::start(
        "compact",
        (80, 24),
        &[],
        &["run", path_str(&hello), "--layout", "compact"],
    );
    let screen = t.wait_cockpit("Hello shipdeck");
    for pane in ["checklist", "output", "details"] {
        assert!(
            has_pane(&screen, pane),
            "pane {pane} missing from {:?}:\n{screen}",
            pane_titles(&screen)
        );
    }
    assert!(
        widest(&screen) <= 80,
        "a line is wider than 80 columns:\n{screen}"
    );
    assert_eq!(screen.lines().count(), 24, "24 rows:\n{screen}");
    // The panes fill the width exactly: the output pane's top right corner is column 80.
    let title = screen
        .lines()
        .find(|l| pane_titles(l).iter().any(|t| t.contains("output")))
        .unwrap();
    assert_eq!(title.width(), 80, "{title:?}");
    assert!(title.ends_with(['┐', '┓']), "{title:?}");
    assert!(screen.contains("Create a workspace"), "{screen}");
}

/// The row above the footer is the bottom border of the lowest panes and spans
/// the full width; the footer is the last row.
fn assert_fills(screen: &str, w: usize, h: usize) {
    let lines: Vec<&str> = screen.lines().collect();
    assert_eq!(lines.len(), h, "{h} rows expected:\n{screen}");
    assert!(widest(screen) <= w, "a line is wider than {w}:\n{screen}");
    let border = lines[h - 2];
    assert!(
        border.starts_with(['└', '┗']) && border.ends_with(['┘', '┛']) && border.width() == w,
        "row {} should be a bottom border {w} wide, got {border:?}:\n{screen}",
        h - 1
    );
    assert!(
        lines[h - 1].contains("quit"),
        "the footer (with `q quit`) should be on the last row:\n{screen}"
    );
    assert!(lines[0].contains("Hello shipdeck"), "{screen}");
}

#[test]
fn resize_re_renders_at_the_new_size() {
    let hello = hello();
    let t = Tmux::start("resize", (120, 40), &[], &["run", path_str(&hello)]);
    let screen = t.wait_cockpit("Hello shipdeck");
    assert_fills(&screen, 120, 40);

    let out = t.tmux(&["resize-window", "-t", SESSION, "-x", "80", "-y", "24"]);
    assert!(out.status.success(), "{}", text(&out));
    let screen = t.wait_for("a re-render at 80×24", |s| {
        let lines: Vec<&str> = s.lines().collect();
        lines.len() == 24 && lines[22].width() == 80 && lines[22].ends_with(['┘', '┛'])
    });
    assert_fills(&screen, 80, 24);

    let out = t.tmux(&["resize-window", "-t", SESSION, "-x", "120", "-y", "40"]);
    assert!(out.status.success(), "{}", text(&out));
    let screen = t.wait_for("a re-render at 120×40", |s| {
        let lines: Vec<&str> = s.lines().collect();
        lines.len() == 40 && lines[38].width() == 120 && lines[38].ends_with(['┘', '┛'])
    });
    assert_fills(&screen, 120, 40);
}

#[test]
fn sighup_interrupts_the_run_and_ends_the_step() {
    let checklist = fixture("sleeper.yaml");
    let t = Tmux::start("sighup", (120, 40), &[], &["run", path_str(&checklist)]);
    t.wait_cockpit("E2E sleeper");
    t.send(&["Enter"]);
    let pgid = t.wait_spawned("nap");
    let pid = find_event(&t.journal(), "run_started", "").unwrap()["pid"]
        .as_i64()
        .expect("run_started has a pid") as i32;
    assert!(live_in_group(pgid).iter().any(|p| p.contains("sleep 600")));

    // Closing the only pane hangs up its terminal: SIGHUP for shipdeck.
    let out = t.tmux(&["kill-pane", "-t", SESSION]);
    assert!(out.status.success(), "{}", text(&out));
    t.wait_journal("run_finished after the hang-up", |ev| {
        find_event(ev, "run_finished", "").is_some()
    });
    poll(
        "shipdeck to exit after SIGHUP",
        WAIT,
        || (!pid_alive(pid)).then_some(()),
        || format!("pid {pid} still alive; journal:\n{}", t.journal_text()),
    );
    wait_group_gone(pgid);

    // Read once shipdeck is gone: nothing may follow the interruption.
    let events = t.journal();
    assert_eq!(
        tail_names(&events, 2),
        ["step_finished", "run_finished"],
        "{}",
        t.journal_text()
    );
    let n = events.len();
    assert_eq!(events[n - 2]["step"], "nap", "{}", events[n - 2]);
    assert_eq!(events[n - 2]["outcome"], "interrupted", "{}", events[n - 2]);
    assert_eq!(events[n - 1]["outcome"], "interrupted", "{}", events[n - 1]);
    let finished = events.iter().filter(|e| e["event"] == "run_finished");
    assert_eq!(
        finished.count(),
        1,
        "one run_finished:\n{}",
        t.journal_text()
    );
}

#[test]
fn sigterm_exits_3_with_the_terminal_restored() {
    let checklist = fixture("sleeper.yaml");
    let t = Tmux::start("sigterm", (120, 40), &[], &["run", path_str(&checklist)]);
    t.wait_cockpit("E2E sleeper");
    t.send(&["Enter"]);
    let pgid = t.wait_spawned("nap");
    let events = t.journal();
    let pid = find_event(&events, "run_started", "").unwrap()["pid"]
        .as_i64()
        .expect("run_started has a pid") as i32;

    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGTERM,
    )
    .expect("send SIGTERM to shipdeck");

    let (code, after) = t.wait_exit();
    assert_eq!(code, 3, "SIGTERM exits 3:\n{after}");
    assert_sane_tty(&after);
    assert_eq!(
        t.display("#{alternate_on}"),
        "0",
        "left the alternate screen"
    );
    let events = t.journal();
    let last = events.last().expect("a journal");
    assert_eq!(last["event"], "run_finished", "{}", t.journal_text());
    assert_eq!(last["outcome"], "interrupted", "{last}");
    let fin = find_event(&events, "step_finished", "nap")
        .unwrap_or_else(|| panic!("no step_finished for nap:\n{}", t.journal_text()));
    assert_eq!(fin["outcome"], "interrupted", "{fin}");
    wait_group_gone(pgid);
}

/// What a test learns from a forced panic.
struct Panicked {
    t: Tmux,
    pgid: i32,
    code: i32,
    /// What the shell printed from `EXIT=` on.
    after: String,
    /// Everything written to the pane from just before the key press.
    raw: PathBuf,
}

const PANIC_MESSAGE: &str = "test panic requested with SHIPDECK_TEST_PANIC_KEY";

/// Starts the sleeper with the test panic key, runs its step and presses the key.
fn panic_while_running(test: &str) -> Panicked {
    let checklist = fixture("sleeper.yaml");
    // RUST_BACKTRACE=0: a short, predictable panic message whatever the caller's env.
    let env = [("SHIPDECK_TEST_PANIC_KEY", "P"), ("RUST_BACKTRACE", "0")];
    let t = Tmux::start(test, (120, 40), &env, &["run", path_str(&checklist)]);
    t.wait_cockpit("E2E sleeper");
    t.send(&["Enter"]);
    let pgid = t.wait_spawned("nap");
    let raw = t.record();
    t.send(&["P"]);
    let (code, after) = t.wait_exit();
    Panicked {
        t,
        pgid,
        code,
        after,
        raw,
    }
}

#[test]
fn a_panic_restores_the_terminal_and_ends_the_step() {
    let Panicked {
        t,
        pgid,
        code,
        after,
        raw,
    } = panic_while_running("panic");
    assert_ne!(code, 0, "a panic is not a success:\n{after}");
    assert_sane_tty(&after);
    // The message is written after the alternate screen is left, so the normal
    // screen gets it (whether it stays readable is the next test's business).
    let written = poll(
        "the panic message in the pane's output",
        WAIT,
        || {
            let bytes = std::fs::read(&raw).unwrap_or_default();
            let out = String::from_utf8_lossy(&bytes).into_owned();
            out.contains("EXIT=").then_some(out)
        },
        || String::from_utf8_lossy(&std::fs::read(&raw).unwrap_or_default()).into_owned(),
    );
    let left = written.find("\x1b[?1049l");
    let message = written.find(PANIC_MESSAGE);
    assert!(
        left.is_some() && message.is_some() && left < message,
        "the panic message should be printed after leaving the alternate screen:\n{written:?}"
    );
    assert_eq!(
        t.display("#{alternate_on}"),
        "0",
        "left the alternate screen"
    );
    let events = t.journal();
    let last = events.last().expect("a journal");
    assert_eq!(last["event"], "run_finished", "{}", t.journal_text());
    assert_eq!(last["outcome"], "aborted", "{last}");
    let fin = find_event(&events, "step_finished", "nap")
        .unwrap_or_else(|| panic!("no step_finished for nap:\n{}", t.journal_text()));
    assert_eq!(fin["outcome"], "interrupted", "{fin}");
    wait_group_gone(pgid);
}

#[test]
fn a_panic_message_stays_readable() {
    let Panicked { t, .. } = panic_while_running("panic-msg");
    let all = t.capture_all();
    let message = all.lines().position(|l| l.contains(PANIC_MESSAGE));
    let exit = all.lines().position(|l| l.starts_with("EXIT="));
    assert!(
        message.is_some() && message < exit,
        "the panic message should stay on screen, above what the shell printed next:\n{all}"
    );
    assert!(
        all.contains("panicked at"),
        "the panic location is printed:\n{all}"
    );
}

#[test]
fn an_invalid_checklist_is_reported_without_the_cockpit() {
    let checklist = fixture("invalid_timeout.yaml");
    let t = Tmux::start("invalid", (120, 40), &[], &["run", path_str(&checklist)]);
    let (code, after) = t.wait_exit();
    assert_eq!(code, 2, "a checklist error exits 2:\n{after}");
    assert_eq!(
        t.display("#{alternate_on}"),
        "0",
        "never in the alternate screen"
    );
    let screen = t.capture_all();
    let error = "invalid_timeout.yaml:9:18:";
    assert!(
        screen
            .lines()
            .any(|l| l.contains(error) && l.contains("5 minutes")),
        "the positioned error ({error} … `5 minutes`) should be on the normal screen:\n{screen}"
    );
    assert!(
        t.journal_files().is_empty(),
        "nothing was run, so no journal: {:?}",
        t.journal_files()
    );
}

/// Runs the interactive step `title` (already selected): the cockpit gives
/// way to its prompt, `answer` is typed, and the cockpit comes back with ✔.
fn answer_interactive_step(t: &Tmux, title: &str, answer: &str) {
    t.send(&["Enter"]);
    let screen = t.wait_for(
        &format!("the prompt of {title:?} with the cockpit gone"),
        |s| s.contains("name?") && !has_pane(s, "checklist"),
    );
    assert_eq!(
        t.display("#{alternate_on}"),
        "0",
        "the step runs on the normal screen:\n{screen}"
    );
    t.type_text(answer);
    t.wait_for("the typed answer echoed", |s| {
        s.contains(&format!("name? {answer}"))
    });
    t.send(&["Enter"]);
    let screen = t.wait_for(&format!("the cockpit back with ✔ on {title:?}"), |s| {
        has_pane(s, "checklist") && glyph(s, title) == Some('✔')
    });
    // The details pane may show the command; the prompt line itself must be gone.
    assert!(
        !screen.lines().any(|l| l.trim_start().starts_with("name?")),
        "cockpit fully redrawn:\n{screen}"
    );
}

#[test]
fn an_interactive_step_gets_the_terminal() {
    let checklist = fixture("interactive.yaml");
    let t = Tmux::start_from_shell("interactive", (120, 40), &["run", path_str(&checklist)]);
    t.wait_cockpit("E2E interactive");
    answer_interactive_step(&t, "Ask for a name", "ada");
    let events = t.wait_journal("step_finished for ask", |ev| {
        find_event(ev, "step_finished", "ask").is_some()
    });
    let fin = find_event(&events, "step_finished", "ask").unwrap();
    assert_eq!(fin["outcome"], "succeeded", "{fin}");
    assert_eq!(fin["exit_code"], 0, "{fin}");
}

#[test]
fn interactive_steps_wait_for_input_when_tmux_starts_shipdeck() {
    let checklist = fixture("interactive_many.yaml");
    let t = Tmux::start(
        "interactive-tmux",
        (120, 40),
        &[],
        &["run", path_str(&checklist)],
    );
    t.wait_cockpit("E2E interactive x6");
    for n in 1..=6 {
        answer_interactive_step(&t, &format!("Ask for a name ({n})"), "ada");
    }
    let events = t.journal();
    for n in 1..=6 {
        let fin = find_event(&events, "step_finished", &format!("ask-{n}"))
            .unwrap_or_else(|| panic!("no step_finished for ask-{n}:\n{}", t.journal_text()));
        assert_eq!(fin["outcome"], "succeeded", "{fin}");
    }
}

#[test]
fn sighup_during_an_interactive_step_ends_the_run() {
    let checklist = fixture("interactive.yaml");
    let t = Tmux::start_from_shell(
        "sighup-interactive",
        (120, 40),
        &["run", path_str(&checklist)],
    );
    t.wait_cockpit("E2E interactive");
    let pid = find_event(&t.journal(), "run_started", "").unwrap()["pid"]
        .as_i64()
        .expect("run_started has a pid") as i32;
    t.send(&["Enter"]);
    t.wait_for("the step's prompt", |s| {
        s.contains("name?") && !has_pane(s, "checklist")
    });

    let out = t.tmux(&["kill-pane", "-t", SESSION]);
    assert!(out.status.success(), "{}", text(&out));
    let events = t.wait_journal("run_finished after the hang-up", |ev| {
        find_event(ev, "run_finished", "").is_some()
    });
    let run = find_event(&events, "run_finished", "").unwrap();
    assert_eq!(run["outcome"], "interrupted", "{}", t.journal_text());
    poll(
        "shipdeck to exit after SIGHUP",
        WAIT,
        || (!pid_alive(pid)).then_some(()),
        || format!("pid {pid} still alive"),
    );
}

#[test]
fn quit_while_running_asks_and_then_ends_the_step() {
    let checklist = fixture("sleeper.yaml");
    let t = Tmux::start("quit", (120, 40), &[], &["run", path_str(&checklist)]);
    t.wait_cockpit("E2E sleeper");
    t.send(&["Enter"]);
    let pgid = t.wait_spawned("nap");

    t.send(&["q"]);
    let confirm = t.wait_for("a quit confirmation", |s| s.contains("quit?"));
    assert!(
        confirm.contains("Sleep for ten minutes"),
        "the question names the running step:\n{confirm}"
    );

    t.send(&["n"]);
    let screen = t.wait_for("the confirmation to close", |s| !s.contains("quit?"));
    assert!(
        has_pane(&screen, "checklist"),
        "`n` returns to the cockpit:\n{screen}"
    );
    assert!(
        find_event(&t.journal(), "step_finished", "nap").is_none(),
        "`n` keeps the step running:\n{}",
        t.journal_text()
    );
    assert!(
        live_in_group(pgid).iter().any(|p| p.contains("sleep 600")),
        "the step still runs after `n`"
    );

    t.send(&["q"]);
    t.wait_for("the quit confirmation again", |s| s.contains("quit?"));
    t.send(&["y"]);
    let (code, after) = t.wait_exit();
    assert_eq!(code, 1, "quitting an aborted run exits 1:\n{after}");
    assert_sane_tty(&after);
    let events = t.journal();
    let fin = find_event(&events, "step_finished", "nap")
        .unwrap_or_else(|| panic!("no step_finished for nap:\n{}", t.journal_text()));
    assert_eq!(fin["outcome"], "aborted", "{fin}");
    wait_group_gone(pgid);
}

#[test]
fn help_overlay_opens_and_any_key_closes_it() {
    let hello = hello();
    let t = Tmux::start("help", (120, 40), &[], &["run", path_str(&hello)]);
    let before = t.wait_cockpit("Hello shipdeck");
    assert!(!before.contains("abort the running step"), "{before}");

    t.send(&["?"]);
    let screen = t.wait_for("the key list", |s| s.contains("abort the running step"));
    for line in ["skip the selected step", "quit"] {
        assert!(screen.contains(line), "help lists {line:?}:\n{screen}");
    }

    t.send(&["a"]);
    let screen = t.wait_for("the help to close", |s| {
        !s.contains("abort the running step") && has_pane(s, "checklist")
    });
    assert!(
        selected(&screen, "Create a workspace for 1.0.0"),
        "the selection is unchanged:\n{screen}"
    );
    assert!(
        t.journal().iter().all(|e| e["event"] != "step_started"),
        "closing the help runs nothing:\n{}",
        t.journal_text()
    );
}
