//! The resource kinds the demo cluster serves and the discovery documents that announce them.

use serde_json::{Value, json};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Namespace,
    Pod,
    Event,
    Deployment,
    ReplicaSet,
    StatefulSet,
    DaemonSet,
}

/// One resource as discovery announces it.
pub struct ResDef {
    pub kind: Kind,
    pub plural: &'static str,
    pub singular: &'static str,
    pub kind_name: &'static str,
    /// "" for the core group.
    pub group: &'static str,
    pub namespaced: bool,
    pub short: &'static [&'static str],
    pub verbs: &'static [&'static str],
    /// Member of the `all` category (`kubectl get all`).
    pub all: bool,
}

const READ: &[&str] = &["get", "list", "watch"];
const WORKLOAD: &[&str] = &["get", "list", "patch", "update", "watch"];

pub static DEFS: [ResDef; 7] = [
    ResDef {
        kind: Kind::Namespace,
        plural: "namespaces",
        singular: "namespace",
        kind_name: "Namespace",
        group: "",
        namespaced: false,
        short: &["ns"],
        verbs: READ,
        all: false,
    },
    ResDef {
        kind: Kind::Pod,
        plural: "pods",
        singular: "pod",
        kind_name: "Pod",
        group: "",
        namespaced: true,
        short: &["po"],
        verbs: &["delete", "get", "list", "watch"],
        all: true,
    },
    ResDef {
        kind: Kind::Event,
        plural: "events",
        singular: "event",
        kind_name: "Event",
        group: "",
        namespaced: true,
        short: &["ev"],
        verbs: READ,
        all: false,
    },
    ResDef {
        kind: Kind::Deployment,
        plural: "deployments",
        singular: "deployment",
        kind_name: "Deployment",
        group: "apps",
        namespaced: true,
        short: &["deploy"],
        verbs: WORKLOAD,
        all: true,
    },
    ResDef {
        kind: Kind::ReplicaSet,
        plural: "replicasets",
        singular: "replicaset",
        kind_name: "ReplicaSet",
        group: "apps",
        namespaced: true,
        short: &["rs"],
        verbs: READ,
        all: true,
    },
    ResDef {
        kind: Kind::StatefulSet,
        plural: "statefulsets",
        singular: "statefulset",
        kind_name: "StatefulSet",
        group: "apps",
        namespaced: true,
        short: &["sts"],
        verbs: WORKLOAD,
        all: true,
    },
    ResDef {
        kind: Kind::DaemonSet,
        plural: "daemonsets",
        singular: "daemonset",
        kind_name: "DaemonSet",
        group: "apps",
        namespaced: true,
        short: &["ds"],
        verbs: READ,
        all: true,
    },
];

impl Kind {
    pub fn def(self) -> &'static ResDef {
        // DEFS is declared in the enum's order.
        &DEFS[self as usize]
    }

    pub fn api_version(self) -> &'static str {
        if self.def().group.is_empty() {
            "v1"
        } else {
            "apps/v1"
        }
    }
}

/// The resource named by a URL's group and plural.
pub fn lookup(group: &str, plural: &str) -> Option<&'static ResDef> {
    DEFS.iter().find(|d| d.group == group && d.plural == plural)
}

fn resource(d: &ResDef) -> Value {
    let mut r = json!({
        "name": d.plural, "singularName": d.singular, "namespaced": d.namespaced,
        "kind": d.kind_name, "verbs": d.verbs, "shortNames": d.short,
    });
    if d.all {
        r["categories"] = json!(["all"]);
    }
    r
}

fn scale_subresource(plural: &str) -> Value {
    // The scale client reads group/version/kind from here to talk autoscaling/v1 Scale.
    json!({
        "name": format!("{plural}/scale"), "singularName": "", "namespaced": true,
        "group": "autoscaling", "version": "v1", "kind": "Scale",
        "verbs": ["get", "patch", "update"],
    })
}

/// `/api/v1` or `/apis/apps/v1`.
pub fn resource_list(group: &str) -> Value {
    let mut resources: Vec<Value> = Vec::new();
    for d in DEFS.iter().filter(|d| d.group == group) {
        resources.push(resource(d));
        match d.kind {
            Kind::Pod => resources.push(json!({
                "name": "pods/log", "singularName": "", "namespaced": true,
                "kind": "Pod", "verbs": ["get"],
            })),
            Kind::Deployment | Kind::StatefulSet => resources.push(scale_subresource(d.plural)),
            _ => {}
        }
    }
    let gv = if group.is_empty() {
        "v1".to_string()
    } else {
        format!("{group}/v1")
    };
    json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources})
}

/// `/api`: legacy discovery only; clients asking for aggregated discovery fall back to it.
pub fn api_versions(server: &str) -> Value {
    json!({
        "kind": "APIVersions", "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server}],
    })
}

pub fn api_groups() -> Value {
    let gv = json!({"groupVersion": "apps/v1", "version": "v1"});
    json!({
        "kind": "APIGroupList", "apiVersion": "v1",
        "groups": [{"name": "apps", "versions": [gv.clone()], "preferredVersion": gv}],
    })
}

pub fn api_group_apps() -> Value {
    let gv = json!({"groupVersion": "apps/v1", "version": "v1"});
    json!({"kind": "APIGroup", "apiVersion": "v1", "name": "apps", "versions": [gv.clone()], "preferredVersion": gv})
}

pub fn version() -> Value {
    json!({
        "major": "1", "minor": "33", "gitVersion": "v1.33.0-shipdeck-demo",
        "gitCommit": "0000000000000000000000000000000000000000", "gitTreeState": "clean",
        "buildDate": "2025-01-01T00:00:00Z", "goVersion": "go1.24.0", "compiler": "gc",
        "platform": "linux/amd64",
    })
}
