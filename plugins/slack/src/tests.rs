//! Exact requests, the URL check, and how Slack's answers are classified.

use crate::plugin;
use serde_json::json;
use switchyard_plugin_sdk::{Context, Error, FakeHttp, Response};

const HOOK: &str = "https://hooks.slack.com/services/T000/B000/XXXX";

#[test]
fn posts_the_message_as_json() {
    let http = FakeHttp::new();
    let mut ctx = Context::fake(&http);
    plugin()
        .perform(
            &mut ctx,
            "postToChannel",
            &json!({"url": HOOK, "text": "Hi", "channel": "general", "username": "Segment"}),
            &json!({}),
        )
        .unwrap();
    let sent = &http.requests()[0];
    assert_eq!(sent.method, "POST");
    assert_eq!(sent.url, HOOK);
    assert_eq!(sent.header("content-type"), Some("application/json"));
    assert_eq!(
        sent.json(),
        json!({"channel": "general", "text": "Hi", "username": "Segment"})
    );
}

#[test]
fn refuses_urls_that_are_not_slack_webhooks_before_sending() {
    for url in [
        "http://hooks.slack.com/services/x",
        "https://hooks.slack.com.evil.example/x",
        "https://hooks.slack.com/services/x?y=1",
        "https://evil.example/services",
    ] {
        let http = FakeHttp::new();
        let err = plugin()
            .perform(
                &mut Context::fake(&http),
                "postToChannel",
                &json!({"url": url, "text": "Hi"}),
                &json!({}),
            )
            .unwrap_err();
        assert!(matches!(err, Error::InvalidPayload(_)), "{url}: {err:?}");
        assert!(http.requests().is_empty(), "{url} was sent");
    }
}

#[test]
fn vendor_errors_are_classified() {
    let http = FakeHttp::new();
    http.respond(Response::new(500, "oops"));
    http.respond(Response::new(404, "no_service"));
    http.respond(Response::new(429, "rate_limited").with_header("Retry-After", "30"));
    let run = |http: &FakeHttp| {
        plugin().perform(
            &mut Context::fake(http),
            "postToChannel",
            &json!({"url": HOOK, "text": "Hi"}),
            &json!({}),
        )
    };
    assert!(matches!(
        run(&http),
        Err(Error::Retryable {
            status: Some(500),
            ..
        })
    ));
    assert!(matches!(
        run(&http),
        Err(Error::Permanent {
            status: Some(404),
            ..
        })
    ));
    let err = run(&http).unwrap_err();
    assert!(
        matches!(&err, Error::RateLimited { retry_after: Some(d), .. } if d.as_secs() == 30),
        "{err:?}"
    );
}
