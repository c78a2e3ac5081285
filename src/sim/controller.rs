//! The seeded demo world and the loop that runs every controller on a tick or on an API change.

use super::resources::Kind;
use super::server::Shared;
use super::world::{Key, World};
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::Namespace;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};

const TICK: Duration = Duration::from_millis(50);
/// How long the seeded world pretends to have been running.
const SEED_AGE: Duration = Duration::from_secs(17 * 60);

fn container(name: &str, image: &str, port: u16) -> Value {
    json!({
        "name": name, "image": image, "imagePullPolicy": "IfNotPresent",
        "ports": [{"containerPort": port, "name": "http", "protocol": "TCP"}],
        "resources": {}, "terminationMessagePath": "/dev/termination-log",
        "terminationMessagePolicy": "File",
    })
}

fn pod_spec(c: Value) -> Value {
    json!({
        "containers": [c], "restartPolicy": "Always", "terminationGracePeriodSeconds": 30,
        "dnsPolicy": "ClusterFirst", "schedulerName": "default-scheduler", "securityContext": {},
    })
}

fn deployment(ns: &str, name: &str, image: &str, replicas: usize, deadline: i32) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": ns, "generation": 1, "labels": {"app": name}},
        "spec": {
            "replicas": replicas, "revisionHistoryLimit": 10, "progressDeadlineSeconds": deadline,
            "selector": {"matchLabels": {"app": name}},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": pod_spec(container(name, image, 8080))},
        },
    })
}

fn statefulset(ns: &str) -> Value {
    let mut c = container("db", "postgres:16", 5432);
    c["ports"][0]["name"] = json!("postgres");
    json!({
        "apiVersion": "apps/v1", "kind": "StatefulSet",
        "metadata": {"name": "db", "namespace": ns, "generation": 1, "labels": {"app": "db"}},
        "spec": {
            "replicas": 1, "serviceName": "db", "podManagementPolicy": "OrderedReady",
            "revisionHistoryLimit": 10, "selector": {"matchLabels": {"app": "db"}},
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}},
            "template": {"metadata": {"labels": {"app": "db"}}, "spec": pod_spec(c)},
        },
    })
}

fn parse<T: serde::de::DeserializeOwned>(v: Value) -> std::io::Result<T> {
    serde_json::from_value(v).map_err(std::io::Error::other)
}

/// Puts the demo's objects in place as if they had been running for a while.
pub fn seed(w: &mut World) -> std::io::Result<()> {
    w.backdate = Some(SEED_AGE);
    let ns = w.cfg.namespace.clone();
    let mut names = vec!["default".to_string(), "kube-system".into(), ns.clone()];
    names.dedup();
    for name in names {
        let mut n: Namespace = parse(json!({
            "metadata": {"name": name, "labels": {"kubernetes.io/metadata.name": name}},
            "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"},
        }))?;
        n.metadata.uid = Some(w.uid());
        n.metadata.creation_timestamp = Some(w.time());
        w.store.commit(Kind::Namespace, &mut n);
    }
    let deadline = w.cfg.progress_deadline;
    let mut deploys = vec![deployment(&ns, "web", "web:1.0", 3, deadline)];
    // Extra pods for scale tests, spread over a few deployments.
    let n = w.cfg.pods;
    if n > 0 {
        let k = n.min(4).max(n.div_ceil(100));
        for i in 0..k {
            let share = n / k + usize::from(i < n % k);
            deploys.push(deployment(
                &ns,
                &format!("load-{i}"),
                "load:1.0",
                share,
                deadline,
            ));
        }
    }
    for v in deploys {
        let mut d: Deployment = parse(v)?;
        d.metadata.uid = Some(w.uid());
        d.metadata.creation_timestamp = Some(w.time());
        w.store.commit(Kind::Deployment, &mut d);
        let key: Key = (ns.clone(), d.metadata.name.clone().unwrap_or_default());
        w.deployments.insert(key, d);
    }
    let mut s: StatefulSet = parse(statefulset(&ns))?;
    s.metadata.uid = Some(w.uid());
    s.metadata.creation_timestamp = Some(w.time());
    w.store.commit(Kind::StatefulSet, &mut s);
    w.statefulsets.insert((ns, "db".into()), s);
    for _ in 0..3 {
        w.tick(Instant::now());
    }
    w.backdate = None;
    w.store.mark_window();
    Ok(())
}

impl World {
    /// One pass of every controller; the order lets a change flow through in one tick.
    pub fn tick(&mut self, now: Instant) {
        self.step_pods(now);
        self.sync_replicasets(now);
        self.sync_deployments(now);
        self.sync_statefulsets(now);
    }
}

/// Runs the controllers until the server shuts down.
pub async fn run(shared: Arc<Shared>) {
    let mut interval = tokio::time::interval(TICK);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut shutdown = shared.shutdown.clone();
    loop {
        tokio::select! {
            _ = interval.tick() => {}
            _ = shared.kick.notified() => {}
            _ = shutdown.changed() => break,
        }
        if *shutdown.borrow() {
            break;
        }
        shared.world().tick(Instant::now());
    }
}
