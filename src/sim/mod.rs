//! The demo cluster (SPEC §8): a Kubernetes API subset and a demo web app on 127.0.0.1, simulated.

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
    /// Where the kubeconfig is written.
    pub dir: PathBuf,
    /// `spec.progressDeadlineSeconds` of the seeded deployments (tests shorten it).
    pub progress_deadline_seconds: i32,
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
            dir: std::env::temp_dir(),
            progress_deadline_seconds: 20,
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
}

impl Sim {
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
    let (tx, rx) = tokio::sync::watch::channel(false);
    let shared = Arc::new(server::Shared::new(world, rx.clone(), addr));
    let app = axum::Router::new()
        .fallback(server::dispatch)
        .with_state(shared.clone());
    let web_app = web::router(shared.clone());
    let controllers = tokio::spawn(controller::run(shared));
    let server = tokio::spawn(async move {
        let api = axum::serve(listener, app).with_graceful_shutdown(stopped(rx.clone()));
        let web = axum::serve(web_listener, web_app).with_graceful_shutdown(stopped(rx));
        let _ = tokio::join!(async { api.await }, async { web.await });
        let _ = controllers.await;
    });
    Ok(Sim {
        addr,
        kubeconfig,
        web_url,
        shutdown: Some(tx),
        server: Some(server),
    })
}
