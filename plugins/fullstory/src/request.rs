//! The two v2 requests, and the helpers they share: property-name normalisation, timestamps
//! and session ids.

use serde::Deserialize;
use serde_json::{Map, Value, json};
use switchyard_plugin_sdk::{Context, Error};
use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

const API: &str = "https://api.fullstory.com";

/// How deep into nested objects property names are normalised.
const DEPTH: usize = 5;

#[derive(Debug, Deserialize)]
pub(crate) struct Settings {
    #[serde(rename = "apiKey")]
    api_key: String,
}

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

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Identify {
    uid: Option<String>,
    anonymous_id: Option<String>,
    display_name: Option<String>,
    email: Option<String>,
    properties: Option<Map<String, Value>>,
}

/// Keys with only letters, digits and underscores, in objects down to [`DEPTH`] levels.
pub(crate) fn normalize(object: Map<String, Value>, depth: usize) -> Map<String, Value> {
    object
        .into_iter()
        .map(|(key, value)| {
            let key: String = key
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            let value = match value {
                Value::Object(inner) if depth > 1 => Value::Object(normalize(inner, depth - 1)),
                other => other,
            };
            (key, value)
        })
        .collect()
}

/// `2026-11-29T08:00:00.000Z`, or `None` for a value that is not a time.
fn iso(value: &Value) -> Option<String> {
    let text = value.as_str()?;
    let t = OffsetDateTime::parse(text, &Rfc3339)
        .ok()?
        .to_offset(UtcOffset::UTC);
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    t.format(format).ok()
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

fn post(ctx: &mut Context, path: &str, key: &str, body: &Value) -> Result<(), Error> {
    ctx.post(&format!("{API}{path}"))
        .header("Authorization", &format!("Basic {key}"))
        .header("Integration-Source", "segment")
        .json(body)
        .send()?
        .error_for_status()?;
    Ok(())
}

pub(crate) fn track_event(ctx: &mut Context, e: Event, s: Settings) -> Result<(), Error> {
    let mut body = json!({"name": e.name});
    if let Some(props) = e.properties {
        body["properties"] = Value::Object(normalize(props, DEPTH));
    }
    if let Some(uid) = e.user_id {
        body["user"] = json!({"uid": uid});
    }
    if let Some(t) = e.timestamp.as_ref().and_then(iso) {
        body["timestamp"] = json!(t);
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

pub(crate) fn identify_user(ctx: &mut Context, u: Identify, s: Settings) -> Result<(), Error> {
    let mut properties = normalize(u.properties.unwrap_or_default(), DEPTH);
    if let Some(anonymous) = u.anonymous_id {
        properties.insert("segmentAnonymousId".into(), json!(anonymous));
    }
    let mut body = json!({"properties": properties});
    if let Some(uid) = u.uid {
        body["uid"] = json!(uid);
    }
    if let Some(email) = u.email {
        body["email"] = json!(email);
    }
    if let Some(name) = u.display_name {
        body["display_name"] = json!(name);
    }
    post(ctx, "/v2/users", &s.api_key, &body)
}
