//! Decoding of the cluster, probes, rollback rules, actions and waits of a checklist.

use super::checklist::*;
use super::decode::Decoder;
use super::yaml::Node;
use std::time::Duration;

const TARGET_HINT: &str = "write KIND/NAME, e.g. deployment/web, statefulset/db or daemonset/agent";

/// Parses `deployment/web` (kubectl's short kinds accepted).
pub fn parse_target(text: &str) -> Result<Target, (String, &'static str)> {
    let Some((kind, name)) = text.split_once('/') else {
        return Err((
            format!("malformed target `{text}`: missing KIND/"),
            TARGET_HINT,
        ));
    };
    let kind = match kind.to_ascii_lowercase().as_str() {
        "deployment" | "deployments" | "deploy" => WorkloadKind::Deployment,
        "statefulset" | "statefulsets" | "sts" => WorkloadKind::StatefulSet,
        "daemonset" | "daemonsets" | "ds" => WorkloadKind::DaemonSet,
        "" => {
            return Err((
                format!("malformed target `{text}`: missing the kind"),
                TARGET_HINT,
            ));
        }
        other => {
            return Err((
                format!("unsupported workload kind `{other}` in `{text}`"),
                "use deployment, statefulset or daemonset",
            ));
        }
    };
    let valid_name = !name.is_empty()
        && name.len() <= 253
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        && !name.starts_with(['-', '.'])
        && !name.ends_with(['-', '.']);
    // A name still holding `${VAR}` is only checked once the var has a value.
    if name.is_empty() {
        return Err((
            format!("malformed target `{text}`: missing the name after `/`"),
            TARGET_HINT,
        ));
    }
    if !valid_name && !name.contains("${") {
        return Err((
            format!("malformed target `{text}`: `{name}` is not a Kubernetes name"),
            "names are lowercase letters, digits, `-` and `.`",
        ));
    }
    Ok(Target {
        kind,
        name: name.to_string(),
    })
}

impl Decoder {
    pub fn target(&mut self, node: &Node, field: &str) -> Option<Target> {
        let text = self.string(node, field)?;
        match parse_target(&text) {
            Ok(t) => Some(t),
            Err((msg, hint)) => {
                self.error(node.pos, msg, hint);
                None
            }
        }
    }

    pub fn cluster(&mut self, node: &Node) -> Cluster {
        let mut c = Cluster {
            context: None,
            namespace: None,
            watch: Vec::new(),
            logs: None,
        };
        for (k, v) in self.fields(node, "cluster", &["context", "namespace", "watch", "logs"]) {
            match k.as_str().unwrap_or("") {
                "context" => c.context = self.string(v, "context"),
                "namespace" => c.namespace = self.string(v, "namespace"),
                "watch" => {
                    let items: Vec<&Node> = match v.as_seq() {
                        Some(s) => s.iter().collect(),
                        None => vec![v],
                    };
                    c.watch = items
                        .into_iter()
                        .filter_map(|n| self.target(n, "watch"))
                        .collect();
                }
                "logs" => c.logs = self.logs(v),
                _ => {}
            }
        }
        c
    }

    fn logs(&mut self, node: &Node) -> Option<LogSpec> {
        let entries = self.fields(
            node,
            "cluster.logs",
            &["selector", "container", "since", "max_lines"],
        );
        let mut spec = LogSpec {
            selector: String::new(),
            container: None,
            since: None,
            max_lines: None,
        };
        for (k, v) in entries {
            match k.as_str().unwrap_or("") {
                "selector" => spec.selector = self.string(v, "selector").unwrap_or_default(),
                "container" => spec.container = self.string(v, "container"),
                "since" => spec.since = self.duration(v, "since"),
                "max_lines" => spec.max_lines = self.unsigned(v, "max_lines").map(|n| n as usize),
                _ => {}
            }
        }
        if spec.selector.is_empty() {
            self.error(
                node.pos,
                "cluster.logs needs a `selector`",
                "e.g. `selector: app=web`",
            );
            return None;
        }
        Some(spec)
    }

