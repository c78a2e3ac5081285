//! Each pod's log: a bounded ring of timestamped lines, a live feed, and plausible line text.

use chrono::{DateTime, Utc};
use rand::Rng;
use rand::rngs::SmallRng;
use std::collections::VecDeque;
use std::sync::Arc;
use tokio::sync::broadcast;

#[derive(Debug, Clone)]
pub struct LogLine {
    pub ts: DateTime<Utc>,
    pub text: Arc<str>,
}

/// Dropping it ends every follower's stream (the pod is gone).
pub struct PodLog {
    pub lines: VecDeque<LogLine>,
    pub tx: broadcast::Sender<LogLine>,
    cap: usize,
}

impl PodLog {
    pub fn new(cap: usize) -> PodLog {
        let (tx, _) = broadcast::channel(256);
        PodLog {
            lines: VecDeque::new(),
            tx,
            cap,
        }
    }

    /// Appends a line. A kubelet's timestamps only go forward, and `sinceTime` relies on it:
    /// a line stamped before the last one (a late tick, a backdated write) takes its time.
    pub fn push(&mut self, ts: DateTime<Utc>, text: String) {
        let ts = self.lines.back().map_or(ts, |last| last.ts.max(ts));
        let line = LogLine {
            ts,
            text: text.into(),
        };
        if self.lines.len() >= self.cap {
            self.lines.pop_front();
        }
        self.lines.push_back(line.clone());
        let _ = self.tx.send(line);
    }
}

/// What kind of program a container runs, from its image name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum App {
    Web,
    Postgres,
    Worker,
}

impl App {
    pub fn of(image: &str) -> App {
        let name = image.rsplit('/').next().unwrap_or(image);
        if name.starts_with("postgres") {
            App::Postgres
        } else if name.starts_with("web") {
            App::Web
        } else {
            App::Worker
        }
    }
}

/// The lines a container prints as it starts; the version is the image tag.
pub fn startup(app: App, name: &str, version: &str) -> Vec<String> {
    match app {
        App::Web => vec![
            format!("INFO {name} {version} starting (pid 1)"),
            "INFO connected to db:5432 (pool 10)".into(),
            format!("INFO {name} {version} listening on :8080"),
        ],
        App::Postgres => vec![
            format!("LOG:  starting PostgreSQL {version} on x86_64-pc-linux-gnu"),
            "LOG:  listening on IPv4 address \"0.0.0.0\", port 5432".into(),
            "LOG:  database system is ready to accept connections".into(),
        ],
        App::Worker => vec![
            format!("INFO {name} {version} starting"),
            "INFO worker ready, polling queue".into(),
        ],
    }
}

/// The last words of a container that crashes on start.
pub fn fatal(name: &str, version: &str) -> String {
    format!("FATAL {name} {version}: config key \"PAYMENTS_URL\" is not set; exiting with code 1")
}

pub fn shutdown(app: App) -> String {
    match app {
        App::Postgres => "LOG:  received fast shutdown request".into(),
        _ => "INFO received SIGTERM, draining connections".into(),
    }
}

/// Distinct lines in a burst pool; a burst cycles through them.
pub const BURST_POOL: usize = 1024;

/// The pre-generated lines a follow stream serves first in burst mode (`--log-burst`):
/// made once per kind of app, so a burst costs the server a copy, not a format, per line.
pub fn burst_pool(app: App, seed: u64) -> Arc<[Arc<str>]> {
    let mut rng = <SmallRng as rand::SeedableRng>::seed_from_u64(seed);
    (0..BURST_POOL)
        .map(|_| Arc::from(traffic(app, &mut rng)))
        .collect()
}

/// One line of steady-state traffic.
pub fn traffic(app: App, rng: &mut SmallRng) -> String {
    let roll: u32 = rng.random_range(0..100);
    match app {
        App::Web => match roll {
            0..55 => format!("INFO GET /health 200 {}ms", rng.random_range(1..6)),
            55..80 => format!("INFO GET /api/orders 200 {}ms", rng.random_range(18..90)),
            80..88 => format!("INFO POST /api/cart 201 {}ms", rng.random_range(25..140)),
            88..95 => format!(
                "INFO GET /api/products/{} 404 {}ms",
                rng.random_range(1000..9999),
                rng.random_range(2..9)
            ),
            _ => format!(
                "WARN slow request GET /api/orders 200 {}ms",
                rng.random_range(800..1900)
            ),
        },
        App::Postgres => match roll {
            0..70 => format!(
                "LOG:  duration: {}.{} ms  statement: SELECT * FROM orders WHERE id = $1",
                rng.random_range(0..9),
                rng.random_range(0..9)
            ),
            70..95 => format!(
                "LOG:  checkpoint complete: wrote {} buffers ({}.{}%)",
                rng.random_range(3..400),
                rng.random_range(0..3),
                rng.random_range(0..9)
            ),
            _ => "WARNING:  there is no transaction in progress".into(),
        },
        App::Worker => match roll {
            0..90 => format!(
                "INFO processed batch {} ({} jobs) in {}ms",
                rng.random_range(1..100_000),
                rng.random_range(1..50),
                rng.random_range(3..120)
            ),
            _ => format!(
                "WARN job {} retried (timeout)",
                rng.random_range(1..100_000)
            ),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn ring_is_bounded_and_followers_hear_new_lines() {
        let mut log = PodLog::new(3);
        let mut rx = log.tx.subscribe();
        for i in 0..5 {
            log.push(Utc::now(), format!("line {i}"));
        }
        assert_eq!(log.lines.len(), 3);
        assert_eq!(&*log.lines[0].text, "line 2");
        assert_eq!(&*rx.try_recv().unwrap().text, "line 0");
    }

    #[test]
    fn timestamps_only_go_forward() {
        let mut log = PodLog::new(10);
        let t = Utc::now();
        log.push(t, "a".into());
        log.push(t - chrono::Duration::milliseconds(30), "late".into());
        log.push(t + chrono::Duration::milliseconds(5), "b".into());
        let ts: Vec<_> = log.lines.iter().map(|l| l.ts).collect();
        assert_eq!(ts, [t, t, t + chrono::Duration::milliseconds(5)]);
    }

    #[test]
    fn lines_name_the_app_and_version() {
        let mut rng = SmallRng::seed_from_u64(1);
        assert!(
            startup(App::Web, "web", "2.0").contains(&"INFO web 2.0 listening on :8080".into())
        );
        assert_eq!(App::of("registry:5000/postgres:16"), App::Postgres);
        for _ in 0..50 {
            assert!(!traffic(App::Web, &mut rng).is_empty());
        }
    }

    #[test]
    fn burst_pool_is_traffic_of_the_app() {
        let pool = burst_pool(App::Worker, 3);
        assert_eq!(pool.len(), BURST_POOL);
        assert!(
            pool.iter()
                .all(|l| l.starts_with("INFO processed") || l.starts_with("WARN job"))
        );
    }
}
