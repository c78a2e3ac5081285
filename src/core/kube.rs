//! What the cockpit knows of the cluster: plain views of workloads, pods and events (no
//! Kubernetes types here), with kubectl's rules for rollout status and pod STATUS.

use super::msg::Stream;
use chrono::{DateTime, Utc};
use std::borrow::Cow;
use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write;

/// Events kept for the events pane.
pub const EVENTS_CAP: usize = 200;

#[derive(Debug, Clone, Default, PartialEq)]
pub enum Connection {
    /// The checklist has no `cluster:`.
    #[default]
    None,
    Connecting,
    Connected {
        context: String,
        namespace: String,
        server: String,
    },
    Unavailable(String),
}

/// Everything the cockpit knows of the cluster.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct KubeState {
    pub connection: Connection,
    /// By `kind/name`.
    pub workloads: BTreeMap<String, WorkloadView>,
    /// By name, so iterating gives the pods in name order.
    pub pods: BTreeMap<String, PodView>,
    /// Newest first.
    pub events: VecDeque<EventView>,
    /// Streams that broke: since when and why.
    pub stale: BTreeMap<Stream, (DateTime<Utc>, String)>,
    /// Changes whenever the workloads or pods do; see [`Generation`].
    pub generation: Generation,
}

/// A stamp for one content of the workloads and pods, so the panes can keep what they derive
/// from thousands of pods (rows, column widths, warnings) across frames instead of deriving it
/// again 4–30 times a second. Stamps come from one process-wide counter, so two states (or two
/// models) never share a stamp unless one is an unchanged copy of the other. The stamp is not
/// part of a state's value: equal pods and workloads compare equal whatever their stamps.
#[derive(Debug, Clone, Copy, Default)]
pub struct Generation(pub u64);

impl Generation {
    /// A stamp no state has had before.
    pub fn next() -> Self {
        use std::sync::atomic::{AtomicU64, Ordering};
        static NEXT: AtomicU64 = AtomicU64::new(1);
        Generation(NEXT.fetch_add(1, Ordering::Relaxed))
    }
}

impl PartialEq for Generation {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl KubeState {
    /// Pods whose labels match the workload's selector. The selector is parsed once, not once
    /// per pod: this runs over thousands of pods on every frame.
    pub fn pods_of<'a>(&'a self, w: &'a WorkloadView) -> impl Iterator<Item = &'a PodView> + 'a {
        let selector = (!w.selector.is_empty()).then(|| Selector::parse(&w.selector));
        self.pods
            .values()
            .filter(move |p| selector.as_ref().is_some_and(|s| s.matches(&p.labels)))
    }

    /// Each workload's pod warnings (`pod_warning`), by `kind/name`, from one pass over the
    /// pods: a pod's warning is looked at first (cheap, and rarely there), and only the pods that
    /// have one are matched against the selectors. Workloads without a warning are absent.
    pub fn pod_warnings(&self) -> BTreeMap<String, Vec<&'static str>> {
        let selectors: Vec<(&str, Selector)> = self
            .workloads
            .iter()
            .filter(|(_, w)| !w.selector.is_empty())
            .map(|(k, w)| (k.as_str(), Selector::parse(&w.selector)))
            .collect();
        let mut out: BTreeMap<String, Vec<&'static str>> = BTreeMap::new();
        for p in self.pods.values() {
            let Some(warning) = pod_warning(p) else {
                continue;
            };
            for (key, s) in &selectors {
                if s.matches(&p.labels) {
                    out.entry(key.to_string()).or_default().push(warning);
                }
            }
        }
        out
    }

    /// The pods pane: pods of any watched workload, in name order.
    pub fn watched_pods(&self) -> Vec<&PodView> {
        let selectors: Vec<Selector> = self
            .workloads
            .values()
            .filter(|w| !w.selector.is_empty())
            .map(|w| Selector::parse(&w.selector))
            .collect();
        self.pods
            .values()
            .filter(|p| selectors.iter().any(|s| s.matches(&p.labels)))
            .collect()
    }

    pub fn push_event(&mut self, e: EventView) {
        // The same event object comes again with a higher count: replace it in place.
        self.events.retain(|old| {
            !(old.object == e.object && old.reason == e.reason && old.message == e.message)
        });
        self.events.push_front(e);
        self.events.truncate(EVENTS_CAP);
    }
}

/// `a == b` compared in place: label keys and values are short, and a call to `memcmp` for each
/// of thousands of pods on every frame showed in the profile.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).all(|(x, y)| x == y)
}

