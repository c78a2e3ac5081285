//! Journal events (SPEC §7): what is appended, one JSON object per line.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Millisecond UTC timestamps, as `2026-11-21T23:58:00.123Z`.
pub mod ts_millis {
    use chrono::{DateTime, SecondsFormat, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&t.to_rfc3339_opts(SecondsFormat::Millis, true))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let s = String::deserialize(d)?;
        DateTime::parse_from_rfc3339(&s)
            .map(|t| t.with_timezone(&Utc))
            .map_err(serde::de::Error::custom)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChecklistRef {
    pub name: String,
    pub path: String,
    pub sha256: String,
}

/// How an attempt of a step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepOutcome {
    Succeeded,
    Failed,
    TimedOut,
    Aborted,
    /// The process of shipdeck itself was stopped by a signal while the step ran.
    Interrupted,
}

impl StepOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            StepOutcome::Succeeded => "succeeded",
            StepOutcome::Failed => "failed",
            StepOutcome::TimedOut => "timed out",
            StepOutcome::Aborted => "aborted",
            StepOutcome::Interrupted => "interrupted",
        }
    }
}

/// How a whole run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunOutcome {
    Succeeded,
    Failed,
    Aborted,
    Interrupted,
    /// Stopped at a step that needs a person (headless without `--assume-manual-done`).
    Stopped,
}

impl RunOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            RunOutcome::Succeeded => "succeeded",
            RunOutcome::Failed => "failed",
            RunOutcome::Aborted => "aborted",
            RunOutcome::Interrupted => "interrupted",
            RunOutcome::Stopped => "stopped",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    RunStarted {
        run: String,
        checklist: ChecklistRef,
        /// Secret values are already `••••` here.
        vars: BTreeMap<String, String>,
        user: String,
        host: String,
        pid: u32,
        mode: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        context: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        namespace: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        layout: Option<String>,
        /// The kubeconfig file the driver used, when it named one (flag or KUBECONFIG): a
        /// watcher on the same machine connects with it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        kubeconfig: Option<String>,
    },
    RunResumed {
        user: String,
        host: String,
        pid: u32,
    },
    StepStarted {
        step: String,
        attempt: u32,
        by: String,
        /// What ran: the command, action or wait, for the record.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        what: Option<String>,
    },
    StepFinished {
        step: String,
        attempt: u32,
        outcome: StepOutcome,
        #[serde(default)]
        exit_code: Option<i32>,
        #[serde(default)]
        signal: Option<i32>,
        duration_ms: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<String>,
    },
    /// The step's process started; its process group id lets a resumed run find leftovers.
    StepSpawned {
        step: String,
        attempt: u32,
        pgid: i32,
    },
    /// Written on resume for a step whose attempt never finished.
    StepInterrupted {
        step: String,
        attempt: u32,
    },
    StepSkipped {
        step: String,
        reason: String,
        by: String,
    },
    ManualDone {
        step: String,
        by: String,
    },
    SignedOff {
        step: String,
        by: String,
    },
    Comment {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        step: Option<String>,
        text: String,
        by: String,
    },
    RollbackStarted {
        step: String,
        by: String,
        command: String,
    },
    RollbackFinished {
        step: String,
        outcome: StepOutcome,
        #[serde(default)]
        exit_code: Option<i32>,
        duration_ms: u64,
    },
    ActionApplied {
        step: String,
        /// `set_image deployment/web web=registry/web:2.0`.
        action: String,
        target: String,
        before: String,
        after: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        revision_before: Option<i64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        revision_after: Option<i64>,
    },
    WaitSatisfied {
        step: String,
        what: String,
        duration_ms: u64,
    },
    WaitTimedOut {
        step: String,
        what: String,
        duration_ms: u64,
        message: String,
    },
    WaitFailed {
        step: String,
        what: String,
        duration_ms: u64,
        message: String,
    },
    ProbeStateChanged {
        probe: String,
        /// `unknown`, `green`, `amber` or `red`.
        from: String,
        to: String,
        detail: String,
    },
    /// A probe's numbers over one minute of the run, for the record's SLO summary.
    ProbeMinute {
        probe: String,
        #[serde(with = "ts_millis")]
        minute: DateTime<Utc>,
        requests: u32,
        errors: u32,
        p50_ms: u64,
        p95_ms: u64,
        max_ms: u64,
    },
    RollbackAdvised {
        /// The rule as written, e.g. `web error_rate > 5% for 30s`.
        rule: String,
        /// What breached it, e.g. `web error rate 12% > 5% for 30s`.
        detail: String,
    },
    RollbackAdviceCleared {
        rule: String,
    },
    RunFinished {
        outcome: RunOutcome,
        duration_ms: u64,
    },
}

/// One journal line: a timestamp and an event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    #[serde(with = "ts_millis")]
    pub ts: DateTime<Utc>,
    #[serde(flatten)]
    pub event: Event,
}

