//! Writes: patch/replace of Deployments and StatefulSets and their scale; pod deletion.

use super::patch;
use super::resources::{Kind, ResDef};
use super::server::{ApiError, Params, Shared, Target, json_response};
use super::world::{World, update};
use axum::http::StatusCode;
use axum::response::Response;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::{Metadata, api::apps::v1::Deployment, api::apps::v1::StatefulSet};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use std::collections::BTreeMap;

fn parse_body(body: &[u8]) -> Result<Value, ApiError> {
    serde_json::from_slice(body)
        .or_else(|_| serde_yaml::from_slice(body))
        .map_err(|e| ApiError::bad_request(format!("the request body is not valid JSON: {e}")))
}

/// Applies a patch document of the given content type.
fn apply_patch(
    def: &ResDef,
    name: &str,
    doc: &mut Value,
    content_type: &str,
    body: &[u8],
) -> Result<(), ApiError> {
    let p = parse_body(body)?;
    let media = content_type.split(';').next().unwrap_or("").trim();
    let invalid = |e: String| ApiError::invalid(def, name, e);
    match media {
        "application/merge-patch+json" => {
            patch::merge(doc, &p);
            Ok(())
        }
        "application/json-patch+json" => patch::json_patch(doc, &p).map_err(invalid),
        // Server-side apply merges lists by key much as a strategic merge does.
        "application/strategic-merge-patch+json" | "application/apply-patch+yaml" => {
            patch::strategic(doc, &p).map_err(invalid)
        }
        other => Err(ApiError::new(
            415,
            "UnsupportedMediaType",
            format!(
                "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json (got {other:?})"
            ),
        )),
    }
}

/// What the API server would refuse in a workload's new spec.
fn validate(def: &ResDef, name: &str, before: &Value, after: &Value) -> Result<(), ApiError> {
    let bad = |why: String| Err(ApiError::invalid(def, name, why));
    let spec = &after["spec"];
    if spec["selector"] != before["spec"]["selector"] {
        return bad(format!(
            "spec.selector: Invalid value: {}: field is immutable",
            spec["selector"]
        ));
    }
    if spec["replicas"].as_i64().is_some_and(|r| r < 0) {
        return bad("spec.replicas: Invalid value: must be greater than or equal to 0".into());
    }
    let labels = &spec["template"]["metadata"]["labels"];
    if let Some(m) = spec["selector"]["matchLabels"].as_object()
        && m.iter().any(|(k, v)| labels.get(k) != Some(v))
    {
        return bad("spec.template.metadata.labels: Invalid value: `selector` does not match template `labels`".into());
    }
    let containers = spec["template"]["spec"]["containers"]
        .as_array()
        .map_or(&[][..], Vec::as_slice);
    if containers.is_empty() {
        return bad("spec.template.spec.containers: Required value".into());
    }
    for (i, c) in containers.iter().enumerate() {
        for field in ["name", "image"] {
            if c[field].as_str().is_none_or(str::is_empty) {
                return bad(format!(
                    "spec.template.spec.containers[{i}].{field}: Required value"
                ));
            }
        }
    }
    Ok(())
}

/// Read-modify-write of one object through its JSON; metadata the server owns and the
/// status are kept. Returns the stored (or, on dry run, would-be) object.
fn modify<T>(
    map: &mut BTreeMap<(String, String), T>,
    store: &mut super::store::Store,
    def: &ResDef,
    key: &(String, String),
    dry_run: bool,
    f: impl FnOnce(&mut Value) -> Result<(), ApiError>,
) -> Result<Value, ApiError>
where
    T: Serialize + DeserializeOwned + Clone + PartialEq + Metadata<Ty = ObjectMeta>,
{
    let name = &key.1;
    let old = map.get(key).ok_or_else(|| ApiError::not_found(def, name))?;
    let before = serde_json::to_value(old)
        .map_err(|e| ApiError::new(500, "InternalError", e.to_string()))?;
    let mut after = before.clone();
    f(&mut after)?;
    // Checked before writing into it: indexing a non-object JSON value for writing panics.
    if !after["metadata"].is_object() {
        return Err(ApiError::invalid(
            def,
            name,
            "metadata: Required value: an object",
        ));
    }
    let (bm, am) = (&before["metadata"], &after["metadata"]);
    if am["name"] != bm["name"]
        || (am["namespace"] != bm["namespace"] && !am["namespace"].is_null())
    {
        return Err(ApiError::bad_request(
            "the name and namespace of the object cannot change",
        ));
    }
    if let Some(rv) = am["resourceVersion"].as_str()
        && Some(rv) != bm["resourceVersion"].as_str()
    {
        let msg = format!(
            "Operation cannot be fulfilled on {}.{} \"{name}\": the object has been modified; please apply your changes to the latest version and try again",
            def.plural, def.group
        );
        return Err(ApiError::new(409, "Conflict", msg));
    }
    for k in [
        "uid",
        "creationTimestamp",
        "generation",
        "resourceVersion",
        "namespace",
        "ownerReferences",
    ] {
        after["metadata"][k] = bm[k].clone();
    }
    after["status"] = before["status"].clone();
    validate(def, name, &before, &after)?;
    let new: T =
        serde_json::from_value(after.clone()).map_err(|e| ApiError::invalid(def, name, e))?;
    if dry_run {
        return Ok(after);
    }
    update(map, store, def.kind, key, |o| *o = new);
    serde_json::to_value(map.get(key))
        .map_err(|e| ApiError::new(500, "InternalError", e.to_string()))
}

