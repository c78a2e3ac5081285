//! The demo cluster (SPEC §8): a Kubernetes API subset and a demo web app on 127.0.0.1, simulated.
//!
//! The world (objects, resourceVersions, pods and their logs, the controllers) lives apart from
//! the API server in front of it, as etcd and the kubelets do: [`Sim::restart_api`] restarts
//! the server alone (connections cut, port closed for a while, watch history forgotten) and
//! the world goes on meanwhile. A [`ledger`] can record every log line the pods write, for
//! checking what a client received.

mod api;
#[cfg(test)]
mod client_tests;
mod controller;
mod deploy_status;
mod deployments;
mod log_api;
mod logs;
mod patch;
mod pod_status;
mod pods;
mod replicasets;
mod resources;
mod rolling;
mod select;
mod server;
mod statefulsets;
mod store;
mod table;
mod watch;
mod web;
mod world;
mod write;

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

pub use server::Restarted;

/// How the demo's new version behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Scenario {
    /// Every version rolls out fine.
    #[default]
    Good,
    /// Version 2.0 rolls out, then its web app answers 20 % of requests with 500 and is slow.
    /// (A tag containing `crash`, e.g. `web:2.0-crash`, crash-loops in every scenario.)
    Bad,
}

#[derive(Debug, Clone)]
pub struct SimOptions {
    /// 0 (or None) picks a free port; a fixed port lets a test restart the server in place.
    pub port: Option<u16>,
    /// The demo web app's port; 0 (or None) picks a free one.
    pub web_port: Option<u16>,
    pub namespace: String,
    pub scenario: Scenario,
    /// Extra pods spread over several deployments, for scale tests (`--pods N`).
    pub pods: usize,
    /// Log lines per second per pod (`--log-rate L`).
    pub log_rate: f64,
    /// Burst mode (`--log-burst LINES`): every follow stream first serves this many
    /// pre-generated lines as fast as the client reads them, then goes on live. 0: off.
    pub log_burst: usize,
    /// Burst pacing (`--log-burst-rate R`): lines per second per stream; 0: as fast as the
    /// client reads.
    pub log_burst_rate: f64,
    /// Where the kubeconfig is written.
    pub dir: PathBuf,
    /// `spec.progressDeadlineSeconds` of the seeded deployments (tests shorten it).
    pub progress_deadline_seconds: i32,
    /// Record every log line, follow stream and restart ([`ledger`]); None: off.
    pub ledger: Option<ledger::To>,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            port: None,
            web_port: None,
            namespace: "shop".into(),
            scenario: Scenario::Good,
            pods: 0,
            log_rate: 2.0,
            log_burst: 0,
            log_burst_rate: 0.0,
            dir: std::env::temp_dir(),
            progress_deadline_seconds: 20,
            ledger: None,
        }
    }
}

/// A running demo cluster. Dropping it (or `stop`) ends the server and its simulation.
pub struct Sim {
    pub addr: SocketAddr,
    /// A kubeconfig whose current context points at this server, namespace `shop`.
    pub kubeconfig: PathBuf,
    /// The demo web app in front of the `web` pods (`GET /health`, `GET /`): `http://127.0.0.1:PORT`.
    pub web_url: String,
    shutdown: Option<tokio::sync::watch::Sender<bool>>,
    server: Option<tokio::task::JoinHandle<()>>,
    restarts: tokio::sync::mpsc::Sender<server::Restart>,
    ledger: Option<Arc<ledger::Ledger>>,
}

