//! The simulated cluster's typed objects, event book, and helpers that commit every change.

use super::logs::{App, PodLog};
use super::resources::Kind;
use super::store::Store;
use super::{Scenario, SimOptions};
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::core::v1::{
    ContainerStateTerminated, Event, EventSource, ObjectReference, Pod, PodTemplateSpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta, Time};
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use k8s_openapi::{Metadata, Resource};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// (namespace, name)
pub type Key = (String, String);

/// Events kept before the oldest is deleted (the real TTL is an hour; memory is what matters).
const EVENTS_KEPT: usize = 1000;

pub struct Config {
    pub namespace: String,
    pub scenario: Scenario,
    pub log_rate: f64,
    /// Lines every follow stream serves first, as fast as the client reads or paced by
    /// `log_burst_rate` (0: no burst).
    pub log_burst: usize,
    /// Burst lines per second per stream (0: as fast as the client reads).
    pub log_burst_rate: f64,
    pub pods: usize,
    pub progress_deadline: i32,
    /// Log lines kept per pod: fewer when there are many pods, so memory stays bounded.
    pub log_cap: usize,
}

impl Config {
    pub fn from_options(o: &SimOptions) -> Config {
        Config {
            namespace: o.namespace.clone(),
            scenario: o.scenario,
            log_rate: if o.log_rate.is_finite() {
                o.log_rate.max(0.0)
            } else {
                0.0
            },
            log_burst: o.log_burst,
            log_burst_rate: if o.log_burst_rate.is_finite() {
                o.log_burst_rate.max(0.0)
            } else {
                0.0
            },
            pods: o.pods,
            progress_deadline: o.progress_deadline_seconds.max(1),
            log_cap: (200_000 / (o.pods + 4)).clamp(100, 1000),
        }
    }
}

/// Where a pod is in its life; each stage lasts until `SimPod::next`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Not yet scheduled.
    Pending,
    /// Scheduled, pulling the image: ContainerCreating.
    Creating,
    /// ErrImagePull, then ImagePullBackOff when `backoff`.
    PullFailed {
        backoff: bool,
    },
    /// Running, not ready yet.
    Running,
    Ready,
    /// The container just died (STATUS Error).
    Exited,
    /// Waiting to be restarted (CrashLoopBackOff).
    CrashBackOff,
    /// deletionTimestamp set; gone at `next`.
    Terminating,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Owner {
    ReplicaSet(String),
    StatefulSet(String),
}

pub struct SimPod {
    pub pod: Pod,
    pub owner: Owner,
    pub stage: Stage,
    pub next: Instant,
    pub ready_since: Option<Instant>,
    pub restarts: i32,
    /// Consecutive failures, for the back-off delay.
    pub failures: u32,
    pub last_term: Option<ContainerStateTerminated>,
    pub started_at: Option<Timestamp>,
    pub log: PodLog,
    pub next_log: Instant,
}

impl SimPod {
    pub fn terminating(&self) -> bool {
        self.stage == Stage::Terminating
    }

    /// Ready for at least `min_ready` (the controllers' "available").
    pub fn available(&self, now: Instant, min_ready: i32) -> bool {
        let need = Duration::from_secs(u64::try_from(min_ready).unwrap_or(0));
        self.stage == Stage::Ready
            && self
                .ready_since
                .is_some_and(|t| now.saturating_duration_since(t) >= need)
    }
}

#[derive(Default)]
struct EventBook {
    by_key: BTreeMap<Key, Event>,
    order: VecDeque<Key>,
    /// (involved uid, reason, message) → event, so repeats bump `count`.
    index: HashMap<(String, String, String), Key>,
}

pub struct World {
    pub cfg: Config,
    pub store: Store,
    pub rng: SmallRng,
    pub deployments: BTreeMap<Key, Deployment>,
    pub replicasets: BTreeMap<Key, ReplicaSet>,
    pub statefulsets: BTreeMap<Key, StatefulSet>,
    /// StatefulSet pod templates by (namespace, revision name), to recreate old-revision pods.
    pub sts_revisions: HashMap<Key, PodTemplateSpec>,
    /// Every pod: changed only through `put_pod` and `take_pod`, which keep `by_owner`.
    pub pods: BTreeMap<Key, SimPod>,
    /// Pod keys by (namespace, owner): the controllers ask for them many times a tick, and a
    /// scan of every pod per owner is quadratic at thousands of pods.
    by_owner: HashMap<(String, Owner), std::collections::BTreeSet<Key>>,
    events: EventBook,
    /// While seeding: how far back "now" is, so the seeded world looks like it has been up.
    pub backdate: Option<Duration>,
    pub ip_seq: u32,
    /// Burst lines by kind of app, made on first use.
    burst_pools: HashMap<App, Arc<[Arc<str>]>>,
}

