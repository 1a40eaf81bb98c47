//! `postToChannel`: the mapped message → a POST to the incoming-webhook URL.

use crate::response;
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

pub(crate) fn perform(
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
    response::check(ctx.post(&m.url).json(&body).send()?)
}
