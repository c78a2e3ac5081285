//! A pod's status as the kubelet reports it for each simulated stage of its life.

use super::world::{SimPod, Stage};
use k8s_openapi::api::core::v1::{
    ContainerState, ContainerStateRunning, ContainerStateWaiting, ContainerStatus, Pod,
    PodCondition, PodStatus,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use std::time::Duration;

/// Kubernetes doubles the back-off from 10 s to 5 min; the demo from 1 s to 8 s.
pub fn backoff(failures: u32) -> Duration {
    Duration::from_secs(1u64 << failures.clamp(1, 4).saturating_sub(1))
}

pub fn first_container(p: &Pod) -> (String, String) {
    p.spec
        .as_ref()
        .and_then(|s| s.containers.first())
        .map(|c| (c.name.clone(), c.image.clone().unwrap_or_default()))
        .unwrap_or_default()
}

fn condition(old: &[PodCondition], type_: &str, ok: bool, now: &Time) -> PodCondition {
    let status = if ok { "True" } else { "False" };
    let since = old
        .iter()
        .find(|c| c.type_ == type_ && c.status == status)
        .and_then(|c| c.last_transition_time.clone())
        .unwrap_or_else(|| now.clone());
    PodCondition {
        type_: type_.into(),
        status: status.into(),
        last_transition_time: Some(since),
        reason: (!ok && (type_ == "Ready" || type_ == "ContainersReady"))
            .then(|| "ContainersNotReady".into()),
        ..Default::default()
    }
}

fn waiting(reason: &str, message: Option<String>) -> ContainerState {
    ContainerState {
        waiting: Some(ContainerStateWaiting {
            reason: Some(reason.into()),
            message,
        }),
        ..Default::default()
    }
}

/// Rewrites the pod's status from its stage, keeping condition transition times.
pub fn render(sp: &mut SimPod, now: Time) {
    let stage = sp.stage;
    if stage == Stage::Terminating {
        return;
    }
    let name = sp.pod.metadata.name.clone().unwrap_or_default();
    let uid = sp.pod.metadata.uid.clone().unwrap_or_default();
    let ns = sp.pod.metadata.namespace.clone().unwrap_or_default();
    let containers = sp.pod.spec.as_ref().map(|s| s.containers.clone());
    let (cname, image) = first_container(&sp.pod);
    let status = sp.pod.status.get_or_insert_with(PodStatus::default);
    let old = status.conditions.clone().unwrap_or_default();
    let ready = stage == Stage::Ready;
    let started = matches!(stage, Stage::Running | Stage::Ready);
    status.phase = Some(
        match stage {
            Stage::Pending | Stage::Creating | Stage::PullFailed { .. } => "Pending",
            _ => "Running",
        }
        .into(),
    );
    status.qos_class = Some("BestEffort".into());
    if stage == Stage::Pending {
        status.conditions = None;
        status.container_statuses = None;
        return;
    }
    status.conditions = Some(vec![
        condition(
            &old,
            "PodReadyToStartContainers",
            stage != Stage::Creating,
            &now,
        ),
        condition(&old, "Initialized", true, &now),
        condition(&old, "Ready", ready, &now),
        condition(&old, "ContainersReady", ready, &now),
        condition(&old, "PodScheduled", true, &now),
    ]);
    let state = match stage {
        Stage::Creating => waiting("ContainerCreating", None),
        Stage::PullFailed { backoff } => {
            let why =
                format!("failed to pull and unpack image \"docker.io/library/{image}\": not found");
            if backoff {
                waiting(
                    "ImagePullBackOff",
                    Some(format!(
                        "Back-off pulling image \"{image}\": ErrImagePull: {why}"
                    )),
                )
            } else {
                waiting("ErrImagePull", Some(why))
            }
        }
        Stage::CrashBackOff => waiting(
            "CrashLoopBackOff",
            Some(format!(
                "back-off {}s restarting failed container={} pod={name}_{ns}({uid})",
                backoff(sp.failures).as_secs(),
                cname
            )),
        ),
        Stage::Exited => ContainerState {
            terminated: sp.last_term.clone(),
            ..Default::default()
        },
        _ => ContainerState {
            running: Some(ContainerStateRunning {
                started_at: sp.started_at.map(Time),
            }),
            ..Default::default()
        },
    };
    let last_state = sp
        .last_term
        .clone()
        .filter(|_| stage != Stage::Exited)
        .map(|t| ContainerState {
            terminated: Some(t),
            ..Default::default()
        });
    status.container_statuses = containers.map(|cs| {
        cs.iter()
            .map(|c| ContainerStatus {
                name: c.name.clone(),
                image: c.image.clone().unwrap_or_default(),
                image_id: if sp.started_at.is_some() {
                    format!("docker.io/library/{}", c.image.clone().unwrap_or_default())
                } else {
                    String::new()
                },
                container_id: sp
                    .started_at
                    .map(|t| format!("containerd://{:x}", t.as_nanosecond())),
                ready,
                started: Some(started),
                restart_count: sp.restarts,
                state: Some(state.clone()),
                last_state: last_state.clone(),
                ..Default::default()
            })
            .collect()
    });
}
