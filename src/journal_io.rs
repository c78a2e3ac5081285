//! Append-only JSONL journal files: one whole line per write, fsync at step boundaries,
//! torn last lines tolerated on read.

use crate::core::journal::Entry;
use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::Seek;
use std::io::{self, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

pub struct JournalWriter {
    file: File,
    path: PathBuf,
    /// Start offsets of the lines this writer appended, for a tail that must skip them.
    own: Option<OwnLines>,
    /// A writer sharing another's journal must not glue its line onto a torn one: when the file
    /// does not end with a newline, one goes first (readers skip a blank line, should the other
    /// writer's line complete in between).
    lead_newline: bool,
}

/// Byte offsets where this process's own lines start in a shared journal.
pub type OwnLines = Arc<Mutex<HashSet<u64>>>;

/// Creates `path`'s parent directories (0700 for new ones).
pub fn ensure_parent(path: &Path) -> io::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(parent)?;
    }
    Ok(())
}

use std::os::unix::fs::DirBuilderExt;

impl JournalWriter {
    /// Creates a new journal; fails if it already exists, so nothing is ever overwritten.
    pub fn create(path: &Path) -> io::Result<Self> {
        ensure_parent(path)?;
        let file = OpenOptions::new()
            .append(true)
            .create_new(true)
            .mode(0o600)
            .open(path)?;
        Ok(JournalWriter {
            file,
            path: path.to_path_buf(),
            own: None,
            lead_newline: false,
        })
    }

    /// Opens an existing journal for appending (resume, sign-offs from another process).
    /// A torn last line is closed with a newline first so the next event starts clean.
    pub fn open_append(path: &Path) -> io::Result<Self> {
        let mut file = OpenOptions::new().append(true).read(true).open(path)?;
        let mut content = Vec::new();
        (&file).read_to_end(&mut content)?;
        if content.last().is_some_and(|b| *b != b'\n') {
            file.write_all(b"\n")?;
        }
        Ok(JournalWriter {
            file,
            path: path.to_path_buf(),
            own: None,
            lead_newline: false,
        })
    }

    /// Opens a journal another process drives, to append sign-offs and comments. Unlike
    /// [`open_append`](Self::open_append) it never touches what is there: a line that looks torn
    /// may be the driver's write in progress.
    pub fn open_shared(path: &Path) -> io::Result<Self> {
        let file = OpenOptions::new().append(true).read(true).open(path)?;
        Ok(JournalWriter {
            file,
            path: path.to_path_buf(),
            own: None,
            lead_newline: true,
        })
    }

