//! Built-in actions through the Kubernetes API: set_image, restart, scale, undo, pause, resume.

use super::kube_client::{Kube, describe};
use super::kube_convert::{REVISION_ANNOTATION, TEMPLATE_HASH_LABEL, revision_of, template_images};
use super::kube_workload::{get, images_text, json_patch, not_found, patch};
use crate::config::checklist::{Action, ActionKind, Target, WorkloadKind};
use crate::core::kube::WorkloadView;
use crate::core::msg::ActionRecord;
use chrono::{SecondsFormat, Utc};
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use kube::api::{Api, ListParams, Patch};
use serde_json::{Value, json};
use std::time::Duration;
use tokio::time::{Instant, sleep};

/// How long an action waits for the controller to record the new revision.
const REVISION_WAIT: Duration = Duration::from_secs(2);
const REVISION_POLL: Duration = Duration::from_millis(100);

/// Annotations `kubectl rollout undo` keeps from the deployment rather than the ReplicaSet.
const UNDO_KEEP: &[&str] = &[
    "kubectl.kubernetes.io/last-applied-configuration",
    REVISION_ANNOTATION,
    "deployment.kubernetes.io/revision-history",
    "deployment.kubernetes.io/desired-replicas",
    "deployment.kubernetes.io/max-replicas",
    "deprecated.deployment.rollback.to",
];

/// Applies an action and says what it changed.
pub async fn apply(kube: &Kube, action: &Action) -> Result<ActionRecord, String> {
    let t = &action.target;
    let mut record = match &action.kind {
        ActionKind::SetImage { container, image } => {
            set_image(kube, t, container.as_deref(), image).await
        }
        ActionKind::Restart => restart(kube, t).await,
        ActionKind::Scale { replicas } => scale(kube, t, *replicas).await,
        ActionKind::Undo { to_revision } => match t.kind {
            WorkloadKind::Deployment => undo(kube, t, *to_revision).await,
            _ => Err(format!(
                "undo of {t} is not supported: shipdeck undoes deployments only (StatefulSet and \
                 DaemonSet history lives in ControllerRevisions); use `kubectl rollout undo {t}`"
            )),
        },
        ActionKind::Pause => set_paused(kube, t, true).await,
        ActionKind::Resume => set_paused(kube, t, false).await,
    }?;
    record.what = format!("{}{}", action.describe(), record.what);
    record.target = t.to_string();
    Ok(record)
}

fn record(before: String, after: String, revs: (Option<i64>, Option<i64>)) -> ActionRecord {
    ActionRecord {
        what: String::new(),
        target: String::new(),
        before,
        after,
        revision_before: revs.0,
        revision_after: revs.1,
    }
}

/// The revision once the controller has seen the patch (`None` if it has not within
/// `REVISION_WAIT`). A template change makes a deployment controller bump the revision.
async fn settled_revision(
    kube: &Kube,
    t: &Target,
    patched: WorkloadView,
    before: Option<i64>,
    template_changed: bool,
) -> Option<i64> {
    // Only deployments carry a numbered revision.
    if t.kind != WorkloadKind::Deployment {
        return None;
    }
    let deadline = Instant::now() + REVISION_WAIT;
    let mut w = patched;
    loop {
        let observed = w.observed_generation >= w.generation;
        // A paused deployment takes template changes without starting a new revision.
        if observed && (!template_changed || w.paused || w.revision != before) {
            return w.revision;
        }
        if Instant::now() >= deadline {
            return observed.then_some(w.revision).flatten();
        }
        sleep(REVISION_POLL).await;
        if let Ok(now) = get(kube, t).await {
            w = now;
        }
    }
}

