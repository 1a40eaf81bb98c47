//! `send`: the mapped url, method, headers and data → one request (or one per endpoint for a
//! batch).
//!
//! `data` is kept as the JSON text the host mapped and written out as it is: the plugin never
//! looks inside it, so building a tree of it (and writing that out again) for every event
//! would be work for nothing.

use crate::response;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use switchyard_plugin_sdk::{Context, Error};

/// The mapped fields of `send`.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Send {
    url: String,
    method: String,
    #[serde(default)]
    headers: Map<String, Value>,
    #[serde(default)]
    data: Option<Box<RawValue>>,
}

fn check(p: &Send) -> Result<(), Error> {
    if !(p.url.starts_with("https://") || p.url.starts_with("http://")) {
        return Err(Error::invalid_payload(format!(
            "url {:?} must start with http:// or https://",
            p.url
        )));
    }
    for (name, value) in &p.headers {
        if !value.is_string() {
            return Err(Error::invalid_payload(format!(
                "header {name:?} must be a string, not {value}"
            )));
        }
    }
    Ok(())
}

fn deliver<B: Serialize + ?Sized>(ctx: &mut Context, p: &Send, body: &B) -> Result<(), Error> {
    let mut request = ctx.request(&p.method, &p.url);
    for (name, value) in &p.headers {
        request = request.header(name, value.as_str().unwrap_or_default());
    }
    response::check(request.json(body).send()?)
}

pub(crate) fn perform(ctx: &mut Context, p: Send, _settings: Value) -> Result<(), Error> {
    check(&p)?;
    deliver(ctx, &p, &p.data)
}

/// One request per distinct (url, method, headers), its body the array of the group's `data`;
/// every event of a group shares that request's outcome.
pub(crate) fn perform_batch(
    ctx: &mut Context,
    payloads: Vec<Send>,
    _settings: Value,
) -> Vec<Result<(), Error>> {
    let mut results: Vec<Result<(), Error>> = payloads.iter().map(check).collect();
    let mut groups: Vec<(usize, Vec<usize>)> = Vec::new();
    for (i, p) in payloads.iter().enumerate() {
        if results[i].is_err() {
            continue;
        }
        let same = |j: &usize| {
            let q = &payloads[*j];
            q.url == p.url && q.method == p.method && q.headers == p.headers
        };
        match groups.iter_mut().find(|(first, _)| same(first)) {
            Some((_, members)) => members.push(i),
            None => groups.push((i, vec![i])),
        }
    }
    for (first, members) in groups {
        let body: Vec<Option<&RawValue>> = members
            .iter()
            .map(|&i| payloads[i].data.as_deref())
            .collect();
        let outcome = deliver(ctx, &payloads[first], &body);
        for i in members {
            results[i] = outcome.clone();
        }
    }
    results
}