/// An equality-based label selector, parsed once to be tested against many pods.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selector<'a> {
    terms: Vec<Term<'a>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Term<'a> {
    /// `k=v`, `k==v`.
    Is(&'a str, &'a str),
    /// `k!=v` (also true when the label is missing).
    IsNot(&'a str, &'a str),
    /// `k`.
    Has(&'a str),
    /// `!k`.
    HasNot(&'a str),
}

impl<'a> Selector<'a> {
    pub fn parse(selector: &'a str) -> Self {
        let terms = selector
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(|term| {
                if let Some((k, v)) = term.split_once("!=") {
                    Term::IsNot(k.trim(), v.trim())
                } else if let Some((k, v)) = term.split_once("==").or_else(|| term.split_once('='))
                {
                    Term::Is(k.trim(), v.trim())
                } else if let Some(k) = term.strip_prefix('!') {
                    Term::HasNot(k.trim())
                } else {
                    Term::Has(term)
                }
            })
            .collect();
        Selector { terms }
    }

    /// True when the labels satisfy every term (an empty selector matches everything).
    pub fn matches(&self, labels: &[(String, String)]) -> bool {
        let get = |k: &str| {
            labels
                .iter()
                .find(|(lk, _)| same(lk, k))
                .map(|(_, v)| v.as_str())
        };
        self.terms.iter().all(|term| match *term {
            Term::Is(k, v) => get(k).is_some_and(|x| same(x, v)),
            Term::IsNot(k, v) => !get(k).is_some_and(|x| same(x, v)),
            Term::Has(k) => get(k).is_some(),
            Term::HasNot(k) => get(k).is_none(),
        })
    }
}

/// The fields of a workload that rollout status and the rollout pane need.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WorkloadView {
    /// `deployment`, `statefulset` or `daemonset`.
    pub kind: String,
    pub name: String,
    pub generation: i64,
    pub observed_generation: i64,
    /// spec.replicas (Deployment, StatefulSet); desiredNumberScheduled for a DaemonSet.
    pub desired: Option<i32>,
    /// status.replicas (Deployment, StatefulSet); currentNumberScheduled (DaemonSet).
    pub replicas: i32,
    /// updatedReplicas; updatedNumberScheduled (DaemonSet).
    pub updated: i32,
    pub ready: i32,
    /// availableReplicas; numberAvailable (DaemonSet).
    pub available: i32,
    /// `RollingUpdate`, `Recreate` (Deployment) or `OnDelete` (StatefulSet, DaemonSet).
    pub strategy: String,
    /// StatefulSet rollingUpdate.partition.
    pub partition: Option<i32>,
    pub current_revision: String,
    pub update_revision: String,
    /// Deployment revision annotation of the newest ReplicaSet.
    pub revision: Option<i64>,
    pub paused: bool,
    /// (type, status, reason, message) of status.conditions.
    pub conditions: Vec<(String, String, String, String)>,
    /// Container images of the pod template, `container=image`.
    pub images: Vec<(String, String)>,
    /// The label selector of its pods, `k=v,k2=v2`.
    pub selector: String,
}

/// kubectl's `rollout status` verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rollout {
    Progressing(String),
    Done(String),
    Failed(String),
}

impl Rollout {
    pub fn text(&self) -> &str {
        match self {
            Rollout::Progressing(s) | Rollout::Done(s) | Rollout::Failed(s) => s,
        }
    }
}

/// Exactly the messages and rules of `kubectl rollout status`.
pub fn rollout_status(w: &WorkloadView) -> Rollout {
    match w.kind.as_str() {
        "deployment" => deployment_status(w),
        "statefulset" => statefulset_status(w),
        "daemonset" => daemonset_status(w),
        other => Rollout::Failed(format!("no rollout status for kind {other}")),
    }
}

fn deployment_status(w: &WorkloadView) -> Rollout {
    let name = &w.name;
    if w.generation > w.observed_generation {
        return Rollout::Progressing("Waiting for deployment spec update to be observed...".into());
    }
    let deadline = w
        .conditions
        .iter()
        .any(|(t, _, reason, _)| t == "Progressing" && reason == "ProgressDeadlineExceeded");
    if deadline {
        return Rollout::Failed(format!(
            "deployment {name:?} exceeded its progress deadline"
        ));
    }
    if let Some(desired) = w.desired
        && w.updated < desired
    {
        return Rollout::Progressing(format!(
            "Waiting for deployment {name:?} rollout to finish: {} out of {desired} new replicas have been updated...",
            w.updated
        ));
    }
    if w.replicas > w.updated {
        return Rollout::Progressing(format!(
            "Waiting for deployment {name:?} rollout to finish: {} old replicas are pending termination...",
            w.replicas - w.updated
        ));
    }
    if w.available < w.updated {
        return Rollout::Progressing(format!(
            "Waiting for deployment {name:?} rollout to finish: {} of {} updated replicas are available...",
            w.available, w.updated
        ));
    }
    Rollout::Done(format!("deployment {name:?} successfully rolled out"))
}

