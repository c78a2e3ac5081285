//! Process groups of running steps: signal escalation, leftover cleanup, terminal hand-over.

use std::io::IsTerminal;
use std::process::ExitStatus;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::libc;
use nix::sys::signal::{SigSet, SigmaskHow, Signal, killpg};
use nix::unistd::{Pid, getpgrp};
use tokio::process::Child;
use tokio::time::{sleep, timeout};

use super::runner::Grace;

/// How long leftovers get between SIGTERM and SIGKILL.
const LEFTOVER_GRACE: Duration = Duration::from_millis(500);
const POLL: Duration = Duration::from_millis(20);

/// SIGINT, then SIGTERM, then SIGKILL to the whole group, each time waiting
/// for the main child only: leftovers are `clean_group`'s job.
pub(crate) async fn escalate(child: &mut Child, pgid: Pid, grace: Grace) -> Option<ExitStatus> {
    for (signal, wait) in [
        (Signal::SIGINT, grace.after_sigint),
        (Signal::SIGTERM, grace.after_sigterm),
    ] {
        let _ = killpg(pgid, signal);
        if let Ok(status) = timeout(wait, child.wait()).await {
            return status.ok();
        }
    }
    let _ = killpg(pgid, Signal::SIGKILL);
    child.wait().await.ok()
}

/// Ends whatever the step left running in its group, so nothing outlives it.
pub(crate) async fn clean_group(pgid: Pid) {
    if !group_alive(pgid) {
        return;
    }
    let _ = killpg(pgid, Signal::SIGTERM);
    // A stopped process only acts on SIGTERM once continued.
    let _ = killpg(pgid, Signal::SIGCONT);
    if gone_within(pgid, LEFTOVER_GRACE).await {
        return;
    }
    let _ = killpg(pgid, Signal::SIGKILL);
    // SIGKILL is not instant; callers expect the group gone when we return.
    gone_within(pgid, LEFTOVER_GRACE).await;
}

async fn gone_within(pgid: Pid, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        sleep(POLL).await;
        if !group_alive(pgid) {
            return true;
        }
    }
    false
}

/// Zombies do not count: under a PID 1 that never reaps (containers without an
/// init) killed orphans stay zombies forever, yet they run nothing.
fn group_alive(pgid: Pid) -> bool {
    match killpg(pgid, None) {
        Err(Errno::ESRCH) => false,
        _ => live_member_in_proc(pgid).unwrap_or(true),
    }
}

/// One process of a group, as procfs shows it.
struct Member {
    pid: i32,
    zombie: bool,
    /// Clock ticks after boot.
    start_ticks: u64,
    comm: String,
}

/// Scans procfs (memory only, so cheap enough to poll); `None` without /proc.
fn members(pgid: i32) -> Option<Vec<Member>> {
    let entries = std::fs::read_dir("/proc").ok()?;
    let mut out = Vec::new();
    for entry in entries.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // `pid (comm) state ppid pgrp …`; comm may contain spaces and parens.
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let fields: Vec<&str> = stat[close + 1..].split_whitespace().collect();
        if fields.get(2).and_then(|f| f.parse::<i32>().ok()) != Some(pgid) {
            continue;
        }
        out.push(Member {
            pid,
            zombie: fields.first() == Some(&"Z"),
            start_ticks: fields.get(19).and_then(|f| f.parse().ok()).unwrap_or(0),
            comm: stat[open + 1..close].to_string(),
        });
    }
    Some(out)
}

fn live_member_in_proc(pgid: Pid) -> Option<bool> {
    Some(members(pgid.as_raw())?.iter().any(|m| !m.zombie))
}

