//! A run's session: the loaded checklist, its journal, and the state replayed from it.

use crate::config::checklist::Checklist;
use crate::config::diag::Diagnostic;
use crate::config::load::{LoadOptions, load_checklist, load_file};
use crate::core::journal::{ChecklistRef, Entry, Event};
use crate::core::redact::MASK;
use crate::core::run::RunState;
use crate::journal_io::{JournalWriter, read_journal};
use crate::paths;
use chrono::Utc;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// A checklist as loaded from disk, with what identifies its source.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub checklist: Checklist,
    pub path: PathBuf,
    pub sha256: String,
    /// Set when the file was Markdown imported in memory.
    pub import_summary: Option<String>,
}

pub fn is_markdown(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| matches!(e.to_ascii_lowercase().as_str(), "md" | "markdown" | "txt"))
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Loads a YAML checklist, or imports a Markdown one in memory.
pub fn load_any(path: &Path, opts: &LoadOptions) -> Result<Loaded, Vec<Diagnostic>> {
    if !is_markdown(path) {
        let (checklist, text) = load_file(path, opts)?;
        return Ok(Loaded {
            checklist,
            path: path.to_path_buf(),
            sha256: sha256_hex(text.as_bytes()),
            import_summary: None,
        });
    }
    let text = crate::config::load::read_source(path).map_err(|d| vec![d])?;
    let import = crate::config::markdown::import_markdown(&text);
    let name = format!("{} (imported)", path.display());
    let checklist = load_checklist(&import.yaml, &name, opts)?;
    Ok(Loaded {
        checklist,
        path: path.to_path_buf(),
        sha256: sha256_hex(text.as_bytes()),
        import_summary: Some(import.summary.to_string()),
    })
}

/// The cluster connection a run uses: context, namespace, and the kubeconfig file if named.
pub type InUse = (String, String, Option<String>);

/// An open run: the journal being appended to and the state it describes.
pub struct Session {
    pub run_id: String,
    pub journal: JournalWriter,
    pub state: RunState,
    /// `user@host` of this process.
    pub by: String,
    pub secrets: Vec<String>,
    pub warnings: Vec<String>,
    /// This process drives the run; a second driver is refused while it lives.
    pub lock: Option<crate::lock::RunLock>,
    /// Where this process's own lines start in the journal, for a tail that must skip them.
    pub own: crate::journal_io::OwnLines,
    /// The journal bytes the state was replayed from: a tail picks up from here.
    pub tail_from: u64,
}

impl Session {
    /// Starts a new run with a fresh journal.
    /// `cluster`: the (context, namespace) actually in use, when connected.
    pub fn start(
        loaded: &Loaded,
        runs_dir: &Path,
        mode: &str,
        layout: Option<&str>,
        cluster_in_use: Option<InUse>,
    ) -> std::io::Result<Self> {
        let now = Utc::now();
        let run_id = paths::new_run_id(now);
        let slug = paths::checklist_slug(&loaded.checklist.name);
        let path = paths::journal_path(runs_dir, &slug, &run_id);
        let (lock, _) = crate::lock::RunLock::acquire(&path).map_err(std::io::Error::other)?;
        let in_path = |what: &str, e: std::io::Error| {
            std::io::Error::new(e.kind(), format!("cannot {what} {}: {e}", path.display()))
        };
        let mut journal = JournalWriter::create(&path).map_err(|e| in_path("create", e))?;
        let own = journal.track_own();
        let (user, host) = paths::identity();
        let cluster = loaded.checklist.cluster.as_ref();
        let mut session = Session {
            run_id: run_id.clone(),
            journal,
            state: RunState::default(),
            by: format!("{user}@{host}"),
            secrets: run_secrets(&loaded.checklist),
            warnings: Vec::new(),
            lock: Some(lock),
            own,
            tail_from: 0,
        };
        let started = session.record(Event::RunStarted {
            run: run_id,
            checklist: ChecklistRef {
                name: loaded.checklist.name.clone(),
                path: absolute(&loaded.path),
                sha256: loaded.sha256.clone(),
            },
            vars: redacted_vars(&loaded.checklist),
            user,
            host,
            pid: std::process::id(),
            mode: mode.into(),
            context: cluster_in_use
                .as_ref()
                .map(|c| c.0.clone())
                .or_else(|| cluster.and_then(|c| c.context.clone())),
            namespace: cluster_in_use
                .as_ref()
                .map(|c| c.1.clone())
                .or_else(|| cluster.and_then(|c| c.namespace.clone())),
            layout: layout.map(str::to_string),
            kubeconfig: cluster_in_use.as_ref().and_then(|c| c.2.clone()),
        });
        if let Err(e) = started {
            // Nothing ran and nothing usable was recorded (at most a torn line): leave no run
            // behind that `runs` and `--resume` would have to make sense of.
            let _ = std::fs::remove_file(&path);
            let _ = std::fs::remove_file(crate::lock::lock_path(&path));
            return Err(in_path("write the journal", e));
        }
        Ok(session)
    }