    pub fn probe(&mut self, node: &Node) -> Option<Probe> {
        let entries = self.fields(
            node,
            "probe",
            &[
                "name", "url", "method", "headers", "every", "timeout", "expect", "ca_file",
                "insecure", "slo",
            ],
        );
        let mut p = Probe {
            name: String::new(),
            url: String::new(),
            method: "GET".into(),
            request_headers: Vec::new(),
            every: Duration::from_secs(5),
            timeout: Duration::from_secs(2),
            expect: Expect {
                status: StatusExpect::Class(2),
                body_contains: None,
                headers: Vec::new(),
                cert_days_min: 14,
            },
            ca_file: None,
            insecure: false,
            slo: None,
            pos: node.pos,
            name_pos: node.pos,
        };
        for (k, v) in entries {
            match k.as_str().unwrap_or("") {
                "name" => {
                    p.name = self.string(v, "name").unwrap_or_default();
                    p.name_pos = v.pos;
                }
                "url" => {
                    p.url = self.string(v, "url").unwrap_or_default();
                    if !p.url.starts_with("http://") && !p.url.starts_with("https://") {
                        self.error(
                            v.pos,
                            format!("probe url `{}` is not http(s)", p.url),
                            "e.g. https://shop.example.com/health",
                        );
                    }
                }
                "method" => p.method = self.string(v, "method").unwrap_or_else(|| "GET".into()),
                "headers" => {
                    if v.as_map().is_none() {
                        self.error(
                            v.pos,
                            "probe `headers` must be a mapping",
                            "e.g. `headers: { Authorization: \"Bearer ${TOKEN}\" }`",
                        );
                    }
                    if let Some(map) = v.as_map() {
                        p.request_headers = map
                            .iter()
                            .filter_map(|(hk, hv)| {
                                Some((hk.as_str()?.to_string(), self.string(hv, "headers")?))
                            })
                            .collect();
                    }
                }
                "every" => p.every = self.duration(v, "every").unwrap_or(p.every),
                "timeout" => p.timeout = self.duration(v, "timeout").unwrap_or(p.timeout),
                "expect" => p.expect = self.expect(v),
                "ca_file" => p.ca_file = self.string(v, "ca_file"),
                "insecure" => p.insecure = self.boolean(v, "insecure"),
                "slo" => p.slo = Some(self.slo(v)),
                _ => {}
            }
        }
        if p.name.is_empty() {
            self.error(
                node.pos,
                "probe has no `name`",
                "give every probe a short name, e.g. `name: web`",
            );
        }
        if p.url.is_empty() && node.get("url").is_none() {
            self.error(
                node.pos,
                format!("probe `{}` has no `url`", p.name),
                "e.g. `url: https://shop.example.com/health`",
            );
        }
        Some(p)
    }

    fn expect(&mut self, node: &Node) -> Expect {
        let mut e = Expect {
            status: StatusExpect::Class(2),
            body_contains: None,
            headers: Vec::new(),
            cert_days_min: 14,
        };
        for (k, v) in self.fields(
            node,
            "expect",
            &["status", "body_contains", "headers", "cert_days_min"],
        ) {
            match k.as_str().unwrap_or("") {
                "status" => e.status = self.status(v).unwrap_or(e.status),
                "body_contains" => e.body_contains = self.string(v, "body_contains"),
                "headers" => {
                    e.headers = self
                        .string_list(v, "headers")
                        .into_iter()
                        .map(|(s, _)| s)
                        .collect()
                }
                "cert_days_min" => {
                    e.cert_days_min = self.unsigned(v, "cert_days_min").unwrap_or(14) as u32
                }
                _ => {}
            }
        }
        e
    }

