//! Reads: list (selectors, paging, resourceVersion) and get, as JSON or as kubectl's Table.

use super::select::{Filter, Selector};
use super::server::{ApiError, Params, Shared, Target, bytes_response, json_response};
use super::table;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Serialize;
use serde_json::{Value, json};

/// The namespace and selectors a list or watch asks for.
pub fn filter(t: &Target, q: &Params) -> Result<Filter, ApiError> {
    let labels = Selector::parse_labels(q.get("labelSelector").map_or("", String::as_str))
        .map_err(ApiError::bad_request)?;
    let fields = Selector::parse_fields(q.get("fieldSelector").map_or("", String::as_str))
        .map_err(ApiError::bad_request)?;
    Ok(Filter {
        namespace: t.ns.clone(),
        labels,
        fields,
    })
}

#[derive(Serialize)]
struct ListBody<'a> {
    kind: String,
    #[serde(rename = "apiVersion")]
    api_version: &'static str,
    metadata: Value,
    items: Vec<&'a Value>,
}

/// Continue tokens are "namespace/name" of the last item served: the next page starts after.
fn parse_continue(token: &str) -> Result<(String, String), ApiError> {
    token
        .split_once('/')
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .ok_or_else(|| ApiError::new(400, "BadRequest", "invalid continue token"))
}

pub fn list(s: &Shared, t: &Target, q: &Params, as_table: bool) -> Result<Response, ApiError> {
    let filter = filter(t, q)?;
    let limit = q
        .get("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .filter(|l| *l > 0);
    let after = q
        .get("continue")
        .filter(|c| !c.is_empty())
        .map(|c| parse_continue(c))
        .transpose()?;
    let w = s.world();
    let rv = w.store.rv().to_string();
    let mut items = Vec::new();
    let (mut next, mut remaining) = (None, 0usize);
    for (key, obj) in w.store.list(t.kind(), t.ns.as_deref()) {
        if after
            .as_ref()
            .is_some_and(|(ns, name)| (&key.1, &key.2) <= (ns, name))
        {
            continue;
        }
        if !filter.matches(obj) {
            continue;
        }
        if limit.is_some_and(|l| items.len() >= l) {
            remaining += 1;
            continue;
        }
        if limit.is_some_and(|l| items.len() + 1 == l) {
            next = Some(format!("{}/{}", key.1, key.2));
        }
        items.push(obj.clone());
    }
    drop(w);
    let mut meta = json!({"resourceVersion": rv});
    if remaining > 0 {
        meta["continue"] = json!(next);
        meta["remainingItemCount"] = json!(remaining);
    }
    let refs: Vec<&Value> = items.iter().map(|a| &**a).collect();
    if as_table {
        let include = q.get("includeObject").map_or("Metadata", String::as_str);
        let v = table::render(t.kind(), &refs, meta, include);
        return Ok(table_response(&v));
    }
    let body = ListBody {
        kind: format!("{}List", t.def.kind_name),
        api_version: t.kind().api_version(),
        metadata: meta,
        items: refs,
    };
    let bytes = serde_json::to_vec(&body).unwrap_or_default();
    Ok(bytes_response(StatusCode::OK, "application/json", bytes))
}

pub fn table_response(v: &Value) -> Response {
    let bytes = serde_json::to_vec(v).unwrap_or_default();
    bytes_response(
        StatusCode::OK,
        "application/json;as=Table;v=v1;g=meta.k8s.io",
        bytes,
    )
}

pub fn get(s: &Shared, t: &Target, q: &Params, as_table: bool) -> Result<Response, ApiError> {
    let (ns, name) = t.key();
    let obj = s
        .world()
        .store
        .get(t.kind(), &ns, &name)
        .ok_or_else(|| ApiError::not_found(t.def, &name))?;
    if as_table {
        let include = q.get("includeObject").map_or("Metadata", String::as_str);
        let meta = json!({"resourceVersion": obj["metadata"]["resourceVersion"]});
        return Ok(table_response(&table::render(
            t.kind(),
            &[&obj],
            meta,
            include,
        )));
    }
    Ok(json_response(StatusCode::OK, &obj))
}
