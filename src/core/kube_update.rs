//! How cluster news changes the model (called by `update`).

use super::kube::{Connection, Generation};
use super::model::Model;
use super::msg::KubeMsg;

pub(super) fn on_kube(m: &mut Model, msg: KubeMsg) {
    // A whole listing (the first above all: the pods pane goes from empty to complete) and
    // the connection's state are drawn at once; the rest of the cluster's news, a pod or a
    // workload at a time, waits for the next lazy frame (up to 500 ms).
    let at_once = matches!(
        msg,
        KubeMsg::PodsRelisted(_)
            | KubeMsg::Connected { .. }
            | KubeMsg::Unavailable(_)
            | KubeMsg::Stale { .. }
            | KubeMsg::Live { .. }
    );
    let k = &mut m.kube;
    match msg {
        KubeMsg::Connected {
            context,
            namespace,
            server,
        } => {
            k.connection = Connection::Connected {
                context,
                namespace,
                server,
            }
        }
        KubeMsg::Unavailable(e) => k.connection = Connection::Unavailable(e),
        KubeMsg::Connecting => k.connection = Connection::Connecting,
        KubeMsg::Workload(w) => {
            k.generation = Generation::next();
            k.workloads.insert(format!("{}/{}", w.kind, w.name), w);
        }
        KubeMsg::WorkloadGone { kind, name } => {
            k.generation = Generation::next();
            k.workloads.remove(&format!("{kind}/{name}"));
        }
        KubeMsg::PodsRelisted(pods) => {
            k.generation = Generation::next();
            k.pods = pods.into_iter().map(|p| (p.name.clone(), p)).collect();
        }
        KubeMsg::Pod(p) => {
            k.generation = Generation::next();
            k.pods.insert(p.name.clone(), p);
        }
        KubeMsg::PodGone(name) => {
            k.generation = Generation::next();
            k.pods.remove(&name);
        }
        KubeMsg::Event(e) => k.push_event(e),
        KubeMsg::Stale {
            stream,
            since,
            error,
        } => {
            // Keep the first moment it went stale, not the latest retry.
            k.stale.entry(stream).or_insert((since, error));
        }
        KubeMsg::Live { stream } => {
            k.stale.remove(&stream);
        }
    }
    if at_once {
        m.dirty = true;
    } else {
        m.lazy_dirty = true;
    }
}
