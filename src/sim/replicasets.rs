//! The ReplicaSet controller: live pods to match `spec.replicas`, the least useful deleted first.

use super::resources::Kind;
use super::world::{Key, Owner, Stage, World, obj_ref, update};
use k8s_openapi::api::apps::v1::{ReplicaSet, ReplicaSetStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use std::time::Instant;

/// Pod counts of one controller's live (not terminating) pods.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub live: i32,
    pub ready: i32,
    pub available: i32,
    pub terminating: i32,
}

impl World {
    pub fn pods_of(&self, owner: &Owner, ns: &str) -> Vec<Key> {
        self.owned(owner, ns).map(|(k, _)| k.clone()).collect()
    }

    pub fn counts(&self, owner: &Owner, ns: &str, min_ready: i32, now: Instant) -> Counts {
        let mut c = Counts::default();
        for (_, sp) in self.owned(owner, ns) {
            if sp.terminating() {
                c.terminating += 1;
                continue;
            }
            c.live += 1;
            c.ready += i32::from(sp.stage == Stage::Ready);
            c.available += i32::from(sp.available(now, min_ready));
        }
        c
    }

    pub fn sync_replicasets(&mut self, now: Instant) {
        let keys: Vec<Key> = self.replicasets.keys().cloned().collect();
        for key in keys {
            self.sync_replicaset(&key, now);
        }
    }

    fn sync_replicaset(&mut self, key: &Key, now: Instant) {
        let Some(rs) = self.replicasets.get(key).cloned() else {
            return;
        };
        let (ns, name) = key.clone();
        let owner = Owner::ReplicaSet(name.clone());
        let spec = rs.spec.clone().unwrap_or_default();
        let want = spec.replicas.unwrap_or(1).max(0);
        let live: Vec<Key> = self
            .pods_of(&owner, &ns)
            .into_iter()
            .filter(|k| self.pods.get(k).is_some_and(|p| !p.terminating()))
            .collect();
        let have = i32::try_from(live.len()).unwrap_or(i32::MAX);
        if have < want {
            let template = spec.template.clone().unwrap_or_default();
            let owner_ref = OwnerReference {
                api_version: "apps/v1".into(),
                kind: "ReplicaSet".into(),
                name: name.clone(),
                uid: rs.metadata.uid.clone().unwrap_or_default(),
                controller: Some(true),
                block_owner_deletion: Some(true),
            };
            for _ in have..want {
                let pod_name = format!("{name}-{}", self.suffix(5));
                self.create_pod(
                    &ns,
                    pod_name.clone(),
                    &template,
                    owner.clone(),
                    owner_ref.clone(),
                    &[],
                );
                let msg = format!("Created pod: {pod_name}");
                self.event(
                    obj_ref(&rs),
                    false,
                    "SuccessfulCreate",
                    msg,
                    "replicaset-controller",
                );
            }
        } else if have > want {
            let mut doomed = live;
            // The controller's ranking: unscheduled, pending, not ready, then the youngest.
            doomed.sort_by_key(|k| {
                let sp = self.pods.get(k);
                let rank = sp.map_or(0, |p| match p.stage {
                    Stage::Pending => 0,
                    Stage::Creating | Stage::PullFailed { .. } => 1,
                    Stage::Running | Stage::Exited | Stage::CrashBackOff => 2,
                    _ => 3,
                });
                let age = sp
                    .and_then(|p| p.ready_since)
                    .map(|t| now.saturating_duration_since(t));
                (rank, age)
            });
            for k in doomed
                .into_iter()
                .take(usize::try_from(have - want).unwrap_or(0))
            {
                self.delete_pod(&k);
                let msg = format!("Deleted pod: {}", k.1);
                self.event(
                    obj_ref(&rs),
                    false,
                    "SuccessfulDelete",
                    msg,
                    "replicaset-controller",
                );
            }
        }
        let min_ready = spec.min_ready_seconds.unwrap_or(0);
        let c = self.counts(&owner, &ns, min_ready, now);
        update(
            &mut self.replicasets,
            &mut self.store,
            Kind::ReplicaSet,
            key,
            |rs: &mut ReplicaSet| {
                let observed = rs.metadata.generation;
                rs.status = Some(ReplicaSetStatus {
                    replicas: c.live,
                    fully_labeled_replicas: Some(c.live),
                    ready_replicas: Some(c.ready),
                    available_replicas: Some(c.available),
                    observed_generation: observed,
                    ..Default::default()
                });
            },
        );
    }
}
