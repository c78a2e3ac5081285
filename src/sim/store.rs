//! Every object as JSON, the global resourceVersion, and the window of changes watches replay.

use super::resources::Kind;
use k8s_openapi::Metadata;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use tokio::sync::broadcast;

/// How many changes a watch can resume from; older resourceVersions get 410 Gone.
pub const WINDOW: usize = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    Added,
    Modified,
    Deleted,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Added => "ADDED",
            EventType::Modified => "MODIFIED",
            EventType::Deleted => "DELETED",
        }
    }
}

/// One committed change; `old` lets a filtered watch see objects leave its selection.
#[derive(Debug)]
pub struct Change {
    pub rv: u64,
    pub kind: Kind,
    pub ty: EventType,
    pub old: Option<Arc<Value>>,
    pub new: Arc<Value>,
}

/// (kind, namespace or "", name)
pub type ObjKey = (Kind, String, String);

pub struct Store {
    rv: u64,
    /// Every change after this resourceVersion is still in `log`.
    window_start: u64,
    objects: BTreeMap<ObjKey, Arc<Value>>,
    log: VecDeque<Arc<Change>>,
    tx: broadcast::Sender<Arc<Change>>,
}

/// Where a watch from a given resourceVersion starts.
pub enum Resume {
    /// The changes after it, and the live feed from there on.
    From(Vec<Arc<Change>>, broadcast::Receiver<Arc<Change>>),
    /// Outside the retained window (too old, or from another life of the server).
    Gone,
}

impl Store {
    /// `start_rv` should grow across restarts so that a client's old resourceVersion from a
    /// previous run is never mistaken for a current one.
    pub fn new(start_rv: u64) -> Store {
        let (tx, _) = broadcast::channel(4096);
        Store {
            rv: start_rv,
            window_start: start_rv,
            objects: BTreeMap::new(),
            log: VecDeque::new(),
            tx,
        }
    }

    pub fn rv(&self) -> u64 {
        self.rv
    }

    /// Forgets the history so far: the seeded world is where watches may start.
    pub fn mark_window(&mut self) {
        self.log.clear();
        self.window_start = self.rv;
    }

    /// What a restarted API server's watch cache does: it starts at a new version, so every
    /// version handed out before (even the latest, when nothing changed since) is Gone and a
    /// watcher from before relists; lists from now on give the new version.
    pub fn forget_history(&mut self) {
        self.rv += 1;
        self.mark_window();
    }

    fn key_of(kind: Kind, meta: &ObjectMeta) -> ObjKey {
        (
            kind,
            meta.namespace.clone().unwrap_or_default(),
            meta.name.clone().unwrap_or_default(),
        )
    }

    fn record(&mut self, kind: Kind, ty: EventType, old: Option<Arc<Value>>, new: Arc<Value>) {
        let change = Arc::new(Change {
            rv: self.rv,
            kind,
            ty,
            old,
            new,
        });
        if self.log.len() >= WINDOW
            && let Some(gone) = self.log.pop_front()
        {
            self.window_start = gone.rv;
        }
        self.log.push_back(change.clone());
        // Nobody watching is fine.
        let _ = self.tx.send(change);
    }

    /// Stamps a new resourceVersion on the object and publishes it.
    pub fn commit<T: Serialize + Metadata<Ty = ObjectMeta>>(&mut self, kind: Kind, obj: &mut T) {
        self.rv += 1;
        obj.metadata_mut().resource_version = Some(self.rv.to_string());
        let Ok(value) = serde_json::to_value(&*obj) else {
            return;
        };
        let key = Self::key_of(kind, obj.metadata());
        let new = Arc::new(value);
        let old = self.objects.insert(key, new.clone());
        let ty = if old.is_some() {
            EventType::Modified
        } else {
            EventType::Added
        };
        self.record(kind, ty, old, new);
    }

    /// Removes the object; watchers get its last state with a new resourceVersion.
    pub fn remove<T: Serialize + Metadata<Ty = ObjectMeta>>(&mut self, kind: Kind, obj: &mut T) {
        let key = Self::key_of(kind, obj.metadata());
        let Some(old) = self.objects.remove(&key) else {
            return;
        };
        self.rv += 1;
        obj.metadata_mut().resource_version = Some(self.rv.to_string());
        let value = serde_json::to_value(&*obj).unwrap_or_else(|_| (*old).clone());
        self.record(kind, EventType::Deleted, Some(old), Arc::new(value));
    }

    pub fn get(&self, kind: Kind, ns: &str, name: &str) -> Option<Arc<Value>> {
        self.objects
            .get(&(kind, ns.to_string(), name.to_string()))
            .cloned()
    }

    /// Objects of a kind in (namespace, name) order, optionally in one namespace.
    pub fn list<'a>(
        &'a self,
        kind: Kind,
        ns: Option<&'a str>,
    ) -> impl Iterator<Item = (&'a ObjKey, &'a Arc<Value>)> + 'a {
        let lo = (kind, String::new(), String::new());
        self.objects
            .range(lo..)
            .take_while(move |(k, _)| k.0 == kind)
            .filter(move |(k, _)| ns.is_none_or(|ns| k.1 == ns))
    }

    /// The live feed, for a watch that starts from the current state.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Change>> {
        self.tx.subscribe()
    }

    pub fn resume(&self, rv: u64) -> Resume {
        if rv < self.window_start || rv > self.rv {
            return Resume::Gone;
        }
        let backlog = self.log.iter().filter(|c| c.rv > rv).cloned().collect();
        Resume::From(backlog, self.tx.subscribe())
    }

    /// The oldest resourceVersion a watch can still resume from.
    pub fn window_start(&self) -> u64 {
        self.window_start
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::Pod;

    fn pod(name: &str) -> Pod {
        let mut p = Pod::default();
        p.metadata.name = Some(name.into());
        p.metadata.namespace = Some("shop".into());
        p
    }

    #[test]
    fn window_slides_and_old_versions_are_gone() {
        let mut s = Store::new(100);
        let mut p = pod("a");
        for _ in 0..(WINDOW + 5) {
            s.commit(Kind::Pod, &mut p);
        }
        assert_eq!(s.rv(), 100 + WINDOW as u64 + 5);
        assert!(matches!(s.resume(100), Resume::Gone));
        assert!(matches!(s.resume(s.rv() + 1), Resume::Gone));
        match s.resume(s.rv() - 3) {
            Resume::From(backlog, _) => assert_eq!(backlog.len(), 3),
            Resume::Gone => panic!("recent versions resume"),
        }
        s.remove(Kind::Pod, &mut p);
        assert!(s.get(Kind::Pod, "shop", "a").is_none());
        assert_eq!(s.list(Kind::Pod, None).count(), 0);
    }

    #[test]
    fn forgetting_the_history_makes_every_earlier_version_gone() {
        let mut s = Store::new(100);
        let mut p = pod("a");
        s.commit(Kind::Pod, &mut p);
        let latest = s.rv();
        assert!(matches!(s.resume(latest), Resume::From(..)));
        s.forget_history();
        assert!(matches!(s.resume(latest), Resume::Gone));
        assert!(matches!(s.resume(s.rv()), Resume::From(b, _) if b.is_empty()));
        assert_eq!(
            s.get(Kind::Pod, "shop", "a").unwrap()["metadata"]["name"],
            "a"
        );
    }
}