    fn status(&mut self, node: &Node) -> Option<StatusExpect> {
        let code = |s: &str| {
            s.trim()
                .parse::<u16>()
                .ok()
                .filter(|c| (100..=599).contains(c))
        };
        if let Some(items) = node.as_seq() {
            let codes: Vec<u16> = items
                .iter()
                .filter_map(|n| n.as_str().and_then(code))
                .collect();
            if codes.len() == items.len() && !codes.is_empty() {
                return Some(StatusExpect::Codes(codes));
            }
        } else if let Some(text) = node.as_str() {
            if let Some(c) = code(text) {
                return Some(StatusExpect::Code(c));
            }
            let t = text.trim().to_ascii_lowercase();
            if t.len() == 3 && t.ends_with("xx") && matches!(&t[..1], "1" | "2" | "3" | "4" | "5") {
                return Some(StatusExpect::Class(t[..1].parse().ok()?));
            }
        }
        self.error(
            node.pos,
            "bad `status`",
            "use a code (200), a list ([200, 204]) or a class (2xx)",
        );
        None
    }

    fn slo(&mut self, node: &Node) -> Slo {
        let mut s = Slo {
            window: Duration::from_secs(60),
            p50_ms: None,
            p95_ms: None,
            p99_ms: None,
            error_rate: None,
        };
        for (k, v) in self.fields(
            node,
            "slo",
            &["window", "p50_ms", "p95_ms", "p99_ms", "error_rate"],
        ) {
            match k.as_str().unwrap_or("") {
                "window" => s.window = self.duration(v, "window").unwrap_or(s.window),
                "p50_ms" => s.p50_ms = self.unsigned(v, "p50_ms"),
                "p95_ms" => s.p95_ms = self.unsigned(v, "p95_ms"),
                "p99_ms" => s.p99_ms = self.unsigned(v, "p99_ms"),
                "error_rate" => s.error_rate = self.percent(v, "error_rate"),
                _ => {}
            }
        }
        s
    }

    pub fn rollback_rule(&mut self, node: &Node) -> Option<RollbackRule> {
        let entries = self.fields(
            node,
            "rollback rule",
            &["probe", "error_rate", "p95_ms", "for"],
        );
        let mut r = RollbackRule {
            probe: String::new(),
            error_rate: None,
            p95_ms: None,
            for_: Duration::ZERO,
            pos: node.pos,
            probe_pos: node.pos,
        };
        for (k, v) in entries {
            match k.as_str().unwrap_or("") {
                "probe" => {
                    r.probe = self.string(v, "probe").unwrap_or_default();
                    r.probe_pos = v.pos;
                }
                "error_rate" => r.error_rate = self.percent(v, "error_rate"),
                "p95_ms" => r.p95_ms = self.unsigned(v, "p95_ms"),
                "for" => r.for_ = self.duration(v, "for").unwrap_or_default(),
                _ => {}
            }
        }
        if r.probe.is_empty() {
            self.error(
                node.pos,
                "rollback rule has no `probe`",
                "name the probe it watches, e.g. `probe: web`",
            );
            return None;
        }
        if node.get("error_rate").is_none()
            && node.get("p95_ms").is_none()
            && node.as_map().is_some()
        {
            self.error(
                node.pos,
                "rollback rule has no threshold",
                "add `error_rate: 5%` or `p95_ms: 1500`",
            );
        }
        Some(r)
    }

