//! The connection to a cluster: kubeconfig, context and namespace, as kubectl resolves them.

use std::path::PathBuf;

/// Where to find the cluster (flags over the checklist's `cluster:` over the kubeconfig).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClusterTarget {
    pub kubeconfig: Option<PathBuf>,
    pub context: Option<String>,
    pub namespace: Option<String>,
}

/// A connected client and the namespace and context in use.
#[derive(Clone)]
pub struct Kube {
    pub client: kube::Client,
    pub namespace: String,
    pub context: String,
    pub server: String,
}

/// Connects like kubectl: `--kubeconfig`, else `KUBECONFIG`, else `~/.kube/config`.
pub async fn connect(target: &ClusterTarget) -> Result<Kube, String> {
    use kube::config::{KubeConfigOptions, Kubeconfig};
    let kubeconfig = match &target.kubeconfig {
        Some(path) => Kubeconfig::read_from(path)
            .map_err(|e| format!("cannot read kubeconfig {}: {e}", path.display()))?,
        None => Kubeconfig::read().map_err(|e| {
            format!("cannot read the kubeconfig (KUBECONFIG or ~/.kube/config): {e}")
        })?,
    };
    let context = target
        .context
        .clone()
        .or(kubeconfig.current_context.clone())
        .unwrap_or_default();
    let options = KubeConfigOptions {
        context: target.context.clone(),
        cluster: None,
        user: None,
    };
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &options)
        .await
        .map_err(|e| format!("kubeconfig context {context:?}: {e}"))?;
    let namespace = target
        .namespace
        .clone()
        .unwrap_or_else(|| config.default_namespace.clone());
    let server = config.cluster_url.to_string();
    let client = kube::Client::try_from(config)
        .map_err(|e| format!("cannot create a client for {server}: {e}"))?;
    Ok(Kube {
        client,
        namespace,
        context,
        server,
    })
}
