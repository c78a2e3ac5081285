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
    /// The client the log followers use: the same cluster and credentials, on connections
    /// whose read buffer stays at [`LOG_READ_BUF`] (see [`clients`]).
    pub logs: kube::Client,
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
    let (client, logs) = clients(&config)
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
        logs,
        namespace,
        context,
        server,
    })
}

/// The read buffer of a log stream's connection, in bytes; also the longest response head it
/// takes (an API server's is a few hundred bytes; an auth proxy's cookies can be kilobytes).
pub const LOG_READ_BUF: usize = 16 * 1024;

/// The cluster's two clients: one for lists, watches and actions, and one for the log
/// followers, whose connections read into a buffer of a fixed [`LOG_READ_BUF`].
///
/// Both are kube's own stack (what `Client::try_from` builds: TLS, auth, impersonation and
/// extra headers, timeouts, retries on 429/503/504), built here on one TLS config and one auth
/// layer, so that an exec plugin or OIDC token is fetched, and refreshed, once for both.
///
/// Why a second client: hyper's default read buffer doubles while reads fill it (up to
/// 400 KiB) and shrinks back two reads later. A follower reads a line as it comes, so a fixed
/// buffer costs no throughput; but the burst of history at attach grew hundreds of streams'
/// buffers at once, which left megabytes of part-used blocks in the allocator: the process
/// then touched them page by page for minutes, and RSS crept up by 10 % (BENCHMARKS.md, the
/// RSS soak). Through a proxy (which this build does not support) kube's own client is used,
/// and fails as it does.
pub(crate) fn clients(config: &kube::Config) -> Result<(kube::Client, kube::Client), kube::Error> {
    use hyper_util::client::legacy::{Client, connect::HttpConnector};
    use hyper_util::rt::TokioExecutor;
    use kube::client::ConfigExt;
    use kube::client::retry::RetryPolicy;
    use tower::{BoxError, ServiceBuilder, retry::RetryLayer};

    if config.proxy_url.is_some() {
        let client = kube::Client::try_from(config.clone())?;
        return Ok((client.clone(), client));
    }
    let tls = config.rustls_client_config()?;
    let server_name = match &config.tls_server_name {
        Some(name) => Some(
            rustls::pki_types::ServerName::try_from(name.clone())
                .map_err(kube::client::RustlsTlsError::InvalidServerName)
                .map_err(kube::Error::RustlsTls)?,
        ),
        None => None,
    };
    let auth = config.auth_layer()?;
    let headers = config.extra_headers_layer()?;
    let build = |read_buf: Option<usize>| {
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        let mut https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls.clone())
            .https_or_http();
        if let Some(name) = &server_name {
            https = https.with_server_name_resolver(hyper_rustls::FixedServerNameResolver::new(
                name.clone(),
            ));
        }
        let mut connector =
            hyper_timeout::TimeoutConnector::new(https.enable_http1().wrap_connector(http));
        connector.set_connect_timeout(config.connect_timeout);
        connector.set_read_timeout(config.read_timeout);
        connector.set_write_timeout(config.write_timeout);
        connector.set_reset_reader_on_write(config.reset_reader_on_write);
        let mut builder = Client::builder(TokioExecutor::new());
        if let Some(n) = read_buf {
            builder.http1_read_buf_exact_size(n);
        }
        let service = ServiceBuilder::new()
            .layer(config.base_uri_layer())
            .option_layer(
                config
                    .default_retry
                    .then(|| RetryLayer::new(RetryPolicy::server_retry())),
            )
            .option_layer(auth.as_ref())
            .layer(headers.clone())
            .map_err(BoxError::from)
            .service(builder.build(connector));
        kube::Client::new(service, config.default_namespace.clone())
    };
    Ok((build(None), build(Some(LOG_READ_BUF))))
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
