//! Fixtures for `kube_convert`: API JSON as a server sends it → the core's views.

use super::*;
use crate::core::kube::{Rollout, pod_status, rollout_status};
use serde_json::{Value, json};

fn from<T: serde::de::DeserializeOwned>(v: Value) -> T {
    serde_json::from_value(v).expect("fixture matches the API schema")
}

fn deployment_json() -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {
            "name": "web", "namespace": "shop", "generation": 4,
            "annotations": {"deployment.kubernetes.io/revision": "2"}
        },
        "spec": {
            "replicas": 3,
            "selector": {"matchLabels": {"app": "web", "tier": "front"}},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
            "template": {
                "metadata": {"labels": {"app": "web", "tier": "front"}},
                "spec": {"containers": [
                    {"name": "web", "image": "web:2.0"},
                    {"name": "proxy", "image": "envoy:1.30"}
                ]}
            }
        },
        "status": {
            "observedGeneration": 4, "replicas": 4, "updatedReplicas": 2,
            "readyReplicas": 3, "availableReplicas": 3,
            "conditions": [
                {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable", "message": "ok"},
                {"type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated", "message": "progressing"}
            ]
        }
    })
}

#[test]
fn deployment_fields() {
    let w = deployment_view(&from(deployment_json()));
    assert_eq!(w.kind, "deployment");
    assert_eq!(w.name, "web");
    assert_eq!((w.generation, w.observed_generation), (4, 4));
    assert_eq!(w.desired, Some(3));
    assert_eq!((w.replicas, w.updated, w.ready, w.available), (4, 2, 3, 3));
    assert_eq!(w.strategy, "RollingUpdate");
    assert_eq!(w.revision, Some(2));
    assert!(!w.paused);
    assert_eq!(w.selector, "app=web,tier=front");
    assert_eq!(
        w.images,
        vec![
            ("web".to_string(), "web:2.0".to_string()),
            ("proxy".to_string(), "envoy:1.30".to_string())
        ]
    );
    assert_eq!(w.conditions.len(), 2);
    assert_eq!(
        w.conditions[1],
        (
            "Progressing".to_string(),
            "True".to_string(),
            "ReplicaSetUpdated".to_string(),
            "progressing".to_string()
        )
    );
    assert_eq!(
        rollout_status(&w).text(),
        "Waiting for deployment \"web\" rollout to finish: 2 out of 3 new replicas have been updated..."
    );
}

#[test]
fn deployment_defaults_and_pause() {
    let mut v = deployment_json();
    v["spec"].as_object_mut().unwrap().remove("replicas");
    v["spec"].as_object_mut().unwrap().remove("strategy");
    v["spec"]["paused"] = json!(true);
    v["metadata"].as_object_mut().unwrap().remove("annotations");
    v.as_object_mut().unwrap().remove("status");
    let w = deployment_view(&from(v));
    assert_eq!(w.desired, Some(1));
    assert_eq!(w.strategy, "RollingUpdate");
    assert!(w.paused);
    assert_eq!(w.revision, None);
    assert_eq!(w.observed_generation, 0);
}

#[test]
fn statefulset_partition_and_revisions() {
    let s: StatefulSet = from(json!({
        "metadata": {"name": "db", "generation": 2},
        "spec": {
            "replicas": 3, "serviceName": "db",
            "selector": {"matchLabels": {"app": "db"}},
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 2}},
            "template": {"metadata": {"labels": {"app": "db"}},
                         "spec": {"containers": [{"name": "pg", "image": "postgres:16"}]}}
        },
        "status": {"observedGeneration": 2, "replicas": 3, "readyReplicas": 3,
                   "updatedReplicas": 1, "currentRevision": "db-6c7d", "updateRevision": "db-8f9a"}
    }));
    let w = statefulset_view(&s);
    assert_eq!(w.kind, "statefulset");
    assert_eq!(w.partition, Some(2));
    assert_eq!(w.current_revision, "db-6c7d");
    assert_eq!(w.update_revision, "db-8f9a");
    assert_eq!(
        w.images,
        vec![("pg".to_string(), "postgres:16".to_string())]
    );
    assert_eq!(
        rollout_status(&w),
        Rollout::Done("partitioned roll out complete: 1 new pods have been updated...".into())
    );
}

