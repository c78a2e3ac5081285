//! Follows a run's journal as other processes append to it: the driver sees a watcher's
//! sign-offs and comments, a watcher sees everything the driver records and the running step's
//! output (read from its log file). Polled every 100 ms, so new events are on screen well within
//! half a second; only whole lines are read, so a write in progress is never half-parsed.

use crate::core::journal::{Entry, Event};
use crate::core::msg::Msg;
use crate::journal_io::OwnLines;
use crate::paths::step_log_path;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::sync::mpsc;

pub const POLL: Duration = Duration::from_millis(100);

/// Reads the whole lines appended to a file since the last read.
#[derive(Debug)]
pub struct LineTail {
    path: PathBuf,
    file: Option<File>,
    /// Where the next unread line starts.
    pub offset: u64,
}

impl LineTail {
    pub fn new(path: &Path, offset: u64) -> Self {
        LineTail {
            path: path.to_path_buf(),
            file: None,
            offset,
        }
    }

    /// New complete lines with the offset each starts at. A missing file is no lines yet.
    pub fn poll(&mut self) -> io::Result<Vec<(u64, Vec<u8>)>> {
        if self.file.is_none() {
            match File::open(&self.path) {
                Ok(f) => self.file = Some(f),
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
                Err(e) => return Err(e),
            }
        }
        let Some(file) = self.file.as_mut() else {
            return Ok(Vec::new());
        };
        if file.metadata()?.len() <= self.offset {
            return Ok(Vec::new());
        }
        file.seek(SeekFrom::Start(self.offset))?;
        let mut buf = Vec::new();
        // Bounded per poll: a huge backlog is read over several polls.
        file.take(4 << 20).read_to_end(&mut buf)?;
        let Some(last) = buf.iter().rposition(|b| *b == b'\n') else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        let mut start = 0;
        for (i, b) in buf[..=last].iter().enumerate() {
            if *b == b'\n' {
                out.push((self.offset + start as u64, buf[start..i].to_vec()));
                start = i + 1;
            }
        }
        self.offset += last as u64 + 1;
        Ok(out)
    }
}

/// Follows a journal from `offset`; lines this process wrote (`own`) are skipped.
pub struct JournalTail {
    lines: LineTail,
    own: Option<OwnLines>,
}

impl JournalTail {
    pub fn new(path: &Path, offset: u64, own: Option<OwnLines>) -> Self {
        JournalTail {
            lines: LineTail::new(path, offset),
            own,
        }
    }

    /// New events written by other processes, each line read as the journal reader reads it
    /// ([`Entry::from_line`], and [`Entry::from_damaged_line`] for a line that is not UTF-8).
    /// Unreadable lines are skipped and the tail goes on (a reader of the whole journal reports
    /// them).
    pub fn poll(&mut self) -> io::Result<Vec<Entry>> {
        let lines = self.lines.poll()?;
        if lines.is_empty() {
            return Ok(Vec::new());
        }
        // Only the bookkeeping under the lock: the writer waits on it.
        let foreign: Vec<Vec<u8>> = match &self.own {
            Some(own) => {
                let mut own = own.lock().unwrap_or_else(|e| e.into_inner());
                lines
                    .into_iter()
                    .filter(|(at, _)| !own.remove(at))
                    .map(|(_, l)| l)
                    .collect()
            }
            None => lines.into_iter().map(|(_, l)| l).collect(),
        };
        Ok(foreign
            .iter()
            .filter_map(|l| {
                Entry::from_line(l)
                    .ok()
                    .flatten()
                    .or_else(|| Entry::from_damaged_line(l))
            })
            .collect())
    }
}

/// The running step's output, for a watcher: its log file followed from the start.
struct OutputTail {
    step: String,
    /// As the output pane numbers it: the attempt, or `u32::MAX` for a rollback.
    attempt: u32,
    lines: LineTail,
}

/// What a watcher follows when it starts: the running step attempt or rollback, and how many
/// rollbacks each step has had (their logs are numbered).
#[derive(Debug, Clone, Default)]
pub struct Following {
    /// (step, attempt, is a rollback); for a rollback, `attempt` is its number.
    pub running: Option<(String, u32, bool)>,
    pub rollbacks: std::collections::BTreeMap<String, u32>,
}

