//! Waits on the cluster: a rollout to complete (kubectl's rules), pods to be ready.

use super::kube_client::{Kube, describe};
use super::kube_convert::pod_view;
use super::kube_workload::{get_opt, not_found};
use crate::config::checklist::{Target, Wait, WaitKind};
use crate::core::kube::{Rollout, pod_status, rollout_status};
use crate::core::msg::WaitResult;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams};
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::{Instant, sleep_until};

/// kubectl's default for `rollout status --timeout` is forever; a release step needs an end.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5 * 60);
/// Polling (rather than a watch) survives restarts of the API server without bookkeeping,
/// and half a second is well inside what a person notices on a rollout.
const POLL: Duration = Duration::from_millis(500);

/// One look at the condition.
enum Check {
    Done(String),
    Failed(String),
    /// Not yet; what it is waiting for.
    Pending(String),
}

/// Waits until the condition holds, fails, times out, or `abort` turns true.
pub async fn wait(kube: &Kube, wait: &Wait, mut abort: watch::Receiver<bool>) -> WaitResult {
    let start = Instant::now();
    let deadline = start + wait.timeout.unwrap_or(DEFAULT_TIMEOUT);
    let ms = || start.elapsed().as_millis() as u64;
    let mut last = format!("waiting for {}", wait.describe());
    loop {
        let check = match &wait.kind {
            WaitKind::Rollout(t) => bounded(check_rollout(kube, t), deadline, &mut abort).await,
            WaitKind::PodsReady(sel) => bounded(check_pods(kube, sel), deadline, &mut abort).await,
            WaitKind::Probe { .. } => Some(Some(Check::Failed(
                "probe waits need the probes engine (not available yet)".into(),
            ))),
        };
        match check {
            None => {
                return WaitResult::Failed {
                    detail: "aborted".into(),
                    duration_ms: ms(),
                };
            }
            Some(Some(Check::Done(detail))) => {
                return WaitResult::Satisfied {
                    detail,
                    duration_ms: ms(),
                };
            }
            Some(Some(Check::Failed(detail))) => {
                return WaitResult::Failed {
                    detail,
                    duration_ms: ms(),
                };
            }
            Some(Some(Check::Pending(now))) => last = now,
            // The check itself ran into the deadline.
            Some(None) => {}
        }
        if Instant::now() >= deadline {
            return WaitResult::TimedOut {
                detail: last,
                duration_ms: ms(),
            };
        }
        let next = (Instant::now() + POLL).min(deadline);
        tokio::select! {
            _ = sleep_until(next) => {}
            _ = aborted(&mut abort) => {
                return WaitResult::Failed { detail: "aborted".into(), duration_ms: ms() };
            }
        }
    }
}

/// Runs one check, cut short by the deadline (`Some(None)`) or an abort (`None`).
async fn bounded(
    check: impl Future<Output = Check>,
    deadline: Instant,
    abort: &mut watch::Receiver<bool>,
) -> Option<Option<Check>> {
    tokio::select! {
        c = check => Some(Some(c)),
        _ = sleep_until(deadline) => Some(None),
        _ = aborted(abort) => None,
    }
}

/// Resolves once abort is true; never, if nobody can abort any more.
async fn aborted(abort: &mut watch::Receiver<bool>) {
    if abort.wait_for(|a| *a).await.is_err() {
        std::future::pending::<()>().await;
    }
}

async fn check_rollout(kube: &Kube, t: &Target) -> Check {
    match get_opt(kube, t).await {
        Ok(Some(w)) => match rollout_status(&w) {
            Rollout::Done(d) => Check::Done(d),
            Rollout::Failed(d) => Check::Failed(d),
            Rollout::Progressing(d) => Check::Pending(d),
        },
        // Like kubectl: a missing workload will not roll out.
        Ok(None) => Check::Failed(not_found(kube, t)),
        // A blip of the API server is not the rollout failing: keep asking.
        Err(e) => Check::Pending(e),
    }
}

async fn check_pods(kube: &Kube, selector: &str) -> Check {
    let api: Api<Pod> = Api::namespaced(kube.client.clone(), &kube.namespace);
    let pods = match api.list(&ListParams::default().labels(selector)).await {
        Ok(list) => list.items,
        Err(e) => {
            return Check::Pending(format!("cannot list pods ({selector}): {}", describe(&e)));
        }
    };
    let views: Vec<_> = pods.iter().map(pod_view).collect();
    if views.is_empty() {
        return Check::Pending(format!("no pods match {selector}"));
    }
    if let Some(p) = views.iter().find(|p| p.deleting) {
        return Check::Pending(format!("pod {} is terminating ({selector})", p.name));
    }
    let waiting: Vec<String> = views
        .iter()
        .filter(|p| !p.ready_condition)
        .map(|p| format!("{} ({})", p.name, pod_status(p)))
        .collect();
    let total = views.len();
    if waiting.is_empty() {
        Check::Done(format!("{total} of {total} pods ready ({selector})"))
    } else {
        Check::Pending(format!(
            "{} of {total} pods ready ({selector}); waiting for {}",
            total - waiting.len(),
            waiting.join(", ")
        ))
    }
}
