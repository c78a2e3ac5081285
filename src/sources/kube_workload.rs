//! Get and patch a watched workload by `kind/name`, whatever its kind, as a `WorkloadView`.

use super::kube_client::{Kube, describe, is_not_found};
use super::kube_convert as convert;
use crate::config::checklist::{Target, WorkloadKind};
use crate::core::kube::WorkloadView;
use k8s_openapi::NamespaceResourceScope;
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, StatefulSet};
use kube::api::{Api, Patch, PatchParams};
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::fmt::Debug;

/// Recorded as the field manager of our patches, as kubectl records `kubectl-rollout`.
pub const FIELD_MANAGER: &str = "shipdeck";

pub fn not_found(kube: &Kube, t: &Target) -> String {
    format!("{t} not found in namespace {}", kube.namespace)
}

fn failed(kube: &Kube, t: &Target, verb: &str, e: &kube::Error) -> String {
    if is_not_found(e) {
        not_found(kube, t)
    } else {
        format!("cannot {verb} {t}: {}", describe(e))
    }
}

trait Workload:
    kube::Resource<Scope = NamespaceResourceScope, DynamicType = ()> + Clone + DeserializeOwned + Debug
{
}
impl<K> Workload for K where
    K: kube::Resource<Scope = NamespaceResourceScope, DynamicType = ()>
        + Clone
        + DeserializeOwned
        + Debug
{
}

async fn get_as<K: Workload>(
    kube: &Kube,
    t: &Target,
    view: fn(&K) -> WorkloadView,
) -> Result<Option<WorkloadView>, String> {
    let api: Api<K> = Api::namespaced(kube.client.clone(), &kube.namespace);
    match api.get_opt(&t.name).await {
        Ok(o) => Ok(o.as_ref().map(view)),
        Err(e) => Err(failed(kube, t, "read", &e)),
    }
}

async fn patch_as<K: Workload>(
    kube: &Kube,
    t: &Target,
    patch: &Patch<Value>,
    view: fn(&K) -> WorkloadView,
) -> Result<WorkloadView, String> {
    let api: Api<K> = Api::namespaced(kube.client.clone(), &kube.namespace);
    let params = PatchParams {
        field_manager: Some(FIELD_MANAGER.into()),
        ..Default::default()
    };
    api.patch(&t.name, &params, patch)
        .await
        .map(|o| view(&o))
        .map_err(|e| failed(kube, t, "patch", &e))
}

/// The workload as it is now.
pub async fn get(kube: &Kube, t: &Target) -> Result<WorkloadView, String> {
    get_opt(kube, t).await?.ok_or_else(|| not_found(kube, t))
}

/// The workload as it is now, `None` if it does not exist.
pub async fn get_opt(kube: &Kube, t: &Target) -> Result<Option<WorkloadView>, String> {
    match t.kind {
        WorkloadKind::Deployment => get_as::<Deployment>(kube, t, convert::deployment_view).await,
        WorkloadKind::StatefulSet => {
            get_as::<StatefulSet>(kube, t, convert::statefulset_view).await
        }
        WorkloadKind::DaemonSet => get_as::<DaemonSet>(kube, t, convert::daemonset_view).await,
    }
}

/// Applies a patch and returns the workload as the server stored it.
pub async fn patch(kube: &Kube, t: &Target, p: &Patch<Value>) -> Result<WorkloadView, String> {
    match t.kind {
        WorkloadKind::Deployment => {
            patch_as::<Deployment>(kube, t, p, convert::deployment_view).await
        }
        WorkloadKind::StatefulSet => {
            patch_as::<StatefulSet>(kube, t, p, convert::statefulset_view).await
        }
        WorkloadKind::DaemonSet => patch_as::<DaemonSet>(kube, t, p, convert::daemonset_view).await,
    }
}

/// A JSON patch (RFC 6902) from its JSON form.
pub fn json_patch(ops: Value) -> Result<Patch<Value>, String> {
    serde_json::from_value(ops)
        .map(Patch::Json)
        .map_err(|e| format!("internal error building a JSON patch: {e}"))
}

/// Images as a record shows them: `web:2.0` for one container, `app=a:1, side=b:2` for more.
pub fn images_text(images: &[(String, String)]) -> String {
    match images {
        [(_, image)] => image.clone(),
        many => many
            .iter()
            .map(|(c, i)| format!("{c}={i}"))
            .collect::<Vec<_>>()
            .join(", "),
    }
}
