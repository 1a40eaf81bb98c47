//! `trackEventV2`: a custom event → `POST /v2/events`, with the user, the time (as JavaScript's
//! `toISOString()` writes it) and the session named by a session URL.

use super::names::{Options, normalize};
use super::post;
use crate::settings::Settings;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use switchyard_plugin_sdk::date;
use switchyard_plugin_sdk::{Context, Error};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Event {
    user_id: Option<String>,
    name: String,
    properties: Option<Map<String, Value>>,
    timestamp: Option<Value>,
    use_recent_session: Option<bool>,
    session_url: Option<String>,
}

/// The session id of a session URL: its last path segment, percent-decoded.
pub(crate) fn session_id(url: &str) -> Option<String> {
    let path = url.split(['?', '#']).next().unwrap_or_default();
    let last = path.rsplit('/').next().filter(|s| !s.is_empty())?;
    let bytes = last.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

pub(crate) fn perform(ctx: &mut Context, e: Event, s: Settings) -> Result<(), Error> {
    let mut body = json!({"name": e.name});
    if let Some(props) = e.properties {
        body["properties"] = Value::Object(normalize(props, Options::default()));
    }
    if let Some(uid) = e.user_id {
        body["user"] = json!({"uid": uid});
    }
    if let Some(t) = e
        .timestamp
        .as_ref()
        .and_then(Value::as_str)
        .and_then(date::parse)
    {
        body["timestamp"] = json!(date::to_iso_string(t));
    }
    let mut session = Map::new();
    if let Some(id) = e.session_url.as_deref().and_then(session_id) {
        session.insert("id".into(), json!(id));
    }
    // Only `true` is sent: FullStory's API misreads an explicit false.
    if e.use_recent_session == Some(true) {
        session.insert("use_most_recent".into(), json!(true));
    }
    if !session.is_empty() {
        body["session"] = Value::Object(session);
    }
    post(ctx, "/v2/events", &s.api_key, &body)
}