fn modify_workload(
    w: &mut World,
    t: &Target,
    dry_run: bool,
    f: impl FnOnce(&mut Value) -> Result<(), ApiError>,
) -> Result<Value, ApiError> {
    let key = t.key();
    match t.kind() {
        Kind::Deployment => {
            modify::<Deployment>(&mut w.deployments, &mut w.store, t.def, &key, dry_run, f)
        }
        Kind::StatefulSet => {
            modify::<StatefulSet>(&mut w.statefulsets, &mut w.store, t.def, &key, dry_run, f)
        }
        _ => Err(ApiError::new(
            405,
            "MethodNotAllowed",
            format!("the demo cluster does not change {}", t.def.plural),
        )),
    }
}

fn dry(q: &Params) -> bool {
    q.get("dryRun").is_some_and(|v| v == "All")
}

/// `autoscaling/v1` Scale of a workload's JSON.
fn scale_of(obj: &Value) -> Value {
    let selector = obj["spec"]["selector"]["matchLabels"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default();
    let m = &obj["metadata"];
    json!({
        "kind": "Scale", "apiVersion": "autoscaling/v1",
        "metadata": {"name": m["name"], "namespace": m["namespace"], "uid": m["uid"],
                     "resourceVersion": m["resourceVersion"], "creationTimestamp": m["creationTimestamp"]},
        "spec": {"replicas": obj["spec"]["replicas"].as_i64().unwrap_or(1)},
        "status": {"replicas": obj["status"]["replicas"].as_i64().unwrap_or(0), "selector": selector},
    })
}

pub fn scale_get(s: &Shared, t: &Target) -> Result<Response, ApiError> {
    let (ns, name) = t.key();
    if !matches!(t.kind(), Kind::Deployment | Kind::StatefulSet) {
        return Err(ApiError::new(
            404,
            "NotFound",
            "the server could not find the requested resource",
        ));
    }
    let obj = s
        .world()
        .store
        .get(t.kind(), &ns, &name)
        .ok_or_else(|| ApiError::not_found(t.def, &name))?;
    Ok(json_response(StatusCode::OK, &scale_of(&obj)))
}

/// A change through the scale subresource: only `spec.replicas` moves.
fn write_scale(
    s: &Shared,
    t: &Target,
    q: &Params,
    change: impl FnOnce(&mut Value) -> Result<(), ApiError>,
) -> Result<Response, ApiError> {
    let name = t.key().1;
    let mut w = s.world();
    let obj = modify_workload(&mut w, t, dry(q), |doc| {
        let mut scale = scale_of(doc);
        let rv = scale["metadata"]["resourceVersion"].clone();
        change(&mut scale)?;
        let replicas = scale["spec"]["replicas"]
            .as_i64()
            .filter(|r| (0..=i64::from(i32::MAX)).contains(r));
        let Some(replicas) = replicas else {
            return Err(ApiError::invalid(
                t.def,
                &name,
                "spec.replicas: Invalid value: must be greater than or equal to 0",
            ));
        };
        if !scale["metadata"]["resourceVersion"].is_null()
            && scale["metadata"]["resourceVersion"] != rv
        {
            doc["metadata"]["resourceVersion"] = scale["metadata"]["resourceVersion"].clone();
        }
        doc["spec"]["replicas"] = json!(replicas);
        Ok(())
    })?;
    drop(w);
    s.kick.notify_one();
    Ok(json_response(StatusCode::OK, &scale_of(&obj)))
}

pub fn patch(
    s: &Shared,
    t: &Target,
    sub: Option<&str>,
    content_type: &str,
    body: &[u8],
    q: &Params,
) -> Result<Response, ApiError> {
    let name = t.key().1;
    match sub {
        Some("scale") => write_scale(s, t, q, |scale| {
            apply_patch(t.def, &name, scale, content_type, body)
        }),
        Some(other) => Err(ApiError::new(
            404,
            "NotFound",
            format!("no subresource {other:?}"),
        )),
        None => {
            let obj = modify_workload(&mut s.world(), t, dry(q), |doc| {
                apply_patch(t.def, &name, doc, content_type, body)
            })?;
            s.kick.notify_one();
            Ok(json_response(StatusCode::OK, &obj))
        }
    }
}

pub fn put(
    s: &Shared,
    t: &Target,
    sub: Option<&str>,
    body: &[u8],
    q: &Params,
) -> Result<Response, ApiError> {
    let new = parse_body(body)?;
    match sub {
        Some("scale") => write_scale(s, t, q, |scale| {
            *scale = new;
            Ok(())
        }),
        Some(other) => Err(ApiError::new(
            404,
            "NotFound",
            format!("no subresource {other:?}"),
        )),
        None => {
            let obj = modify_workload(&mut s.world(), t, dry(q), |doc| {
                *doc = new;
                Ok(())
            })?;
            s.kick.notify_one();
            Ok(json_response(StatusCode::OK, &obj))
        }
    }
}

/// Only pods can be deleted: the ReplicaSet or StatefulSet replaces them.
pub fn delete(s: &Shared, t: &Target) -> Result<Response, ApiError> {
    if t.kind() != Kind::Pod {
        return Err(ApiError::new(
            405,
            "MethodNotAllowed",
            format!("the demo cluster does not delete {}", t.def.plural),
        ));
    }
    let key = t.key();
    let mut w = s.world();
    if !w.pods.contains_key(&key) {
        return Err(ApiError::not_found(t.def, &key.1));
    }
    w.delete_pod(&key);
    let obj = w
        .store
        .get(Kind::Pod, &key.0, &key.1)
        .map(|o| (*o).clone())
        .unwrap_or(Value::Null);
    drop(w);
    s.kick.notify_one();
    Ok(json_response(StatusCode::OK, &obj))
}
