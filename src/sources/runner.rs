//! Runs one step in its own process group and captures its output.

use std::future::pending;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::Arc;

use super::pgroup::{GroupGuard, clean_group, escalate, foreground_owner, hand_terminal_to};
use std::time::{Duration, Instant};

use nix::unistd::Pid;
use tokio::fs::{File, OpenOptions};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWriteExt, BufReader, BufWriter};
use tokio::process::{Child, Command};
use tokio::sync::{mpsc, watch};
use tokio::time::{sleep, timeout};

use crate::core::redact::redact;

/// A step's command and how to run it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepSpec {
    pub command: String,
    /// Program run as `<shell> -c <command>`.
    pub shell: String,
    /// Added to the inherited environment.
    pub env: Vec<(String, String)>,
    pub cwd: Option<PathBuf>,
    pub timeout: Option<Duration>,
    /// Parents are created; the file is opened for append with mode 0600.
    pub log_path: PathBuf,
    /// The step gets shipdeck's terminal; nothing is captured.
    pub interactive: bool,
    /// Secret values masked in the log and in `Line` events.
    pub redact: Vec<String>,
}

impl StepSpec {
    /// A non-interactive `sh -c` step with no extra env, cwd, timeout or secrets.
    pub fn new(command: impl Into<String>, log_path: impl Into<PathBuf>) -> Self {
        Self {
            command: command.into(),
            shell: "sh".to_string(),
            env: Vec::new(),
            cwd: None,
            timeout: None,
            log_path: log_path.into(),
            interactive: false,
            redact: Vec::new(),
        }
    }
}

/// How long each signal of the abort escalation gets before the next one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grace {
    pub after_sigint: Duration,
    pub after_sigterm: Duration,
}

