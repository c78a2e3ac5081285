//! A runs directory that cannot be written: the run refuses to start (or stops safely) with a
//! message naming the file and the reason, and never runs a step it cannot record.
//!
//! How the faults are made, as root or not:
//! * not writable at all: the runs dir lies under a regular file (ENOTDIR), or under /proc;
//!   and, where user namespaces allow it (`unshare -rm`), a read-only bind mount (EROFS);
//! * disk full: RLIMIT_FSIZE with SIGXFSZ ignored, so a write past the limit fails with
//!   EFBIG as a full disk fails with ENOSPC — from the start (`ulimit -f 0`, `prlimit`), or
//!   lowered mid-run by a step on its own driver (`prlimit --pid $PPID`) to the journal's
//!   current size (plus a few bytes, so the failing write is also torn).
//!
//! Markers: every step that must not run touches a file; running steps write their process
//! group, which must be gone when shipdeck has exited.

mod common;

use common::tmux::{BIN, Tmux, WAIT, group_alive, journal_events, poll, sh_quote};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// `shipdeck --runs-dir RUNS ARGS…` run by `sh -c` after the shell code `pre` (limits). The
/// shell leaves SIGXFSZ alone: shipdeck ignores it itself, so a write past RLIMIT_FSIZE fails
/// (like a full disk) instead of killing it.
fn shipdeck(dir: &Path, runs: &Path, pre: &str, args: &[&str]) -> Output {
    let mut cmd = vec![
        BIN.to_string(),
        "--runs-dir".into(),
        runs.display().to_string(),
    ];
    cmd.extend(args.iter().map(|a| a.to_string()));
    let line: Vec<String> = cmd.iter().map(|a| sh_quote(a)).collect();
    Command::new("sh")
        .arg("-c")
        .arg(format!("{pre} exec {}", line.join(" ")))
        .env_remove("SHIPDECK_RUNS_DIR")
        .env("XDG_STATE_HOME", dir.join("state"))
        .env("NO_COLOR", "1")
        .current_dir(dir)
        .output()
        .expect("run sh")
}

fn need(tool: &str) {
    let ok = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(ok, "this test needs `{tool}` (util-linux)");
}

fn journals(runs: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for d in std::fs::read_dir(runs).into_iter().flatten().flatten() {
        for f in std::fs::read_dir(d.path()).into_iter().flatten().flatten() {
            if f.path().extension().is_some_and(|e| e == "jsonl") {
                out.push(f.path());
            }
        }
    }
    out
}

/// A checklist whose every step touches `marker-<id>` in `dir` when it runs.
fn markers_checklist(dir: &Path) -> PathBuf {
    let m = |id: &str| sh_quote(&dir.join(format!("marker-{id}")).display().to_string());
    let yaml = format!(
        "name: Faults\nphases:\n  - name: P\n    steps:\n      - {{ id: one, title: First, run: \"touch {}\" }}\n      - {{ id: two, title: Second, run: \"touch {}\" }}\n",
        m("one"),
        m("two")
    );
    let path = dir.join("faults.yaml");
    std::fs::write(&path, yaml).unwrap();
    path
}

fn assert_refused(out: &Output, dir: &Path, reason: &str, names: &str) {
    let all = text(out);
    assert!(
        matches!(out.status.code(), Some(c) if c != 0),
        "the run started: {:?}\n{all}",
        out.status
    );
    assert!(
        all.contains(reason),
        "the reason {reason:?} is not said:\n{all}"
    );
    assert!(
        all.contains(names),
        "the path {names:?} is not named:\n{all}"
    );
    assert!(all.contains("nothing was run"), "{all}");
    for id in ["one", "two"] {
        assert!(
            !dir.join(format!("marker-{id}")).exists(),
            "step {id} ran although nothing could be recorded:\n{all}"
        );
    }
}

