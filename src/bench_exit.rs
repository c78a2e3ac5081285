//! A hook for benchmark scripts (bench/compare.sh): leave the cockpit when a condition holds
//! and say how long it took. Off unless `SHIPDECK_BENCH_EXIT` is set.

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
    pub fn report(&self) {
        use std::io::Write;
        let ms = ms_since_process_start().unwrap_or(f64::NAN);
        let mut keys = self.key_ms.clone();
        keys.sort_by(f64::total_cmp);
        let extra = match (keys.get(keys.len() / 2), keys.last()) {
            (Some(med), Some(max)) => format!(" keys {} {med:.1} {max:.1}", keys.len()),
            _ => String::new(),
        };
        let _ = writeln!(
            std::io::stderr(),
            "SHIPDECK_BENCH {} {ms:.1}{extra}",
            self.what
        );
    }
}

fn warn_bad_bench_spec(spec: &str) {
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "shipdeck: ignoring SHIPDECK_BENCH_EXIT={spec:?} (want first-frame, pods=N or logs=N, comma-separated)"
    );
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
}
