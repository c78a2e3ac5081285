//! Hooks for benchmark scripts (bench/compare.sh, bench/chaos.sh): leave the cockpit when a
//! condition holds and say how long it took (`SHIPDECK_BENCH_EXIT`), and write down what the
//! cockpit received from the cluster (`SHIPDECK_BENCH_LOGS`). Off unless set.

use crate::core::msg::{KubeMsg, LogStreamState, Msg};
use std::io::Write;

/// `SHIPDECK_BENCH_EXIT`, for benchmark scripts timing the real cockpit: leave as soon as
/// every condition holds and print `SHIPDECK_BENCH <what> <ms since process start>` to
/// stderr. Conditions (comma-separated, all must hold): `first-frame` (a frame was drawn),
/// `pods=N` (a frame was drawn while the model knew at least N pods), `logs=N` (N log lines
/// were received in `Msg::Logs` batches). Unset: nothing changes.
#[derive(Debug, Default, PartialEq)]
pub struct Bench {
    what: String,
    first_frame: bool,
    pods: Option<usize>,
    logs: Option<usize>,
    pub frames_drawn: bool,
    /// The most pods the model knew when a frame was drawn.
    pub pods_drawn: usize,
    pub log_lines: usize,
    /// When the oldest key not yet on screen reached the app loop.
    pub key_at: Option<std::time::Instant>,
    /// For each key: ms from reaching the app loop to the end of the frame that showed it.
    pub key_ms: Vec<f64>,
}

impl Bench {
    pub fn from_env() -> Option<Bench> {
        let spec = std::env::var("SHIPDECK_BENCH_EXIT").ok()?;
        let b = Bench::parse(&spec);
        if b.is_none() {
            warn_bad_bench_spec(&spec);
        }
        b
    }

    fn parse(spec: &str) -> Option<Bench> {
        let mut b = Bench {
            what: spec.trim().to_string(),
            ..Bench::default()
        };
        for cond in spec.split(',').map(str::trim) {
            match cond.split_once('=') {
                None if cond == "first-frame" => b.first_frame = true,
                Some(("pods", n)) => b.pods = Some(n.parse().ok()?),
                Some(("logs", n)) => b.logs = Some(n.parse().ok()?),
                _ => return None,
            }
        }
        Some(b)
    }

    pub fn done(&self) -> bool {
        (!self.first_frame || self.frames_drawn)
            && self
                .pods
                .is_none_or(|n| self.frames_drawn && self.pods_drawn >= n)
            && self.logs.is_none_or(|n| self.log_lines >= n)
    }

    /// A frame was drawn: the keys that waited for it are on screen.
    pub fn drawn(&mut self) {
        if let Some(at) = self.key_at.take() {
            self.key_ms.push(at.elapsed().as_secs_f64() * 1000.0);
        }
    }

    /// `SHIPDECK_BENCH <what> <ms>`, then `keys <n> <median ms> <max ms>` when keys came.
    /// Prints the line, with the log lines held and dropped (the buffer's cap at work) last:
    /// `SHIPDECK_BENCH <what> <ms> [keys <n> <median> <max>] held <n> dropped <n>`.
    pub fn report(&self, logs: &crate::core::logs::LogBuffer) {
        let ms = ms_since_process_start().unwrap_or(f64::NAN);
        let mut keys = self.key_ms.clone();
        keys.sort_by(f64::total_cmp);
        let extra = match (keys.get(keys.len() / 2), keys.last()) {
            (Some(med), Some(max)) => format!(" keys {} {med:.1} {max:.1}", keys.len()),
            _ => String::new(),
        };
        let _ = writeln!(
            std::io::stderr(),
            "SHIPDECK_BENCH {} {ms:.1}{extra} held {} dropped {}",
            self.what,
            logs.lines.len(),
            logs.dropped
        );
    }
}

fn warn_bad_bench_spec(spec: &str) {
    let _ = writeln!(
        std::io::stderr(),
        "shipdeck: ignoring SHIPDECK_BENCH_EXIT={spec:?} (want first-frame, pods=N or logs=N, comma-separated)"
    );
}

/// `SHIPDECK_BENCH_LOGS=FILE`: what the cockpit received from the cluster, appended to FILE
/// (created 0600) as each message reaches the app loop and flushed at once, so the file is
/// whole even if the cockpit is killed. One record a line, tab-separated, AT being
/// milliseconds since the epoch when the app loop got it:
///
/// - `line POD TS TEXT AT`: a log line; TS as the log API sent it (RFC 3339, nanoseconds),
///   TEXT with `\`, tab, CR and LF escaped as `\\`, `\t`, `\r`, `\n` (as in the demo
///   cluster's ledger, `shipdeck demo --log-ledger`, so the two can be compared line by line);
/// - `stale STREAM AT` and `live STREAM AT`: a cluster stream (workloads, pods, events, logs)
///   broke, or is whole again;
/// - `logstream POD STATE AT`: a pod's log follower attached, detached or is retrying.
pub struct Received {
    out: std::io::BufWriter<std::fs::File>,
    failed: bool,
}

impl Received {
    pub fn from_env() -> Option<Received> {
        let path = std::env::var_os("SHIPDECK_BENCH_LOGS")?;
        match Received::open(std::path::Path::new(&path)) {
            Ok(r) => Some(r),
            Err(e) => {
                let _ = writeln!(
                    std::io::stderr(),
                    "shipdeck: ignoring SHIPDECK_BENCH_LOGS={}: {e}",
                    path.to_string_lossy()
                );
                None
            }
        }
    }