fn statefulset_status(w: &WorkloadView) -> Rollout {
    if w.strategy != "RollingUpdate" {
        return Rollout::Failed(
            "rollout status is only available for RollingUpdate strategy type".into(),
        );
    }
    if w.observed_generation == 0 || w.generation > w.observed_generation {
        return Rollout::Progressing(
            "Waiting for statefulset spec update to be observed...".into(),
        );
    }
    if let Some(desired) = w.desired
        && w.ready < desired
    {
        return Rollout::Progressing(format!(
            "Waiting for {} pods to be ready...",
            desired - w.ready
        ));
    }
    if let (Some(desired), Some(partition)) = (w.desired, w.partition) {
        if w.updated < desired - partition {
            return Rollout::Progressing(format!(
                "Waiting for partitioned roll out to finish: {} out of {} new pods have been updated...",
                w.updated,
                desired - partition
            ));
        }
        return Rollout::Done(format!(
            "partitioned roll out complete: {} new pods have been updated...",
            w.updated
        ));
    }
    if w.update_revision != w.current_revision {
        return Rollout::Progressing(format!(
            "waiting for statefulset rolling update to complete {} pods at revision {}...",
            w.updated, w.update_revision
        ));
    }
    Rollout::Done(format!(
        "statefulset rolling update complete {} pods at revision {}...",
        w.replicas, w.current_revision
    ))
}

fn daemonset_status(w: &WorkloadView) -> Rollout {
    let name = &w.name;
    if w.strategy != "RollingUpdate" {
        return Rollout::Failed(
            "rollout status is only available for RollingUpdate strategy type".into(),
        );
    }
    if w.generation > w.observed_generation {
        return Rollout::Progressing("Waiting for daemon set spec update to be observed...".into());
    }
    let desired = w.desired.unwrap_or(0);
    if w.updated < desired {
        return Rollout::Progressing(format!(
            "Waiting for daemon set {name:?} rollout to finish: {} out of {desired} new pods have been updated...",
            w.updated
        ));
    }
    if w.available < desired {
        return Rollout::Progressing(format!(
            "Waiting for daemon set {name:?} rollout to finish: {} of {desired} updated pods are available...",
            w.available
        ));
    }
    Rollout::Done(format!("daemon set {name:?} successfully rolled out"))
}

/// One container's state as the pod status reports it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ContainerView {
    pub name: String,
    pub ready: bool,
    pub started: bool,
    pub restarts: i32,
    pub running: bool,
    pub waiting_reason: Option<String>,
    /// (reason, exit code, signal) when terminated.
    pub terminated: Option<(String, i32, i32)>,
    /// Init containers with `restartPolicy: Always` (sidecars).
    pub sidecar: bool,
    pub last_restart: Option<DateTime<Utc>>,
}

/// The fields of a pod that kubectl's STATUS column and the pods pane need.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PodView {
    pub name: String,
    pub phase: String,
    /// status.reason (e.g. `Evicted`, `NodeLost`).
    pub reason: String,
    pub containers: usize,
    pub init_containers: usize,
    pub init_statuses: Vec<ContainerView>,
    pub statuses: Vec<ContainerView>,
    pub ready_condition: bool,
    pub initialized_condition: bool,
    /// PodScheduled=False with reason Unschedulable: (reason, message).
    pub unschedulable: Option<String>,
    pub deleting: bool,
    pub node: String,
    pub created: Option<DateTime<Utc>>,
    /// pod-template-hash or controller-revision-hash, to match a ReplicaSet/revision.
    pub template_hash: String,
    /// The owning workload's revision for this pod, when known.
    pub revision: Option<i64>,
    pub labels: Vec<(String, String)>,
}

impl PodView {
    /// (ready containers, total containers), as kubectl's READY column.
    pub fn ready(&self) -> (usize, usize) {
        (
            self.statuses
                .iter()
                .filter(|c| c.ready && c.running)
                .count(),
            self.containers,
        )
    }

