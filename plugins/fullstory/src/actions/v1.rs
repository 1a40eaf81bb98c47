//! The V1 actions, on FullStory's v1 users API, as in the reference:
//! - `trackEvent`: `POST /users/v1/individual/{userId}/customevent?integration=segment` with
//!   `{"event": {"event_name", "event_data", "timestamp", "use_recent_session", "session_url"}}`;
//!   property names get type suffixes (`names.rs`).
//! - `identifyUser`: `POST /users/v1/individual/{userId}/customvars?integration=segment` with the
//!   traits (names in camelCase with type suffixes), `segmentAnonymousId_str`, `email` and
//!   `displayName`.
//!
//! The user id is percent-encoded as JavaScript's `encodeURIComponent` does.

use super::names::{Options, normalize};
use super::post;
use crate::settings::Settings;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use switchyard_plugin_sdk::{Context, Error, date};

/// `text` as `encodeURIComponent` writes it: all but `A-Z a-z 0-9 - _ . ! ~ * ' ( )` escaped.
fn encode_component(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn path(user_id: &str, what: &str) -> String {
    format!(
        "/users/v1/individual/{}/{what}?integration=segment",
        encode_component(user_id)
    )
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Event {
    user_id: String,
    name: String,
    properties: Option<Map<String, Value>>,
    timestamp: Option<Value>,
    use_recent_session: Option<bool>,
    session_url: Option<String>,
}

pub(crate) fn track_event(ctx: &mut Context, e: Event, s: Settings) -> Result<(), Error> {
    let suffixed = Options {
        camel_case: false,
        type_suffix: true,
    };
    let mut event = json!({
        "event_name": e.name,
        "event_data": normalize(e.properties.unwrap_or_default(), suffixed),
    });
    if let Some(t) = e
        .timestamp
        .as_ref()
        .and_then(Value::as_str)
        .and_then(date::parse)
    {
        event["timestamp"] = json!(date::to_iso_string(t));
    }
    if e.use_recent_session == Some(true) {
        event["use_recent_session"] = json!(true);
    }
    if let Some(url) = e.session_url.filter(|u| !u.is_empty()) {
        event["session_url"] = json!(url);
    }
    post(
        ctx,
        &path(&e.user_id, "customevent"),
        &s.api_key,
        &json!({"event": event}),
    )
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Identify {
    user_id: String,
    anonymous_id: Option<String>,
    display_name: Option<String>,
    email: Option<String>,
    traits: Option<Map<String, Value>>,
}

pub(crate) fn identify_user(ctx: &mut Context, u: Identify, s: Settings) -> Result<(), Error> {
    let options = Options {
        camel_case: true,
        type_suffix: true,
    };
    let mut body = normalize(u.traits.unwrap_or_default(), options);
    if let Some(anonymous) = u.anonymous_id.filter(|a| !a.is_empty()) {
        body.insert("segmentAnonymousId_str".into(), json!(anonymous));
    }
    if let Some(email) = u.email {
        body.insert("email".into(), json!(email));
    }
    if let Some(name) = u.display_name {
        body.insert("displayName".into(), json!(name));
    }
    post(
        ctx,
        &path(&u.user_id, "customvars"),
        &s.api_key,
        &Value::Object(body),
    )
}
