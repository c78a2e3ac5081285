//! The watch task's state machine, fed by hand: relists, revisions, stale/live, event ages.

use super::*;
use crate::config::checklist::WorkloadKind;
use chrono::TimeZone;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 11, 21, 10, 0, 0).unwrap()
}

fn pod(name: &str, hash: &str) -> PodView {
    PodView {
        name: name.into(),
        template_hash: hash.into(),
        ..Default::default()
    }
}

fn rs(name: &str, hash: &str, rev: i64) -> RsInfo {
    (name.into(), Some((hash.into(), rev)))
}

fn state() -> State {
    State::new(&[Target {
        kind: WorkloadKind::Deployment,
        name: "web".into(),
    }])
}

#[test]
fn pods_relist_and_get_revisions_from_replicasets() {
    let mut s = state();
    let now = t0();
    s.on_feed(Feed::ReplicaSet(Seen::Init), now);
    s.on_feed(Feed::ReplicaSet(Seen::InitApply(rs("web-a", "a", 1))), now);
    assert!(s.on_feed(Feed::ReplicaSet(Seen::InitDone), now).is_empty());
    assert!(s.on_feed(Feed::Pod(Seen::Init), now).is_empty());
    s.on_feed(Feed::Pod(Seen::InitApply(pod("web-a-1", "a"))), now);
    s.on_feed(Feed::Pod(Seen::InitApply(pod("web-b-1", "b"))), now);
    let out = s.on_feed(Feed::Pod(Seen::InitDone), now);
    let [KubeMsg::PodsRelisted(pods)] = out.as_slice() else {
        panic!("{out:?}")
    };
    assert_eq!(pods[0].revision, Some(1));
    assert_eq!(pods[1].revision, None);

    // The new ReplicaSet shows up after its pod: the pod is sent again with its revision.
    let out = s.on_feed(Feed::ReplicaSet(Seen::Apply(rs("web-b", "b", 2))), now);
    let [KubeMsg::Pod(p)] = out.as_slice() else {
        panic!("{out:?}")
    };
    assert_eq!((p.name.as_str(), p.revision), ("web-b-1", Some(2)));
    // Nothing changed: nothing re-sent.
    assert!(
        s.on_feed(Feed::ReplicaSet(Seen::Apply(rs("web-b", "b", 2))), now)
            .is_empty()
    );
    // An undo bumps the old ReplicaSet's revision: its pods follow.
    let out = s.on_feed(Feed::ReplicaSet(Seen::Apply(rs("web-a", "a", 3))), now);
    assert!(matches!(out.as_slice(), [KubeMsg::Pod(p)] if p.revision == Some(3)));

    let out = s.on_feed(Feed::Pod(Seen::Apply(pod("web-b-2", "b"))), now);
    assert!(matches!(out.as_slice(), [KubeMsg::Pod(p)] if p.revision == Some(2)));
    let out = s.on_feed(Feed::Pod(Seen::Delete(pod("web-a-1", "a"))), now);
    assert_eq!(out, vec![KubeMsg::PodGone("web-a-1".into())]);
    assert_eq!(s.pods.len(), 2);
}

#[test]
fn one_stale_per_outage_and_live_when_all_sources_answer() {
    let mut s = state();
    let now = t0();
    let later = now + Duration::seconds(5);
    let out = s.on_feed(Feed::Pod(Seen::Error("connection refused".into())), now);
    assert_eq!(
        out,
        vec![KubeMsg::Stale {
            stream: Stream::Pods,
            since: now,
            error: "connection refused".into()
        }]
    );
    // Retries and the other watcher of the same stream stay quiet.
    assert!(
        s.on_feed(Feed::Pod(Seen::Error("again".into())), later)
            .is_empty()
    );
    assert!(
        s.on_feed(Feed::ReplicaSet(Seen::Error("x".into())), later)
            .is_empty()
    );
    // Init is not proof of life.
    assert!(s.on_feed(Feed::Pod(Seen::Init), later).is_empty());
    let out = s.on_feed(Feed::Pod(Seen::InitDone), later);
    assert_eq!(out, vec![KubeMsg::PodsRelisted(vec![])]);
    let out = s.on_feed(Feed::ReplicaSet(Seen::InitDone), later);
    assert_eq!(
        out,
        vec![KubeMsg::Live {
            stream: Stream::Pods
        }]
    );
    // A new outage is a new Stale.
    let out = s.on_feed(Feed::Pod(Seen::Error("reset".into())), later);
    assert!(matches!(out.as_slice(), [KubeMsg::Stale { since, .. }] if *since == later));
}

#[test]
fn workloads_appear_change_and_go() {
    let mut s = state();
    let now = t0();
    let web = WorkloadView {
        kind: "deployment".into(),
        name: "web".into(),
        ..Default::default()
    };
    s.on_feed(Feed::Workload(0, Seen::Init), now);
    let out = s.on_feed(Feed::Workload(0, Seen::InitDone), now);
    assert_eq!(
        out,
        vec![KubeMsg::WorkloadGone {
            kind: "deployment".into(),
            name: "web".into()
        }]
    );
    s.on_feed(Feed::Workload(0, Seen::Init), now);
    s.on_feed(Feed::Workload(0, Seen::InitApply(web.clone())), now);
    let out = s.on_feed(Feed::Workload(0, Seen::InitDone), now);
    assert_eq!(out, vec![KubeMsg::Workload(web.clone())]);
    let out = s.on_feed(Feed::Workload(0, Seen::Delete(web)), now);
    assert!(matches!(out.as_slice(), [KubeMsg::WorkloadGone { name, .. }] if name == "web"));
}

#[test]
fn only_events_of_the_last_hour_oldest_first() {
    let mut s = state();
    let now = t0();
    let ev = |reason: &str, mins: i64| EventView {
        reason: reason.into(),
        last: Some(now - Duration::minutes(mins)),
        ..Default::default()
    };
    s.on_feed(Feed::Event(Seen::Init), now);
    for (r, m) in [("new", 1), ("ancient", 120), ("mid", 30)] {
        s.on_feed(Feed::Event(Seen::InitApply(ev(r, m))), now);
    }
    s.on_feed(
        Feed::Event(Seen::InitApply(EventView {
            reason: "timeless".into(),
            ..Default::default()
        })),
        now,
    );
    let out = s.on_feed(Feed::Event(Seen::InitDone), now);
    let reasons: Vec<&str> = out
        .iter()
        .map(|m| match m {
            KubeMsg::Event(e) => e.reason.as_str(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(reasons, ["mid", "new"]);
    assert!(
        s.on_feed(Feed::Event(Seen::Apply(ev("old", 61))), now)
            .is_empty()
    );
    assert_eq!(
        s.on_feed(Feed::Event(Seen::Apply(ev("fresh", 0))), now)
            .len(),
        1
    );
}