#[test]
fn a_runs_dir_that_cannot_be_made_refuses_the_run_in_both_modes() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let list = markers_checklist(dir);
    let list = list.to_str().unwrap();
    std::fs::write(dir.join("not-a-dir"), "a file").unwrap();
    let cases = [
        (dir.join("not-a-dir/runs"), "Not a directory"),
        (
            PathBuf::from("/proc/self/shipdeck-runs"),
            "/proc/self/shipdeck-runs",
        ),
    ];
    for (runs, reason) in &cases {
        // Headless, and the cockpit (which fails before the screen is taken, so no terminal
        // is needed to see it).
        for mode in [&["--headless"][..], &[][..]] {
            let mut args = vec!["run", list];
            args.extend_from_slice(mode);
            let out = shipdeck(dir, runs, "", &args);
            assert_refused(&out, dir, reason, &runs.display().to_string());
        }
    }
}

#[test]
fn a_read_only_runs_dir_refuses_the_run() {
    need("unshare");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let list = markers_checklist(dir);
    let runs = dir.join("runs");
    std::fs::create_dir(&runs).unwrap();
    // A private mount namespace (as an unprivileged user: a user namespace too) in which the
    // runs dir is bind-mounted read-only: EROFS for root as for anyone.
    let probe = Command::new("unshare")
        .args(["-rm", "true"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !probe {
        eprintln!(
            "skipped: `unshare -rm` is not permitted here (no user namespaces); \
             a_runs_dir_that_cannot_be_made_refuses_the_run_in_both_modes covers refusal"
        );
        return;
    }
    let r = sh_quote(&runs.display().to_string());
    let mount = format!("mount --bind {r} {r} && mount -o remount,ro,bind {r} {r} &&");
    let mut cmd = vec![
        BIN.to_string(),
        "--runs-dir".into(),
        runs.display().to_string(),
        "run".into(),
        list.display().to_string(),
        "--headless".into(),
    ];
    cmd = cmd.iter().map(|a| sh_quote(a)).collect();
    let out = Command::new("unshare")
        .args(["-rm", "sh", "-c"])
        .arg(format!("{mount} exec {}", cmd.join(" ")))
        .env_remove("SHIPDECK_RUNS_DIR")
        .env("XDG_STATE_HOME", dir.join("state"))
        .current_dir(dir)
        .output()
        .unwrap();
    assert_refused(
        &out,
        dir,
        "Read-only file system",
        &runs.display().to_string(),
    );
    assert!(std::fs::read_dir(&runs).unwrap().next().is_none());
}

#[test]
fn a_full_disk_at_the_start_refuses_the_run_and_leaves_no_run_behind() {
    need("prlimit");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let list = markers_checklist(dir);
    let list = list.to_str().unwrap();
    let runs = dir.join("runs");
    // Nothing at all can be written: the lock is the first write.
    let out = shipdeck(dir, &runs, "ulimit -f 0;", &["run", list, "--headless"]);
    assert_refused(&out, dir, "File too large", ".lock");
    // The lock fits, the run's first event does not (and is torn).
    for mode in [&["--headless"][..], &[][..]] {
        let mut args = vec!["run", list];
        args.extend_from_slice(mode);
        let mut cmd = vec!["prlimit", "--fsize=150", "--", BIN, "--runs-dir"];
        let runs_s = runs.display().to_string();
        cmd.push(&runs_s);
        cmd.extend_from_slice(&args);
        let line: Vec<String> = cmd.iter().map(|a| sh_quote(a)).collect();
        let out = Command::new("sh")
            .arg("-c")
            .arg(format!("exec {}", line.join(" ")))
            .env_remove("SHIPDECK_RUNS_DIR")
            .env("XDG_STATE_HOME", dir.join("state"))
            .current_dir(dir)
            .output()
            .unwrap();
        assert_refused(&out, dir, "cannot write the journal", ".jsonl");
        assert!(text(&out).contains("File too large"), "{}", text(&out));
        assert!(
            journals(&runs).is_empty(),
            "a run that never started was left behind: {:?}",
            journals(&runs)
        );
    }
}

/// A step that, once its start is journaled, lowers its driver's file size limit to the
/// journal's size plus `slack` bytes: the disk is full from then on. It writes its process
/// group to `pgid-<id>` first and touches `limited` when done.
fn fill_disk(dir: &Path, runs: &Path, slack: u64) -> String {
    let q = |p: PathBuf| sh_quote(&p.display().to_string());
    format!(
        "echo $$ > {pgid}; [ -e {flag} ] && exit 0; touch {flag}; \
         J=$(ls {runs}/*/*.jsonl); i=0; \
         until grep -q step_spawned \"$J\" || [ $i -ge 200 ]; do sleep 0.05; i=$((i+1)); done; \
         prlimit --pid $PPID --fsize=$(( $(stat -c %s \"$J\") + {slack} )) && touch {limited}",
        pgid = q(dir.join("pgid-fill")),
        flag = q(dir.join("filled-once")),
        runs = q(runs.to_path_buf()),
        limited = q(dir.join("limited")),
    )
}

#[test]
fn a_disk_that_fills_between_steps_stops_the_run_and_resume_finishes_it() {
    need("prlimit");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let runs = dir.join("runs");
    let m = |id: &str| sh_quote(&dir.join(format!("marker-{id}")).display().to_string());
    let yaml = format!(
        "name: Faults\nphases:\n  - name: P\n    steps:\n      - id: fill\n        title: Fills the disk\n        run: {}\n      - {{ id: two, title: Second, run: \"touch {}\" }}\n      - {{ id: three, title: Third, run: \"touch {}\" }}\n",
        serde_json::to_string(&fill_disk(dir, &runs, 10)).unwrap(),
        m("two"),
        m("three")
    );
    let list = dir.join("faults.yaml");
    std::fs::write(&list, yaml).unwrap();
    let list = list.to_str().unwrap();

    let out = shipdeck(dir, &runs, "", &["run", list, "--headless"]);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(
        dir.join("limited").exists(),
        "the disk was never filled:\n{all}"
    );
    let journal = journals(&runs);
    assert_eq!(journal.len(), 1, "{journal:?}");
    let jpath = journal[0].display().to_string();
    assert!(
        all.contains(&format!("cannot write the journal {jpath}"))
            && all.contains("File too large"),
        "the message does not name the journal and the reason:\n{all}"
    );
    assert!(all.contains("no further step starts"), "{all}");
    assert!(all.contains("resume with"), "{all}");
    for id in ["two", "three"] {
        assert!(
            !dir.join(format!("marker-{id}")).exists(),
            "step {id} ran:\n{all}"
        );
    }
    // What was recorded stays readable: the torn last line is skipped with a warning.
    let events = journal_events(&runs);
    assert!(
        events.iter().any(|e| e["event"] == "step_spawned"),
        "{events:#?}"
    );
    assert!(!events.iter().any(|e| e["step"] == "two"), "{events:#?}");
    let bytes = std::fs::read(&journal[0]).unwrap();
    assert!(
        !bytes.ends_with(b"\n"),
        "the failed write should have torn the last line"
    );
    let run_id = events[0]["run"].as_str().unwrap().to_string();
    let report = shipdeck(dir, &runs, "", &["report", &run_id]);
    assert!(report.status.success(), "{}", text(&report));
    assert!(
        text(&report).contains("torn last line"),
        "{}",
        text(&report)
    );

    // Space is back: the run resumes where it stopped. `fill` ran but its end is not in the
    // journal, so it is interrupted: the deployer says to run it again.
    let out = shipdeck(
        dir,
        &runs,
        "",
        &[
            "run",
            list,
            "--headless",
            "--resume",
            &run_id,
            "--rerun-interrupted",
        ],
    );
    let all = text(&out);
    assert_eq!(out.status.code(), Some(0), "{all}");
    for id in ["two", "three"] {
        assert!(
            dir.join(format!("marker-{id}")).exists(),
            "step {id} did not run:\n{all}"
        );
    }
    let events = journal_events(&runs);
    assert!(
        events
            .iter()
            .any(|e| e["event"] == "run_finished" && e["outcome"] == "succeeded"),
        "{events:#?}"
    );
}

/// A probe target on 127.0.0.1 answering 500 until `healthy` is set, then 200. Stops when
/// dropped (or after two minutes at most).
struct Flip {
    port: u16,
    healthy: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Flip {
    fn start() -> Flip {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let healthy = Arc::new(AtomicBool::new(false));
        let stop = Arc::new(AtomicBool::new(false));
        let (h, s) = (healthy.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(120);
            while !s.load(Ordering::Relaxed) && Instant::now() < deadline {
                let Ok((mut conn, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(10));
                    continue;
                };
                let _ = conn.set_nonblocking(false);
                let _ = conn.set_read_timeout(Some(Duration::from_secs(2)));
                let mut buf = [0u8; 4096];
                let _ = conn.read(&mut buf);
                let status = if h.load(Ordering::Relaxed) {
                    "200 OK"
                } else {
                    "500 Internal Server Error"
                };
                let _ = write!(
                    conn,
                    "HTTP/1.1 {status}\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
                );
            }
        });
        Flip {
            port,
            healthy,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Flip {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn pgid_of(dir: &Path) -> i32 {
    let text = std::fs::read_to_string(dir.join("pgid-fill")).unwrap_or_default();
    text.trim()
        .parse()
        .expect("the step wrote its process group")
}

/// Kills the group on drop, should a failing test leave it behind.
struct Reap(Option<i32>);

impl Drop for Reap {
    fn drop(&mut self) {
        if let Some(g) = self.0.filter(|g| *g > 1 && group_alive(*g)) {
            let _ = nix::sys::signal::killpg(
                nix::unistd::Pid::from_raw(g),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
}

/// The checklist for a disk that fills while `fill` runs: after filling it, the step sleeps
/// (30 s) and then touches `marker-late`, which must never happen.
fn long_fill_checklist(dir: &Path, runs: &Path, probe: Option<u16>) -> PathBuf {
    let late = sh_quote(&dir.join("marker-late").display().to_string());
    let two = sh_quote(&dir.join("marker-two").display().to_string());
    let run = format!("{}; sleep 30; touch {late}", fill_disk(dir, runs, 0));
    let probes = probe.map_or(String::new(), |port| {
        format!(
            "probes:\n  - {{ name: web, url: \"http://127.0.0.1:{port}/health\", every: 100ms, timeout: 1s }}\n"
        )
    });
    let yaml = format!(
        "name: Faults\n{probes}phases:\n  - name: P\n    steps:\n      - id: fill\n        title: Fills the disk\n        run: {}\n      - {{ id: two, title: Second, run: \"touch {two}\" }}\n",
        serde_json::to_string(&run).unwrap(),
    );
    let list = dir.join("faults.yaml");
    std::fs::write(&list, yaml).unwrap();
    list
}

#[test]
fn a_disk_that_fills_while_a_step_runs_stops_the_step_and_the_run() {
    need("prlimit");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    let runs = dir.join("runs");
    let flip = Flip::start();
    let list = long_fill_checklist(&dir, &runs, Some(flip.port));
    let list_s = list.display().to_string();
    let child = {
        let (dir, runs) = (dir.clone(), runs.clone());
        std::thread::spawn(move || shipdeck(&dir, &runs, "", &["run", &list_s, "--headless"]))
    };
    poll(
        "the step to fill the disk",
        WAIT,
        || dir.join("limited").exists().then_some(()),
        || format!("journal: {:#?}", journal_events(&runs)),
    );
    let mut reap = Reap(Some(pgid_of(&dir)));
    // The probe turns green: its change of state is the next event, and cannot be written.
    flip.healthy.store(true, Ordering::Relaxed);
    poll(
        "shipdeck to stop",
        WAIT,
        || child.is_finished().then_some(()),
        || format!("journal: {:#?}", journal_events(&runs)),
    );
    let out = child.join().unwrap();
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(all.contains("cannot write the journal"), "{all}");
    assert!(all.contains("File too large"), "{all}");
    assert!(
        all.contains("stopping `fill` (its processes are not left running)"),
        "{all}"
    );
    let pgid = pgid_of(&dir);
    assert!(!group_alive(pgid), "the step's processes were left running");
    reap.0 = None;
    // The late marker would appear 30 s on; the process that would write it is gone.
    assert!(!dir.join("marker-late").exists());
    assert!(
        !dir.join("marker-two").exists(),
        "the next step ran:\n{all}"
    );
}

#[test]
fn the_cockpit_stops_a_running_step_when_the_disk_fills_and_says_why() {
    need("prlimit");
    let t = Tmux::new("faults");
    let dir = t.dir.path().to_path_buf();
    let list = long_fill_checklist(&dir, &t.runs_dir(), None);
    t.launch((120, 40), &[], "", &["run", list.to_str().unwrap()]);
    t.wait_cockpit("Faults");
    t.send(&["Enter"]);
    poll(
        "the step to fill the disk",
        WAIT,
        || dir.join("limited").exists().then_some(()),
        || t.capture(),
    );
    let mut reap = Reap(Some(pgid_of(&dir)));
    // A comment is the next event: it cannot be written, so the cockpit stops the step and
    // the run rather than go on unrecorded.
    t.send(&["c"]);
    t.wait_for("the comment box", |s| s.contains("omment"));
    t.type_text("disk is full?");
    t.send(&["Enter"]);
    let (code, after) = t.wait_exit();
    assert_eq!(code, 1, "{after}");
    assert!(after.contains("cannot write the journal"), "{after}");
    assert!(after.contains("File too large"), "{after}");
    assert!(after.contains("no further step started"), "{after}");
    let pgid = pgid_of(&dir);
    assert!(!group_alive(pgid), "the step's processes were left running");
    reap.0 = None;
    assert!(!dir.join("marker-late").exists());
}

/// The executor itself, on a journal that is a full disk (a link to /dev/full: every write
/// fails with ENOSPC): a step whose start could not be recorded is not started, and says so.
#[test]
fn the_executor_starts_nothing_it_could_not_record() {
    use shipdeck::core::effect::{Command as StepCommand, Effect};
    use shipdeck::core::journal::{Entry, Event, StepOutcome};
    use shipdeck::core::msg::Msg;
    use shipdeck::exec::Executor;
    use shipdeck::journal_io::JournalWriter;

    let tmp = tempfile::tempdir().unwrap();
    let journal = tmp.path().join("run.jsonl");
    std::os::unix::fs::symlink("/dev/full", &journal).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let (tx, mut rx) = tokio::sync::mpsc::channel(16);
        let writer = JournalWriter::open_shared(&journal).unwrap();
        let mut exec = Executor::new(writer, tx, Vec::new(), tmp.path().to_path_buf());
        let command = |marker: &str| StepCommand {
            command: format!(
                "touch {}",
                sh_quote(&tmp.path().join(marker).display().to_string())
            ),
            shell: "sh".into(),
            env: Vec::new(),
            cwd: None,
            timeout: None,
            interactive: false,
        };
        let started = Entry::new(
            chrono::Utc::now(),
            Event::StepStarted {
                step: "deploy".into(),
                attempt: 1,
                by: "ana@box".into(),
                what: None,
            },
        );
        exec.apply(Effect::Journal(started));
        exec.apply(Effect::RunStep {
            step: "deploy".into(),
            attempt: 1,
            command: command("marker-deploy"),
        });
        exec.apply(Effect::RunRollback {
            step: "deploy".into(),
            attempt: 1,
            command: command("marker-rollback"),
        });
        let mut next = async || {
            tokio::time::timeout(WAIT, rx.recv())
                .await
                .expect("the executor answers")
                .expect("the channel is open")
        };
        match next().await {
            Msg::JournalFailed(e) => assert!(e.contains("No space left on device"), "{e}"),
            other => panic!("expected JournalFailed first, got {other:?}"),
        }
        match next().await {
            Msg::StepDone { step, done, .. } => {
                assert_eq!(step, "deploy");
                assert_eq!(done.outcome, StepOutcome::Failed);
                let why = done.message.unwrap_or_default();
                assert!(why.contains("not started"), "{why}");
            }
            other => panic!("expected the step to end not started, got {other:?}"),
        }
        match next().await {
            Msg::RollbackDone { done, .. } => {
                assert!(done.message.unwrap_or_default().contains("not started"))
            }
            other => panic!("expected the rollback to end not started, got {other:?}"),
        }
        assert_eq!(
            exec.journal_failed
                .as_deref()
                .map(|w| w.contains("run.jsonl")),
            Some(true)
        );
    });
    for marker in ["marker-deploy", "marker-rollback"] {
        assert!(!tmp.path().join(marker).exists(), "{marker}: it ran");
    }
}
