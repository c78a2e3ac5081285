//! The step runner against real `sh`: capture, exit codes, timeouts, aborts, no orphans.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::signal::killpg;
use nix::unistd::Pid;
use shipdeck::sources::runner::{
    Grace, Outcome, RunnerEvent, StepResult, StepSpec, Stream, run_step,
};
use tokio::sync::{mpsc, watch};

const GENEROUS: Duration = Duration::from_secs(15);

fn spec(dir: &Path, command: &str) -> StepSpec {
    StepSpec::new(command, dir.join("logs/step.1.log"))
}

/// Runs to completion with a live, never-firing abort channel, collecting every event.
async fn run(spec: StepSpec, grace: Grace) -> (StepResult, Vec<RunnerEvent>) {
    let (tx, mut rx) = mpsc::channel(8);
    let (_abort_tx, abort_rx) = watch::channel(false);
    let collector = tokio::spawn(async move {
        let mut events = Vec::new();
        while let Some(event) = rx.recv().await {
            events.push(event);
        }
        events
    });
    let result = run_step(spec, grace, tx, abort_rx).await;
    (result, collector.await.unwrap())
}

fn lines(events: &[RunnerEvent]) -> Vec<(Stream, String)> {
    events
        .iter()
        .filter_map(|e| match e {
            RunnerEvent::Line { stream, text } => Some((*stream, text.clone())),
            RunnerEvent::Started { .. } => None,
        })
        .collect()
}

fn log_of(spec_dir: &Path) -> String {
    std::fs::read_to_string(spec_dir.join("logs/step.1.log")).unwrap()
}

/// Members of the group that still run; zombies are skipped because this
/// sandbox's PID 1 never reaps the orphans it inherits.
fn live_members(pgid: i32) -> Vec<String> {
    let mut live = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        let Some(close) = stat.rfind(')') else {
            continue;
        };
        let fields: Vec<&str> = stat[close + 1..].split_whitespace().collect();
        if fields.get(2) == Some(&pgid.to_string().as_str()) && fields[0] != "Z" {
            live.push(stat.clone());
        }
    }
    live
}

fn assert_group_gone(pgid: i32) {
    let members = live_members(pgid);
    assert!(members.is_empty(), "left in group {pgid}: {members:?}");
    // Either nothing at all is left, or only unreaped zombies (see live_members).
    match killpg(Pid::from_raw(pgid), None) {
        Err(Errno::ESRCH) | Ok(()) => {}
        Err(other) => panic!("unexpected killpg error {other}"),
    }
}

/// Starts the step in the background; waits for Started and the given line.
async fn start_until_line(
    spec: StepSpec,
    grace: Grace,
    wanted: &str,
) -> (
    tokio::task::JoinHandle<StepResult>,
    i32,
    watch::Sender<bool>,
    mpsc::Receiver<RunnerEvent>,
) {
    let (tx, mut rx) = mpsc::channel(8);
    let (abort_tx, abort_rx) = watch::channel(false);
    let handle = tokio::spawn(run_step(spec, grace, tx, abort_rx));
    let mut pgid = None;
    loop {
        let event = tokio::time::timeout(GENEROUS, rx.recv())
            .await
            .expect("step produced no event in time")
            .expect("event stream ended early");
        match event {
            RunnerEvent::Started { pid } => pgid = Some(pid as i32),
            RunnerEvent::Line { text, .. } if text == wanted => break,
            RunnerEvent::Line { .. } => {}
        }
    }
    (handle, pgid.expect("Started comes first"), abort_tx, rx)
}

