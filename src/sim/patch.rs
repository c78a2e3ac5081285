//! The three patch formats kubectl and kube-rs send: JSON merge, JSON patch, strategic merge.

use serde_json::{Map, Value};

/// RFC 7386: objects merge, `null` deletes, anything else replaces.
pub fn merge(target: &mut Value, patch: &Value) {
    let Value::Object(p) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    if let Value::Object(t) = target {
        for (k, v) in p {
            if v.is_null() {
                t.remove(k);
            } else {
                merge(t.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
    }
}

fn unescape(token: &str) -> String {
    token.replace("~1", "/").replace("~0", "~")
}

/// Splits `/a/b/c` into the parent pointer and the last token.
fn split_pointer(path: &str) -> Result<(&str, String), String> {
    let idx = path
        .rfind('/')
        .ok_or_else(|| format!("invalid JSON pointer {path:?}"))?;
    Ok((&path[..idx], unescape(&path[idx + 1..])))
}

fn array_index(token: &str, len: usize, allow_end: bool) -> Result<usize, String> {
    if allow_end && token == "-" {
        return Ok(len);
    }
    let i: usize = token
        .parse()
        .map_err(|_| format!("invalid array index {token:?}"))?;
    if i > len || (!allow_end && i == len) {
        return Err(format!("array index {i} out of bounds"));
    }
    Ok(i)
}

fn add(doc: &mut Value, path: &str, value: Value) -> Result<(), String> {
    if path.is_empty() {
        *doc = value;
        return Ok(());
    }
    let (parent, last) = split_pointer(path)?;
    match doc.pointer_mut(parent) {
        Some(Value::Object(m)) => {
            m.insert(last, value);
            Ok(())
        }
        Some(Value::Array(a)) => {
            let i = array_index(&last, a.len(), true)?;
            a.insert(i, value);
            Ok(())
        }
        _ => Err(format!("path {parent:?} does not exist")),
    }
}

fn remove(doc: &mut Value, path: &str) -> Result<Value, String> {
    let (parent, last) = split_pointer(path)?;
    match doc.pointer_mut(parent) {
        Some(Value::Object(m)) => m
            .remove(&last)
            .ok_or_else(|| format!("path {path:?} does not exist")),
        Some(Value::Array(a)) => {
            let i = array_index(&last, a.len(), false)?;
            Ok(a.remove(i))
        }
        _ => Err(format!("path {path:?} does not exist")),
    }
}

/// RFC 6902.
pub fn json_patch(doc: &mut Value, ops: &Value) -> Result<(), String> {
    let ops = ops
        .as_array()
        .ok_or("a JSON patch must be an array of operations")?;
    for op in ops {
        let name = op["op"].as_str().ok_or("operation without \"op\"")?;
        let path = op["path"].as_str().ok_or("operation without \"path\"")?;
        let value = || {
            op.get("value")
                .cloned()
                .ok_or("operation without \"value\"")
        };
        let from = || op["from"].as_str().ok_or("operation without \"from\"");
        match name {
            "add" => add(doc, path, value()?)?,
            "remove" => {
                remove(doc, path)?;
            }
            "replace" => {
                let slot = doc
                    .pointer_mut(path)
                    .ok_or_else(|| format!("replace: path {path:?} does not exist"))?;
                *slot = value()?;
            }
            "move" => {
                let v = remove(doc, from()?)?;
                add(doc, path, v)?;
            }
            "copy" => {
                let v = doc
                    .pointer(from()?)
                    .cloned()
                    .ok_or("copy: from path does not exist")?;
                add(doc, path, v)?;
            }
            "test" => {
                if doc.pointer(path) != Some(&value()?) {
                    return Err(format!("test failed at {path:?}"));
                }
            }
            other => return Err(format!("unknown JSON patch operation {other:?}")),
        }
    }
    Ok(())
}

/// The merge key of the lists the Kubernetes types declare `patchStrategy: merge` on;
/// `Some("")` marks a list of scalars merged as a set. Other lists are replaced.
fn merge_key(field: &str) -> Option<&'static str> {
    Some(match field {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "volumes"
        | "env"
        | "imagePullSecrets"
        | "resourceClaims" => "name",
        "ports" => "containerPort",
        "volumeMounts" => "mountPath",
        "volumeDevices" => "devicePath",
        "hostAliases" => "ip",
        "topologySpreadConstraints" => "topologyKey",
        "conditions" => "type",
        "ownerReferences" => "uid",
        "finalizers" => "",
        _ => return None,
    })
}

/// Strategic merge patch for the fields kubectl touches, with the `$patch`,
/// `$retainKeys`, `$setElementOrder/` and `$deleteFromPrimitiveList/` directives.
pub fn strategic(target: &mut Value, patch: &Value) -> Result<(), String> {
    let Value::Object(p) = patch else {
        *target = patch.clone();
        return Ok(());
    };
    match p.get("$patch").and_then(Value::as_str) {
        Some("replace") => {
            let mut m = p.clone();
            m.remove("$patch");
            *target = Value::Object(m);
            return Ok(());
        }
        Some("delete") => {
            *target = Value::Null;
            return Ok(());
        }
        Some(other) => return Err(format!("unknown $patch directive {other:?}")),
        None => {}
    }
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let Value::Object(t) = target else {
        return Ok(());
    };
    if let Some(keep) = p.get("$retainKeys").and_then(Value::as_array) {
        t.retain(|k, _| keep.iter().any(|x| x.as_str() == Some(k)));
    }
    let mut orders = Vec::new();
    for (k, v) in p {
        if let Some(field) = k.strip_prefix("$setElementOrder/") {
            orders.push((field, v));
        } else if let Some(field) = k.strip_prefix("$deleteFromPrimitiveList/") {
            if let (Some(Value::Array(list)), Some(gone)) = (t.get_mut(field), v.as_array()) {
                list.retain(|x| !gone.contains(x));
            }
        } else if k.starts_with('$') {
            continue;
        } else if v.is_null() {
            t.remove(k);
        } else if let (Value::Array(items), Some(key)) = (v, merge_key(k)) {
            let slot = t.entry(k.clone()).or_insert(Value::Array(Vec::new()));
            merge_list(slot, items, key)?;
        } else if v.is_object() {
            let slot = t.entry(k.clone()).or_insert(Value::Null);
            strategic(slot, v)?;
            if slot.is_null() {
                t.remove(k);
            }
        } else {
            t.insert(k.clone(), v.clone());
        }
    }
    for (field, order) in orders {
        if let (Some(Value::Array(list)), Some(order)) = (t.get_mut(field), order.as_array()) {
            reorder(list, order, merge_key(field).unwrap_or(""));
        }
    }
    Ok(())
}

fn merge_list(slot: &mut Value, items: &[Value], key: &str) -> Result<(), String> {
    if items.iter().any(|i| i["$patch"] == "replace") {
        *slot = Value::Array(
            items
                .iter()
                .filter(|i| i["$patch"] != "replace")
                .cloned()
                .collect(),
        );
        return Ok(());
    }
    if !slot.is_array() {
        *slot = Value::Array(Vec::new());
    }
    let Value::Array(list) = slot else {
        return Ok(());
    };
    for item in items {
        if key.is_empty() {
            if !list.contains(item) {
                list.push(item.clone());
            }
            continue;
        }
        let id = item
            .get(key)
            .ok_or_else(|| format!("list item without its merge key {key:?}"))?;
        let pos = list.iter().position(|x| x.get(key) == Some(id));
        if item["$patch"] == "delete" {
            if let Some(i) = pos {
                list.remove(i);
            }
        } else if let Some(i) = pos {
            strategic(&mut list[i], item)?;
        } else {
            let mut fresh = Value::Null;
            strategic(&mut fresh, item)?;
            list.push(fresh);
        }
    }
    Ok(())
}

/// Puts the listed elements first, in the given order; the rest keep theirs.
fn reorder(list: &mut [Value], order: &[Value], key: &str) {
    let id = |v: &Value| {
        if key.is_empty() {
            v.clone()
        } else {
            v.get(key).cloned().unwrap_or(Value::Null)
        }
    };
    let wanted: Vec<Value> = order.iter().map(id).collect();
    let rank = |v: &Value| {
        wanted
            .iter()
            .position(|w| *w == id(v))
            .unwrap_or(usize::MAX)
    };
    list.sort_by_key(rank);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deploy() -> Value {
        json!({"spec": {"replicas": 3, "template": {"spec": {"containers": [
            {"name": "web", "image": "web:1.0", "ports": [{"containerPort": 8080}]},
            {"name": "side", "image": "side:1"}]}}}})
    }

    #[test]
    fn kubectl_set_image_merges_containers_by_name() {
        let mut d = deploy();
        let p = json!({"spec": {"template": {"spec": {
            "$setElementOrder/containers": [{"name": "web"}, {"name": "side"}],
            "containers": [{"image": "web:2.0", "name": "web"}]}}}});
        strategic(&mut d, &p).unwrap();
        let cs = &d["spec"]["template"]["spec"]["containers"];
        assert_eq!(cs[0]["image"], "web:2.0");
        assert_eq!(cs[0]["ports"][0]["containerPort"], 8080);
        assert_eq!(cs[1]["image"], "side:1");
    }

    #[test]
    fn strategic_delete_and_null() {
        let mut d = deploy();
        let p = json!({"spec": {"replicas": null, "template": {"spec": {"containers": [
            {"name": "side", "$patch": "delete"}]}}}});
        strategic(&mut d, &p).unwrap();
        assert!(d["spec"].get("replicas").is_none());
        assert_eq!(
            d["spec"]["template"]["spec"]["containers"]
                .as_array()
                .unwrap()
                .len(),
            1
        );
    }

    #[test]
    fn merge_patch_replaces_lists() {
        let mut d = deploy();
        merge(
            &mut d,
            &json!({"spec": {"paused": true, "template": {"spec": {"containers": []}}}}),
        );
        assert_eq!(d["spec"]["paused"], true);
        assert_eq!(d["spec"]["template"]["spec"]["containers"], json!([]));
    }

    #[test]
    fn json_patch_ops() {
        let mut d = deploy();
        let ops = json!([
            {"op": "replace", "path": "/spec/replicas", "value": 5},
            {"op": "add", "path": "/metadata", "value": {"annotations": {"a/b": "1"}}},
            {"op": "test", "path": "/metadata/annotations/a~1b", "value": "1"},
            {"op": "remove", "path": "/spec/template/spec/containers/1"},
        ]);
        json_patch(&mut d, &ops).unwrap();
        assert_eq!(d["spec"]["replicas"], 5);
        assert_eq!(
            d["spec"]["template"]["spec"]["containers"]
                .as_array()
                .unwrap()
                .len(),
            1
        );
        assert!(
            json_patch(
                &mut d,
                &json!([{"op": "replace", "path": "/nope/x", "value": 1}])
            )
            .is_err()
        );
        assert!(json_patch(&mut d, &json!({"op": "add"})).is_err());
    }
}
