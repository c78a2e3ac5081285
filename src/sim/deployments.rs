//! The Deployment controller: a ReplicaSet per pod template, revisions, rollbacks, history.

use super::deploy_status::{Observed, next_status};
use super::replicasets::Counts;
use super::resources::Kind;
use super::rolling::resolve;
use super::world::{Key, Owner, World, annotation, obj_ref, set_annotation, update};
use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec, ReplicaSet, ReplicaSetSpec};
use k8s_openapi::api::core::v1::PodTemplateSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use serde_json::Value;
use std::time::Instant;

pub const REVISION: &str = "deployment.kubernetes.io/revision";
pub const HASH_LABEL: &str = "pod-template-hash";

/// Drops nulls and empty maps/lists, so templates compare by meaning, not by spelling.
fn normalize(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .map(|(k, v)| (k, normalize(v)))
                .filter(|(_, v)| !is_empty(v))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.into_iter().map(normalize).collect()),
        v => v,
    }
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Object(m) => m.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

/// The template as JSON without the pod-template-hash label.
pub fn template_key(t: &PodTemplateSpec) -> Value {
    let mut t = t.clone();
    if let Some(labels) = t.metadata.as_mut().and_then(|m| m.labels.as_mut()) {
        labels.remove(HASH_LABEL);
    }
    normalize(serde_json::to_value(t).unwrap_or_default())
}

/// FNV-1a of the template, spelled with the alphabet Kubernetes uses for hashes.
pub fn template_hash(t: &PodTemplateSpec, collisions: i32) -> String {
    let text = format!("{}{collisions}", template_key(t));
    let h = text.bytes().fold(0x811c_9dc5u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    });
    const ALPHA: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    h.to_string()
        .bytes()
        .map(|b| char::from(ALPHA[usize::from(b) % ALPHA.len()]))
        .collect()
}

pub fn revision(m: &ObjectMeta) -> i64 {
    annotation(m, REVISION)
        .and_then(|r| r.parse().ok())
        .unwrap_or(0)
}

impl World {
    pub fn sync_deployments(&mut self, now: Instant) {
        let keys: Vec<Key> = self.deployments.keys().cloned().collect();
        for key in keys {
            self.sync_deployment(&key, now);
        }
    }

    fn owned_replicasets(&self, d: &Deployment) -> Vec<Key> {
        let uid = d.metadata.uid.clone();
        let mut owned: Vec<(Key, i64)> = self
            .replicasets
            .iter()
            .filter(|(_, rs)| {
                rs.metadata
                    .owner_references
                    .iter()
                    .flatten()
                    .any(|o| o.controller == Some(true) && Some(&o.uid) == uid.as_ref())
            })
            .map(|(k, rs)| (k.clone(), revision(&rs.metadata)))
            .collect();
        owned.sort_by_key(|(_, r)| *r);
        owned.into_iter().map(|(k, _)| k).collect()
    }

    fn new_replicaset(
        &mut self,
        d: &Deployment,
        spec: &DeploymentSpec,
        rev: i64,
        replicas: i32,
    ) -> Key {
        let ns = d.metadata.namespace.clone().unwrap_or_default();
        let dname = d.metadata.name.clone().unwrap_or_default();
        let mut hash = template_hash(&spec.template, 0);
        let mut collisions = 0;
        while self
            .replicasets
            .contains_key(&(ns.clone(), format!("{dname}-{hash}")))
        {
            collisions += 1;
            hash = template_hash(&spec.template, collisions);
        }
        let name = format!("{dname}-{hash}");
        let mut template = spec.template.clone();
        let tmeta = template.metadata.get_or_insert_with(ObjectMeta::default);
        tmeta
            .labels
            .get_or_insert_with(Default::default)
            .insert(HASH_LABEL.into(), hash.clone());
        let mut selector = spec.selector.clone();
        selector
            .match_labels
            .get_or_insert_with(Default::default)
            .insert(HASH_LABEL.into(), hash.clone());
        let mut annotations = d.metadata.annotations.clone().unwrap_or_default();
        annotations.remove("kubectl.kubernetes.io/last-applied-configuration");
        annotations.insert(REVISION.into(), rev.to_string());
        let want = spec.replicas.unwrap_or(1);
        annotations.insert(
            "deployment.kubernetes.io/desired-replicas".into(),
            want.to_string(),
        );
        let surge = spec
            .strategy
            .as_ref()
            .and_then(|s| s.rolling_update.as_ref())
            .and_then(|r| r.max_surge.as_ref());
        annotations.insert(
            "deployment.kubernetes.io/max-replicas".into(),
            (want + resolve(surge, want, true, "25%")).to_string(),
        );
        let mut rs = ReplicaSet {
            metadata: ObjectMeta {
                name: Some(name.clone()),
                namespace: Some(ns.clone()),
                uid: Some(self.uid()),
                generation: Some(1),
                labels: tmeta.labels.clone(),
                annotations: Some(annotations),
                creation_timestamp: Some(self.time()),
                owner_references: Some(vec![OwnerReference {
                    api_version: "apps/v1".into(),
                    kind: "Deployment".into(),
                    name: dname,
                    uid: d.metadata.uid.clone().unwrap_or_default(),
                    controller: Some(true),
                    block_owner_deletion: Some(true),
                }]),
                ..Default::default()
            },
            spec: Some(ReplicaSetSpec {
                replicas: Some(replicas),
                min_ready_seconds: spec.min_ready_seconds,
                selector,
                template: Some(template),
            }),
            status: None,
        };
        self.store.commit(Kind::ReplicaSet, &mut rs);
        let key = (ns, name);
        self.replicasets.insert(key.clone(), rs);
        key
    }

