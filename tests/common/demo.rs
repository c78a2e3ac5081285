//! The demo cluster started in-process on 127.0.0.1, with the real kube client connected to it
//! through the kubeconfig it writes.

use shipdeck::sim::{self, Sim, SimOptions};
use shipdeck::sources::kube_client::{ClusterTarget, Kube, connect};

/// Starts the demo cluster with `opts` and connects to it as a user's kubeconfig would.
pub async fn cluster(opts: SimOptions) -> (Sim, Kube) {
    let sim = sim::start(opts).await.expect("demo cluster starts");
    assert!(sim.addr.ip().is_loopback());
    let kube = connect(&ClusterTarget {
        kubeconfig: Some(sim.kubeconfig.clone()),
        ..Default::default()
    })
    .await
    .expect("kubeconfig of the demo cluster loads");
    (sim, kube)
}
