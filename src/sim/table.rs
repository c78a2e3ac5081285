//! Server-side printing: the `meta.k8s.io/v1` Table kubectl asks for, with its columns and cells.

use super::resources::Kind;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

/// kubectl's short durations: 45s, 3m12s, 17m, 5h3m, 2d4h, 40d.
pub fn human(d: chrono::Duration) -> String {
    let s = d.num_seconds();
    if s < 0 {
        return "0s".into();
    }
    let (m, h, days) = (s / 60, s / 3600, s / 86400);
    match () {
        _ if s < 120 => format!("{s}s"),
        _ if m < 10 && s % 60 != 0 => format!("{m}m{}s", s % 60),
        _ if m < 180 => format!("{m}m"),
        _ if h < 8 && m % 60 != 0 => format!("{h}h{}m", m % 60),
        _ if h < 48 => format!("{h}h"),
        _ if h < 192 && h % 24 != 0 => format!("{days}d{}h", h % 24),
        _ if days < 730 => format!("{days}d"),
        _ => format!("{}y", days / 365),
    }
}

fn age(ts: &Value) -> String {
    ts.as_str()
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map_or("<unknown>".into(), |t| {
            human(Utc::now() - t.with_timezone(&Utc))
        })
}

fn int(v: &Value) -> i64 {
    v.as_i64().unwrap_or(0)
}

fn col(name: &str, priority: i32) -> Value {
    let format = if name == "Name" { "name" } else { "" };
    json!({"name": name, "type": "string", "format": format, "description": "", "priority": priority})
}