    fn open(path: &std::path::Path) -> std::io::Result<Received> {
        use std::os::unix::fs::OpenOptionsExt;
        let f = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o600)
            .open(path)?;
        Ok(Received {
            out: std::io::BufWriter::new(f),
            failed: false,
        })
    }

    /// Writes down what this message brings, if it is one of the kinds above.
    pub fn observe(&mut self, msg: &Msg) {
        if self.failed {
            return;
        }
        let at = chrono::Utc::now().timestamp_millis();
        let stream = |s: &crate::core::msg::Stream| format!("{s:?}").to_lowercase();
        let ok = match msg {
            Msg::Logs(lines) => lines.iter().all(|l| {
                writeln!(
                    self.out,
                    "line\t{}\t{}\t{}\t{at}",
                    l.pod,
                    l.ts.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true),
                    crate::sim::ledger::escape(&l.text)
                )
                .is_ok()
            }),
            Msg::Kube(KubeMsg::Stale { stream: s, .. }) => {
                writeln!(self.out, "stale\t{}\t{at}", stream(s)).is_ok()
            }
            Msg::Kube(KubeMsg::Live { stream: s }) => {
                writeln!(self.out, "live\t{}\t{at}", stream(s)).is_ok()
            }
            Msg::LogStream { pod, state } => {
                let state = match state {
                    LogStreamState::Attached => "attached",
                    LogStreamState::Detached => "detached",
                    LogStreamState::Retrying(_) => "retrying",
                };
                writeln!(self.out, "logstream\t{pod}\t{state}\t{at}").is_ok()
            }
            _ => return,
        };
        // A bench hook that cannot write stops writing; the cockpit goes on.
        self.failed = !(ok && self.out.flush().is_ok());
    }
}

/// Milliseconds since the kernel started this process: `/proc/self/stat` field 22
/// (starttime, in clock ticks since boot — 10 ms steps, so this reads 0–10 ms high) against
/// CLOCK_BOOTTIME, the clock that field counts on.
fn ms_since_process_start() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name (field 2) may hold spaces: count fields after its closing paren.
    let rest = &stat[stat.rfind(')')? + 1..];
    let start_ticks: f64 = rest.split_whitespace().nth(19)?.parse().ok()?;
    use nix::libc;
    // SAFETY: sysconf has no preconditions; clock_gettime writes only into `now`.
    let (hz, now) = unsafe {
        let mut now = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        let hz = libc::sysconf(libc::_SC_CLK_TCK);
        (
            hz,
            (libc::clock_gettime(libc::CLOCK_BOOTTIME, &mut now) == 0).then_some(now),
        )
    };
    let now = now?;
    if hz <= 0 {
        return None;
    }
    let now_ms = now.tv_sec as f64 * 1000.0 + now.tv_nsec as f64 / 1e6;
    Some(now_ms - start_ticks * 1000.0 / hz as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bench_exit_conditions() {
        assert_eq!(Bench::parse("nonsense"), None);
        assert_eq!(Bench::parse("pods=x"), None);
        let mut b = Bench::parse("first-frame").unwrap();
        assert!(!b.done());
        b.frames_drawn = true;
        assert!(b.done());
        let mut b = Bench::parse("pods=3, logs=10").unwrap();
        b.frames_drawn = true;
        b.pods_drawn = 3;
        assert!(!b.done(), "logs too");
        b.log_lines = 10;
        assert!(b.done());
        let ms = ms_since_process_start().unwrap();
        assert!((0.0..3_600_000.0).contains(&ms), "{ms}");
    }

    #[test]
    fn received_lines_and_stream_changes_are_written_as_they_come() {
        use crate::core::msg::{LogLine, Stream};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("received.tsv");
        let mut r = Received::open(&path).unwrap();
        let ts = chrono::DateTime::parse_from_rfc3339("2026-12-07T10:00:00.000000123Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        let line = |text: &str| LogLine {
            pod: "web-1".into(),
            ts,
            text: text.into(),
        };
        r.observe(&Msg::Logs(vec![line("GET /health 200"), line("a\tb\\c")]));
        r.observe(&Msg::Kube(KubeMsg::Stale {
            stream: Stream::Pods,
            since: ts,
            error: "connection refused".into(),
        }));
        r.observe(&Msg::Kube(KubeMsg::Live {
            stream: Stream::Pods,
        }));
        r.observe(&Msg::LogStream {
            pod: "web-1".into(),
            state: LogStreamState::Retrying("cut".into()),
        });
        r.observe(&Msg::Tick(ts));
        // Flushed as it comes: readable before the writer is dropped.
        let text = std::fs::read_to_string(&path).unwrap();
        let rows: Vec<Vec<&str>> = text.lines().map(|l| l.split('\t').collect()).collect();
        let heads: Vec<&[&str]> = rows.iter().map(|r| &r[..r.len() - 1]).collect();
        assert_eq!(
            heads,
            vec![
                &[
                    "line",
                    "web-1",
                    "2026-12-07T10:00:00.000000123Z",
                    "GET /health 200"
                ][..],
                &[
                    "line",
                    "web-1",
                    "2026-12-07T10:00:00.000000123Z",
                    "a\\tb\\\\c"
                ],
                &["stale", "pods"],
                &["live", "pods"],
                &["logstream", "web-1", "retrying"],
            ]
        );
        assert!(
            rows.iter()
                .all(|r| r.last().unwrap().parse::<i64>().is_ok())
        );
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