async fn set_image(
    kube: &Kube,
    t: &Target,
    container: Option<&str>,
    image: &str,
) -> Result<ActionRecord, String> {
    let w = get(kube, t).await?;
    let names = || {
        w.images
            .iter()
            .map(|(c, _)| c.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let index = match container {
        Some(name) => w
            .images
            .iter()
            .position(|(c, _)| c == name)
            .ok_or_else(|| {
                format!(
                    "container {name} not found in {t} (containers: {})",
                    names()
                )
            })?,
        None if w.images.len() == 1 => 0,
        None => {
            return Err(format!(
                "{t} has several containers ({}): say which one with `container:`",
                names()
            ));
        }
    };
    let (name, before) = w.images[index].clone();
    // Strategic merge, as `kubectl set image`: `name` is the merge key of containers, so
    // the other containers and this one's other fields stay as they are.
    let p = Patch::Strategic(json!({"spec": {"template": {"spec": {"containers": [
        {"name": name, "image": image}
    ]}}}}));
    let patched = patch(kube, t, &p).await?;
    let after = patched
        .images
        .iter()
        .find(|(c, _)| *c == name)
        .map_or_else(|| image.to_string(), |(_, i)| i.clone());
    let rev = settled_revision(kube, t, patched, w.revision, before != image).await;
    Ok(record(before, after, (w.revision, rev)))
}

async fn restart(kube: &Kube, t: &Target) -> Result<ActionRecord, String> {
    let w = get(kube, t).await?;
    let at = Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true);
    let p = Patch::Merge(json!({"spec": {"template": {"metadata": {"annotations": {
        "kubectl.kubernetes.io/restartedAt": at
    }}}}}));
    let patched = patch(kube, t, &p).await?;
    let images = images_text(&patched.images);
    let rev = settled_revision(kube, t, patched, w.revision, true).await;
    Ok(record(
        images_text(&w.images),
        format!("{images} (restarted at {at})"),
        (w.revision, rev),
    ))
}

async fn scale(kube: &Kube, t: &Target, replicas: u32) -> Result<ActionRecord, String> {
    if t.kind == WorkloadKind::DaemonSet {
        return Err(format!(
            "{t} cannot be scaled: a DaemonSet runs one pod per matching node"
        ));
    }
    let w = get(kube, t).await?;
    let p = Patch::Merge(json!({"spec": {"replicas": replicas}}));
    let patched = patch(kube, t, &p).await?;
    let count = |w: &WorkloadView| w.desired.map_or_else(|| "?".into(), |d| d.to_string());
    Ok(record(
        count(&w),
        count(&patched),
        (w.revision, patched.revision),
    ))
}

async fn set_paused(kube: &Kube, t: &Target, paused: bool) -> Result<ActionRecord, String> {
    if t.kind != WorkloadKind::Deployment {
        let verb = if paused { "pause" } else { "resume" };
        return Err(format!(
            "cannot {verb} {t}: only deployments can be paused and resumed"
        ));
    }
    let text = |p: bool| if p { "paused" } else { "not paused" }.to_string();
    let w = get(kube, t).await?;
    let p = Patch::Merge(json!({"spec": {"paused": paused}}));
    let patched = patch(kube, t, &p).await?;
    let mut r = record(
        text(w.paused),
        text(patched.paused),
        (w.revision, patched.revision),
    );
    if w.paused == paused {
        // Repeating a release step must not fail it, but the record says nothing changed.
        r.what = format!(" (already {})", text(paused));
    }
    Ok(r)
}

/// `kubectl rollout undo`: the deployment's template becomes that of an older ReplicaSet.
async fn undo(kube: &Kube, t: &Target, to: Option<u64>) -> Result<ActionRecord, String> {
    let deploys: Api<Deployment> = Api::namespaced(kube.client.clone(), &kube.namespace);
    let d = match deploys.get_opt(&t.name).await {
        Ok(Some(d)) => d,
        Ok(None) => return Err(not_found(kube, t)),
        Err(e) => return Err(format!("cannot read {t}: {}", describe(&e))),
    };
    let uid = d.metadata.uid.clone().unwrap_or_default();
    let spec = d.spec.as_ref().ok_or_else(|| format!("{t} has no spec"))?;
    let selector = super::kube_convert::selector_string(Some(&spec.selector));
    let sets: Api<ReplicaSet> = Api::namespaced(kube.client.clone(), &kube.namespace);
    let listed = sets
        .list(&ListParams::default().labels(&selector))
        .await
        .map_err(|e| format!("cannot list the ReplicaSets of {t}: {}", describe(&e)))?;
    let mut history: Vec<(i64, ReplicaSet)> = listed
        .items
        .into_iter()
        .filter(|rs| {
            rs.metadata
                .owner_references
                .iter()
                .flatten()
                .any(|o| o.uid == uid)
        })
        .filter_map(|rs| Some((revision_of(&rs.metadata)?, rs)))
        .collect();
    history.sort_by_key(|(r, _)| *r);
    let revisions = || {
        history
            .iter()
            .map(|(r, _)| r.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let target = match to {
        Some(n) => history
            .iter()
            .find(|(r, _)| u64::try_from(*r).ok() == Some(n))
            .ok_or_else(|| {
                format!(
                    "revision {n} not found for {t} (revisions: {})",
                    revisions()
                )
            })?,
        // kubectl's "previous": the second-highest revision.
        None => history
            .iter()
            .rev()
            .nth(1)
            .ok_or_else(|| format!("no previous revision of {t} to undo to"))?,
    };
    let (to_rev, rs) = (target.0, &target.1);
    let mut template = rs
        .spec
        .as_ref()
        .and_then(|s| s.template.clone())
        .ok_or_else(|| format!("revision {to_rev} of {t} has no pod template"))?;
    if let Some(labels) = template.metadata.as_mut().and_then(|m| m.labels.as_mut()) {
        labels.remove(TEMPLATE_HASH_LABEL);
    }
    let before_images = template_images(Some(&spec.template));
    let after_images = template_images(Some(&template));
    let rev_before = revision_of(&d.metadata);
    let current = serde_json::to_value(&spec.template).unwrap_or(Value::Null);
    let wanted =
        serde_json::to_value(&template).map_err(|e| format!("cannot encode the template: {e}"))?;
    if current == wanted {
        let mut r = record(
            images_text(&before_images),
            images_text(&after_images),
            (rev_before, rev_before),
        );
        r.what = format!(" (skipped: current template already matches revision {to_rev})");
        return Ok(r);
    }
    let mut annotations = serde_json::Map::new();
    for (k, v) in d.metadata.annotations.iter().flatten() {
        if UNDO_KEEP.contains(&k.as_str()) {
            annotations.insert(k.clone(), json!(v));
        }
    }
    for (k, v) in rs.metadata.annotations.iter().flatten() {
        if !UNDO_KEEP.contains(&k.as_str()) {
            annotations.insert(k.clone(), json!(v));
        }
    }
    let p = json_patch(json!([
        {"op": "replace", "path": "/spec/template", "value": wanted},
        // `add` also replaces, and works when the deployment has no annotations yet.
        {"op": "add", "path": "/metadata/annotations", "value": annotations},
    ]))?;
    let patched = patch(kube, t, &p).await?;
    let rev_after = settled_revision(kube, t, patched, rev_before, true).await;
    let mut r = record(
        images_text(&before_images),
        images_text(&after_images),
        (rev_before, rev_after),
    );
    r.what = format!(" (to revision {to_rev})");
    Ok(r)
}
