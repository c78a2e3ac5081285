//! One driver per run (SPEC §6): `RUNS_DIR/<slug>/<run-id>.lock` names the process driving it.
//! Created with O_EXCL, removed when the driver ends; a lock whose process is gone (kill -9,
//! power loss) is stale and taken over with a warning.

use serde::{Deserialize, Serialize};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// Who holds a run's lock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    pub pid: u32,
    pub user: String,
    pub host: String,
    /// When the lock was taken, RFC 3339 UTC.
    pub since: String,
    /// The process's start time (clock ticks since boot, from `/proc`), so a recycled pid is
    /// not taken for the driver.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<u64>,
}

impl Holder {
    pub fn by(&self) -> String {
        format!("{}@{}", self.user, self.host)
    }

    /// Whether the process that took the lock still runs (on this host).
    pub fn alive(&self) -> bool {
        let (_, host) = crate::paths::identity();
        if host != self.host {
            // Another machine sharing the runs dir: its pids mean nothing here.
            return true;
        }
        crate::paths::pid_alive(self.pid)
            && match (self.start, process_start(self.pid)) {
                (Some(a), Some(b)) => a == b,
                _ => true,
            }
    }
}

/// Where a journal's lock lives.
pub fn lock_path(journal: &Path) -> PathBuf {
    journal.with_extension("lock")
}

/// The live holder of a run's lock, if any.
pub fn holder(journal: &Path) -> Option<Holder> {
    read(&lock_path(journal)).filter(Holder::alive)
}

fn read(path: &Path) -> Option<Holder> {
    let text = std::fs::read_to_string(path).ok()?;
    serde_json::from_str(&text).ok()
}

/// A process's start time in clock ticks since boot (`/proc/PID/stat` field 22).
fn process_start(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_name = &stat[stat.rfind(')')? + 1..];
    after_name.split_whitespace().nth(19)?.parse().ok()
}

/// The lock held by this process; removed on drop.
#[derive(Debug)]
pub struct RunLock {
    path: PathBuf,
}

impl RunLock {
    /// Takes the run's lock. Err names the live holder; Ok carries a warning when a stale lock
    /// was taken over.
    pub fn acquire(journal: &Path) -> Result<(RunLock, Option<String>), String> {
        let path = lock_path(journal);
        let (user, host) = crate::paths::identity();
        let me = Holder {
            pid: std::process::id(),
            user,
            host,
            since: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            start: process_start(std::process::id()),
        };
        let mut warning = None;
        for _ in 0..3 {
            match create(&path, &me) {
                Ok(()) => return Ok((RunLock { path }, warning)),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(format!("cannot create the lock {}: {e}", path.display())),
            }
            match read(&path) {
                Some(h) if h.pid == me.pid && h.host == me.host => {
                    return Ok((RunLock { path }, warning));
                }
                Some(h) if h.alive() => {
                    return Err(format!(
                        "this run is being driven by {} (pid {}, since {}); follow it with `shipdeck watch` instead, or end that process first",
                        h.by(),
                        h.pid,
                        h.since
                    ));
                }
                Some(h) => {
                    warning = Some(format!(
                        "took over the run from {} (pid {} is no longer running; its lock from {} was stale)",
                        h.by(),
                        h.pid,
                        h.since
                    ))
                }
                None => {
                    warning = Some(format!(
                        "took over the run: its lock {} was unreadable",
                        path.display()
                    ))
                }
            }
            // Stale: remove and try again (another process may win the race; then it holds it).
            let _ = std::fs::remove_file(&path);
        }
        Err(format!(
            "cannot take the lock {}: another process keeps taking it",
            path.display()
        ))
    }
}

fn create(path: &Path, me: &Holder) -> std::io::Result<()> {
    crate::journal_io::ensure_parent(path)?;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    let text = serde_json::to_string(me).map_err(std::io::Error::other)?;
    f.write_all(format!("{text}\n").as_bytes())?;
    f.sync_data()
}

impl Drop for RunLock {
    fn drop(&mut self) {
        // Only our own lock: a takeover by someone else is theirs now.
        if read(&self.path).is_some_and(|h| h.pid == std::process::id()) {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_acquire_in_another_process_is_refused_and_stale_is_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        let journal = dir.path().join("s/20261122T000000Z-aaaa.jsonl");
        let (lock, warn) = RunLock::acquire(&journal).unwrap();
        assert!(warn.is_none());
        assert_eq!(holder(&journal).unwrap().pid, std::process::id());
        // A live holder that is not us: pid 1 (init) is always alive.
        let (user, host) = crate::paths::identity();
        let other = Holder {
            pid: 1,
            user: "ana".into(),
            host: host.clone(),
            since: "2026-11-22T00:00:00Z".into(),
            start: None,
        };
        std::fs::write(lock_path(&journal), serde_json::to_string(&other).unwrap()).unwrap();
        let err = RunLock::acquire(&journal).unwrap_err();
        assert!(
            err.contains(&format!("ana@{host}")) && err.contains("pid 1"),
            "{err}"
        );
        // Dropping our handle must not remove someone else's lock.
        drop(lock);
        assert!(lock_path(&journal).exists());
        // A dead pid: stale, taken over with a warning naming the old holder.
        let dead = Holder {
            pid: 999_999_999,
            user: user.clone(),
            ..other
        };
        std::fs::write(lock_path(&journal), serde_json::to_string(&dead).unwrap()).unwrap();
        let (lock, warn) = RunLock::acquire(&journal).unwrap();
        let warn = warn.unwrap();
        assert!(
            warn.contains("999999999") && warn.contains("stale"),
            "{warn}"
        );
        drop(lock);
        assert!(!lock_path(&journal).exists());
    }
}
