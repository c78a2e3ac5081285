//! Pair review end to end (SPEC §6): a driver (`shipdeck run`) and a reviewer (`shipdeck watch`)
//! as two real processes in two tmux sessions sharing one runs dir. The reviewer runs as another
//! user name (`USER=reviewer`), as a colleague at the next desk would.
//!
//! Synchronisation is by polling the screens and the journal with generous bounds; how fast
//! events show up is measured by hand and in benchmarks, not asserted here.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_shipdeck");
const WAIT: Duration = Duration::from_secs(20);

fn repo_file(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// One tmux server with a session per person; killed on drop.
struct Pair {
    socket: String,
    dir: tempfile::TempDir,
}

impl Pair {
    fn new(test: &str) -> Pair {
        let dir = tempfile::Builder::new()
            .prefix(&format!("shipdeck-pair-{test}-"))
            .tempdir()
            .unwrap();
        Pair {
            socket: format!("shipdeck-pair-{test}-{}", std::process::id()),
            dir,
        }
    }

    fn runs(&self) -> PathBuf {
        self.dir.path().join("runs")
    }

    fn tmux(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .args(["-f", "/dev/null", "-L", &self.socket])
            .args(args)
            .env_remove("TMUX")
            .output()
            .expect("tmux is needed by tests/tmux_pair.rs")
    }

    /// Starts `shipdeck ARGS` as `user` in session `name` (the exit code is printed after it).
    fn open(&self, name: &str, user: &str, args: &[&str]) {
        let mut cmd = vec![
            "env".to_string(),
            "-u".into(),
            "SHIPDECK_RUNS_DIR".into(),
            format!("USER={user}"),
            format!("XDG_STATE_HOME={}", self.dir.path().join("state").display()),
            BIN.into(),
            "--runs-dir".into(),
            self.runs().display().to_string(),
        ];
        cmd.extend(args.iter().map(|a| a.to_string()));
        let line: Vec<String> = cmd.iter().map(|a| sh_quote(a)).collect();
        let script = format!("{} 2>&1; echo EXIT=$?; sleep 600", line.join(" "));
        let cwd = self.dir.path().display().to_string();
        #[rustfmt::skip]
        let out = self.tmux(&[
            "new-session", "-d", "-s", name, "-x", "120", "-y", "36", "-c", &cwd, "sh", "-c", &script,
        ]);
        assert!(out.status.success(), "tmux new-session: {out:?}");
    }

    fn screen(&self, name: &str) -> String {
        let out = self.tmux(&["capture-pane", "-p", "-J", "-t", name]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn wait(&self, name: &str, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let s = self.screen(name);
            if pred(&s) {
                return s;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what} in `{name}`; its screen:\n{s}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn keys(&self, name: &str, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", name];
        args.extend(keys);
        assert!(self.tmux(&args).status.success());
    }

    fn text(&self, name: &str, text: &str) {
        assert!(
            self.tmux(&["send-keys", "-t", name, "-l", text])
                .status
                .success()
        );
    }

    fn journal(&self) -> Vec<serde_json::Value> {
        let Some(path) = journal_file(&self.runs()) else {
            return Vec::new();
        };
        std::fs::read_to_string(path)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }
}

impl Drop for Pair {
    fn drop(&mut self) {
        let _ = self.tmux(&["kill-server"]);
    }
}

fn journal_file(runs: &Path) -> Option<PathBuf> {
    for dir in std::fs::read_dir(runs).ok()?.flatten() {
        for f in std::fs::read_dir(dir.path()).ok()?.flatten() {
            if f.path().extension().is_some_and(|e| e == "jsonl") {
                return Some(f.path());
            }
        }
    }
    None
}

/// The checklist row of the step titled `title` and its state glyph.
fn glyph(screen: &str, title: &str) -> Option<char> {
    screen.lines().find_map(|line| {
        let at = line.find(title)?;
        if !line.starts_with(['┃', '│']) {
            return None;
        }
        let g = line[..at].trim_end().chars().last()?;
        (!matches!(g, '┃' | '│')).then_some(g)
    })
}

#[test]
fn a_watcher_follows_the_driver_and_its_sign_off_unblocks_the_gate() {
    let p = Pair::new("signoff");
    let checklist = repo_file("tests/fixtures/pair/signoff.yaml");
    let checklist = checklist.to_str().unwrap();
    p.open("driver", "ana", &["run", checklist]);
    p.wait("driver", "the driver's cockpit", |s| {
        s.contains("Compile the release")
    });
    p.open("watcher", "reviewer", &["watch"]);
    let s = p.wait("watcher", "the watcher's cockpit", |s| {
        s.contains("Compile the release") && s.contains("watching")
    });
    assert!(s.contains("ana@"), "the watcher names the driver:\n{s}");

    // The driver runs a step: the watcher shows it done, with its output.
    p.keys("driver", &["Enter"]);
    p.wait("watcher", "the step done in the watcher", |s| {
        glyph(s, "Compile the release") == Some('✔') && s.contains("compiled for the pair test")
    });

    // The gate: the driver cannot tick it alone.
    p.wait("driver", "the gate selected", |s| {
        s.contains("› ☐ Reviewer approves") || s.contains("›☐ Reviewer approves")
    });
    p.keys("driver", &["Enter"]);
    p.wait("driver", "the refusal", |s| s.contains("needs a sign-off"));

    // The watcher cannot run anything, but signs off and comments.
    p.wait("watcher", "the gate selected", |s| {
        s.contains("› ☐ Reviewer approves") || s.contains("›☐ Reviewer approves")
    });
    p.keys("watcher", &["Enter"]);
    p.wait("watcher", "the read-only notice", |s| {
        s.contains("only the driver runs steps")
    });
    p.keys("watcher", &["S"]);
    p.wait("watcher", "the sign-off question", |s| {
        s.contains("Sign off \"Reviewer approves the release\"?")
    });
    p.keys("watcher", &["y"]);
    p.keys("watcher", &["c"]);
    p.text("watcher", "release notes checked");
    p.keys("watcher", &["Enter"]);
    let events = {
        let deadline = Instant::now() + WAIT;
        loop {
            let j = p.journal();
            if j.iter().any(|e| e["event"] == "comment") || Instant::now() > deadline {
                break j;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    let signed = events
        .iter()
        .find(|e| e["event"] == "signed_off")
        .unwrap_or_else(|| panic!("no sign-off in the journal: {events:#?}"));
    assert_eq!(signed["step"], "approve");
    assert!(signed["by"].as_str().unwrap().starts_with("reviewer@"));
    let comment = events.iter().find(|e| e["event"] == "comment").unwrap();
    assert_eq!(comment["text"], "release notes checked");
    assert!(comment["by"].as_str().unwrap().starts_with("reviewer@"));

    // The driver's screen shows the sign-off, and the gate opens.
    p.wait("driver", "the sign-off on the driver's screen", |s| {
        s.contains("reviewer@")
    });
    p.keys("driver", &["Enter"]);
    p.wait("driver", "the gate ticked", |s| {
        glyph(s, "Reviewer approves") == Some('☑')
    });
    p.wait("watcher", "the tick in the watcher", |s| {
        glyph(s, "Reviewer approves") == Some('☑')
    });

    // A second driver is refused while the first one lives, naming it.
    let out = Command::new(BIN)
        .args(["--runs-dir", p.runs().to_str().unwrap()])
        .args(["run", checklist, "--resume", "--headless"])
        .env("USER", "cy")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("being driven by ana@") && err.contains("pid"),
        "{err}"
    );

    // Every line of the shared journal is whole and parses.
    let journal = journal_file(&p.runs()).unwrap();
    let text = std::fs::read_to_string(&journal).unwrap();
    for (i, line) in text.lines().enumerate() {
        assert!(
            serde_json::from_str::<serde_json::Value>(line).is_ok(),
            "line {} is not whole: {line}",
            i + 1
        );
    }

    // The driver quits: the watcher says nobody drives now; the lock is gone.
    p.keys("driver", &["q"]);
    p.wait("driver", "the driver's exit", |s| s.contains("EXIT="));
    assert!(
        shipdeck::lock::holder(&journal).is_none(),
        "the lock is released"
    );
    p.wait("watcher", "the watcher noticing", |s| {
        s.contains("stopped driving")
    });
    p.keys("watcher", &["q"]);
    p.wait("watcher", "the watcher's exit", |s| s.contains("EXIT=0"));
}

#[test]
fn watch_without_a_live_run_says_so_and_a_stale_lock_is_taken_over() {
    let p = Pair::new("stale");
    let runs = p.runs();
    let out = Command::new(BIN)
        .args(["--runs-dir", runs.to_str().unwrap(), "watch"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no live run"));

    // A run stopped at a manual step leaves an unfinished journal; fake a dead driver's lock.
    let checklist = repo_file("tests/fixtures/pair/signoff.yaml");
    let run = |extra: &[&str]| {
        Command::new(BIN)
            .args(["--runs-dir", runs.to_str().unwrap(), "run"])
            .arg(&checklist)
            .args(["--headless"])
            .args(extra)
            .output()
            .unwrap()
    };
    let first = run(&[]);
    assert_eq!(first.status.code(), Some(1), "{first:?}");
    let journal = journal_file(&runs).unwrap();
    let (_, host) = (0, hostname());
    let dead = serde_json::json!({
        "pid": 999_999_999u32, "user": "ana", "host": host, "since": "2026-11-22T00:00:00Z"
    });
    std::fs::write(journal.with_extension("lock"), dead.to_string()).unwrap();
    let resumed = run(&["--resume", "--assume-manual-done"]);
    let err = String::from_utf8_lossy(&resumed.stderr);
    assert_eq!(resumed.status.code(), Some(0), "{err}");
    assert!(
        err.contains("took over the run from ana@") && err.contains("stale"),
        "{err}"
    );
    assert!(shipdeck::lock::holder(&journal).is_none());
}

fn hostname() -> String {
    let out = Command::new("hostname").output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A journal with only its run_started event, and its lock held by this test process.
fn fake_live_run(runs: &Path, id: &str, name: &str, user: &str) -> shipdeck::lock::RunLock {
    let dir = runs.join("fake");
    std::fs::create_dir_all(&dir).unwrap();
    let started = serde_json::json!({
        "ts": "2026-11-22T10:00:00.000Z", "event": "run_started", "run": id,
        "checklist": { "name": name, "path": "/nonexistent.yaml", "sha256": "00" },
        "vars": {}, "user": user, "host": hostname(), "pid": std::process::id(), "mode": "cockpit"
    });
    let journal = dir.join(format!("{id}.jsonl"));
    std::fs::write(&journal, format!("{started}\n")).unwrap();
    shipdeck::lock::RunLock::acquire(&journal).unwrap().0
}

#[test]
fn with_several_live_runs_watch_lists_them() {
    let p = Pair::new("several");
    let runs = p.runs();
    let _a = fake_live_run(&runs, "20261122T100000Z-aaaa", "Web release", "ana");
    let _b = fake_live_run(&runs, "20261122T100500Z-bbbb", "Db release", "cy");
    // A finished-and-closed run (no lock) is not live.
    let out = Command::new(BIN)
        .args(["--runs-dir", runs.to_str().unwrap(), "watch"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("2 runs are live"), "{err}");
    let a = err
        .find("shipdeck watch 20261122T100500Z-bbbb")
        .expect(&err);
    let b = err
        .find("shipdeck watch 20261122T100000Z-aaaa")
        .expect(&err);
    assert!(a < b, "newest first:\n{err}");
    assert!(
        err.contains(&format!("Db release, driven by {}@", whoami()))
            && err.contains(&format!("(pid {})", std::process::id())),
        "{err}"
    );
    // Naming one whose checklist is gone is a clear error, not a crash.
    let out = Command::new(BIN)
        .args([
            "--runs-dir",
            runs.to_str().unwrap(),
            "watch",
            "20261122T1000",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("/nonexistent.yaml"), "{err}");
}

/// The user name shipdeck records for this process (`$USER`, as `shipdeck` reads it).
fn whoami() -> String {
    std::env::var("USER").unwrap_or_else(|_| {
        let out = Command::new("id").arg("-un").output().unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    })
}
