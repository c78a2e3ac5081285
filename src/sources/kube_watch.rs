//! Watches the cluster (workloads, ReplicaSets, pods, events) and sends what changes as `Msg::Kube`.

use super::kube_client::{Kube, chain};
use super::kube_convert as convert;
use super::kube_watch_state::{Feed, State};
use crate::config::checklist::{Cluster, Target, WorkloadKind};
use crate::core::msg::{KubeMsg, Msg};
use chrono::Utc;
use futures_util::StreamExt;
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::core::v1::{Event as KEvent, Pod};
use kube::api::Api;
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Config, Event};
use std::fmt::Debug;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// What one watcher saw, its objects already turned into views.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Seen<T> {
    Init,
    InitApply(T),
    InitDone,
    Apply(T),
    Delete(T),
    Error(String),
}

/// Aborts its tasks when dropped, so a stopped source leaves no watcher behind.
#[derive(Default)]
pub(crate) struct Tasks(pub(crate) Vec<JoinHandle<()>>);

impl Drop for Tasks {
    fn drop(&mut self) {
        for t in &self.0 {
            t.abort();
        }
    }
}

/// Runs one watcher until `out` closes. After a failure the watcher is rebuilt once, so the
/// outage ends with a full relist (Init … InitDone) instead of a silent resume that would
/// never prove the stream alive again; further retries go through `default_backoff`.
pub(crate) async fn follow<K, T, M>(
    api: Api<K>,
    cfg: Config,
    out: mpsc::Sender<M>,
    view: impl Fn(&K) -> T,
    wrap: impl Fn(Seen<T>) -> M,
) where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + Debug + Send + 'static,
{
    let mut healthy = true;
    loop {
        let mut stream = watcher::watcher(api.clone(), cfg.clone())
            .default_backoff()
            .boxed();
        loop {
            let item = tokio::select! {
                item = stream.next() => item,
                _ = out.closed() => return,
            };
            let seen = match item {
                Some(Ok(Event::Init)) => Seen::Init,
                Some(Ok(Event::InitApply(o))) => Seen::InitApply(view(&o)),
                Some(Ok(Event::InitDone)) => Seen::InitDone,
                Some(Ok(Event::Apply(o))) => Seen::Apply(view(&o)),
                Some(Ok(Event::Delete(o))) => Seen::Delete(view(&o)),
                Some(Err(e)) => Seen::Error(chain(&e)),
                None => break,
            };
            let failed = matches!(seen, Seen::Error(_));
            // Init comes before the list request, so it proves nothing about the server.
            let alive = !failed && !matches!(seen, Seen::Init);
            if out.send(wrap(seen)).await.is_err() {
                return;
            }
            if failed && healthy {
                healthy = false;
                break;
            }
            healthy |= alive;
        }
        // A watcher stream does not end on its own; if one does, do not spin.
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
}

/// Watches the targets and the namespace's ReplicaSets, pods and events until `tx` closes.
pub async fn run(kube: Kube, watch: Vec<Target>, tx: mpsc::Sender<Msg>) {
    let connected = KubeMsg::Connected {
        context: kube.context.clone(),
        namespace: kube.namespace.clone(),
        server: kube.server.clone(),
    };
    if tx.send(Msg::Kube(connected)).await.is_err() {
        return;
    }
    let (feed_tx, mut feed_rx) = mpsc::channel::<Feed>(256);
    let (client, ns) = (kube.client.clone(), kube.namespace.as_str());
    let mut tasks = Tasks::default();
    for (i, t) in watch.iter().enumerate() {
        let by_name = Config::default().fields(&format!("metadata.name={}", t.name));
        let out = feed_tx.clone();
        let wrap = move |s| Feed::Workload(i, s);
        tasks.0.push(match t.kind {
            WorkloadKind::Deployment => tokio::spawn(follow(
                Api::<Deployment>::namespaced(client.clone(), ns),
                by_name,
                out,
                convert::deployment_view,
                wrap,
            )),
            WorkloadKind::StatefulSet => tokio::spawn(follow(
                Api::<StatefulSet>::namespaced(client.clone(), ns),
                by_name,
                out,
                convert::statefulset_view,
                wrap,
            )),
            WorkloadKind::DaemonSet => tokio::spawn(follow(
                Api::<DaemonSet>::namespaced(client.clone(), ns),
                by_name,
                out,
                convert::daemonset_view,
                wrap,
            )),
        });
    }
    tasks.0.push(tokio::spawn(follow(
        Api::<ReplicaSet>::namespaced(client.clone(), ns),
        Config::default(),
        feed_tx.clone(),
        |rs: &ReplicaSet| {
            let name = rs.metadata.name.clone().unwrap_or_default();
            (name, convert::replicaset_revision(rs))
        },
        Feed::ReplicaSet,
    )));
    tasks.0.push(tokio::spawn(follow(
        Api::<Pod>::namespaced(client.clone(), ns),
        Config::default(),
        feed_tx.clone(),
        convert::pod_view,
        Feed::Pod,
    )));
    tasks.0.push(tokio::spawn(follow(
        Api::<KEvent>::namespaced(client, ns),
        Config::default(),
        feed_tx,
        convert::event_view,
        Feed::Event,
    )));
    let mut state = State::new(&watch);
    loop {
        let feed = tokio::select! {
            f = feed_rx.recv() => f,
            _ = tx.closed() => return,
        };
        let Some(feed) = feed else { return };
        for msg in state.on_feed(feed, Utc::now()) {
            if tx.send(Msg::Kube(msg)).await.is_err() {
                return;
            }
        }
    }
}

/// Starts the watch task and, when the checklist asks for logs, the log task.
pub fn spawn_all(kube: &Kube, cluster: &Cluster, tx: mpsc::Sender<Msg>) -> Vec<JoinHandle<()>> {
    let mut handles = vec![tokio::spawn(run(
        kube.clone(),
        cluster.watch.clone(),
        tx.clone(),
    ))];
    if let Some(spec) = &cluster.logs {
        handles.push(tokio::spawn(super::kube_logs::run(
            kube.clone(),
            spec.clone(),
            tx,
        )));
    }
    handles
}