#[tokio::test]
async fn captures_stdout_and_stderr_into_events_and_a_private_log() {
    let dir = tempfile::tempdir().unwrap();
    let cmd = "echo out; echo err >&2; printf 'no newline'";
    let (result, events) = run(spec(dir.path(), cmd), Grace::default()).await;

    assert_eq!(result.outcome, Outcome::Succeeded);
    assert_eq!(result.exit_code, Some(0));
    assert_eq!(result.signal, None);
    assert!(matches!(events[0], RunnerEvent::Started { .. }));
    let got = lines(&events);
    assert!(got.contains(&(Stream::Stdout, "out".into())), "{got:?}");
    assert!(got.contains(&(Stream::Stderr, "err".into())), "{got:?}");
    assert!(
        got.contains(&(Stream::Stdout, "no newline".into())),
        "{got:?}"
    );
    let log = log_of(dir.path());
    for line in ["out\n", "err\n", "no newline\n"] {
        assert!(log.contains(line), "{log:?}");
    }
    let mode = std::fs::metadata(dir.path().join("logs/step.1.log"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
}

#[tokio::test]
async fn nonzero_exit_is_failed_with_its_code() {
    let dir = tempfile::tempdir().unwrap();
    let (result, _) = run(spec(dir.path(), "exit 3"), Grace::default()).await;
    assert_eq!(result.outcome, Outcome::Failed);
    assert_eq!(result.exit_code, Some(3));
}

#[tokio::test]
async fn env_and_cwd_are_honoured() {
    let dir = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let mut step = spec(dir.path(), "echo $FOO; pwd -P");
    step.env = vec![("FOO".into(), "bar baz".into())];
    step.cwd = Some(work.path().to_path_buf());
    let (result, events) = run(step, Grace::default()).await;
    assert_eq!(result.outcome, Outcome::Succeeded);
    let texts: Vec<String> = lines(&events).into_iter().map(|(_, t)| t).collect();
    let real = work.path().canonicalize().unwrap();
    assert_eq!(
        texts,
        vec!["bar baz".to_string(), real.display().to_string()]
    );
}

#[tokio::test]
async fn timeout_escalates_and_reports_timed_out() {
    let dir = tempfile::tempdir().unwrap();
    let mut step = spec(dir.path(), "sleep 30");
    step.timeout = Some(Duration::from_millis(300));
    let t0 = Instant::now();
    let (result, _) = run(step, Grace::default()).await;
    assert_eq!(result.outcome, Outcome::TimedOut);
    assert!(t0.elapsed() < GENEROUS, "took {:?}", t0.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abort_leaves_no_process_of_the_group_behind() {
    let dir = tempfile::tempdir().unwrap();
    let cmd = "sleep 300 & sleep 300 & echo started; wait";
    let (handle, pgid, abort, _rx) =
        start_until_line(spec(dir.path(), cmd), Grace::default(), "started").await;
    assert_eq!(
        live_members(pgid).len(),
        3,
        "sh and two sleeps before abort"
    );

    let t0 = Instant::now();
    abort.send(true).unwrap();
    let result = tokio::time::timeout(GENEROUS, handle)
        .await
        .expect("run_step hung after abort")
        .unwrap();
    assert_eq!(result.outcome, Outcome::Aborted);
    assert!(t0.elapsed() < GENEROUS);
    assert_group_gone(pgid);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn background_child_of_a_finished_step_is_ended_without_hanging() {
    let dir = tempfile::tempdir().unwrap();
    let (tx, mut rx) = mpsc::channel(8);
    let (_abort_tx, abort_rx) = watch::channel(false);
    let step = spec(dir.path(), "sleep 300 & echo bye");
    let handle = tokio::spawn(run_step(step, Grace::default(), tx, abort_rx));
    let mut pgid = None;
    let mut saw_bye = false;
    while let Some(event) = tokio::time::timeout(GENEROUS, rx.recv()).await.unwrap() {
        match event {
            RunnerEvent::Started { pid } => pgid = Some(pid as i32),
            RunnerEvent::Line { text, .. } => saw_bye |= text == "bye",
        }
    }
    let result = tokio::time::timeout(GENEROUS, handle)
        .await
        .expect("run_step hung on the pipe held by `sleep 300 &`")
        .unwrap();
    assert!(saw_bye);
    assert_eq!(result.outcome, Outcome::Succeeded);
    assert_group_gone(pgid.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_step_ignoring_sigint_and_sigterm_is_still_ended() {
    let dir = tempfile::tempdir().unwrap();
    let grace = Grace {
        after_sigint: Duration::from_millis(200),
        after_sigterm: Duration::from_millis(200),
    };
    let cmd = "trap '' INT TERM; echo ready; sleep 30";
    let (handle, pgid, abort, _rx) = start_until_line(spec(dir.path(), cmd), grace, "ready").await;
    let t0 = Instant::now();
    abort.send(true).unwrap();
    let result = tokio::time::timeout(GENEROUS, handle)
        .await
        .expect("escalation did not end the step")
        .unwrap();
    assert_eq!(result.outcome, Outcome::Aborted);
    assert_eq!(result.signal, Some(9), "only SIGKILL can end it");
    assert!(
        t0.elapsed() >= Duration::from_millis(400),
        "both graces waited"
    );
    assert_group_gone(pgid);
}

#[tokio::test]
async fn secrets_and_auth_headers_are_masked_in_log_and_events() {
    let dir = tempfile::tempdir().unwrap();
    let cmd = "echo \"password is hunter22\"; echo 'Authorization: Bearer abc.def' >&2";
    let mut step = spec(dir.path(), cmd);
    step.redact = vec!["hunter22".into()];
    let (result, events) = run(step, Grace::default()).await;
    assert_eq!(result.outcome, Outcome::Succeeded);
    let got = lines(&events);
    assert!(got.contains(&(Stream::Stdout, "password is ••••".into())));
    assert!(got.contains(&(Stream::Stderr, "Authorization: Bearer ••••".into())));
    let log = log_of(dir.path());
    assert!(log.contains("password is ••••\n"), "{log:?}");
    assert!(log.contains("Authorization: Bearer ••••\n"), "{log:?}");
    assert!(!log.contains("hunter22") && !log.contains("abc.def"));
}

#[tokio::test]
async fn missing_cwd_is_a_spawn_failure_written_to_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let mut step = spec(dir.path(), "echo never");
    step.cwd = Some(dir.path().join("does/not/exist"));
    let (result, events) = run(step, Grace::default()).await;
    let Outcome::SpawnFailed(msg) = &result.outcome else {
        panic!("expected SpawnFailed, got {result:?}");
    };
    assert!(msg.contains("does/not/exist"), "{msg}");
    assert!(events.is_empty());
    assert!(log_of(dir.path()).contains(msg.as_str()));
}

#[tokio::test]
async fn missing_shell_is_a_spawn_failure() {
    let dir = tempfile::tempdir().unwrap();
    let mut step = spec(dir.path(), "echo never");
    step.shell = "/nonexistent/shell".into();
    let (result, _) = run(step, Grace::default()).await;
    assert!(
        matches!(result.outcome, Outcome::SpawnFailed(_)),
        "{result:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_arrives_complete_and_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let (result, events) = run(spec(dir.path(), "seq 1 20000"), Grace::default()).await;
    assert_eq!(result.outcome, Outcome::Succeeded);
    let expected: Vec<String> = (1..=20000).map(|i| i.to_string()).collect();
    let texts: Vec<String> = lines(&events).into_iter().map(|(_, t)| t).collect();
    assert_eq!(texts, expected);
    assert_eq!(log_of(dir.path()), expected.join("\n") + "\n");
}

#[tokio::test]
async fn a_dropped_event_receiver_does_not_stop_the_step_or_its_log() {
    let dir = tempfile::tempdir().unwrap();
    let (tx, rx) = mpsc::channel(1);
    drop(rx);
    let (_abort_tx, abort_rx) = watch::channel(false);
    let step = spec(dir.path(), "seq 1 500");
    let result = run_step(step, Grace::default(), tx, abort_rx).await;
    assert_eq!(result.outcome, Outcome::Succeeded);
    assert_eq!(log_of(dir.path()).lines().count(), 500);
}

#[tokio::test]
async fn a_dropped_abort_sender_is_not_an_abort() {
    let dir = tempfile::tempdir().unwrap();
    let (tx, _rx) = mpsc::channel(8);
    let (abort_tx, abort_rx) = watch::channel(false);
    drop(abort_tx);
    let step = spec(dir.path(), "sleep 0.2; echo done");
    let result = run_step(step, Grace::default(), tx, abort_rx).await;
    assert_eq!(result.outcome, Outcome::Succeeded);
}

#[tokio::test]
async fn an_abort_before_start_runs_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("ran");
    let (tx, mut rx) = mpsc::channel(8);
    let (_abort_tx, abort_rx) = watch::channel(true);
    let step = spec(dir.path(), &format!("touch {}", marker.display()));
    let result = run_step(step, Grace::default(), tx, abort_rx).await;
    assert_eq!(result.outcome, Outcome::Aborted);
    assert!(rx.recv().await.is_none(), "no Started event");
    assert!(!marker.exists());
}

#[tokio::test]
async fn interactive_steps_capture_nothing_and_say_so_in_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let mut step = spec(dir.path(), "exit 0");
    step.interactive = true;
    let (result, events) = run(step, Grace::default()).await;
    assert_eq!(result.outcome, Outcome::Succeeded);
    assert!(lines(&events).is_empty());
    assert!(log_of(dir.path()).contains("output went to the terminal"));
}