impl Sim {
    /// Restarts the API server as a real one restarts while etcd and the kubelets go on:
    /// every open connection (watches, log follows) is cut, the port refuses connections for
    /// `down`, then the server listens again on the same port with its watch history
    /// forgotten, so a watch from an older resourceVersion gets 410 Gone and its client
    /// relists. Objects, resourceVersions and pod logs are kept; the controllers and pods go
    /// on during the downtime (a rollout moves on while nobody can see it). Returns once the
    /// server listens again.
    pub async fn restart_api(&self, down: Duration) -> std::io::Result<Restarted> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let gone = || std::io::Error::other("the demo cluster's API server is not running");
        self.restarts
            .send(server::Restart { down, reply })
            .await
            .map_err(|_| gone())?;
        answer.await.map_err(|_| gone())?
    }

    /// What the ledger recorded so far (empty unless `SimOptions::ledger` is `To::Memory`).
    pub fn ledger(&self) -> Vec<ledger::Record> {
        self.ledger
            .as_ref()
            .map(|l| l.records())
            .unwrap_or_default()
    }

    /// Ends every watch and log stream, stops the server and waits until the port is free.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(true);
        }
        if let Some(server) = self.server.take() {
            let abort = server.abort_handle();
            // Streams end on the signal; anything still open after that is cut.
            if tokio::time::timeout(Duration::from_secs(3), server)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(true);
        }
    }
}

/// The kubeconfig kubectl and kube-rs use to reach the demo cluster.
fn kubeconfig_text(addr: SocketAddr, namespace: &str) -> String {
    format!(
        "apiVersion: v1
kind: Config
clusters:
- name: shipdeck-demo
  cluster:
    server: http://{addr}
contexts:
- name: shipdeck-demo
  context:
    cluster: shipdeck-demo
    namespace: {namespace}
    user: shipdeck-demo
current-context: shipdeck-demo
preferences: {{}}
users:
- name: shipdeck-demo
  user: {{}}
"
    )
}

fn write_kubeconfig(dir: &Path, addr: SocketAddr, namespace: &str) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join(format!("kubeconfig-{}.yaml", addr.port()));
    std::fs::write(&path, kubeconfig_text(addr, namespace))?;
    Ok(path)
}

fn listen(port: u16) -> std::io::Result<tokio::net::TcpListener> {
    let socket = tokio::net::TcpSocket::new_v4()?;
    // A restart on the same port must not trip over the last run's TIME_WAIT sockets.
    socket.set_reuseaddr(true)?;
    socket.bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))?;
    socket.listen(1024)
}

/// Either a stop or the Sim being dropped (the sender closes).
async fn stopped(mut stop: tokio::sync::watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

/// Starts the demo cluster and its web app on 127.0.0.1.
pub async fn start(opts: SimOptions) -> std::io::Result<Sim> {
    let listener = listen(opts.port.unwrap_or(0))?;
    let addr = listener.local_addr()?;
    let web_listener = listen(opts.web_port.unwrap_or(0))?;
    let web_url = format!("http://{}", web_listener.local_addr()?);
    // Versions grow across restarts, so a client's version from an earlier run is "too old".
    let start_rv = u64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_micros(),
    )
    .unwrap_or(1);
    let mut world = world::World::new(world::Config::from_options(&opts), start_rv);
    controller::seed(&mut world)?;
    let kubeconfig = write_kubeconfig(&opts.dir, addr, &opts.namespace)?;
    let ledger = opts
        .ledger
        .as_ref()
        .map(ledger::Ledger::new)
        .transpose()?
        .map(Arc::new);
    let (tx, rx) = tokio::sync::watch::channel(false);
    let shared = Arc::new(server::Shared::new(world, rx.clone(), addr, ledger.clone()));
    let app = axum::Router::new()
        .fallback(server::dispatch)
        .with_state(shared.clone());
    let web_app = web::router(shared.clone());
    let (restart_tx, restart_rx) = tokio::sync::mpsc::channel(4);
    let recorder = ledger
        .clone()
        .map(|l| tokio::spawn(ledger::record(shared.clone(), l)));
    let api = server::serve_api(listener, app, shared.clone(), restart_rx);
    let controllers = tokio::spawn(controller::run(shared));
    let server = tokio::spawn(async move {
        let web = axum::serve(web_listener, web_app).with_graceful_shutdown(stopped(rx));
        let _ = tokio::join!(api, async { web.await });
        let _ = controllers.await;
        if let Some(r) = recorder {
            let _ = r.await;
        }
    });
    Ok(Sim {
        addr,
        kubeconfig,
        web_url,
        shutdown: Some(tx),
        server: Some(server),
        restarts: restart_tx,
        ledger,
    })
}

