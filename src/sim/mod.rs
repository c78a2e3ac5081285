//! The demo cluster (SPEC §8): a Kubernetes-API-compatible server on 127.0.0.1 with a
//! simulated rolling update, pod logs and events, reached through a generated kubeconfig.

use std::net::SocketAddr;
use std::path::PathBuf;

/// How the demo's new version behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Scenario {
    /// Every version rolls out fine.
    #[default]
    Good,
    /// Version 2.0 crash-loops: the rollout exceeds its progress deadline.
    Bad,
}

#[derive(Debug, Clone)]
pub struct SimOptions {
    /// 0 (or None) picks a free port; a fixed port lets a test restart the server in place.
    pub port: Option<u16>,
    pub namespace: String,
    pub scenario: Scenario,
    /// Extra pods spread over several deployments, for scale tests (`--pods N`).
    pub pods: usize,
    /// Log lines per second per pod (`--log-rate L`).
    pub log_rate: f64,
    /// Where the kubeconfig is written.
    pub dir: PathBuf,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            port: None,
            namespace: "shop".into(),
            scenario: Scenario::Good,
            pods: 0,
            log_rate: 2.0,
            dir: std::env::temp_dir(),
        }
    }
}

/// A running demo cluster. Dropping it (or `stop`) ends the server and its simulation.
pub struct Sim {
    pub addr: SocketAddr,
    /// A kubeconfig whose current context points at this server, namespace `shop`.
    pub kubeconfig: PathBuf,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Sim {
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Starts the demo cluster on 127.0.0.1.
pub async fn start(opts: SimOptions) -> std::io::Result<Sim> {
    let _ = opts;
    Err(std::io::Error::other("the demo cluster is not built yet"))
}
