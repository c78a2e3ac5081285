//! Waits on the cluster: a rollout to complete (kubectl's rules), pods to be ready.

use super::kube_client::Kube;
use crate::config::checklist::Wait;
use crate::core::msg::WaitResult;
use tokio::sync::watch;

/// Waits until the condition holds, fails, times out, or `abort` turns true.
pub async fn wait(_kube: &Kube, wait: &Wait, _abort: watch::Receiver<bool>) -> WaitResult {
    WaitResult::Failed {
        detail: format!("wait for {}: not implemented yet", wait.describe()),
        duration_ms: 0,
    }
}