impl Default for Grace {
    fn default() -> Self {
        Self {
            after_sigint: Duration::from_secs(2),
            after_sigterm: Duration::from_secs(3),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunnerEvent {
    /// `pid` is also the step's process group id.
    Started {
        pid: u32,
    },
    Line {
        stream: Stream,
        text: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Succeeded,
    Failed,
    TimedOut,
    Aborted,
    SpawnFailed(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepResult {
    pub outcome: Outcome,
    pub exit_code: Option<i32>,
    pub signal: Option<i32>,
    pub duration: Duration,
}

/// Lines longer than this are split, so a child printing without newlines
/// cannot grow memory without bound.
const LINE_CAP: usize = 16 * 1024;
/// Small, so that a flood backs up into the child's pipe instead of memory.
const CHANNEL_CAP: usize = 64;
/// How long the readers may wait on the pipes once the group is gone: only a
/// process that escaped the group (setsid) can still hold them open.
const DRAIN_BUDGET: Duration = Duration::from_secs(1);
/// A dead group leaves at most a pipe's capacity (1 MiB max on Linux) behind;
/// reading more than that means an escaped process is still writing.
const DRAIN_BYTES: usize = 2 << 20;

/// Runs the step to completion and returns only when no process of its group
/// is left and every captured line has been logged and offered to `events`.
pub async fn run_step(
    spec: StepSpec,
    grace: Grace,
    events: mpsc::Sender<RunnerEvent>,
    mut abort: watch::Receiver<bool>,
) -> StepResult {
    let started = Instant::now();
    let secrets: Arc<[String]> = spec.redact.clone().into();
    let mut log = match open_log(&spec.log_path).await {
        Ok(file) => BufWriter::new(file),
        Err(err) => {
            let msg = format!("cannot open log {}: {err}", spec.log_path.display());
            return result(Outcome::SpawnFailed(msg), None, started);
        }
    };
    // An abort that came before the step started must not start a deploy command.
    if *abort.borrow() {
        return result(Outcome::Aborted, None, started);
    }
    // Whether shipdeck holds the terminal, asked before the child can take it over.
    let ours = if spec.interactive {
        foreground_owner()
    } else {
        None
    };
    let (mut child, pid, pgid) = match spawn(&spec).await {
        Ok(spawned) => spawned,
        Err(msg) => {
            let msg = redact(&msg, &secrets).into_owned();
            write_note(&mut log, &msg).await;
            return result(Outcome::SpawnFailed(msg), None, started);
        }
    };
    let mut guard = GroupGuard {
        pgid,
        terminal: None,
        armed: true,
    };
    if spec.interactive {
        write_note(
            &mut log,
            "[shipdeck] interactive step: output went to the terminal",
        )
        .await;
        if let Some(ours) = ours {
            hand_terminal_to(pgid);
            guard.terminal = Some(ours);
        }
    }

    let (line_tx, line_rx) = mpsc::channel(CHANNEL_CAP);
    let (done_tx, done_rx) = watch::channel(false);
    // The channel is empty and its receiver alive, so this cannot fail or wait.
    let _ = line_tx.send(RunnerEvent::Started { pid }).await;
    let mut readers = Vec::new();
    if let Some(out) = child.stdout.take() {
        let args = (line_tx.clone(), done_rx.clone(), secrets.clone());
        readers.push(tokio::spawn(read_lines(out, Stream::Stdout, args)));
    }
    if let Some(err) = child.stderr.take() {
        let args = (line_tx.clone(), done_rx.clone(), secrets.clone());
        readers.push(tokio::spawn(read_lines(err, Stream::Stderr, args)));
    }
    drop(line_tx);
    let pump = tokio::spawn(pump(line_rx, log, events));

    let ended = tokio::select! {
        status = child.wait() => Ok(status.ok()),
        // tokio clamps an unreachable deadline to "never".
        () = sleep(spec.timeout.unwrap_or(Duration::MAX)) => Err(Outcome::TimedOut),
        () = abort_requested(&mut abort) => Err(Outcome::Aborted),
    };
    let (outcome, status) = match ended {
        Ok(status) if status.and_then(|s| s.code()) == Some(0) => (Outcome::Succeeded, status),
        Ok(status) => (Outcome::Failed, status),
        Err(outcome) => (outcome, escalate(&mut child, pgid, grace).await),
    };
    // Wait for the main child first, then clean the group, then drain: a
    // background process holding the pipe would otherwise hang the step.
    clean_group(pgid).await;
    guard.release();
    let _ = done_tx.send(true);
    for reader in readers {
        let _ = reader.await;
    }
    let _ = pump.await;
    result(outcome, status, started)
}

fn result(outcome: Outcome, status: Option<ExitStatus>, started: Instant) -> StepResult {
    StepResult {
        outcome,
        exit_code: status.and_then(|s| s.code()),
        signal: status.and_then(|s| s.signal()),
        duration: started.elapsed(),
    }
}

async fn open_log(path: &Path) -> std::io::Result<File> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        // Private like the journal: step output may hold what the run works with.
        tokio::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .await?;
    }
    let file = OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .open(path)
        .await?;
    // `mode` only applies on creation; an older file may be wider open.
    file.set_permissions(std::fs::Permissions::from_mode(0o600))
        .await?;
    Ok(file)
}

/// A log that cannot be written must not change the step's outcome.
async fn write_note(log: &mut BufWriter<File>, note: &str) {
    let _ = log.write_all(format!("{note}\n").as_bytes()).await;
    let _ = log.flush().await;
}

/// Also returns the pid and the process group id (the same number).
async fn spawn(spec: &StepSpec) -> Result<(Child, u32, Pid), String> {
    let mut cmd = Command::new(&spec.shell);
    cmd.arg("-c")
        .arg(&spec.command)
        .envs(spec.env.iter().map(|(k, v)| (k, v)))
        .process_group(0)
        .kill_on_drop(true);
    if let Some(dir) = &spec.cwd {
        // The OS reports a bad cwd as a missing shell; say what is really wrong.
        if !tokio::fs::metadata(dir).await.is_ok_and(|m| m.is_dir()) {
            return Err(format!(
                "working directory {} does not exist or is not a directory",
                dir.display()
            ));
        }
        cmd.current_dir(dir);
    }
    if spec.interactive {
        cmd.stdin(Stdio::inherit())
            .stdout(Stdio::inherit())
            .stderr(Stdio::inherit());
        // SAFETY: the closure only makes async-signal-safe calls (see take_terminal).
        unsafe { cmd.pre_exec(super::pgroup::take_terminal) };
    } else {
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
    }
    let child = cmd
        .spawn()
        .map_err(|err| format!("cannot start `{} -c …`: {err}", spec.shell))?;
    // Without a pid there is no group to signal, and a pgid of 0 would mean
    // shipdeck's own group; neither can happen right after a spawn.
    match child.id().map(|pid| (pid, i32::try_from(pid))) {
        Some((pid, Ok(raw))) if raw > 0 => Ok((child, pid, Pid::from_raw(raw))),
        _ => Err("the step started without a usable process id".to_string()),
    }
}

/// A dropped sender means no abort can come any more, not that one did.
async fn abort_requested(abort: &mut watch::Receiver<bool>) {
    loop {
        if *abort.borrow_and_update() {
            return;
        }
        if abort.changed().await.is_err() {
            pending::<()>().await;
        }
    }
}

type ReaderArgs = (
    mpsc::Sender<RunnerEvent>,
    watch::Receiver<bool>,
    Arc<[String]>,
);

async fn read_lines<R: AsyncRead + Unpin>(pipe: R, stream: Stream, args: ReaderArgs) {
    let (tx, mut done, secrets) = args;
    let mut reader = BufReader::new(pipe);
    let mut line = Vec::new();
    let mut draining = false;
    let mut budget = DRAIN_BUDGET;
    let mut drained = 0;
    loop {
        let read = reader.fill_buf();
        let buf = if draining {
            let t0 = Instant::now();
            let got = timeout(budget, read).await;
            budget = budget.saturating_sub(t0.elapsed());
            match got {
                Ok(Ok(buf)) => buf,
                _ => break,
            }
        } else {
            tokio::select! {
                got = read => match got {
                    Ok(buf) => buf,
                    Err(_) => break,
                },
                changed = done.changed() => {
                    draining = changed.is_err() || *done.borrow();
                    continue;
                }
            }
        };
        if buf.is_empty() {
            break;
        }
        let want = buf
            .iter()
            .position(|&b| b == b'\n')
            .map_or(buf.len(), |i| i + 1);
        let n = want.min(LINE_CAP - line.len());
        line.extend_from_slice(&buf[..n]);
        reader.consume(n);
        drained += if draining { n } else { 0 };
        if drained > DRAIN_BYTES {
            break;
        }
        if (line.ends_with(b"\n") || line.len() >= LINE_CAP)
            && !emit(&tx, stream, &mut line, &secrets).await
        {
            return;
        }
    }
    if !line.is_empty() {
        emit(&tx, stream, &mut line, &secrets).await;
    }
}

/// Sends one line (without its line ending) and empties the buffer; false
/// once nobody listens any more.
async fn emit(
    tx: &mpsc::Sender<RunnerEvent>,
    stream: Stream,
    line: &mut Vec<u8>,
    secrets: &[String],
) -> bool {
    let end = line.strip_suffix(b"\n").map_or(line.len(), <[u8]>::len);
    let end = line[..end].strip_suffix(b"\r").map_or(end, <[u8]>::len);
    let raw = String::from_utf8_lossy(&line[..end]);
    let text = masked(&raw, secrets);
    line.clear();
    tx.send(RunnerEvent::Line { stream, text }).await.is_ok()
}

/// A line with its secrets masked, also those that only show once the line is drawn: a secret
/// cut in two by an escape sequence or a control character (`hun\x1b[0mter2`) reads whole on a
/// screen. Such a line loses its colours.
fn masked(raw: &str, secrets: &[String]) -> String {
    let text = redact(raw, secrets);
    if crate::ui::text::is_clean(&text) {
        return text.into_owned();
    }
    let seen = crate::ui::text::clean(&text);
    match redact(&seen, secrets) {
        std::borrow::Cow::Owned(hidden) => hidden,
        std::borrow::Cow::Borrowed(_) => text.into_owned(),
    }
}

/// The single writer of the log and sender of events, so lines keep their
/// order and a slow consumer backs the flood up into the child's pipes.
async fn pump(
    mut rx: mpsc::Receiver<RunnerEvent>,
    mut log: BufWriter<File>,
    events: mpsc::Sender<RunnerEvent>,
) {
    let mut logging = true;
    let mut listening = true;
    while let Some(event) = rx.recv().await {
        if let (RunnerEvent::Line { text, .. }, true) = (&event, logging) {
            logging =
                log.write_all(text.as_bytes()).await.is_ok() && log.write_all(b"\n").await.is_ok();
            // Flushing when idle keeps `tail -f` live without a syscall per line.
            if logging && rx.is_empty() {
                logging = log.flush().await.is_ok();
            }
        }
        if listening {
            // The log keeps what the step wrote; what is shown has nothing left that could
            // steer the terminal (only colours stay).
            let event = match event {
                RunnerEvent::Line { stream, text } => RunnerEvent::Line {
                    stream,
                    text: crate::ui::text::sanitize_output(&text),
                },
                other => other,
            };
            listening = events.send(event).await.is_ok();
        }
    }
    let _ = log.flush().await;
}