    pub fn rs_replicas(&self, key: &Key) -> i32 {
        self.replicasets
            .get(key)
            .and_then(|rs| rs.spec.as_ref()?.replicas)
            .unwrap_or(0)
    }

    /// Scales a ReplicaSet and says so, like the controller's ScalingReplicaSet event.
    pub fn scale_rs(&mut self, d: &Deployment, key: &Key, to: i32) {
        let from = self.rs_replicas(key);
        if from == to {
            return;
        }
        update(
            &mut self.replicasets,
            &mut self.store,
            Kind::ReplicaSet,
            key,
            |rs: &mut ReplicaSet| {
                if let Some(s) = rs.spec.as_mut() {
                    s.replicas = Some(to);
                }
            },
        );
        let dir = if to > from { "up" } else { "down" };
        let msg = format!("Scaled {dir} replica set {} from {from} to {to}", key.1);
        self.event(
            obj_ref(d),
            false,
            "ScalingReplicaSet",
            msg,
            "deployment-controller",
        );
    }

    fn sync_deployment(&mut self, key: &Key, now: Instant) {
        let Some(d) = self.deployments.get(key).cloned() else {
            return;
        };
        let spec = d.spec.clone().unwrap_or_default();
        let ns = key.0.clone();
        let want = spec.replicas.unwrap_or(1).max(0);
        let paused = spec.paused == Some(true);
        let owned = self.owned_replicasets(&d);
        let wanted = template_key(&spec.template);
        let new_key = owned
            .iter()
            .find(|k| {
                self.replicasets
                    .get(*k)
                    .and_then(|rs| rs.spec.as_ref()?.template.as_ref())
                    .map(template_key)
                    == Some(wanted.clone())
            })
            .cloned();
        let max_old = owned
            .iter()
            .filter(|k| Some(*k) != new_key.as_ref())
            .filter_map(|k| self.replicasets.get(k))
            .map(|rs| revision(&rs.metadata))
            .max()
            .unwrap_or(0);
        let mut found: Option<(&'static str, String)> = None;
        let new_key = match new_key {
            _ if paused => new_key,
            None => {
                let active: i32 = owned.iter().map(|k| self.rs_replicas(k)).sum();
                let rolling =
                    spec.strategy.as_ref().and_then(|s| s.type_.as_deref()) != Some("Recreate");
                let surge = spec
                    .strategy
                    .as_ref()
                    .and_then(|s| s.rolling_update.as_ref())
                    .and_then(|r| r.max_surge.as_ref());
                let room = if rolling {
                    (want + resolve(surge, want, true, "25%") - active).clamp(0, want)
                } else {
                    0
                };
                let k = self.new_replicaset(&d, &spec, max_old + 1, 0);
                found = Some((
                    "NewReplicaSetCreated",
                    format!("Created new replica set \"{}\"", k.1),
                ));
                self.scale_rs(&d, &k, room);
                Some(k)
            }
            Some(k) => {
                let rev = self
                    .replicasets
                    .get(&k)
                    .map(|rs| revision(&rs.metadata))
                    .unwrap_or(0);
                if rev <= max_old {
                    // Rolling back to an old template: its ReplicaSet becomes the newest revision.
                    update(
                        &mut self.replicasets,
                        &mut self.store,
                        Kind::ReplicaSet,
                        &k,
                        |rs: &mut ReplicaSet| {
                            set_annotation(&mut rs.metadata, REVISION, (max_old + 1).to_string());
                        },
                    );
                    found = Some((
                        "FoundNewReplicaSet",
                        format!("Found new replica set \"{}\"", k.1),
                    ));
                }
                Some(k)
            }
        };
        let olds: Vec<Key> = owned
            .iter()
            .filter(|k| Some(*k) != new_key.as_ref())
            .cloned()
            .collect();
        let min_ready = spec.min_ready_seconds.unwrap_or(0);
        let counts =
            |w: &World, k: &Key| w.counts(&Owner::ReplicaSet(k.1.clone()), &ns, min_ready, now);
        let ru = spec
            .strategy
            .as_ref()
            .and_then(|s| s.rolling_update.as_ref());
        let surge = resolve(ru.and_then(|r| r.max_surge.as_ref()), want, true, "25%");
        let mut unavailable = resolve(
            ru.and_then(|r| r.max_unavailable.as_ref()),
            want,
            false,
            "25%",
        );
        if surge == 0 && unavailable == 0 {
            unavailable = 1;
        }
        if let (Some(nk), false) = (&new_key, paused) {
            if spec.strategy.as_ref().and_then(|s| s.type_.as_deref()) == Some("Recreate") {
                for k in &olds {
                    self.scale_rs(&d, k, 0);
                }
                let old_pods: usize = olds
                    .iter()
                    .map(|k| self.pods_of(&Owner::ReplicaSet(k.1.clone()), &ns).len())
                    .sum();
                if old_pods == 0 {
                    self.scale_rs(&d, nk, want);
                }
            } else {
                self.roll(&d, nk, &olds, want, surge, unavailable, &counts);
            }
        } else if paused {
            // Paused: only a plain scale of the single active ReplicaSet goes through.
            let active: Vec<&Key> = owned.iter().filter(|k| self.rs_replicas(k) > 0).collect();
            if let [only] = active[..] {
                let only = only.clone();
                self.scale_rs(&d, &only, want);
            }
        }
        // Status, from fresh pod counts.
        let all: Vec<Counts> = owned
            .iter()
            .chain(new_key.iter().filter(|k| !owned.contains(k)))
            .map(|k| counts(self, k))
            .collect();
        let new_c = new_key
            .as_ref()
            .map(|k| counts(self, k))
            .unwrap_or_default();
        let total = |f: fn(&Counts) -> i32| all.iter().map(f).sum::<i32>();
        let new_rev = new_key
            .as_ref()
            .and_then(|k| self.replicasets.get(k))
            .map(|rs| revision(&rs.metadata));
        let now_t = self.time();
        let observed = Observed {
            want,
            max_unavailable: unavailable,
            live: total(|c| c.live),
            updated: new_c.live,
            ready: total(|c| c.ready),
            available: total(|c| c.available),
            paused,
            found,
            rs_name: new_key.as_ref().map_or("", |k| k.1.as_str()),
            deadline: spec.progress_deadline_seconds.unwrap_or(600),
            now: &now_t,
        };
        let mut timed_out = false;
        update(
            &mut self.deployments,
            &mut self.store,
            Kind::Deployment,
            key,
            |d: &mut Deployment| {
                if let Some(rev) = new_rev {
                    set_annotation(&mut d.metadata, REVISION, rev.to_string());
                }
                let (status, expired) = next_status(d, &observed);
                d.status = Some(status);
                timed_out = expired;
            },
        );
        if timed_out {
            let msg = format!("Deployment \"{}\" has timed out progressing.", key.1);
            self.event(
                obj_ref(&d),
                true,
                "ProgressDeadlineExceeded",
                msg,
                "deployment-controller",
            );
        }
        self.cleanup_history(&olds, spec.revision_history_limit.unwrap_or(10));
    }

    /// Old ReplicaSets beyond revisionHistoryLimit go once they have no pods left.
    fn cleanup_history(&mut self, olds: &[Key], limit: i32) {
        let idle: Vec<&Key> = olds
            .iter()
            .filter(|k| {
                self.rs_replicas(k) == 0
                    && self
                        .pods_of(&Owner::ReplicaSet(k.1.clone()), &k.0)
                        .is_empty()
            })
            .collect();
        let extra = idle
            .len()
            .saturating_sub(usize::try_from(limit).unwrap_or(0));
        for k in idle.into_iter().take(extra).cloned().collect::<Vec<_>>() {
            if let Some(mut rs) = self.replicasets.remove(&k) {
                self.store.remove(Kind::ReplicaSet, &mut rs);
            }
        }
    }
}
