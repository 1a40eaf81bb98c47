//! `postToChannel`: payload → the webhook request.

use serde::{Deserialize, Serialize};
use switchyard_plugin_sdk::{Context, Error};

/// The mapped fields of `postToChannel`.
#[derive(Debug, Deserialize)]
pub(crate) struct Message {
    url: String,
    text: String,
    channel: Option<String>,
    username: Option<String>,
    icon_url: Option<String>,
}

/// The body Slack's incoming webhooks take; absent fields are left out.
#[derive(Debug, Serialize)]
struct Body<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    channel: Option<&'a str>,
    text: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    username: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    icon_url: Option<&'a str>,
}

/// `https://<letters, digits, dots, dashes>.slack.com<path of letters, digits and slashes>`, as
/// Segment checks it: no query string, no other host.
pub(crate) fn is_slack_url(url: &str) -> bool {
    let Some(rest) = url.strip_prefix("https://") else {
        return false;
    };
    let Some(at) = rest.find(".slack.com") else {
        return false;
    };
    let (host, path) = (&rest[..at], &rest[at + ".slack.com".len()..]);
    !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
        && !path.is_empty()
        && path.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'/')
}

pub(crate) fn post_to_channel(
    ctx: &mut Context,
    m: Message,
    _settings: serde_json::Value,
) -> Result<(), Error> {
    if !is_slack_url(&m.url) {
        return Err(Error::invalid_payload(format!(
            "Invalid Slack URL {:?}: it must be an https://….slack.com webhook URL",
            m.url
        )));
    }
    let body = Body {
        channel: m.channel.as_deref(),
        text: &m.text,
        username: m.username.as_deref(),
        icon_url: m.icon_url.as_deref(),
    };
    ctx.post(&m.url).json(&body).send()?.error_for_status()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugin;
    use serde_json::json;
    use switchyard_plugin_sdk::{FakeHttp, Response};

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
}