/// Spawns the follower thread. `follow`: what runs when it starts (a watcher follows its
/// output); `outputs`: whether to follow step output at all (the driver has its own).
pub fn spawn(mut tail: JournalTail, follow: Following, outputs: bool, tx: mpsc::Sender<Msg>) {
    let journal = tail.lines.path.clone();
    let output = move |step: String, attempt: u32, rollback: bool| {
        let (name, shown) = if rollback {
            (format!("{step}.rollback"), u32::MAX)
        } else {
            (step.clone(), attempt)
        };
        OutputTail {
            lines: LineTail::new(&step_log_path(&journal, &name, attempt), 0),
            step,
            attempt: shown,
        }
    };
    let mut rollbacks = follow.rollbacks;
    let mut current = follow
        .running
        .filter(|_| outputs)
        .map(|(s, a, r)| output(s, a, r));
    let spawned = std::thread::Builder::new()
        .name("journal-tail".into())
        .spawn(move || {
            let mut polls = 0u32;
            let mut driver = None;
            loop {
                // A watcher also follows who drives: about once a second, from the lock.
                if outputs && polls.is_multiple_of(10) {
                    let now = crate::lock::holder(&tail.lines.path).map(|h| h.by());
                    if polls == 0 || now != driver {
                        driver = now.clone();
                        if tx.blocking_send(Msg::Driver(now)).is_err() {
                            return;
                        }
                    }
                }
                polls = polls.wrapping_add(1);
                let entries = tail.poll().unwrap_or_default();
                // Output first: a step's last lines arrive before its end is shown. A step that
                // ended in this batch is drained and dropped, one that started is followed.
                for e in &entries {
                    match &e.event {
                        Event::StepStarted { step, attempt, .. } if outputs => {
                            if let Some(c) = current.as_mut()
                                && !drain(c, &tx)
                            {
                                return;
                            }
                            current = Some(output(step.clone(), *attempt, false));
                        }
                        Event::RollbackStarted { step, .. } if outputs => {
                            if let Some(c) = current.as_mut()
                                && !drain(c, &tx)
                            {
                                return;
                            }
                            let n = rollbacks.entry(step.clone()).or_default();
                            *n += 1;
                            current = Some(output(step.clone(), *n, true));
                        }
                        Event::StepFinished { step, attempt, .. }
                            if current
                                .as_ref()
                                .is_some_and(|c| &c.step == step && c.attempt == *attempt) =>
                        {
                            if let Some(c) = current.as_mut()
                                && !drain(c, &tx)
                            {
                                return;
                            }
                            current = None;
                        }
                        Event::RollbackFinished { step, .. }
                            if current
                                .as_ref()
                                .is_some_and(|c| &c.step == step && c.attempt == u32::MAX) =>
                        {
                            if let Some(c) = current.as_mut()
                                && !drain(c, &tx)
                            {
                                return;
                            }
                            current = None;
                        }
                        _ => {}
                    }
                }
                if let Some(c) = current.as_mut()
                    && !drain(c, &tx)
                {
                    return;
                }
                if !entries.is_empty() && tx.blocking_send(Msg::Journal(entries)).is_err() {
                    return;
                }
                if tx.is_closed() {
                    return;
                }
                std::thread::sleep(POLL);
            }
        });
    // Without the thread the screen still shows this process's own doings; nothing is lost.
    drop(spawned);
}