    pub fn restarts(&self) -> i32 {
        self.statuses
            .iter()
            .chain(&self.init_statuses)
            .map(|c| c.restarts)
            .sum()
    }
}

/// kubectl's STATUS column (printPod in kubectl's printers).
pub fn pod_status(p: &PodView) -> String {
    pod_status_str(p).into_owned()
}

/// [`pod_status`] without a copy when the word is one the pod already holds (the pods pane
/// measures every pod's STATUS on every frame).
pub fn pod_status_str(p: &PodView) -> Cow<'_, str> {
    let mut reason: Cow<str> = if p.reason.is_empty() {
        Cow::Borrowed(&p.phase)
    } else {
        Cow::Borrowed(&p.reason)
    };
    let mut initializing = false;
    for (i, c) in p.init_statuses.iter().enumerate() {
        match &c.terminated {
            Some((_, 0, _)) => continue,
            _ if c.sidecar && c.started => continue,
            Some((r, code, signal)) => {
                reason = Cow::Owned(if !r.is_empty() {
                    format!("Init:{r}")
                } else if *signal != 0 {
                    format!("Init:Signal:{signal}")
                } else {
                    format!("Init:ExitCode:{code}")
                });
            }
            None => match &c.waiting_reason {
                Some(w) if !w.is_empty() && w != "PodInitializing" => {
                    reason = Cow::Owned(format!("Init:{w}"))
                }
                _ => reason = Cow::Owned(format!("Init:{i}/{}", p.init_containers)),
            },
        }
        initializing = true;
        break;
    }
    if !initializing || p.initialized_condition {
        let mut has_running = false;
        for c in p.statuses.iter().rev() {
            if let Some(w) = c.waiting_reason.as_ref().filter(|w| !w.is_empty()) {
                reason = Cow::Borrowed(w);
            } else if let Some((r, code, signal)) = &c.terminated {
                reason = if !r.is_empty() {
                    Cow::Borrowed(r)
                } else if *signal != 0 {
                    Cow::Owned(format!("Signal:{signal}"))
                } else {
                    Cow::Owned(format!("ExitCode:{code}"))
                };
            } else if c.ready && c.running {
                has_running = true;
            }
        }
        if reason == "Completed" && has_running {
            reason = Cow::Borrowed(if p.ready_condition {
                "Running"
            } else {
                "NotReady"
            });
        }
    }
    if p.deleting && p.reason == "NodeLost" {
        Cow::Borrowed("Unknown")
    } else if p.deleting {
        Cow::Borrowed("Terminating")
    } else {
        reason
    }
}

/// Pod problems worth showing on the workload in the rollout pane.
pub const POD_WARNINGS: &[&str] = &[
    "ImagePullBackOff",
    "ErrImagePull",
    "CrashLoopBackOff",
    "CreateContainerConfigError",
    "CreateContainerError",
    "Unschedulable",
];

/// The warning a pod shows, if any (a container waiting reason, or Unschedulable).
pub fn pod_warning(p: &PodView) -> Option<&'static str> {
    if p.unschedulable.is_some() {
        return Some("Unschedulable");
    }
    p.statuses.iter().chain(&p.init_statuses).find_map(|c| {
        let w = c.waiting_reason.as_deref()?;
        POD_WARNINGS.iter().find(|k| **k == w).copied()
    })
}

/// kubectl's AGE column (its HumanDuration), appended to `out` (one buffer for thousands of
/// pods): `45s`, `2m30s`, `25m`, `4h12m`, `3d5h`, `2y10d`.
pub fn write_age(out: &mut String, created: DateTime<Utc>, now: DateTime<Utc>) {
    // Writing to a String cannot fail.
    let _ = match age_parts(created, now) {
        (a, ua, 0, _) => write!(out, "{a}{ua}"),
        (a, ua, b, ub) => write!(out, "{a}{ua}{b}{ub}"),
    };
}