/// What a follow stream serves before its live lines in burst mode.
#[derive(Clone)]
pub struct Burst {
    pub lines: usize,
    pub pool: Arc<[Arc<str>]>,
    /// Lines per second (0: as fast as the client reads).
    pub rate: f64,
}

impl World {
    pub fn put_pod(&mut self, key: Key, sp: SimPod) {
        self.by_owner
            .entry((key.0.clone(), sp.owner.clone()))
            .or_default()
            .insert(key.clone());
        self.pods.insert(key, sp);
    }

    pub fn take_pod(&mut self, key: &Key) -> Option<SimPod> {
        let sp = self.pods.remove(key)?;
        if let Some(set) = self.by_owner.get_mut(&(key.0.clone(), sp.owner.clone())) {
            set.remove(key);
        }
        Some(sp)
    }

    /// The pods of `owner` in `ns`, in key order.
    pub fn owned<'a>(
        &'a self,
        owner: &Owner,
        ns: &str,
    ) -> impl Iterator<Item = (&'a Key, &'a SimPod)> + 'a {
        self.by_owner
            .get(&(ns.to_string(), owner.clone()))
            .into_iter()
            .flatten()
            .filter_map(|k| self.pods.get_key_value(k))
    }

    pub fn new(cfg: Config, start_rv: u64) -> World {
        let seed = u64::try_from(Timestamp::now().as_nanosecond()).unwrap_or(7);
        World {
            cfg,
            store: Store::new(start_rv),
            rng: SmallRng::seed_from_u64(seed),
            deployments: BTreeMap::new(),
            replicasets: BTreeMap::new(),
            statefulsets: BTreeMap::new(),
            sts_revisions: HashMap::new(),
            pods: BTreeMap::new(),
            by_owner: HashMap::new(),
            events: EventBook::default(),
            backdate: None,
            ip_seq: 10,
            burst_pools: HashMap::new(),
        }
    }

    /// The burst a new follow stream of an `app` container serves first, if burst mode is on.
    pub fn burst(&mut self, app: App) -> Option<Burst> {
        let lines = self.cfg.log_burst;
        if lines == 0 {
            return None;
        }
        let seed = self.rng.random();
        let pool = self
            .burst_pools
            .entry(app)
            .or_insert_with(|| super::logs::burst_pool(app, seed))
            .clone();
        Some(Burst {
            lines,
            pool,
            rate: self.cfg.log_burst_rate,
        })
    }

    pub fn seeding(&self) -> bool {
        self.backdate.is_some()
    }

    /// Wall-clock time for object fields (backdated while seeding).
    pub fn ts(&self) -> Timestamp {
        let now = Timestamp::now();
        match self.backdate.and_then(|d| SignedDuration::try_from(d).ok()) {
            Some(d) => now.checked_sub(d).unwrap_or(now),
            None => now,
        }
    }

    pub fn time(&self) -> Time {
        Time(self.ts())
    }

    /// A monotonic instant, backdated while seeding.
    pub fn instant(&self, now: Instant) -> Instant {
        self.backdate
            .and_then(|d| now.checked_sub(d))
            .unwrap_or(now)
    }

    pub fn uid(&mut self) -> String {
        let a: u128 = self.rng.random();
        let h = format!("{a:032x}");
        format!(
            "{}-{}-4{}-a{}-{}",
            &h[..8],
            &h[8..12],
            &h[13..16],
            &h[17..20],
            &h[20..]
        )
    }

    /// Random name suffix from the alphabet Kubernetes uses for generated names.
    pub fn suffix(&mut self, n: usize) -> String {
        const ALPHA: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
        (0..n)
            .map(|_| char::from(ALPHA[self.rng.random_range(0..ALPHA.len())]))
            .collect()
    }

    pub fn jitter(&mut self, lo_ms: u64, hi_ms: u64) -> Duration {
        Duration::from_millis(self.rng.random_range(lo_ms..=hi_ms))
    }

    pub fn next_ip(&mut self) -> String {
        self.ip_seq = self.ip_seq.wrapping_add(1);
        format!(
            "10.244.{}.{}",
            (self.ip_seq >> 8) & 0xff,
            self.ip_seq & 0xff
        )
    }

    /// Records an event like the components do, folding repeats into `count`.
    pub fn event(
        &mut self,
        about: ObjectReference,
        warning: bool,
        reason: &str,
        message: String,
        component: &str,
    ) {
        if self.seeding() {
            return;
        }
        let now = self.time();
        let ns = about.namespace.clone().unwrap_or_default();
        let id = (
            about.uid.clone().unwrap_or_default(),
            reason.to_string(),
            message.clone(),
        );
        if let Some(key) = self.events.index.get(&id).cloned()
            && let Some(ev) = self.events.by_key.get_mut(&key)
        {
            ev.count = Some(ev.count.unwrap_or(1) + 1);
            ev.last_timestamp = Some(now);
            self.store.commit(Kind::Event, ev);
            return;
        }
        let stamp = u64::try_from(Timestamp::now().as_nanosecond()).unwrap_or(0);
        let name = format!(
            "{}.{:x}",
            about.name.clone().unwrap_or_default(),
            stamp + self.store.rv()
        );
        let host = (component == "kubelet").then(|| "demo-node-1".to_string());
        let mut ev = Event {
            metadata: ObjectMeta {
                name: Some(name.clone()),
                namespace: Some(ns.clone()),
                uid: Some(self.uid()),
                creation_timestamp: Some(now.clone()),
                ..Default::default()
            },
            involved_object: about,
            reason: Some(reason.into()),
            message: Some(message),
            type_: Some(if warning { "Warning" } else { "Normal" }.into()),
            count: Some(1),
            first_timestamp: Some(now.clone()),
            last_timestamp: Some(now.clone()),
            event_time: Some(MicroTime(now.0)),
            source: Some(EventSource {
                component: Some(component.into()),
                host: host.clone(),
            }),
            reporting_component: Some(component.into()),
            reporting_instance: host,
            ..Default::default()
        };
        self.store.commit(Kind::Event, &mut ev);
        let key = (ns, name);
        self.events.index.insert(id, key.clone());
        self.events.order.push_back(key.clone());
        self.events.by_key.insert(key, ev);
        while self.events.order.len() > EVENTS_KEPT {
            let Some(old) = self.events.order.pop_front() else {
                break;
            };
            if let Some(mut ev) = self.events.by_key.remove(&old) {
                self.events.index.retain(|_, k| *k != old);
                self.store.remove(Kind::Event, &mut ev);
            }
        }
    }
}

