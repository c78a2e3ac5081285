//! The watch task's memory: relists, pod revisions from ReplicaSets, stale/live per stream (pure).

use super::kube_watch::Seen;
use crate::config::checklist::Target;
use crate::core::kube::{EVENTS_CAP, EventView, PodView, WorkloadView};
use crate::core::msg::{KubeMsg, Stream};
use chrono::{DateTime, Duration, Utc};
use std::collections::{BTreeMap, HashMap};

/// Events older than this are history, not news about this release.
const EVENT_MAX_AGE: Duration = Duration::hours(1);

/// (ReplicaSet name, its (pod-template-hash, revision) when it has both).
pub(crate) type RsInfo = (String, Option<(String, i64)>);

/// One piece of news from one of the watchers.
#[derive(Debug)]
pub(crate) enum Feed {
    /// Index into the watched targets.
    Workload(usize, Seen<WorkloadView>),
    ReplicaSet(Seen<RsInfo>),
    Pod(Seen<PodView>),
    Event(Seen<EventView>),
}

/// Which watcher news came from, to tell when a stream is whole again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Source {
    Workload(usize),
    ReplicaSets,
    Pods,
    Events,
}

impl Source {
    fn stream(self) -> Stream {
        match self {
            Source::Workload(_) => Stream::Workloads,
            // Pod revisions come from ReplicaSets: both feed the pods pane.
            Source::ReplicaSets | Source::Pods => Stream::Pods,
            Source::Events => Stream::Events,
        }
    }
}

impl<T> Seen<T> {
    /// `Some(Err)` on a failure, `Some(Ok)` when the server answered, `None` for Init
    /// (sent before the list request, so it proves nothing).
    fn health(&self) -> Option<Result<(), &str>> {
        match self {
            Seen::Error(e) => Some(Err(e)),
            Seen::Init => None,
            _ => Some(Ok(())),
        }
    }
}

#[derive(Debug, Default)]
pub(crate) struct State {
    /// (kind, name) of each watched target.
    targets: Vec<(String, String)>,
    workload_buf: HashMap<usize, Option<WorkloadView>>,
    /// ReplicaSet name → (pod-template-hash, revision).
    rs: HashMap<String, (String, i64)>,
    rs_buf: Option<HashMap<String, (String, i64)>>,
    pods: BTreeMap<String, PodView>,
    pod_buf: Option<Vec<PodView>>,
    event_buf: Option<Vec<EventView>>,
    /// Failing sources, since their first failure.
    down: BTreeMap<Source, DateTime<Utc>>,
}

impl State {
    pub(crate) fn new(targets: &[Target]) -> Self {
        State {
            targets: targets
                .iter()
                .map(|t| (t.kind.as_str().to_string(), t.name.clone()))
                .collect(),
            ..Default::default()
        }
    }

    pub(crate) fn on_feed(&mut self, feed: Feed, now: DateTime<Utc>) -> Vec<KubeMsg> {
        let (source, health) = match &feed {
            Feed::Workload(i, s) => (Source::Workload(*i), s.health()),
            Feed::ReplicaSet(s) => (Source::ReplicaSets, s.health()),
            Feed::Pod(s) => (Source::Pods, s.health()),
            Feed::Event(s) => (Source::Events, s.health()),
        };
        let mut out = Vec::new();
        match health {
            Some(Err(e)) => {
                self.fail(source, e.to_string(), now, &mut out);
                return out;
            }
            Some(Ok(())) => self.recover(source, &mut out),
            None => {}
        }
        match feed {
            Feed::Workload(i, s) => self.on_workload(i, s, &mut out),
            Feed::ReplicaSet(s) => self.on_rs(s, &mut out),
            Feed::Pod(s) => self.on_pod(s, &mut out),
            Feed::Event(s) => self.on_event(s, now, &mut out),
        }
        out
    }

    /// Stale goes out once per outage of a stream, with the time of its first failure.
    fn fail(&mut self, source: Source, error: String, now: DateTime<Utc>, out: &mut Vec<KubeMsg>) {
        if self.down.contains_key(&source) {
            return;
        }
        let stream = source.stream();
        let others = self.down.keys().any(|s| s.stream() == stream);
        self.down.insert(source, now);
        if !others {
            out.push(KubeMsg::Stale {
                stream,
                since: now,
                error,
            });
        }
    }

    fn recover(&mut self, source: Source, out: &mut Vec<KubeMsg>) {
        if self.down.remove(&source).is_none() {
            return;
        }
        let stream = source.stream();
        if !self.down.keys().any(|s| s.stream() == stream) {
            out.push(KubeMsg::Live { stream });
        }
    }

