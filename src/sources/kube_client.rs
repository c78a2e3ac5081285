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
    /// The kubeconfig file named by the flag or `KUBECONFIG` (None: the default one).
    pub kubeconfig: Option<String>,
    pub client: kube::Client,
    pub namespace: String,
    pub context: String,
    pub server: String,
}

/// Connects like kubectl: `--kubeconfig`, else `KUBECONFIG`, else `~/.kube/config`.
/// Nothing is sent to the server yet: an unreachable cluster shows up in the watch streams.
pub async fn connect(target: &ClusterTarget) -> Result<Kube, String> {
    use kube::config::{KubeConfigOptions, Kubeconfig};
    let kubeconfig = match &target.kubeconfig {
        Some(path) => Kubeconfig::read_from(path)
            .map_err(|e| format!("cannot read kubeconfig {}: {}", path.display(), chain(&e)))?,
        None => Kubeconfig::read().map_err(|e| {
            format!(
                "cannot read the kubeconfig (KUBECONFIG or ~/.kube/config): {}",
                chain(&e)
            )
        })?,
    };
    let context = target
        .context
        .clone()
        .or(kubeconfig.current_context.clone())
        .unwrap_or_default();
    // kube's own message for a missing context does not say which ones exist.
    if !kubeconfig.contexts.iter().any(|c| c.name == context) {
        let known: Vec<&str> = kubeconfig
            .contexts
            .iter()
            .map(|c| c.name.as_str())
            .collect();
        return Err(if context.is_empty() {
            format!(
                "the kubeconfig has no current context; pick one with --context (contexts: {})",
                known.join(", ")
            )
        } else {
            format!(
                "context {context:?} not found in the kubeconfig (contexts: {})",
                known.join(", ")
            )
        });
    }
    let options = KubeConfigOptions {
        context: target.context.clone(),
        cluster: None,
        user: None,
    };
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &options)
        .await
        .map_err(|e| format!("kubeconfig context {context:?}: {}", chain(&e)))?;
    let namespace = target
        .namespace
        .clone()
        .unwrap_or_else(|| config.default_namespace.clone());
    let server = config.cluster_url.to_string();
    let client = kube::Client::try_from(config)
        .map_err(|e| format!("cannot create a client for {server}: {}", describe(&e)))?;
    let named = target
        .kubeconfig
        .as_ref()
        .map(|p| {
            std::fs::canonicalize(p)
                .unwrap_or_else(|_| p.clone())
                .display()
                .to_string()
        })
        .or_else(|| std::env::var("KUBECONFIG").ok().filter(|k| !k.is_empty()));
    Ok(Kube {
        kubeconfig: named,
        client,
        namespace,
        context,
        server,
    })
}

/// A kube error as a person reads it: the server's own message for API errors, the
/// cause chain (e.g. `connection refused`) for transport errors.
pub fn describe(e: &kube::Error) -> String {
    match e {
        kube::Error::Api(status) if !status.message.is_empty() => {
            format!("{} ({})", status.message, status.code)
        }
        other => chain(other),
    }
}

/// An error and its sources, `a: b: c`, skipping a source whose text its parent already shows.
pub fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

/// Whether the error is the server saying the object does not exist.
pub fn is_not_found(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == 404)
}