fn containers(o: &Value) -> (String, String) {
    let cs = o["spec"]["template"]["spec"]["containers"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let field = |f: &str| {
        cs.iter()
            .map(|c| c[f].as_str().unwrap_or("").to_string())
            .collect::<Vec<_>>()
            .join(",")
    };
    (field("name"), field("image"))
}

fn selector(o: &Value) -> String {
    o["spec"]["selector"]["matchLabels"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default()
}

/// STATUS as kubectl prints it.
fn pod_status(o: &Value) -> String {
    let st = &o["status"];
    let mut reason = st["reason"]
        .as_str()
        .or(st["phase"].as_str())
        .unwrap_or("Unknown")
        .to_string();
    for c in st["containerStatuses"].as_array().into_iter().flatten() {
        let state = &c["state"];
        if let Some(r) = state["waiting"]["reason"].as_str() {
            reason = r.into();
        } else if let Some(r) = state["terminated"]["reason"].as_str() {
            reason = r.into();
        } else if !state["terminated"].is_null() {
            reason = format!("ExitCode:{}", int(&state["terminated"]["exitCode"]));
        }
    }
    if !o["metadata"]["deletionTimestamp"].is_null() {
        reason = "Terminating".into();
    }
    reason
}

fn pod_cells(o: &Value) -> Vec<Value> {
    let cs = o["status"]["containerStatuses"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let total = o["spec"]["containers"].as_array().map_or(0, Vec::len);
    let ready = cs.iter().filter(|c| c["ready"] == true).count();
    let restarts: i64 = cs.iter().map(|c| int(&c["restartCount"])).sum();
    let last = cs
        .iter()
        .filter_map(|c| c["lastState"]["terminated"]["finishedAt"].as_str())
        .max()
        .map(|t| age(&json!(t)));
    let restarts = match last {
        Some(ago) if restarts > 0 => format!("{restarts} ({ago} ago)"),
        _ => restarts.to_string(),
    };
    let or_none = |v: &Value| json!(v.as_str().unwrap_or("<none>"));
    vec![
        o["metadata"]["name"].clone(),
        json!(format!("{ready}/{total}")),
        json!(pod_status(o)),
        json!(restarts),
        json!(age(&o["metadata"]["creationTimestamp"])),
        or_none(&o["status"]["podIP"]),
        or_none(&o["spec"]["nodeName"]),
        json!("<none>"),
        json!("<none>"),
    ]
}

fn columns(kind: Kind) -> Vec<Value> {
    let cols: &[(&str, i32)] = match kind {
        Kind::Pod => &[
            ("Name", 0),
            ("Ready", 0),
            ("Status", 0),
            ("Restarts", 0),
            ("Age", 0),
            ("IP", 1),
            ("Node", 1),
            ("Nominated Node", 1),
            ("Readiness Gates", 1),
        ],
        Kind::Deployment => &[
            ("Name", 0),
            ("Ready", 0),
            ("Up-to-date", 0),
            ("Available", 0),
            ("Age", 0),
            ("Containers", 1),
            ("Images", 1),
            ("Selector", 1),
        ],
        Kind::ReplicaSet => &[
            ("Name", 0),
            ("Desired", 0),
            ("Current", 0),
            ("Ready", 0),
            ("Age", 0),
            ("Containers", 1),
            ("Images", 1),
            ("Selector", 1),
        ],
        Kind::StatefulSet => &[
            ("Name", 0),
            ("Ready", 0),
            ("Age", 0),
            ("Containers", 1),
            ("Images", 1),
        ],
        Kind::DaemonSet => &[
            ("Name", 0),
            ("Desired", 0),
            ("Current", 0),
            ("Ready", 0),
            ("Up-to-date", 0),
            ("Available", 0),
            ("Node Selector", 0),
            ("Age", 0),
            ("Containers", 1),
            ("Images", 1),
            ("Selector", 1),
        ],
        Kind::Event => &[
            ("Last Seen", 0),
            ("Type", 0),
            ("Reason", 0),
            ("Object", 0),
            ("Subobject", 1),
            ("Source", 1),
            ("Message", 0),
            ("First Seen", 1),
            ("Count", 1),
            ("Name", 1),
        ],
        Kind::Namespace => &[("Name", 0), ("Status", 0), ("Age", 0)],
    };
    cols.iter().map(|(n, p)| col(n, *p)).collect()
}

fn cells(kind: Kind, o: &Value) -> Vec<Value> {
    let name = o["metadata"]["name"].clone();
    let created = json!(age(&o["metadata"]["creationTimestamp"]));
    let (st, sp) = (&o["status"], &o["spec"]);
    let (cs, images) = containers(o);
    match kind {
        Kind::Pod => pod_cells(o),
        Kind::Deployment => vec![
            name,
            json!(format!(
                "{}/{}",
                int(&st["readyReplicas"]),
                sp["replicas"].as_i64().unwrap_or(1)
            )),
            json!(int(&st["updatedReplicas"])),
            json!(int(&st["availableReplicas"])),
            created,
            json!(cs),
            json!(images),
            json!(selector(o)),
        ],
        Kind::ReplicaSet => vec![
            name,
            json!(int(&sp["replicas"])),
            json!(int(&st["replicas"])),
            json!(int(&st["readyReplicas"])),
            created,
            json!(cs),
            json!(images),
            json!(selector(o)),
        ],
        Kind::StatefulSet => vec![
            name,
            json!(format!(
                "{}/{}",
                int(&st["readyReplicas"]),
                sp["replicas"].as_i64().unwrap_or(1)
            )),
            created,
            json!(cs),
            json!(images),
        ],
        Kind::DaemonSet => vec![
            name,
            json!(int(&st["desiredNumberScheduled"])),
            json!(int(&st["currentNumberScheduled"])),
            json!(int(&st["numberReady"])),
            json!(int(&st["updatedNumberScheduled"])),
            json!(int(&st["numberAvailable"])),
            json!("<none>"),
            created,
            json!(cs),
            json!(images),
            json!(selector(o)),
        ],
        Kind::Event => {
            let io = &o["involvedObject"];
            let object = format!(
                "{}/{}",
                io["kind"].as_str().unwrap_or("").to_lowercase(),
                io["name"].as_str().unwrap_or("")
            );
            let last = if o["lastTimestamp"].is_null() {
                &o["eventTime"]
            } else {
                &o["lastTimestamp"]
            };
            vec![
                json!(age(last)),
                o["type"].clone(),
                o["reason"].clone(),
                json!(object),
                json!(io["fieldPath"].as_str().unwrap_or("")),
                json!(o["source"]["component"].as_str().unwrap_or("")),
                o["message"].clone(),
                json!(age(&o["firstTimestamp"])),
                json!(int(&o["count"])),
                name,
            ]
        }
        Kind::Namespace => vec![name, st["phase"].clone(), created],
    }
}

/// A Table of the objects; `include` is the request's includeObject (None/Metadata/Object).
pub fn render(kind: Kind, items: &[&Value], metadata: Value, include: &str) -> Value {
    let rows: Vec<Value> = items
        .iter()
        .map(|o| {
            let mut row = json!({"cells": cells(kind, o)});
            match include {
                "None" => {}
                "Object" => row["object"] = (*o).clone(),
                _ => {
                    row["object"] = json!({
                        "kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                        "metadata": o["metadata"],
                    })
                }
            }
            row
        })
        .collect();
    json!({
        "kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": metadata,
        "columnDefinitions": columns(kind), "rows": rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_like_kubectl() {
        let s = chrono::Duration::seconds;
        assert_eq!(human(s(45)), "45s");
        assert_eq!(human(s(192)), "3m12s");
        assert_eq!(human(s(17 * 60)), "17m");
        assert_eq!(human(s(5 * 3600 + 180)), "5h3m");
        assert_eq!(human(s(3 * 86400)), "3d");
    }

    #[test]
    fn pod_status_column() {
        let crash = json!({"status": {"phase": "Running", "containerStatuses": [
            {"ready": false, "restartCount": 2, "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]}});
        assert_eq!(pod_status(&crash), "CrashLoopBackOff");
        let gone = json!({"metadata": {"deletionTimestamp": "2025-01-01T00:00:00Z"}, "status": {"phase": "Running"}});
        assert_eq!(pod_status(&gone), "Terminating");
    }
}