    fn on_workload(&mut self, i: usize, seen: Seen<WorkloadView>, out: &mut Vec<KubeMsg>) {
        match seen {
            Seen::Init => {
                self.workload_buf.insert(i, None);
            }
            Seen::InitApply(w) => {
                self.workload_buf.insert(i, Some(w));
            }
            Seen::InitDone => match self.workload_buf.remove(&i).flatten() {
                Some(w) => out.push(KubeMsg::Workload(w)),
                // Listed and absent (deleted while we were away, or never there).
                None => {
                    if let Some((kind, name)) = self.targets.get(i) {
                        out.push(KubeMsg::WorkloadGone {
                            kind: kind.clone(),
                            name: name.clone(),
                        });
                    }
                }
            },
            Seen::Apply(w) => out.push(KubeMsg::Workload(w)),
            Seen::Delete(w) => out.push(KubeMsg::WorkloadGone {
                kind: w.kind,
                name: w.name,
            }),
            Seen::Error(_) => {}
        }
    }

    fn revision_of(&self, hash: &str) -> Option<i64> {
        if hash.is_empty() {
            return None;
        }
        // Several ReplicaSets can share a hash only across deployments; the newest wins.
        self.rs
            .values()
            .filter(|(h, _)| h == hash)
            .map(|(_, r)| *r)
            .max()
    }

    fn on_rs(&mut self, seen: Seen<RsInfo>, out: &mut Vec<KubeMsg>) {
        match seen {
            Seen::Init => self.rs_buf = Some(HashMap::new()),
            Seen::InitApply((name, info)) => {
                if let (Some(buf), Some(info)) = (self.rs_buf.as_mut(), info) {
                    buf.insert(name, info);
                }
            }
            Seen::InitDone => {
                let new = self.rs_buf.take().unwrap_or_default();
                self.rs = new;
                self.resend_pods(None, out);
            }
            Seen::Apply((name, info)) => {
                let hash = info.as_ref().map(|(h, _)| h.clone());
                let changed = match info {
                    Some(info) => self.rs.insert(name, info.clone()) != Some(info),
                    None => self.rs.remove(&name).is_some(),
                };
                if changed && let Some(hash) = hash {
                    self.resend_pods(Some(&hash), out);
                }
            }
            Seen::Delete((name, _)) => {
                if let Some((hash, _)) = self.rs.remove(&name) {
                    self.resend_pods(Some(&hash), out);
                }
            }
            Seen::Error(_) => {}
        }
    }

    /// Sends again the pods (of `hash`, or all) whose revision no longer matches the map.
    fn resend_pods(&mut self, hash: Option<&str>, out: &mut Vec<KubeMsg>) {
        let names: Vec<String> = self
            .pods
            .values()
            .filter(|p| hash.is_none_or(|h| p.template_hash == h))
            .filter(|p| p.revision != self.revision_of(&p.template_hash))
            .map(|p| p.name.clone())
            .collect();
        for name in names {
            let rev = self
                .pods
                .get(&name)
                .and_then(|p| self.revision_of(&p.template_hash));
            if let Some(p) = self.pods.get_mut(&name) {
                p.revision = rev;
                out.push(KubeMsg::Pod(p.clone()));
            }
        }
    }

    fn with_revision(&self, mut p: PodView) -> PodView {
        p.revision = self.revision_of(&p.template_hash);
        p
    }

    fn on_pod(&mut self, seen: Seen<PodView>, out: &mut Vec<KubeMsg>) {
        match seen {
            Seen::Init => self.pod_buf = Some(Vec::new()),
            Seen::InitApply(p) => {
                let p = self.with_revision(p);
                self.pod_buf.get_or_insert_default().push(p);
            }
            Seen::InitDone => {
                let pods = self.pod_buf.take().unwrap_or_default();
                self.pods = pods.iter().map(|p| (p.name.clone(), p.clone())).collect();
                out.push(KubeMsg::PodsRelisted(pods));
            }
            Seen::Apply(p) => {
                let p = self.with_revision(p);
                self.pods.insert(p.name.clone(), p.clone());
                out.push(KubeMsg::Pod(p));
            }
            Seen::Delete(p) => {
                self.pods.remove(&p.name);
                out.push(KubeMsg::PodGone(p.name));
            }
            Seen::Error(_) => {}
        }
    }

    fn on_event(&mut self, seen: Seen<EventView>, now: DateTime<Utc>, out: &mut Vec<KubeMsg>) {
        let recent = |e: &EventView| e.last.is_some_and(|t| now - t <= EVENT_MAX_AGE);
        match seen {
            Seen::Init => self.event_buf = Some(Vec::new()),
            Seen::InitApply(e) => {
                if recent(&e) {
                    self.event_buf.get_or_insert_default().push(e);
                }
            }
            Seen::InitDone => {
                let mut events = self.event_buf.take().unwrap_or_default();
                // Oldest first, so the pane (which pushes to the front) ends newest first.
                events.sort_by_key(|e| e.last);
                let skip = events.len().saturating_sub(EVENTS_CAP);
                out.extend(events.into_iter().skip(skip).map(KubeMsg::Event));
            }
            Seen::Apply(e) => {
                if recent(&e) {
                    out.push(KubeMsg::Event(e));
                }
            }
            // Expired events leave the pane by age and cap, not by deletion.
            Seen::Delete(_) | Seen::Error(_) => {}
        }
    }
}

#[cfg(test)]
#[path = "kube_watch_tests.rs"]
mod tests;