/// Sends the new lines of a step's log; false when the receiver is gone.
fn drain(c: &mut OutputTail, tx: &mpsc::Sender<Msg>) -> bool {
    for (_, line) in c.lines.poll().unwrap_or_default() {
        let msg = Msg::StepLine {
            step: c.step.clone(),
            attempt: c.attempt,
            line: String::from_utf8_lossy(&line).into_owned(),
        };
        if tx.blocking_send(msg).is_err() {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal_io::JournalWriter;
    use chrono::Utc;
    use std::io::Write;

    fn comment(text: &str, by: &str) -> Entry {
        Entry::new(
            Utc::now(),
            Event::Comment {
                step: None,
                text: text.into(),
                by: by.into(),
            },
        )
    }

    #[test]
    fn tail_skips_own_lines_and_waits_for_whole_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s/run.jsonl");
        let mut driver = JournalWriter::create(&path).unwrap();
        let own = driver.track_own();
        let mut tail = JournalTail::new(&path, 0, Some(own));
        driver.append(&comment("mine", "ana@box")).unwrap();
        let mut watcher = JournalWriter::open_shared(&path).unwrap();
        watcher.append(&comment("theirs", "bo@desk")).unwrap();
        driver.append(&comment("mine again", "ana@box")).unwrap();
        let got = tail.poll().unwrap();
        assert_eq!(got, vec![comment_like(&got, "theirs")]);
        // Half a line (a write in progress) is left for the next poll.
        let mut raw = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        let line = serde_json::to_string(&comment("late", "cy@lab")).unwrap();
        let (a, b) = line.split_at(20);
        raw.write_all(a.as_bytes()).unwrap();
        assert!(tail.poll().unwrap().is_empty());
        raw.write_all(format!("{b}\n").as_bytes()).unwrap();
        let got = tail.poll().unwrap();
        assert_eq!(got.len(), 1);
        assert!(matches!(&got[0].event, Event::Comment { text, .. } if text == "late"));
        assert!(tail.poll().unwrap().is_empty());
    }

    #[test]
    fn a_shared_writer_never_glues_its_line_onto_a_torn_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.jsonl");
        let mut driver = JournalWriter::create(&path).unwrap();
        driver.append(&comment("before", "ana@box")).unwrap();
        // The driver died mid-write.
        let mut raw = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        raw.write_all(br#"{"ts":"2026-11-22T00:00:00.000Z","ev"#)
            .unwrap();
        let mut watcher = JournalWriter::open_shared(&path).unwrap();
        let own = watcher.track_own();
        watcher.append(&comment("signed", "bo@desk")).unwrap();
        watcher.append(&comment("again", "bo@desk")).unwrap();
        let read = crate::journal_io::read_journal(&path).unwrap();
        let texts: Vec<String> = read
            .entries
            .iter()
            .filter_map(|e| match &e.event {
                Event::Comment { text, .. } => Some(text.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(texts, ["before", "signed", "again"]);
        assert_eq!(
            read.warnings.len(),
            1,
            "only the torn line: {:?}",
            read.warnings
        );
        // The watcher's own tail skips both of its lines, wherever they start.
        let mut tail = JournalTail::new(&path, 0, Some(own));
        let got = tail.poll().unwrap();
        assert_eq!(got.len(), 1, "{got:?}");
        assert!(
            std::fs::read_to_string(&path)
                .unwrap()
                .lines()
                .all(|l| !l.is_empty())
        );
    }

    #[test]
    fn a_watcher_follows_the_next_step_when_one_ends_and_the_next_starts_in_one_poll() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s/run.jsonl");
        let mut driver = JournalWriter::create(&path).unwrap();
        let ev = |e: Event| Entry::new(Utc::now(), e);
        let started = |step: &str| {
            ev(Event::StepStarted {
                step: step.into(),
                attempt: 1,
                by: "ana@box".into(),
                what: None,
            })
        };
        let log = |step: &str, text: &str| {
            let p = step_log_path(&path, step, 1);
            crate::journal_io::ensure_parent(&p).unwrap();
            let mut f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
                .unwrap();
            writeln!(f, "{text}").unwrap();
        };
        log("a", "a1");
        driver.append(&started("a")).unwrap();
        let (tx, mut rx) = mpsc::channel(64);
        spawn(
            JournalTail::new(&path, 0, None),
            Following::default(),
            true,
            tx,
        );
        // Within one poll: a's end, b's start and b's first line.
        log("b", "b1");
        driver
            .append(&ev(Event::StepFinished {
                step: "a".into(),
                attempt: 1,
                outcome: crate::core::journal::StepOutcome::Succeeded,
                exit_code: Some(0),
                signal: None,
                duration_ms: 1,
                message: None,
            }))
            .unwrap();
        driver.append(&started("b")).unwrap();
        let mut lines = Vec::new();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while !lines.contains(&"b:b2".to_string()) && std::time::Instant::now() < deadline {
            match rx.try_recv() {
                Ok(Msg::StepLine { step, line, .. }) => {
                    lines.push(format!("{step}:{line}"));
                    // b goes on after the batch that started it.
                    if line == "b1" {
                        log("b", "b2");
                    }
                }
                Ok(_) => {}
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
        assert_eq!(lines, ["a:a1", "b:b1", "b:b2"]);
    }

    fn comment_like(got: &[Entry], text: &str) -> Entry {
        got.iter()
            .find(|e| matches!(&e.event, Event::Comment { text: t, .. } if t == text))
            .cloned()
            .unwrap_or_else(|| panic!("no comment {text:?} in {got:?}"))
    }

    #[test]
    fn tail_starts_at_an_offset_and_tolerates_a_missing_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.jsonl");
        let mut lines = LineTail::new(&path, 0);
        assert!(lines.poll().unwrap().is_empty());
        std::fs::write(&path, "one\ntwo\n").unwrap();
        let mut from_two = LineTail::new(&path, 4);
        assert_eq!(from_two.poll().unwrap(), vec![(4, b"two".to_vec())]);
        assert_eq!(lines.poll().unwrap().len(), 2);
    }
}