#[test]
fn daemonset_counts_come_from_scheduling() {
    let d: DaemonSet = from(json!({
        "metadata": {"name": "agent", "generation": 5},
        "spec": {
            "selector": {"matchExpressions": [{"key": "app", "operator": "In", "values": ["agent"]}]},
            "updateStrategy": {"type": "OnDelete"},
            "template": {"spec": {"containers": [{"name": "agent", "image": "agent:3"}]}}
        },
        "status": {"observedGeneration": 5, "desiredNumberScheduled": 4, "currentNumberScheduled": 4,
                   "numberMisscheduled": 0, "numberReady": 3, "updatedNumberScheduled": 2,
                   "numberAvailable": 3}
    }));
    let w = daemonset_view(&d);
    assert_eq!(w.kind, "daemonset");
    assert_eq!(w.desired, Some(4));
    assert_eq!((w.replicas, w.updated, w.ready, w.available), (4, 2, 3, 3));
    assert_eq!(w.strategy, "OnDelete");
    assert_eq!(w.selector, "app=agent");
}

#[test]
fn replicaset_maps_hash_to_revision() {
    let rs: ReplicaSet = from(json!({
        "metadata": {"name": "web-5d9c", "labels": {"app": "web", "pod-template-hash": "5d9c"},
                     "annotations": {"deployment.kubernetes.io/revision": "7"}},
        "spec": {"selector": {"matchLabels": {"app": "web"}}}
    }));
    assert_eq!(replicaset_revision(&rs), Some(("5d9c".to_string(), 7)));
    let bare: ReplicaSet = from(json!({"metadata": {"name": "x"}, "spec": {"selector": {}}}));
    assert_eq!(replicaset_revision(&bare), None);
}

fn pod_json() -> Value {
    json!({
        "metadata": {
            "name": "web-5d9c-abcde", "creationTimestamp": "2025-11-21T10:00:00Z",
            "labels": {"app": "web", "pod-template-hash": "5d9c"}
        },
        "spec": {
            "nodeName": "node-1",
            "initContainers": [
                {"name": "migrate", "image": "web:2.0"},
                {"name": "mesh", "image": "envoy", "restartPolicy": "Always"}
            ],
            "containers": [{"name": "web", "image": "web:2.0"}]
        },
        "status": {
            "phase": "Running",
            "conditions": [
                {"type": "Initialized", "status": "True"},
                {"type": "Ready", "status": "True"},
                {"type": "PodScheduled", "status": "True"}
            ],
            "initContainerStatuses": [
                {"name": "migrate", "ready": true, "restartCount": 0, "image": "web:2.0", "imageID": "",
                 "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}},
                {"name": "mesh", "ready": true, "started": true, "restartCount": 1, "image": "envoy", "imageID": "",
                 "state": {"running": {"startedAt": "2025-11-21T10:00:05Z"}}}
            ],
            "containerStatuses": [
                {"name": "web", "ready": true, "started": true, "restartCount": 2, "image": "web:2.0", "imageID": "",
                 "state": {"running": {"startedAt": "2025-11-21T10:01:00Z"}},
                 "lastState": {"terminated": {"exitCode": 1, "reason": "Error",
                                              "finishedAt": "2025-11-21T10:00:59.250Z"}}}
            ]
        }
    })
}

#[test]
fn running_pod_with_init_and_sidecar() {
    let p = pod_view(&from(pod_json()));
    assert_eq!(p.name, "web-5d9c-abcde");
    assert_eq!((p.containers, p.init_containers), (1, 2));
    assert!(!p.init_statuses[0].sidecar);
    assert!(p.init_statuses[1].sidecar && p.init_statuses[1].started);
    assert_eq!(
        p.init_statuses[0].terminated,
        Some(("Completed".into(), 0, 0))
    );
    assert!(p.statuses[0].running && p.statuses[0].ready);
    assert_eq!(p.statuses[0].waiting_reason, None);
    assert_eq!(
        p.statuses[0].last_restart.map(|t| t.to_rfc3339()),
        Some("2025-11-21T10:00:59.250+00:00".to_string())
    );
    assert!(p.ready_condition && p.initialized_condition);
    assert_eq!(p.unschedulable, None);
    assert!(!p.deleting);
    assert_eq!(p.node, "node-1");
    assert_eq!(
        p.created.map(|t| t.to_rfc3339()),
        Some("2025-11-21T10:00:00+00:00".into())
    );
    assert_eq!(p.template_hash, "5d9c");
    assert_eq!(p.revision, None);
    assert_eq!(p.restarts(), 3);
    assert_eq!(p.ready(), (1, 1));
    assert_eq!(pod_status(&p), "Running");
}

#[test]
fn pending_unschedulable_and_terminating_pods() {
    let mut v = pod_json();
    v["metadata"]["labels"] = json!({"app": "db", "controller-revision-hash": "db-6c7d"});
    v["metadata"]["deletionTimestamp"] = json!("2025-11-21T10:05:00Z");
    v["spec"].as_object_mut().unwrap().remove("initContainers");
    v["status"] = json!({
        "phase": "Pending", "reason": "",
        "conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                        "message": "0/3 nodes are available: 3 Insufficient cpu."}],
        "containerStatuses": [{"name": "web", "ready": false, "restartCount": 0, "image": "x", "imageID": "",
                               "state": {"waiting": {"reason": "ContainerCreating"}}}]
    });
    let p = pod_view(&from(v));
    assert_eq!(p.template_hash, "db-6c7d");
    assert_eq!(
        p.unschedulable.as_deref(),
        Some("0/3 nodes are available: 3 Insufficient cpu.")
    );
    assert_eq!(
        p.statuses[0].waiting_reason.as_deref(),
        Some("ContainerCreating")
    );
    assert!(p.deleting);
    assert_eq!(pod_status(&p), "Terminating");
}

#[test]
fn crash_looping_and_evicted_pods() {
    let mut v = pod_json();
    v["spec"].as_object_mut().unwrap().remove("initContainers");
    v["status"] = json!({
        "phase": "Running",
        "containerStatuses": [{"name": "web", "ready": false, "restartCount": 5, "image": "x", "imageID": "",
            "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 40s"}},
            "lastState": {"terminated": {"exitCode": 137, "signal": 9, "reason": ""}}}]
    });
    let p = pod_view(&from(v.clone()));
    assert_eq!(pod_status(&p), "CrashLoopBackOff");
    v["status"] = json!({"phase": "Failed", "reason": "Evicted"});
    let p = pod_view(&from(v));
    assert_eq!(p.reason, "Evicted");
    assert_eq!(pod_status(&p), "Evicted");
}