/// Live processes of group `pgid` that started at or after `since` (so a recycled
/// group id is not mistaken for a step's), as `pid comm` descriptions.
pub fn leftovers(pgid: i32, since: chrono::DateTime<chrono::Utc>) -> Vec<String> {
    let Some(list) = members(pgid) else {
        return Vec::new();
    };
    let boot = std::fs::read_to_string("/proc/stat").ok().and_then(|s| {
        s.lines()
            .find_map(|l| l.strip_prefix("btime ")?.trim().parse::<i64>().ok())
    });
    // SAFETY: sysconf only reads a system constant.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    list.into_iter()
        .filter(|m| !m.zombie)
        .filter(|m| match boot {
            Some(boot) => boot + (m.start_ticks / ticks) as i64 >= since.timestamp() - 1,
            None => true,
        })
        .map(|m| format!("{} {}", m.pid, m.comm))
        .collect()
}

/// Kills the group if `run_step` is dropped mid-run, and gives the terminal
/// back to shipdeck however the step ended.
pub(crate) struct GroupGuard {
    pub(crate) pgid: Pid,
    pub(crate) terminal: Option<Pid>,
    pub(crate) armed: bool,
}

impl GroupGuard {
    pub(crate) fn release(&mut self) {
        self.armed = false;
        if let Some(ours) = self.terminal.take() {
            set_foreground(ours);
        }
    }
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if self.armed {
            let _ = killpg(self.pgid, Signal::SIGKILL);
        }
        self.release();
    }
}

/// Runs in the forked child of an interactive step, before exec: the child makes its own
/// group the terminal's foreground (so its first read cannot race the parent's hand-over)
/// and restores the job-control signals a tmux pane may have left ignored — an ignored
/// SIGTTIN turns a read from the terminal into an error instead of a wait.
pub(crate) fn take_terminal() -> std::io::Result<()> {
    // SAFETY: sigprocmask, tcsetpgrp, getpgrp and signal are async-signal-safe.
    unsafe {
        let mut ttou: libc::sigset_t = std::mem::zeroed();
        let mut old: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut ttou);
        libc::sigaddset(&mut ttou, libc::SIGTTOU);
        libc::sigprocmask(libc::SIG_BLOCK, &ttou, &mut old);
        if libc::isatty(0) == 1 {
            libc::tcsetpgrp(0, libc::getpgrp());
        }
        for sig in [
            libc::SIGTTIN,
            libc::SIGTTOU,
            libc::SIGTSTP,
            libc::SIGINT,
            libc::SIGQUIT,
        ] {
            libc::signal(sig, libc::SIG_DFL);
        }
        libc::sigprocmask(libc::SIG_SETMASK, &old, std::ptr::null_mut());
    }
    Ok(())
}

/// An interactive step lives in its own group, so it must become the
/// terminal's foreground group or its first read stops it with SIGTTIN.
/// (The child also takes it itself before exec; see `take_terminal`.)
pub(crate) fn hand_terminal_to(pgid: Pid) {
    set_foreground(pgid);
    // The child may have been stopped by reading before the hand-over.
    let _ = killpg(pgid, Signal::SIGCONT);
}

/// shipdeck's own group when it is the terminal's foreground (so it may hand it over and
/// must take it back afterwards).
pub(crate) fn foreground_owner() -> Option<Pid> {
    let ours = getpgrp();
    // SAFETY: tcgetpgrp only reads the state of fd 0, which is always open.
    let fg = unsafe { libc::tcgetpgrp(0) };
    (std::io::stdin().is_terminal() && fg == ours.as_raw()).then_some(ours)
}

/// tcsetpgrp from a background group raises SIGTTOU, which would stop
/// shipdeck itself; blocking it on this thread makes the call just succeed.
fn set_foreground(pgrp: Pid) {
    let mut ttou = SigSet::empty();
    ttou.add(Signal::SIGTTOU);
    let Ok(old) = ttou.thread_swap_mask(SigmaskHow::SIG_BLOCK) else {
        return;
    };
    // SAFETY: plain FFI call on fd 0 with a valid process group id.
    unsafe { libc::tcsetpgrp(0, pgrp.as_raw()) };
    let _ = old.thread_set_mask();
}
