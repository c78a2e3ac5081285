//! The StatefulSet controller: ordered ordinal pods, partitioned rolling updates, revisions.

use super::deployments::template_hash;
use super::resources::Kind;
use super::world::{Key, Owner, Stage, World, obj_ref, update};
use k8s_openapi::api::apps::v1::{StatefulSet, StatefulSetStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use std::time::Instant;

const REV_LABEL: &str = "controller-revision-hash";

struct Member {
    key: Key,
    revision: String,
    ready: bool,
    available: bool,
    terminating: bool,
}

impl World {
    pub fn sync_statefulsets(&mut self, now: Instant) {
        let keys: Vec<Key> = self.statefulsets.keys().cloned().collect();
        for key in keys {
            self.sync_statefulset(&key, now);
        }
    }

    fn members(&self, ns: &str, name: &str, now: Instant, min_ready: i32) -> Vec<(i32, Member)> {
        let owner = Owner::StatefulSet(name.into());
        self.pods_of(&owner, ns)
            .into_iter()
            .filter_map(|k| {
                let sp = self.pods.get(&k)?;
                let ordinal = k.1.rsplit('-').next()?.parse().ok()?;
                let revision = sp.pod.metadata.labels.as_ref()?.get(REV_LABEL)?.clone();
                Some((
                    ordinal,
                    Member {
                        key: k,
                        revision,
                        ready: sp.stage == Stage::Ready,
                        available: sp.available(now, min_ready),
                        terminating: sp.terminating(),
                    },
                ))
            })
            .collect()
    }

    fn sync_statefulset(&mut self, key: &Key, now: Instant) {
        let Some(sts) = self.statefulsets.get(key).cloned() else {
            return;
        };
        let (ns, name) = key.clone();
        let spec = sts.spec.clone().unwrap_or_default();
        let want = spec.replicas.unwrap_or(1).max(0);
        let update_rev = format!("{name}-{}", template_hash(&spec.template, 0));
        self.sts_revisions
            .entry((ns.clone(), update_rev.clone()))
            .or_insert_with(|| spec.template.clone());
        let current_rev = sts
            .status
            .as_ref()
            .and_then(|s| s.current_revision.clone())
            .unwrap_or_else(|| update_rev.clone());
        let strategy = spec.update_strategy.clone().unwrap_or_default();
        let rolling = strategy.type_.as_deref() != Some("OnDelete");
        let partition = strategy
            .rolling_update
            .and_then(|r| r.partition)
            .unwrap_or(0);
        let ordered = spec.pod_management_policy.as_deref() != Some("Parallel");
        let min_ready = spec.min_ready_seconds.unwrap_or(0);
        let mut members = self.members(&ns, &name, now, min_ready);
        members.sort_by_key(|(o, _)| *o);
        let settled = |ms: &[(i32, Member)], below: i32| {
            (0..below).all(|i| ms.iter().any(|(o, m)| *o == i && m.ready && !m.terminating))
        };
        // Create missing ordinals, in order unless Parallel.
        for i in 0..want {
            if members.iter().any(|(o, _)| *o == i) {
                continue;
            }
            if ordered && !settled(&members, i) {
                break;
            }
            let rev = if i < partition {
                &current_rev
            } else {
                &update_rev
            };
            let template = self
                .sts_revisions
                .get(&(ns.clone(), rev.clone()))
                .cloned()
                .unwrap_or_else(|| spec.template.clone());
            let pod = format!("{name}-{i}");
            let owner_ref = OwnerReference {
                api_version: "apps/v1".into(),
                kind: "StatefulSet".into(),
                name: name.clone(),
                uid: sts.metadata.uid.clone().unwrap_or_default(),
                controller: Some(true),
                block_owner_deletion: Some(true),
            };
            let labels = [
                (REV_LABEL, rev.clone()),
                ("statefulset.kubernetes.io/pod-name", pod.clone()),
                ("apps.kubernetes.io/pod-index", i.to_string()),
            ];
            let owner = Owner::StatefulSet(name.clone());
            self.create_pod(&ns, pod.clone(), &template, owner, owner_ref, &labels);
            let msg = format!("create Pod {pod} in StatefulSet {name} successful");
            self.event(
                obj_ref(&sts),
                false,
                "SuccessfulCreate",
                msg,
                "statefulset-controller",
            );
            if ordered {
                break;
            }
        }
        let busy = members.iter().any(|(_, m)| m.terminating);
        // Scale down from the highest ordinal.
        if let Some((_, m)) = members
            .iter()
            .rev()
            .find(|(o, m)| *o >= want && !m.terminating)
            && (!ordered || !busy)
        {
            let k = m.key.clone();
            self.delete_pod(&k);
            let msg = format!("delete Pod {} in StatefulSet {name} successful", k.1);
            self.event(
                obj_ref(&sts),
                false,
                "SuccessfulDelete",
                msg,
                "statefulset-controller",
            );
        } else if rolling && !busy && settled(&members, want) {
            // Replace the highest outdated pod at or above the partition, one at a time.
            if let Some((_, m)) = members
                .iter()
                .rev()
                .find(|(o, m)| *o >= partition && *o < want && m.revision != update_rev)
            {
                let k = m.key.clone();
                self.delete_pod(&k);
                let msg = format!("delete Pod {} in StatefulSet {name} successful", k.1);
                self.event(
                    obj_ref(&sts),
                    false,
                    "SuccessfulDelete",
                    msg,
                    "statefulset-controller",
                );
            }
        }
        let members = self.members(&ns, &name, now, min_ready);
        let live: Vec<&Member> = members
            .iter()
            .map(|(_, m)| m)
            .filter(|m| !m.terminating)
            .collect();
        let count = |f: &dyn Fn(&Member) -> bool| {
            i32::try_from(live.iter().filter(|m| f(m)).count()).unwrap_or(0)
        };
        let ready = count(&|m| m.ready);
        let updated = count(&|m| m.revision == update_rev);
        let replicas = count(&|_| true);
        let done = updated == want && ready == want && replicas == want;
        let current = if done {
            update_rev.clone()
        } else {
            current_rev.clone()
        };
        let current_replicas = count(&|m| m.revision == current);
        let available = count(&|m| m.available);
        update(
            &mut self.statefulsets,
            &mut self.store,
            Kind::StatefulSet,
            key,
            |s: &mut StatefulSet| {
                s.status = Some(StatefulSetStatus {
                    replicas,
                    ready_replicas: Some(ready),
                    available_replicas: Some(available),
                    current_replicas: Some(current_replicas),
                    updated_replicas: Some(updated),
                    current_revision: Some(current),
                    update_revision: Some(update_rev),
                    observed_generation: s.metadata.generation,
                    collision_count: Some(0),
                    ..Default::default()
                });
            },
        );
    }
}