    /// Reopens a run's journal. Steps that were running when its driver died become
    /// interrupted (recorded as new events; nothing is rewritten).
    pub fn resume(loaded: &Loaded, journal_path: &Path) -> Result<Self, String> {
        // The lock first: what is read after it is all a previous driver ever wrote.
        let run_name = journal_path
            .file_stem()
            .map_or_else(String::new, |s| s.to_string_lossy().into_owned());
        let (lock, took_over) = crate::lock::RunLock::acquire(journal_path)
            .map_err(|e| format!("cannot resume run {run_name}: {e}"))?;
        let read = read_journal(journal_path)
            .map_err(|e| format!("cannot read {}: {e}", journal_path.display()))?;
        let mut state = RunState::replay(&read.entries);
        if state.run_id.is_empty() {
            return Err(format!(
                "{} has no run_started event: not a shipdeck journal",
                journal_path.display()
            ));
        }
        let mut warnings = read.warnings;
        warnings.extend(took_over);
        if let Some(c) = &state.checklist
            && c.sha256 != loaded.sha256
        {
            warnings.push(format!(
                "the checklist changed since run {} started (sha256 {} → {}); steps are matched by id",
                state.run_id,
                &c.sha256[..12.min(c.sha256.len())],
                &loaded.sha256[..12]
            ));
        }
        let interrupted = state.mark_unfinished_interrupted();
        let mut journal = JournalWriter::open_append(journal_path)
            .map_err(|e| format!("cannot append to {}: {e}", journal_path.display()))?;
        let own = journal.track_own();
        let (user, host) = paths::identity();
        let mut session = Session {
            run_id: state.run_id.clone(),
            journal,
            state,
            by: format!("{user}@{host}"),
            secrets: run_secrets(&loaded.checklist),
            warnings,
            lock: Some(lock),
            own,
            tail_from: read.complete_len,
        };
        let io = |e: std::io::Error| format!("cannot append to {}: {e}", journal_path.display());
        session
            .record(Event::RunResumed {
                user,
                host,
                pid: std::process::id(),
            })
            .map_err(io)?;
        for (step, attempt) in interrupted {
            session
                .record(Event::StepInterrupted { step, attempt })
                .map_err(io)?;
        }
        Ok(session)
    }

    /// Appends an event to the journal and applies it to the state.
    pub fn record(&mut self, event: Event) -> std::io::Result<()> {
        let entry = Entry::new(Utc::now(), event);
        let entry = crate::core::redact::redact_entry(&entry, &self.secrets).unwrap_or(entry);
        self.journal.append(&entry)?;
        self.state.apply(&entry);
        Ok(())
    }

    pub fn journal_path(&self) -> &Path {
        self.journal.path()
    }
}

/// Header names whose values are credentials.
fn is_credential_header(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    [
        "auth", "token", "key", "secret", "cookie", "session", "password",
    ]
    .iter()
    .any(|w| name.contains(w))
}

/// What a run masks in everything it records and shows: the values of `secret: true` vars, and
/// the credentials the probes send (credential header values and their `Scheme credential`
/// part, URL passwords), should a step print one of them too.
pub fn run_secrets(c: &Checklist) -> Vec<String> {
    let mut out = c.secrets();
    for p in &c.probes {
        for (name, value) in &p.request_headers {
            if !is_credential_header(name) {
                continue;
            }
            out.push(value.clone());
            if let Some((_, credential)) = value.split_once(' ') {
                out.push(credential.trim().to_string());
            }
        }
        if let Some(pw) = url_password(&p.url) {
            out.push(pw);
        }
    }
    out.retain(|s| !s.is_empty() && s != MASK);
    out.sort();
    out.dedup();
    out
}

/// The password of `scheme://user:password@host/…`.
fn url_password(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let (userinfo, _) = authority.rsplit_once('@')?;
    let (_, pw) = userinfo.split_once(':')?;
    (!pw.is_empty()).then(|| pw.to_string())
}

fn absolute(path: &Path) -> String {
    std::fs::canonicalize(path)
        .unwrap_or_else(|_| path.to_path_buf())
        .display()
        .to_string()
}

/// Vars for the record, with secret values masked.
pub fn redacted_vars(c: &Checklist) -> std::collections::BTreeMap<String, String> {
    c.vars
        .iter()
        .map(|v| {
            let value = if v.secret {
                MASK.to_string()
            } else {
                v.value.clone().unwrap_or_default()
            };
            (v.name.clone(), value)
        })
        .collect()
}

/// The vars a run recorded, as `--var` overrides for re-reading its checklist (titles and
/// commands as the run saw them). Secrets are masked in the journal, so they are left out.
pub fn recorded_overrides(state: &RunState) -> Vec<(String, String)> {
    state
        .vars
        .iter()
        .filter(|(_, v)| v.as_str() != MASK)
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}
