//! Where runs live (SPEC §7), run ids, and who is driving (`user@host`).

use crate::journal_io::read_journal;
use chrono::{DateTime, Utc};
use std::path::{Path, PathBuf};

/// `--runs-dir`, else `$XDG_STATE_HOME/shipdeck/runs`, else `~/.local/state/shipdeck/runs`.
pub fn runs_dir(flag: Option<&Path>) -> PathBuf {
    if let Some(p) = flag {
        return p.to_path_buf();
    }
    state_dir().join("runs")
}

pub fn state_dir() -> PathBuf {
    if let Some(x) = std::env::var_os("XDG_STATE_HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(x).join("shipdeck");
    }
    let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from);
    home.join(".local/state/shipdeck")
}

/// Run ids sort by time: `20261121T235800Z-3f2a`.
pub fn new_run_id(now: DateTime<Utc>) -> String {
    let nanos = now.timestamp_subsec_nanos() as u64;
    let mix = nanos ^ (u64::from(std::process::id()) << 20) ^ (now.timestamp() as u64);
    let mix = mix.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    format!(
        "{}-{:04x}",
        now.format("%Y%m%dT%H%M%SZ"),
        (mix >> 48) & 0xffff
    )
}

pub fn checklist_slug(name: &str) -> String {
    crate::config::load::slug(name)
}

pub fn journal_path(runs: &Path, slug: &str, run_id: &str) -> PathBuf {
    runs.join(slug).join(format!("{run_id}.jsonl"))
}

/// `RUNS_DIR/<slug>/<run-id>/<step-id>.<attempt>.log`, given the journal path.
pub fn step_log_path(journal: &Path, step: &str, attempt: u32) -> PathBuf {
    journal
        .with_extension("")
        .join(format!("{step}.{attempt}.log"))
}

/// `user@host` of whoever runs this process.
pub fn identity() -> (String, String) {
    let user = std::env::var("USER")
        .ok()
        .filter(|u| !u.is_empty())
        .or_else(|| {
            nix::unistd::User::from_uid(nix::unistd::getuid())
                .ok()
                .flatten()
                .map(|u| u.name)
        })
        .unwrap_or_else(|| "unknown".into());
    let host = nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok())
        .unwrap_or_else(|| "localhost".into());
    (user, host)
}

/// Every journal under the runs dir, optionally only those of one checklist slug.
pub fn all_journals(runs: &Path, slug: Option<&str>) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(dirs) = std::fs::read_dir(runs) else {
        return out;
    };
    for dir in dirs.flatten() {
        if slug.is_some_and(|s| dir.file_name().to_string_lossy() != s) {
            continue;
        }
        let Ok(files) = std::fs::read_dir(dir.path()) else {
            continue;
        };
        for f in files.flatten() {
            let p = f.path();
            if p.extension().is_some_and(|e| e == "jsonl") {
                out.push(p);
            }
        }
    }
    out.sort_by_key(|p| p.file_name().map(|n| n.to_os_string()));
    out
}

/// Resolves a RUN argument: a journal path, a run id, or a unique prefix of one.
pub fn find_run(runs: &Path, arg: &str) -> Result<PathBuf, String> {
    let as_path = Path::new(arg);
    if arg.ends_with(".jsonl") || as_path.is_file() {
        return if as_path.is_file() {
            Ok(as_path.to_path_buf())
        } else {
            Err(format!("no journal at {arg}"))
        };
    }
    let matches: Vec<PathBuf> = all_journals(runs, None)
        .into_iter()
        .filter(|p| {
            p.file_stem()
                .is_some_and(|s| s.to_string_lossy().starts_with(arg))
        })
        .collect();
    match matches.len() {
        0 => Err(format!(
            "no run `{arg}` in {} (see `shipdeck runs`)",
            runs.display()
        )),
        1 => Ok(matches[0].clone()),
        n => Err(format!(
            "`{arg}` matches {n} runs: {} — give more of the id",
            matches
                .iter()
                .filter_map(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// The newest run of a checklist slug that did not succeed, for `--resume` without an id.
pub fn newest_unfinished(runs: &Path, slug: &str) -> Option<PathBuf> {
    use crate::core::journal::{Event, RunOutcome};
    all_journals(runs, Some(slug)).into_iter().rev().find(|p| {
        read_journal(p).is_ok_and(|j| {
            !j.entries
                .iter()
                .rev()
                .find_map(|e| match &e.event {
                    Event::RunFinished { outcome, .. } => Some(*outcome == RunOutcome::Succeeded),
                    Event::RunResumed { .. } => Some(false),
                    _ => None,
                })
                .unwrap_or(false)
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn run_ids_sort_by_time() {
        let a = new_run_id(Utc.with_ymd_and_hms(2026, 11, 21, 23, 58, 0).unwrap());
        let b = new_run_id(Utc.with_ymd_and_hms(2026, 11, 22, 0, 1, 0).unwrap());
        assert!(a.starts_with("20261121T235800Z-") && a.len() == 21, "{a}");
        assert!(a < b);
    }
}