impl Entry {
    pub fn new(ts: DateTime<Utc>, event: Event) -> Self {
        Entry { ts, event }
    }

    /// Reads one journal line (without its `\n`), as every reader of a journal does: `None` for
    /// a blank line. The writer writes UTF-8 JSON only, so a line with a byte that is not UTF-8
    /// is damaged and unreadable like any other bad line, never read lossily.
    pub fn from_line(line: &[u8]) -> Result<Option<Entry>, String> {
        let text = std::str::from_utf8(line).map_err(|e| {
            let valid = e.valid_up_to();
            let col = String::from_utf8_lossy(&line[..valid]).chars().count() + 1;
            format!(
                "not UTF-8: byte 0x{:02x} at column {col} (the line is damaged)",
                line[valid]
            )
        })?;
        if text.trim().is_empty() {
            return Ok(None);
        }
        serde_json::from_str(text)
            .map(Some)
            .map_err(|e| e.to_string())
    }

    /// A line [`Entry::from_line`] rejected as not UTF-8, read with U+FFFD in place of its bad
    /// bytes: None when it is not UTF-8-damaged or does not parse even so. A damaged byte inside
    /// a text (a comment, an output path) must not drop the event: a lost `step_finished` would
    /// make `--resume` run a finished step again. Readers warn about the line.
    pub fn from_damaged_line(line: &[u8]) -> Option<Entry> {
        if std::str::from_utf8(line).is_ok() {
            return None;
        }
        serde_json::from_str(&String::from_utf8_lossy(line)).ok()
    }

    /// Events that end a step or a run are made durable with fsync.
    pub fn is_boundary(&self) -> bool {
        matches!(
            self.event,
            Event::RunStarted { .. }
                | Event::RunResumed { .. }
                | Event::StepStarted { .. }
                | Event::StepSpawned { .. }
                | Event::StepFinished { .. }
                | Event::StepInterrupted { .. }
                | Event::StepSkipped { .. }
                | Event::ManualDone { .. }
                | Event::RollbackStarted { .. }
                | Event::RollbackFinished { .. }
                | Event::RunFinished { .. }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn entry_round_trips_with_millisecond_timestamps() {
        let ts = Utc.with_ymd_and_hms(2026, 11, 21, 23, 58, 0).unwrap()
            + chrono::Duration::milliseconds(123);
        let e = Entry::new(
            ts,
            Event::StepFinished {
                step: "tests".into(),
                attempt: 1,
                outcome: StepOutcome::TimedOut,
                exit_code: None,
                signal: Some(9),
                duration_ms: 1500,
                message: None,
            },
        );
        let line = serde_json::to_string(&e).unwrap();
        assert_eq!(
            line,
            r#"{"ts":"2026-11-21T23:58:00.123Z","event":"step_finished","step":"tests","attempt":1,"outcome":"timed_out","exit_code":null,"signal":9,"duration_ms":1500}"#
        );
        assert_eq!(serde_json::from_str::<Entry>(&line).unwrap(), e);
        assert_eq!(Entry::from_line(line.as_bytes()), Ok(Some(e)));
    }

    #[test]
    fn a_line_that_is_not_utf8_is_unreadable_and_a_blank_one_is_nothing() {
        let line = br#"{"ts":"2026-11-21T23:58:00.123Z","event":"run_finished","outcome":"failed","duration_ms":1}"#;
        assert!(matches!(Entry::from_line(line), Ok(Some(_))));
        let mut damaged = line.to_vec();
        let at = damaged.iter().position(|b| *b == b'f').unwrap();
        damaged[at] = 0xe6;
        assert_eq!(
            Entry::from_line(&damaged),
            Err(format!(
                "not UTF-8: byte 0xe6 at column {} (the line is damaged)",
                at + 1
            ))
        );
        assert_eq!(Entry::from_line(b" \t\r"), Ok(None));
        assert!(Entry::from_line(b"{").is_err());
        // The byte broke a key ("failed" → "\u{fffd}ailed" is no outcome): nothing to read.
        assert_eq!(Entry::from_damaged_line(&damaged), None);
        // Inside free text it did not: the event is read, the byte replaced.
        let comment =
            br#"{"ts":"2026-11-21T23:58:00.123Z","event":"comment","text":"d_ploy","by":"bo"}"#;
        let mut damaged = comment.to_vec();
        let at = damaged.iter().position(|b| *b == b'_').unwrap();
        damaged[at] = 0xe9;
        assert!(Entry::from_line(&damaged).is_err());
        let e = Entry::from_damaged_line(&damaged).expect("read with U+FFFD");
        assert!(matches!(e.event, Event::Comment { ref text, .. } if text == "d\u{fffd}ploy"));
        assert_eq!(Entry::from_damaged_line(comment), None, "not damaged");
    }
}
