//! Kubernetes objects → the core's plain views (pure: no IO, no clock).

use crate::core::kube::{ContainerView, EventView, PodView, WorkloadView};
use chrono::{DateTime, Utc};
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::core::v1::{
    ContainerStatus, Event, Pod, PodSpec, PodStatus, PodTemplateSpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::jiff::Timestamp;

/// The annotation the deployment controller keeps on a Deployment and its ReplicaSets.
pub const REVISION_ANNOTATION: &str = "deployment.kubernetes.io/revision";
/// The label tying a pod to its ReplicaSet (and so to a deployment revision).
pub const TEMPLATE_HASH_LABEL: &str = "pod-template-hash";
/// The label tying a StatefulSet/DaemonSet pod to its ControllerRevision.
pub const CONTROLLER_REVISION_LABEL: &str = "controller-revision-hash";

pub fn to_chrono(t: &Timestamp) -> Option<DateTime<Utc>> {
    let nanos = t.as_nanosecond();
    let secs = i64::try_from(nanos.div_euclid(1_000_000_000)).ok()?;
    let sub = u32::try_from(nanos.rem_euclid(1_000_000_000)).ok()?;
    DateTime::from_timestamp(secs, sub)
}

/// The revision annotation of a Deployment or ReplicaSet, when it is a number.
pub fn revision_of(meta: &ObjectMeta) -> Option<i64> {
    meta.annotations
        .as_ref()?
        .get(REVISION_ANNOTATION)?
        .trim()
        .parse()
        .ok()
}

/// `matchLabels` as `k=v,k2=v2`, plus `In`/`NotIn`/`Exists` expressions as kubectl prints them.
pub fn selector_string(sel: Option<&LabelSelector>) -> String {
    let Some(sel) = sel else {
        return String::new();
    };
    let mut terms: Vec<String> = sel
        .match_labels
        .iter()
        .flatten()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    for e in sel.match_expressions.iter().flatten() {
        let values = e.values.clone().unwrap_or_default();
        // The core's matcher is equality-based: a one-value `In` is exactly `k=v`.
        match (e.operator.as_str(), values.as_slice()) {
            ("In", [v]) => terms.push(format!("{}={v}", e.key)),
            ("NotIn", [v]) => terms.push(format!("{}!={v}", e.key)),
            ("Exists", _) => terms.push(e.key.clone()),
            ("DoesNotExist", _) => terms.push(format!("!{}", e.key)),
            (op, vs) => terms.push(format!(
                "{} {} ({})",
                e.key,
                op.to_lowercase(),
                vs.join(",")
            )),
        }
    }
    terms.join(",")
}

/// (container, image) of a pod template, in spec order.
pub fn template_images(t: Option<&PodTemplateSpec>) -> Vec<(String, String)> {
    t.and_then(|t| t.spec.as_ref())
        .map(|s| {
            s.containers
                .iter()
                .map(|c| (c.name.clone(), c.image.clone().unwrap_or_default()))
                .collect()
        })
        .unwrap_or_default()
}

fn base(kind: &str, meta: &ObjectMeta) -> WorkloadView {
    WorkloadView {
        kind: kind.into(),
        name: meta.name.clone().unwrap_or_default(),
        generation: meta.generation.unwrap_or(0),
        ..Default::default()
    }
}

pub fn deployment_view(d: &Deployment) -> WorkloadView {
    let mut w = base("deployment", &d.metadata);
    w.revision = revision_of(&d.metadata);
    if let Some(spec) = &d.spec {
        // The API server defaults replicas to 1; an absent value means that default.
        w.desired = Some(spec.replicas.unwrap_or(1));
        w.strategy = spec
            .strategy
            .as_ref()
            .and_then(|s| s.type_.clone())
            .unwrap_or_else(|| "RollingUpdate".into());
        w.paused = spec.paused.unwrap_or(false);
        w.images = template_images(Some(&spec.template));
        w.selector = selector_string(Some(&spec.selector));
    }
    if let Some(st) = &d.status {
        w.observed_generation = st.observed_generation.unwrap_or(0);
        w.replicas = st.replicas.unwrap_or(0);
        w.updated = st.updated_replicas.unwrap_or(0);
        w.ready = st.ready_replicas.unwrap_or(0);
        w.available = st.available_replicas.unwrap_or(0);
        w.conditions = st
            .conditions
            .iter()
            .flatten()
            .map(|c| cond(&c.type_, &c.status, &c.reason, &c.message))
            .collect();
    }
    w
}

pub fn statefulset_view(s: &StatefulSet) -> WorkloadView {
    let mut w = base("statefulset", &s.metadata);
    if let Some(spec) = &s.spec {
        w.desired = Some(spec.replicas.unwrap_or(1));
        let strategy = spec.update_strategy.as_ref();
        w.strategy = strategy
            .and_then(|u| u.type_.clone())
            .unwrap_or_else(|| "RollingUpdate".into());
        w.partition = strategy
            .and_then(|u| u.rolling_update.as_ref())
            .and_then(|r| r.partition);
        w.images = template_images(Some(&spec.template));
        w.selector = selector_string(Some(&spec.selector));
    }
    if let Some(st) = &s.status {
        w.observed_generation = st.observed_generation.unwrap_or(0);
        w.replicas = st.replicas;
        w.updated = st.updated_replicas.unwrap_or(0);
        w.ready = st.ready_replicas.unwrap_or(0);
        w.available = st.available_replicas.unwrap_or(0);
        w.current_revision = st.current_revision.clone().unwrap_or_default();
        w.update_revision = st.update_revision.clone().unwrap_or_default();
        w.conditions = st
            .conditions
            .iter()
            .flatten()
            .map(|c| cond(&c.type_, &c.status, &c.reason, &c.message))
            .collect();
    }
    w
}

pub fn daemonset_view(d: &DaemonSet) -> WorkloadView {
    let mut w = base("daemonset", &d.metadata);
    if let Some(spec) = &d.spec {
        w.strategy = spec
            .update_strategy
            .as_ref()
            .and_then(|u| u.type_.clone())
            .unwrap_or_else(|| "RollingUpdate".into());
        w.images = template_images(Some(&spec.template));
        w.selector = selector_string(Some(&spec.selector));
    }
    if let Some(st) = &d.status {
        w.observed_generation = st.observed_generation.unwrap_or(0);
        w.desired = Some(st.desired_number_scheduled);
        w.replicas = st.current_number_scheduled;
        w.updated = st.updated_number_scheduled.unwrap_or(0);
        w.ready = st.number_ready;
        w.available = st.number_available.unwrap_or(0);
        w.conditions = st
            .conditions
            .iter()
            .flatten()
            .map(|c| cond(&c.type_, &c.status, &c.reason, &c.message))
            .collect();
    }
    w
}

fn cond(
    t: &str,
    status: &str,
    reason: &Option<String>,
    message: &Option<String>,
) -> (String, String, String, String) {
    (
        t.to_string(),
        status.to_string(),
        reason.clone().unwrap_or_default(),
        message.clone().unwrap_or_default(),
    )
}

/// (pod-template-hash, deployment revision) of a ReplicaSet, when it has both.
pub fn replicaset_revision(rs: &ReplicaSet) -> Option<(String, i64)> {
    let hash = rs
        .metadata
        .labels
        .as_ref()?
        .get(TEMPLATE_HASH_LABEL)?
        .clone();
    Some((hash, revision_of(&rs.metadata)?))
}

fn container_view(s: &ContainerStatus, sidecar: bool) -> ContainerView {
    let state = s.state.as_ref();
    ContainerView {
        name: s.name.clone(),
        ready: s.ready,
        started: s.started.unwrap_or(false),
        restarts: s.restart_count,
        running: state.is_some_and(|st| st.running.is_some()),
        // A waiting container without a reason is still waiting; the core skips empty reasons.
        waiting_reason: state
            .and_then(|st| st.waiting.as_ref())
            .map(|w| w.reason.clone().unwrap_or_default()),
        terminated: state.and_then(|st| st.terminated.as_ref()).map(|t| {
            (
                t.reason.clone().unwrap_or_default(),
                t.exit_code,
                t.signal.unwrap_or(0),
            )
        }),
        sidecar,
        last_restart: s
            .last_state
            .as_ref()
            .and_then(|l| l.terminated.as_ref())
            .and_then(|t| t.finished_at.as_ref())
            .and_then(|t| to_chrono(&t.0)),
    }
}

fn is_sidecar(spec: Option<&PodSpec>, name: &str) -> bool {
    spec.and_then(|s| s.init_containers.as_ref())
        .and_then(|cs| cs.iter().find(|c| c.name == name))
        .is_some_and(|c| c.restart_policy.as_deref() == Some("Always"))
}

fn condition_true(status: Option<&PodStatus>, t: &str) -> bool {
    status
        .and_then(|s| s.conditions.as_ref())
        .and_then(|cs| cs.iter().find(|c| c.type_ == t))
        .is_some_and(|c| c.status == "True")
}

pub fn pod_view(p: &Pod) -> PodView {
    let spec = p.spec.as_ref();
    let status = p.status.as_ref();
    let labels: Vec<(String, String)> = p
        .metadata
        .labels
        .iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let label = |k: &str| {
        labels
            .iter()
            .find(|(lk, _)| lk == k)
            .map(|(_, v)| v.clone())
    };
    let unschedulable = status
        .and_then(|s| s.conditions.as_ref())
        .and_then(|cs| {
            cs.iter().find(|c| {
                c.type_ == "PodScheduled"
                    && c.status == "False"
                    && c.reason.as_deref() == Some("Unschedulable")
            })
        })
        .map(|c| c.message.clone().unwrap_or_default());
    PodView {
        name: p.metadata.name.clone().unwrap_or_default(),
        phase: status.and_then(|s| s.phase.clone()).unwrap_or_default(),
        reason: status.and_then(|s| s.reason.clone()).unwrap_or_default(),
        containers: spec.map_or(0, |s| s.containers.len()),
        init_containers: spec
            .and_then(|s| s.init_containers.as_ref())
            .map_or(0, Vec::len),
        init_statuses: status
            .and_then(|s| s.init_container_statuses.as_ref())
            .into_iter()
            .flatten()
            .map(|c| container_view(c, is_sidecar(spec, &c.name)))
            .collect(),
        statuses: status
            .and_then(|s| s.container_statuses.as_ref())
            .into_iter()
            .flatten()
            .map(|c| container_view(c, false))
            .collect(),
        ready_condition: condition_true(status, "Ready"),
        initialized_condition: condition_true(status, "Initialized"),
        unschedulable,
        deleting: p.metadata.deletion_timestamp.is_some(),
        node: spec.and_then(|s| s.node_name.clone()).unwrap_or_default(),
        created: p
            .metadata
            .creation_timestamp
            .as_ref()
            .and_then(|t| to_chrono(&t.0)),
        template_hash: label(TEMPLATE_HASH_LABEL)
            .or_else(|| label(CONTROLLER_REVISION_LABEL))
            .unwrap_or_default(),
        revision: None,
        labels,
    }
}

pub fn event_view(e: &Event) -> EventView {
    let o = &e.involved_object;
    let last = e
        .last_timestamp
        .as_ref()
        .map(|t| t.0)
        // A series' last observation is newer than its eventTime (the first one).
        .or_else(|| e.series.as_ref()?.last_observed_time.as_ref().map(|t| t.0))
        .or_else(|| e.event_time.as_ref().map(|t| t.0))
        .or_else(|| e.first_timestamp.as_ref().map(|t| t.0));
    EventView {
        kind: e.type_.clone().unwrap_or_else(|| "Normal".into()),
        reason: e.reason.clone().unwrap_or_default(),
        object: format!(
            "{}/{}",
            o.kind.as_deref().unwrap_or_default().to_lowercase(),
            o.name.as_deref().unwrap_or_default()
        ),
        message: e.message.clone().unwrap_or_default(),
        // events.k8s.io-style series carry the count there instead.
        count: e
            .count
            .or_else(|| e.series.as_ref().and_then(|s| s.count))
            .unwrap_or(1),
        last: last.as_ref().and_then(to_chrono),
    }
}

#[cfg(test)]
#[path = "kube_convert_tests.rs"]
mod tests;