    /// From now on, remembers where each appended line starts, so a tail of the same file in
    /// this process can tell its own lines from other writers'.
    pub fn track_own(&mut self) -> OwnLines {
        self.own.get_or_insert_with(Default::default).clone()
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn ends_with_newline(&self) -> io::Result<bool> {
        use std::os::unix::fs::FileExt;
        let len = self.file.metadata()?.len();
        if len == 0 {
            return Ok(true);
        }
        let mut last = [0u8];
        self.file.read_at(&mut last, len - 1)?;
        Ok(last[0] == b'\n')
    }

    /// Appends one event as a single `write` (O_APPEND keeps concurrent writers' lines whole).
    /// A failed write (disk full) may leave part of the line behind: the next append then
    /// starts on a line of its own, so that the torn one is all that is lost.
    pub fn append(&mut self, entry: &Entry) -> io::Result<()> {
        let written = self.append_line(entry);
        if written.is_err() {
            self.lead_newline = true;
        }
        written
    }

    fn append_line(&mut self, entry: &Entry) -> io::Result<()> {
        let mut line = Vec::with_capacity(256);
        let lead = self.lead_newline && !self.ends_with_newline()?;
        if lead {
            line.push(b'\n');
        }
        serde_json::to_writer(&mut line, entry).map_err(io::Error::other)?;
        line.push(b'\n');
        match &self.own {
            // Held across the write, so a tail that read the line finds its offset recorded.
            Some(own) => {
                let mut own = own.lock().unwrap_or_else(|e| e.into_inner());
                self.file.write_all(&line)?;
                let end = self.file.stream_position()?;
                own.insert(end - line.len() as u64 + u64::from(lead));
            }
            None => self.file.write_all(&line)?,
        }
        if entry.is_boundary() {
            self.file.sync_data()?;
        }
        Ok(())
    }
}

/// A journal as read back: its events and what was wrong with it.
#[derive(Debug, Default)]
pub struct ReadJournal {
    pub entries: Vec<Entry>,
    pub warnings: Vec<String>,
    /// Bytes up to the end of the last whole line: where a tail of the same file goes on.
    pub complete_len: u64,
}

pub fn read_journal(path: &Path) -> io::Result<ReadJournal> {
    let bytes = std::fs::read(path)?;
    Ok(parse_journal(&bytes, &path.display().to_string()))
}

/// Parses journal bytes. A bad last line without its newline is a torn write from a crash and
/// is ignored with a warning; any other bad line is skipped with a warning naming its line. A
/// line that is not UTF-8 is damaged: it is read with U+FFFD in place of the bad bytes when it
/// still parses ([`Entry::from_damaged_line`]), with a warning, and skipped otherwise.
pub fn parse_journal(bytes: &[u8], name: &str) -> ReadJournal {
    let mut out = ReadJournal {
        complete_len: bytes
            .iter()
            .rposition(|b| *b == b'\n')
            .map_or(0, |i| i as u64 + 1),
        ..ReadJournal::default()
    };
    let complete = bytes.last() == Some(&b'\n');
    let mut lines: Vec<&[u8]> = bytes.split(|b| *b == b'\n').collect();
    if complete || bytes.is_empty() {
        lines.pop();
    }
    for (i, line) in lines.iter().enumerate() {
        match Entry::from_line(line) {
            Ok(Some(e)) => out.entries.push(e),
            Ok(None) => {}
            Err(err) => {
                let n = i + 1;
                // The unterminated last line is a torn write, whatever it holds.
                let torn = n == lines.len() && !complete;
                let damaged = if torn {
                    None
                } else {
                    Entry::from_damaged_line(line)
                };
                out.warnings.push(match (torn, &damaged) {
                    (true, _) => format!(
                        "{name}:{n}: ignored a torn last line (the writer stopped mid-write)"
                    ),
                    (false, Some(_)) => format!(
                        "{name}:{n}: read a damaged event with its bad bytes replaced: {err}"
                    ),
                    (false, None) => format!("{name}:{n}: ignored an unreadable event: {err}"),
                });
                out.entries.extend(damaged);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::journal::Event;
    use chrono::Utc;

    fn comment(text: &str) -> Entry {
        Entry::new(
            Utc::now(),
            Event::Comment {
                step: None,
                text: text.into(),
                by: "a@b".into(),
            },
        )
    }

    #[test]
    fn torn_last_line_is_a_warning_and_append_starts_clean() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x/run.jsonl");
        let mut w = JournalWriter::create(&path).unwrap();
        w.append(&comment("one")).unwrap();
        drop(w);
        let mode = std::fs::metadata(&path).unwrap().permissions();
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(mode.mode() & 0o777, 0o600);
        // Simulate a crash mid-write.
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(br#"{"ts":"2026-11-21T00:00:00.000Z","event":"comm"#)
            .unwrap();
        let read = read_journal(&path).unwrap();
        assert_eq!(read.entries.len(), 1);
        assert_eq!(read.warnings.len(), 1);
        assert!(
            read.warnings[0].contains("torn last line"),
            "{:?}",
            read.warnings
        );
        let mut w = JournalWriter::open_append(&path).unwrap();
        w.append(&comment("two")).unwrap();
        let read = read_journal(&path).unwrap();
        assert_eq!(read.entries.len(), 2);
        assert!(read.warnings[0].contains(":2: ignored an unreadable event"));
        assert!(JournalWriter::create(&path).is_err(), "never overwrite");
    }
}
