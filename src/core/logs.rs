//! The merged log tail of every followed pod: time-ordered, bounded, filterable.

use super::msg::{LogLine, LogStreamState};
use std::collections::{BTreeMap, VecDeque};

/// Lines kept when the checklist does not say (`cluster.logs.max_lines`).
pub const DEFAULT_LOG_CAP: usize = 20_000;

/// Per-pod state of its log stream.
#[derive(Debug, Clone, PartialEq)]
pub struct PodLog {
    /// Index into the theme's pod palette, fixed for the pod's life.
    pub colour: usize,
    pub state: LogStreamState,
    pub lines: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LogBuffer {
    pub lines: VecDeque<LogLine>,
    pub cap: usize,
    /// Lines dropped from the front to stay within `cap`.
    pub dropped: u64,
    pub pods: BTreeMap<String, PodLog>,
    /// Case-insensitive text a line (or its pod name) must contain; empty shows all.
    pub filter: String,
    /// Following the tail (false: the view stays where it is while lines arrive).
    pub follow: bool,
    /// Lines scrolled up from the tail of the filtered view.
    pub scroll: usize,
    next_colour: usize,
}

impl Default for LogBuffer {
    fn default() -> Self {
        LogBuffer::new(DEFAULT_LOG_CAP)
    }
}

impl LogBuffer {
    pub fn new(cap: usize) -> Self {
        LogBuffer {
            lines: VecDeque::new(),
            cap: cap.max(1),
            dropped: 0,
            pods: BTreeMap::new(),
            filter: String::new(),
            follow: true,
            scroll: 0,
            next_colour: 0,
        }
    }

    fn pod(&mut self, pod: &str) -> &mut PodLog {
        if !self.pods.contains_key(pod) {
            let colour = self.next_colour;
            self.next_colour += 1;
            self.pods.insert(
                pod.to_string(),
                PodLog {
                    colour,
                    state: LogStreamState::Attached,
                    lines: 0,
                },
            );
        }
        self.pods.get_mut(pod).expect("inserted above")
    }

    /// Adds lines in time order (usually at the end; late lines slot in by timestamp).
    pub fn push_batch(&mut self, batch: Vec<LogLine>) {
        let mut added = 0usize;
        let f = self.filter.to_lowercase();
        for line in batch {
            let visible = matches_lower(&line, &f);
            self.pod(&line.pod).lines += 1;
            match self.lines.back() {
                Some(last) if last.ts > line.ts => {
                    let at = self.lines.partition_point(|l| l.ts <= line.ts);
                    self.lines.insert(at, line);
                }
                _ => self.lines.push_back(line),
            }
            if visible {
                added += 1;
            }
        }
        while self.lines.len() > self.cap {
            self.lines.pop_front();
            self.dropped += 1;
        }
        if !self.follow {
            self.scroll += added;
        }
    }

    pub fn set_state(&mut self, pod: &str, state: LogStreamState) {
        self.pod(pod).state = state;
    }

    pub fn matches(&self, line: &LogLine) -> bool {
        matches_lower(line, &self.filter.to_lowercase())
    }

    /// The lines the pane shows, oldest first. The filter is lowered once per call, not per
    /// line: this runs over up to the whole buffer on every frame.
    pub fn visible(&self) -> impl DoubleEndedIterator<Item = &LogLine> {
        let f = self.filter.to_lowercase();
        self.lines.iter().filter(move |l| matches_lower(l, &f))
    }
}

fn matches_lower(line: &LogLine, f: &str) -> bool {
    f.is_empty() || contains_lower(&line.text, f) || contains_lower(&line.pod, f)
}

/// `hay.to_lowercase().contains(lower)`, without lowering a copy of `hay` when both are ASCII
/// (nearly every log line): a filtered pane tests every held line on every frame.
fn contains_lower(hay: &str, lower: &str) -> bool {
    if !(hay.is_ascii() && lower.is_ascii()) {
        return hay.to_lowercase().contains(lower);
    }
    let (h, n) = (hay.as_bytes(), lower.as_bytes());
    let Some((&first, rest)) = n.split_first() else {
        return true;
    };
    h.len() >= n.len()
        && (0..=h.len() - n.len()).any(|i| {
            h[i].to_ascii_lowercase() == first
                && h[i + 1..i + n.len()]
                    .iter()
                    .zip(rest)
                    .all(|(a, b)| a.to_ascii_lowercase() == *b)
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn line(pod: &str, s: i64, text: &str) -> LogLine {
        LogLine {
            pod: pod.into(),
            ts: Utc.timestamp_opt(1_800_000_000 + s, 0).unwrap(),
            text: text.into(),
        }
    }

    #[test]
    fn merges_in_time_order_and_stays_bounded() {
        let mut b = LogBuffer::new(3);
        b.push_batch(vec![line("a", 1, "a1"), line("a", 3, "a3")]);
        b.push_batch(vec![line("b", 2, "b2")]);
        let texts: Vec<&str> = b.visible().map(|l| l.text.as_str()).collect();
        assert_eq!(texts, ["a1", "b2", "a3"]);
        b.push_batch(vec![line("b", 4, "b4")]);
        let texts: Vec<&str> = b.visible().map(|l| l.text.as_str()).collect();
        assert_eq!(texts, ["b2", "a3", "b4"]);
        assert_eq!(b.dropped, 1);
        assert_ne!(b.pods["a"].colour, b.pods["b"].colour);
    }

    #[test]
    fn filter_ignores_case_like_lowering_a_copy() {
        let cases = [
            ("GET /health 200", "health"),
            ("ERROR db down", "error"),
            ("ERROR db down", "db down"),
            ("ERROR db down", "down!"),
            ("err", "error"),
            ("Straße GESPERRT", "gesperrt"),
            ("Straße GESPERRT", "straße"),
            ("ἈΡΧΉ", "ἀρχή"),
            ("plain", "ß"),
            ("x", ""),
            ("", "x"),
        ];
        for (hay, f) in cases {
            let f = f.to_lowercase();
            assert_eq!(
                contains_lower(hay, &f),
                hay.to_lowercase().contains(&f),
                "{hay:?} {f:?}"
            );
        }
    }

    #[test]
    fn filter_and_paused_view() {
        let mut b = LogBuffer::new(100);
        b.push_batch(vec![
            line("web-1", 1, "GET /health 200"),
            line("web-2", 2, "ERROR db down"),
        ]);
        b.filter = "error".into();
        assert_eq!(b.visible().count(), 1);
        b.filter = "web-1".into();
        assert_eq!(b.visible().next().unwrap().text, "GET /health 200");
        b.filter.clear();
        b.follow = false;
        b.push_batch(vec![line("web-1", 3, "x"), line("web-1", 4, "y")]);
        assert_eq!(b.scroll, 2, "a paused view keeps its place");
    }
}