/// The pieces of [`age`]: `4h12m` is `(4, "h", 12, "m")`, `25m` is `(25, "m", 0, "")` (a zero
/// second part is not shown).
pub fn age_parts(
    created: DateTime<Utc>,
    now: DateTime<Utc>,
) -> (i64, &'static str, i64, &'static str) {
    let secs = (now - created).num_seconds().max(0);
    let (m, h, d) = (secs / 60, secs / 3600, secs / 86_400);
    if secs < 120 {
        (secs, "s", 0, "")
    } else if m < 10 {
        (m, "m", secs % 60, "s")
    } else if m < 180 {
        (m, "m", 0, "")
    } else if h < 8 {
        (h, "h", m % 60, "m")
    } else if h < 48 {
        (h, "h", 0, "")
    } else if h < 24 * 8 {
        (d, "d", h % 24, "h")
    } else if d < 365 * 2 {
        (d, "d", 0, "")
    } else if d < 365 * 8 {
        (d / 365, "y", d % 365, "d")
    } else {
        (d / 365, "y", 0, "")
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct EventView {
    /// `Normal` or `Warning`.
    pub kind: String,
    pub reason: String,
    /// `pod/web-6b7f-x2`.
    pub object: String,
    pub message: String,
    pub count: i32,
    pub last: Option<DateTime<Utc>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deploy() -> WorkloadView {
        WorkloadView {
            kind: "deployment".into(),
            name: "web".into(),
            generation: 2,
            observed_generation: 2,
            desired: Some(3),
            replicas: 3,
            updated: 3,
            ready: 3,
            available: 3,
            strategy: "RollingUpdate".into(),
            ..Default::default()
        }
    }

    #[test]
    fn deployment_rules_in_kubectls_order() {
        let mut w = deploy();
        assert_eq!(
            rollout_status(&w),
            Rollout::Done("deployment \"web\" successfully rolled out".into())
        );
        w.generation = 3;
        assert_eq!(
            rollout_status(&w).text(),
            "Waiting for deployment spec update to be observed..."
        );
        w.generation = 2;
        w.updated = 1;
        w.replicas = 4;
        assert_eq!(
            rollout_status(&w).text(),
            "Waiting for deployment \"web\" rollout to finish: 1 out of 3 new replicas have been updated..."
        );
        w.updated = 3;
        assert_eq!(
            rollout_status(&w).text(),
            "Waiting for deployment \"web\" rollout to finish: 1 old replicas are pending termination..."
        );
        w.replicas = 3;
        w.available = 2;
        assert_eq!(
            rollout_status(&w).text(),
            "Waiting for deployment \"web\" rollout to finish: 2 of 3 updated replicas are available..."
        );
        w.conditions.push((
            "Progressing".into(),
            "False".into(),
            "ProgressDeadlineExceeded".into(),
            String::new(),
        ));
        assert_eq!(
            rollout_status(&w),
            Rollout::Failed("deployment \"web\" exceeded its progress deadline".into())
        );
    }

    #[test]
    fn statefulset_partitions_and_revisions() {
        let mut w = WorkloadView {
            kind: "statefulset".into(),
            name: "db".into(),
            generation: 1,
            observed_generation: 1,
            desired: Some(3),
            replicas: 3,
            updated: 1,
            ready: 3,
            strategy: "RollingUpdate".into(),
            current_revision: "db-1".into(),
            update_revision: "db-2".into(),
            ..Default::default()
        };
        assert_eq!(
            rollout_status(&w).text(),
            "waiting for statefulset rolling update to complete 1 pods at revision db-2..."
        );
        w.partition = Some(2);
        assert_eq!(
            rollout_status(&w).text(),
            "partitioned roll out complete: 1 new pods have been updated..."
        );
        w.partition = Some(1);
        assert_eq!(
            rollout_status(&w).text(),
            "Waiting for partitioned roll out to finish: 1 out of 2 new pods have been updated..."
        );
        w.ready = 1;
        assert_eq!(
            rollout_status(&w).text(),
            "Waiting for 2 pods to be ready..."
        );
        w.strategy = "OnDelete".into();
        assert!(matches!(rollout_status(&w), Rollout::Failed(_)));
    }

    #[test]
    fn daemonset_rules() {
        let mut w = WorkloadView {
            kind: "daemonset".into(),
            name: "agent".into(),
            desired: Some(2),
            updated: 1,
            available: 1,
            strategy: "RollingUpdate".into(),
            ..Default::default()
        };
        assert_eq!(
            rollout_status(&w).text(),
            "Waiting for daemon set \"agent\" rollout to finish: 1 out of 2 new pods have been updated..."
        );
        w.updated = 2;
        assert_eq!(
            rollout_status(&w).text(),
            "Waiting for daemon set \"agent\" rollout to finish: 1 of 2 updated pods are available..."
        );
        w.available = 2;
        assert_eq!(
            rollout_status(&w),
            Rollout::Done("daemon set \"agent\" successfully rolled out".into())
        );
    }

    fn running(ready: bool) -> ContainerView {
        ContainerView {
            name: "web".into(),
            ready,
            started: true,
            running: true,
            ..Default::default()
        }
    }

    #[test]
    fn pod_status_like_kubectl() {
        let mut p = PodView {
            phase: "Running".into(),
            containers: 1,
            statuses: vec![running(true)],
            ready_condition: true,
            initialized_condition: true,
            ..Default::default()
        };
        assert_eq!(pod_status(&p), "Running");
        assert_eq!(p.ready(), (1, 1));
        p.statuses[0] = ContainerView {
            waiting_reason: Some("CrashLoopBackOff".into()),
            restarts: 4,
            ..Default::default()
        };
        assert_eq!(pod_status(&p), "CrashLoopBackOff");
        assert_eq!(pod_warning(&p), Some("CrashLoopBackOff"));
        assert_eq!(p.restarts(), 4);
        p.statuses[0] = ContainerView {
            terminated: Some(("Completed".into(), 0, 0)),
            ..Default::default()
        };
        p.phase = "Succeeded".into();
        assert_eq!(pod_status(&p), "Completed");
        p.statuses[0] = ContainerView {
            terminated: Some((String::new(), 137, 0)),
            ..Default::default()
        };
        assert_eq!(pod_status(&p), "ExitCode:137");
        p.deleting = true;
        assert_eq!(pod_status(&p), "Terminating");

        let pending = PodView {
            phase: "Pending".into(),
            containers: 1,
            init_containers: 2,
            init_statuses: vec![
                ContainerView {
                    terminated: Some(("Completed".into(), 0, 0)),
                    ..Default::default()
                },
                ContainerView {
                    waiting_reason: Some("PodInitializing".into()),
                    ..Default::default()
                },
            ],
            statuses: vec![ContainerView {
                waiting_reason: Some("PodInitializing".into()),
                ..Default::default()
            }],
            ..Default::default()
        };
        assert_eq!(pod_status(&pending), "Init:1/2");
        let mut pulling = PodView {
            phase: "Pending".into(),
            containers: 1,
            statuses: vec![ContainerView {
                waiting_reason: Some("ContainerCreating".into()),
                ..Default::default()
            }],
            ..Default::default()
        };
        assert_eq!(pod_status(&pulling), "ContainerCreating");
        pulling.statuses[0].waiting_reason = Some("ImagePullBackOff".into());
        assert_eq!(pod_warning(&pulling), Some("ImagePullBackOff"));
        let unsched = PodView {
            phase: "Pending".into(),
            containers: 1,
            unschedulable: Some("0/3 nodes are available".into()),
            ..Default::default()
        };
        assert_eq!(pod_status(&unsched), "Pending");
        assert_eq!(pod_warning(&unsched), Some("Unschedulable"));
    }

    fn selector_matches(selector: &str, labels: &[(String, String)]) -> bool {
        Selector::parse(selector).matches(labels)
    }

    fn age(created: DateTime<Utc>, now: DateTime<Utc>) -> String {
        let mut out = String::new();
        write_age(&mut out, created, now);
        out
    }

    #[test]
    fn selectors() {
        let labels = vec![
            ("app".to_string(), "web".to_string()),
            ("tier".to_string(), "front".to_string()),
        ];
        assert!(selector_matches("app=web", &labels));
        assert!(selector_matches("app==web,tier", &labels));
        assert!(!selector_matches("app=web,tier!=front", &labels));
        assert!(selector_matches("!canary", &labels));
        assert!(!selector_matches("app=db", &labels));
    }

    #[test]
    fn ages_like_kubectl() {
        let t = Utc::now();
        assert_eq!(age(t - chrono::Duration::seconds(45), t), "45s");
        assert_eq!(age(t - chrono::Duration::seconds(150), t), "2m30s");
        assert_eq!(age(t - chrono::Duration::seconds(1500), t), "25m");
        assert_eq!(age(t - chrono::Duration::seconds(180), t), "3m");
        assert_eq!(
            age(t - chrono::Duration::seconds(4 * 3600 + 720), t),
            "4h12m"
        );
        assert_eq!(age(t - chrono::Duration::seconds(20 * 3600), t), "20h");
        assert_eq!(
            age(t - chrono::Duration::seconds(3 * 86_400 + 5 * 3600), t),
            "3d5h"
        );
        assert_eq!(age(t - chrono::Duration::seconds(30 * 86_400), t), "30d");
    }
}