    pub fn action(&mut self, node: &Node) -> Option<Action> {
        const KINDS: [&str; 6] = ["set_image", "restart", "scale", "undo", "pause", "resume"];
        let entries = self.fields(
            node,
            "action",
            &[
                "set_image",
                "restart",
                "scale",
                "undo",
                "pause",
                "resume",
                "container",
                "image",
                "replicas",
                "to_revision",
            ],
        );
        let named: Vec<&(Node, Node)> = entries
            .iter()
            .filter(|(k, _)| k.as_str().is_some_and(|k| KINDS.contains(&k)))
            .collect();
        let [(key, target_node)] = named.as_slice() else {
            if !entries.is_empty() || node.as_map().is_some() {
                self.error(
                    node.pos,
                    "an action names exactly one of set_image, restart, scale, undo, pause, resume",
                    "e.g. `action: { restart: deployment/web }`",
                );
            }
            return None;
        };
        let verb = key.as_str().unwrap_or("");
        let target = self.target(target_node, verb);
        let get = |f: &str| node.get(f);
        let allowed: &[&str] = match verb {
            "set_image" => &["container", "image"],
            "scale" => &["replicas"],
            "undo" => &["to_revision"],
            _ => &[],
        };
        for (k, _) in entries {
            let k_str = k.as_str().unwrap_or("");
            if !KINDS.contains(&k_str)
                && !allowed.contains(&k_str)
                && ["container", "image", "replicas", "to_revision"].contains(&k_str)
            {
                self.error(
                    k.pos,
                    format!("`{k_str}` does not apply to `{verb}`"),
                    "remove it",
                );
            }
        }
        let kind = match verb {
            "set_image" => {
                let image = match get("image") {
                    Some(n) => self.string(n, "image"),
                    None => {
                        self.error(
                            node.pos,
                            "set_image needs an `image`",
                            "e.g. `image: registry/web:2.0`",
                        );
                        None
                    }
                }?;
                let container = get("container").and_then(|n| self.string(n, "container"));
                ActionKind::SetImage { container, image }
            }
            "restart" => ActionKind::Restart,
            "scale" => {
                let Some(n) = get("replicas") else {
                    self.error(node.pos, "scale needs `replicas`", "e.g. `replicas: 3`");
                    return None;
                };
                ActionKind::Scale {
                    replicas: self.unsigned(n, "replicas")? as u32,
                }
            }
            "undo" => ActionKind::Undo {
                to_revision: get("to_revision").and_then(|n| self.unsigned(n, "to_revision")),
            },
            "pause" => ActionKind::Pause,
            _ => ActionKind::Resume,
        };
        Some(Action {
            kind,
            target: target?,
        })
    }

    pub fn wait(&mut self, node: &Node) -> Option<Wait> {
        const KINDS: [&str; 3] = ["rollout", "probe", "pods_ready"];
        let entries = self.fields(
            node,
            "wait",
            &["rollout", "probe", "pods_ready", "healthy_for", "timeout"],
        );
        let named: Vec<&(Node, Node)> = entries
            .iter()
            .filter(|(k, _)| k.as_str().is_some_and(|k| KINDS.contains(&k)))
            .collect();
        let [(key, value)] = named.as_slice() else {
            if node.as_map().is_some() {
                self.error(
                    node.pos,
                    "a wait names exactly one of rollout, probe, pods_ready",
                    "e.g. `wait: { rollout: deployment/web, timeout: 5m }`",
                );
            }
            return None;
        };
        let timeout = node
            .get("timeout")
            .and_then(|n| self.duration(n, "timeout"));
        let verb = key.as_str().unwrap_or("");
        if verb != "probe"
            && let Some((k, _)) = entries
                .iter()
                .find(|(k, _)| k.as_str() == Some("healthy_for"))
        {
            self.error(
                k.pos,
                "`healthy_for` applies only to a probe wait",
                "remove it",
            );
        }
        let kind = match verb {
            "rollout" => WaitKind::Rollout(self.target(value, "rollout")?),
            "probe" => WaitKind::Probe {
                name: self.string(value, "probe")?,
                healthy_for: node
                    .get("healthy_for")
                    .and_then(|n| self.duration(n, "healthy_for"))
                    .unwrap_or_default(),
            },
            _ => WaitKind::PodsReady(self.string(value, "pods_ready")?),
        };
        Some(Wait {
            kind,
            timeout,
            pos: value.pos,
        })
    }
}