#[test]
fn events_take_the_newest_time_they_have() {
    let e: Event = from(json!({
        "metadata": {"name": "web.1", "namespace": "shop"},
        "involvedObject": {"kind": "Pod", "name": "web-5d9c-abcde"},
        "type": "Warning", "reason": "BackOff", "message": "Back-off restarting failed container",
        "count": 4,
        "firstTimestamp": "2025-11-21T10:00:00Z", "lastTimestamp": "2025-11-21T10:03:00Z"
    }));
    let v = event_view(&e);
    assert_eq!(v.object, "pod/web-5d9c-abcde");
    assert_eq!(
        (v.kind.as_str(), v.reason.as_str(), v.count),
        ("Warning", "BackOff", 4)
    );
    assert_eq!(
        v.last.map(|t| t.to_rfc3339()),
        Some("2025-11-21T10:03:00+00:00".into())
    );

    let micro: Event = from(json!({
        "metadata": {"name": "web.2"},
        "involvedObject": {"kind": "Deployment", "name": "web"},
        "reason": "ScalingReplicaSet", "message": "Scaled up",
        "eventTime": "2025-11-21T10:04:00.123456Z", "firstTimestamp": "2025-11-21T09:00:00Z"
    }));
    let v = event_view(&micro);
    assert_eq!(v.object, "deployment/web");
    assert_eq!((v.kind.as_str(), v.count), ("Normal", 1));
    assert_eq!(
        v.last.map(|t| t.to_rfc3339()),
        Some("2025-11-21T10:04:00.123456+00:00".into())
    );
}

#[test]
fn selector_expressions_print_like_kubectl() {
    let sel: LabelSelector = from(json!({
        "matchLabels": {"app": "web"},
        "matchExpressions": [
            {"key": "track", "operator": "NotIn", "values": ["canary"]},
            {"key": "tier", "operator": "Exists"},
            {"key": "env", "operator": "In", "values": ["a", "b"]}
        ]
    }));
    assert_eq!(
        selector_string(Some(&sel)),
        "app=web,track!=canary,tier,env in (a,b)"
    );
    assert_eq!(selector_string(None), "");
}
