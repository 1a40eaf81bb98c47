//! `send`: payloads → requests.
//!
//! `data` is kept as the JSON text the host mapped and written out as it is: the plugin never
//! looks inside it, so building a tree of it (and writing that out again) for every event
//! would be work for nothing.

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
    request.json(body).send()?.error_for_status()?;
    Ok(())
}

pub(crate) fn send(ctx: &mut Context, p: Send, _settings: Value) -> Result<(), Error> {
    check(&p)?;
    deliver(ctx, &p, &p.data)
}

/// One request per distinct (url, method, headers), its body the array of the group's `data`;
/// every event of a group shares that request's outcome.
pub(crate) fn send_batch(
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

#[cfg(test)]
mod tests {
    use crate::plugin;
    use serde_json::json;
    use switchyard_plugin_sdk::{Context, Error, FakeHttp, Response};

    #[test]
    fn sends_data_with_method_and_headers() {
        let http = FakeHttp::new();
        plugin()
            .perform(
                &mut Context::fake(&http),
                "send",
                &json!({"url": "https://example.com/hook", "method": "PUT",
                    "headers": {"X-Token": "t"}, "data": {"a": 1}}),
                &json!({}),
            )
            .unwrap();
        let sent = &http.requests()[0];
        assert_eq!(sent.method, "PUT");
        assert_eq!(sent.header("x-token"), Some("t"));
        assert_eq!(sent.json(), json!({"a": 1}));
    }

    #[test]
    fn batches_group_by_destination_and_keep_per_event_results() {
        let http = FakeHttp::new();
        http.respond(Response::new(200, "{}"));
        http.respond(Response::new(503, "down"));
        let a = json!({"url": "https://a.example/x", "method": "POST", "data": {"n": 1}});
        let b = json!({"url": "https://b.example/y", "method": "POST", "data": {"n": 2}});
        let a2 = json!({"url": "https://a.example/x", "method": "POST", "data": {"n": 3}});
        let bad = json!({"url": "ftp://nope", "method": "POST", "data": {}});
        let results = plugin().perform_batch(
            &mut Context::fake(&http),
            "send",
            &[a, b, a2, bad],
            &json!({}),
        );
        let sent = http.requests();
        assert_eq!(sent.len(), 2);
        assert_eq!(sent[0].json(), json!([{"n": 1}, {"n": 3}]));
        assert_eq!(sent[1].json(), json!([{"n": 2}]));
        assert!(results[0].is_ok() && results[2].is_ok());
        assert!(matches!(
            results[1],
            Err(Error::Retryable {
                status: Some(503),
                ..
            })
        ));
        assert!(matches!(results[3], Err(Error::InvalidPayload(_))));
    }
}