/// A record of what a checker of log delivery needs to know: every line each pod wrote, when
/// each pod (and with it its log) went away, each log follow stream's start and end, and each
/// restart of the API server. Lines carry no sequence number (a pod's log is timestamped text,
/// as a kubelet's is): a line is known by its pod, its timestamp and its text.
pub mod ledger {
    use super::logs::LogLine;
    use super::server::Shared;
    use super::world::Key;
    use chrono::{DateTime, SecondsFormat, Utc};
    use std::collections::HashMap;
    use std::io::Write;
    use std::path::PathBuf;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::{Arc, Mutex};
    use std::time::Duration;
    use tokio::sync::broadcast::{self, error::TryRecvError};

    /// Where the record goes.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub enum To {
        /// Kept in memory and read with `Sim::ledger` (tests).
        Memory,
        /// Written to this file as it happens, one [`Record::tsv`] a line.
        File(PathBuf),
    }

    #[derive(Debug, Clone, PartialEq)]
    pub enum Record {
        /// A pod's container wrote a line; the pod's log holds it until the pod is removed
        /// (or, past the log's cap, until newer lines push it out).
        Line {
            pod: String,
            ts: DateTime<Utc>,
            text: Arc<str>,
        },
        /// The pod was removed: its log is no longer held.
        Gone { pod: String, at: DateTime<Utc> },
        /// A follow stream of a pod's log was asked for and answered (`id` pairs it with its end).
        Opened {
            pod: String,
            id: u64,
            at: DateTime<Utc>,
        },
        /// It ended. `complete`: the server ended the body (the pod was removed, or the server
        /// stopped), so everything it sent went out; false: the connection was cut or the
        /// client went away.
        Closed {
            pod: String,
            id: u64,
            at: DateTime<Utc>,
            complete: bool,
        },
        /// The API server went down: every connection cut, the port closed…
        Down { at: DateTime<Utc> },
        /// …and it listens again.
        Up { at: DateTime<Utc> },
        /// The recorder fell behind a pod's log and missed lines: the record is incomplete.
        Lagged { pod: String, missed: u64 },
    }

    fn ms(t: &DateTime<Utc>) -> i64 {
        t.timestamp_millis()
    }

    /// A line's timestamp as the log API sends it (RFC 3339, nanoseconds, `Z`).
    pub fn timestamp(ts: &DateTime<Utc>) -> String {
        ts.to_rfc3339_opts(SecondsFormat::Nanos, true)
    }

    /// Text for a tab-separated field: `\`, tab, CR and LF become `\\`, `\t`, `\r`, `\n`.
    pub fn escape(text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        for c in text.chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                '\t' => out.push_str("\\t"),
                '\r' => out.push_str("\\r"),
                '\n' => out.push_str("\\n"),
                c => out.push(c),
            }
        }
        out
    }

    impl Record {
        /// One line of the file, tab-separated: `line POD TS TEXT`, `gone POD AT`,
        /// `open POD ID AT`, `close POD ID AT complete|cut`, `down AT`, `up AT`,
        /// `lagged POD N`. TS is the line's [`timestamp`]; AT is milliseconds since the
        /// epoch; TEXT is [`escape`]d.
        pub fn tsv(&self) -> String {
            match self {
                Record::Line { pod, ts, text } => {
                    format!("line\t{pod}\t{}\t{}", timestamp(ts), escape(text))
                }
                Record::Gone { pod, at } => format!("gone\t{pod}\t{}", ms(at)),
                Record::Opened { pod, id, at } => format!("open\t{pod}\t{id}\t{}", ms(at)),
                Record::Closed {
                    pod,
                    id,
                    at,
                    complete,
                } => {
                    let how = if *complete { "complete" } else { "cut" };
                    format!("close\t{pod}\t{id}\t{}\t{how}", ms(at))
                }
                Record::Down { at } => format!("down\t{}", ms(at)),
                Record::Up { at } => format!("up\t{}", ms(at)),
                Record::Lagged { pod, missed } => format!("lagged\t{pod}\t{missed}"),
            }
        }
    }

    /// How often the recorder copies the pods' new lines.
    const EVERY: Duration = Duration::from_millis(20);

    pub struct Ledger {
        inner: Mutex<Inner>,
        ids: AtomicU64,
    }

    struct Inner {
        kept: Option<Vec<Record>>,
        file: Option<std::io::BufWriter<std::fs::File>>,
    }

    impl Ledger {
        pub(super) fn new(to: &To) -> std::io::Result<Ledger> {
            let inner = match to {
                To::Memory => Inner {
                    kept: Some(Vec::new()),
                    file: None,
                },
                To::File(path) => {
                    use std::os::unix::fs::OpenOptionsExt;
                    let f = std::fs::OpenOptions::new()
                        .write(true)
                        .create(true)
                        .truncate(true)
                        .mode(0o600)
                        .open(path)
                        .map_err(|e| {
                            std::io::Error::new(e.kind(), format!("{}: {e}", path.display()))
                        })?;
                    Inner {
                        kept: None,
                        file: Some(std::io::BufWriter::new(f)),
                    }
                }
            };
            Ok(Ledger {
                inner: Mutex::new(inner),
                ids: AtomicU64::new(1),
            })
        }

        fn inner(&self) -> std::sync::MutexGuard<'_, Inner> {
            self.inner.lock().unwrap_or_else(|e| e.into_inner())
        }

        pub fn push(&self, r: Record) {
            self.push_all(vec![r]);
        }

        /// Records these and writes them out (a file is flushed, so a reader sees them now).
        pub fn push_all(&self, records: Vec<Record>) {
            if records.is_empty() {
                return;
            }
            let mut inner = self.inner();
            if let Some(f) = inner.file.as_mut() {
                // A full disk loses the record, not the demo cluster.
                let mut ok = records.iter().all(|r| writeln!(f, "{}", r.tsv()).is_ok());
                ok &= f.flush().is_ok();
                if !ok {
                    inner.file = None;
                }
            }
            if let Some(kept) = inner.kept.as_mut() {
                kept.extend(records);
            }
        }

        /// Everything recorded so far (in memory only).
        pub fn records(&self) -> Vec<Record> {
            self.inner().kept.clone().unwrap_or_default()
        }

        /// A new follow stream's id.
        pub fn stream_id(&self) -> u64 {
            self.ids.fetch_add(1, Ordering::Relaxed)
        }
    }

    fn line(key: &Key, l: &LogLine) -> Record {
        Record::Line {
            pod: key.1.clone(),
            ts: l.ts,
            text: l.text.clone(),
        }
    }

    /// Copies every pod's new log lines into the ledger until the server stops. A pod seen
    /// for the first time gives the lines its log holds and a subscription to the next ones,
    /// both under the world's lock, so no line is missed or counted twice.
    pub(super) async fn record(shared: Arc<Shared>, ledger: Arc<Ledger>) {
        let mut pods: HashMap<Key, broadcast::Receiver<LogLine>> = HashMap::new();
        let mut tick = tokio::time::interval(EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let stopping = tokio::select! {
                _ = tick.tick() => false,
                _ = super::stopped(shared.shutdown.clone()) => true,
            };
            let mut out = Vec::new();
            {
                let w = shared.world();
                let now = Utc::now();
                pods.retain(|key, rx| {
                    loop {
                        match rx.try_recv() {
                            Ok(l) => out.push(line(key, &l)),
                            Err(TryRecvError::Empty) => break true,
                            Err(TryRecvError::Lagged(missed)) => out.push(Record::Lagged {
                                pod: key.1.clone(),
                                missed,
                            }),
                            // The pod's log was dropped with the pod.
                            Err(TryRecvError::Closed) => {
                                out.push(Record::Gone {
                                    pod: key.1.clone(),
                                    at: now,
                                });
                                break false;
                            }
                        }
                    }
                });
                for (key, sp) in &w.pods {
                    if !pods.contains_key(key) {
                        out.extend(sp.log.lines.iter().map(|l| line(key, l)));
                        pods.insert(key.clone(), sp.log.tx.subscribe());
                    }
                }
            }
            ledger.push_all(out);
            if stopping {
                return;
            }
        }
    }
}