/// A reference to an object, for events and owner lookups.
pub fn obj_ref<T: Resource + Metadata<Ty = ObjectMeta>>(o: &T) -> ObjectReference {
    let m = o.metadata();
    ObjectReference {
        api_version: Some(T::API_VERSION.into()),
        kind: Some(T::KIND.into()),
        name: m.name.clone(),
        namespace: m.namespace.clone(),
        uid: m.uid.clone(),
        resource_version: m.resource_version.clone(),
        field_path: None,
    }
}

pub fn key_of(m: &ObjectMeta) -> Key {
    (
        m.namespace.clone().unwrap_or_default(),
        m.name.clone().unwrap_or_default(),
    )
}

/// Applies `f` to the object and commits it if anything changed; a changed spec bumps
/// `metadata.generation` as the API server does. Returns whether it changed.
pub fn update<T>(
    map: &mut BTreeMap<Key, T>,
    store: &mut Store,
    kind: Kind,
    key: &Key,
    f: impl FnOnce(&mut T),
) -> bool
where
    T: Clone + PartialEq + Serialize + Metadata<Ty = ObjectMeta>,
{
    let Some(obj) = map.get_mut(key) else {
        return false;
    };
    let before = obj.clone();
    f(obj);
    if *obj == before {
        return false;
    }
    let spec = |o: &T| serde_json::to_value(o).map(|v| v["spec"].clone()).ok();
    if spec(obj) != spec(&before) {
        let g = obj.metadata().generation.unwrap_or(0);
        obj.metadata_mut().generation = Some(g + 1);
    }
    store.commit(kind, obj);
    true
}

pub fn annotation(m: &ObjectMeta, key: &str) -> Option<String> {
    m.annotations.as_ref()?.get(key).cloned()
}

pub fn set_annotation(m: &mut ObjectMeta, key: &str, value: String) {
    m.annotations
        .get_or_insert_with(BTreeMap::new)
        .insert(key.into(), value);
}

/// The image's tag (`registry:5000/web:2.0` → `2.0`), "latest" when there is none.
pub fn image_tag(image: &str) -> &str {
    let last = image.rsplit('/').next().unwrap_or(image);
    let last = last.split('@').next().unwrap_or(last);
    last.split_once(':').map(|(_, t)| t).unwrap_or("latest")
}
