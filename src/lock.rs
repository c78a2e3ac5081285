//! One driver per run (SPEC §6): `RUNS_DIR/<slug>/<run-id>.lock` beside the journal.
//!
//! The driver holds an exclusive `flock` on that file for as long as it runs, and writes who it
//! is into it (pid, user@host, since). The kernel drops the lock when the process ends however it
//! ends (kill -9, power loss of a container), so a lock is live exactly while its holder runs —
//! no pid guessing. A lock file left by a holder that is gone is stale: the next driver takes it
//! and says from whom.

use nix::fcntl::{Flock, FlockArg};
use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// Who holds (or last held) a run's lock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    pub pid: u32,
    pub user: String,
    pub host: String,
    /// When the lock was taken, RFC 3339 UTC.
    pub since: String,
}

impl Holder {
    pub fn by(&self) -> String {
        format!("{}@{}", self.user, self.host)
    }

    fn unknown() -> Holder {
        Holder {
            pid: 0,
            user: "someone".into(),
            host: "?".into(),
            since: "just now".into(),
        }
    }
}

/// Where a journal's lock lives.
pub fn lock_path(journal: &Path) -> PathBuf {
    journal.with_extension("lock")
}

fn open(path: &Path) -> std::io::Result<File> {
    crate::journal_io::ensure_parent(path)?;
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path)
}

fn read_holder(file: &mut File) -> Option<Holder> {
    let mut text = String::new();
    file.seek(SeekFrom::Start(0)).ok()?;
    file.read_to_string(&mut text).ok()?;
    serde_json::from_str(text.trim()).ok()
}

/// The live holder of a run's lock, if anybody drives the run now.
pub fn holder(journal: &Path) -> Option<Holder> {
    let file = File::open(lock_path(journal)).ok()?;
    match Flock::lock(file, FlockArg::LockSharedNonblock) {
        // Nobody holds it: whatever the file says is history.
        Ok(_) => None,
        Err((mut file, _)) => Some(read_holder(&mut file).unwrap_or_else(Holder::unknown)),
    }
}

/// The lock held by this process: released (and its file emptied) on drop.
#[derive(Debug)]
pub struct RunLock {
    file: Flock<File>,
}

impl RunLock {
    /// Takes the run's lock. Err names the live holder; Ok carries a warning when the lock of a
    /// driver that is gone was taken over.
    pub fn acquire(journal: &Path) -> Result<(RunLock, Option<String>), String> {
        let path = lock_path(journal);
        let file =
            open(&path).map_err(|e| format!("cannot open the lock {}: {e}", path.display()))?;
        let mut file = match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(f) => f,
            Err((mut file, nix::errno::Errno::EWOULDBLOCK)) => {
                let h = read_holder(&mut file).unwrap_or_else(Holder::unknown);
                return Err(format!(
                    "this run is being driven by {} (pid {}, since {}); follow it with `shipdeck watch` instead, or end that process first",
                    h.by(),
                    h.pid,
                    h.since
                ));
            }
            Err((_, e)) => return Err(format!("cannot lock {}: {e}", path.display())),
        };
        let warning = read_holder(&mut file).map(|h| {
            format!(
                "took over the run from {} (pid {} is no longer running; its lock from {} was stale)",
                h.by(),
                h.pid,
                h.since
            )
        });
        let (user, host) = crate::paths::identity();
        let me = Holder {
            pid: std::process::id(),
            user,
            host,
            since: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        };
        let text = serde_json::to_string(&me).map_err(|e| e.to_string())?;
        let write = |f: &mut File| -> std::io::Result<()> {
            f.set_len(0)?;
            f.seek(SeekFrom::Start(0))?;
            f.write_all(format!("{text}\n").as_bytes())?;
            f.sync_data()
        };
        write(&mut file).map_err(|e| format!("cannot write the lock {}: {e}", path.display()))?;
        Ok((RunLock { file }, warning))
    }
}

impl Drop for RunLock {
    fn drop(&mut self) {
        // Emptied while still held, so nobody reads a finished driver as a stale one; the
        // file stays (removing it would let two processes lock two different files).
        let _ = self.file.set_len(0);
        // Whatever the process does next, it no longer drives a run: a panic must not write
        // into this journal any more.
        crate::exec::forget_journal();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_driver_is_refused_and_a_stale_lock_is_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        let journal = dir.path().join("s/20261122T000000Z-aaaa.jsonl");
        assert!(holder(&journal).is_none(), "no lock file: nobody drives");
        let (lock, warn) = RunLock::acquire(&journal).unwrap();
        assert!(warn.is_none());
        let h = holder(&journal).expect("held");
        assert_eq!(h.pid, std::process::id());
        // flock is per open file: a second acquire conflicts even in this process.
        let err = RunLock::acquire(&journal).unwrap_err();
        assert!(
            err.contains(&h.by()) && err.contains("being driven by"),
            "{err}"
        );
        drop(lock);
        assert!(holder(&journal).is_none(), "released on drop");
        // A driver that died without releasing: its holder text is still there.
        let dead = Holder {
            pid: 4242,
            user: "ana".into(),
            host: "box".into(),
            since: "2026-11-22T00:00:00Z".into(),
        };
        std::fs::write(lock_path(&journal), serde_json::to_string(&dead).unwrap()).unwrap();
        assert!(
            holder(&journal).is_none(),
            "not held: stale, whatever it says"
        );
        let (_lock, warn) = RunLock::acquire(&journal).unwrap();
        let warn = warn.unwrap();
        assert!(
            warn.contains("ana@box") && warn.contains("4242") && warn.contains("stale"),
            "{warn}"
        );
    }
}
