//! Exact requests, batches grouped by endpoint, and per-event results.

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
