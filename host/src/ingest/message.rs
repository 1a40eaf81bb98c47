//! One message of Segment's tracking API: checked as Segment checks it, then completed as
//! Segment completes it (`messageId`, `receivedAt`, clock-skew-corrected `timestamp`,
//! `context.ip`).

use serde_json::{Map, Value};
use std::net::IpAddr;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Largest message, in bytes of JSON, as Segment allows.
pub const MAX_MESSAGE_BYTES: usize = 32 * 1024;

/// The message types, as the endpoints and `type` name them.
pub const TYPES: [&str; 6] = ["track", "identify", "page", "screen", "group", "alias"];

/// What is known about the request a message came in.
pub struct Received {
    pub at: OffsetDateTime,
    /// `sentAt` of the request (a batch's, or the message's own).
    pub sent_at: Option<OffsetDateTime>,
    pub ip: IpAddr,
}

/// Checks a message and completes it. `kind` is the type the endpoint implies (`None` for a
/// batch, where each message names its own). `size` is its size in bytes as received.
pub fn accept(
    mut message: Map<String, Value>,
    kind: Option<&str>,
    size: usize,
    received: &Received,
) -> Result<Map<String, Value>, String> {
    if size > MAX_MESSAGE_BYTES {
        return Err(format!(
            "the message is {size} bytes; the limit is {MAX_MESSAGE_BYTES} bytes (32 KB) per \
             message"
        ));
    }
    let kind = match kind {
        Some(k) => k.to_string(),
        None => match message.get("type") {
            Some(Value::String(t)) if TYPES.contains(&t.as_str()) => t.clone(),
            Some(other) => {
                return Err(format!(
                    "\"type\" must be one of {}, not {other}",
                    TYPES.join(", ")
                ));
            }
            None => {
                return Err(format!(
                    "\"type\" is missing; it is one of {}",
                    TYPES.join(", ")
                ));
            }
        },
    };
    message.insert("type".into(), Value::String(kind.clone()));
    // The write key authenticated the request; it is a secret and not part of the event.
    message.remove("writeKey");

    let required = match kind.as_str() {
        "track" => Some("event"),
        "group" => Some("groupId"),
        "alias" => Some("previousId"),
        _ => None,
    };
    // Ids sent as numbers are read as their text, as Segment does.
    for key in ["userId", "anonymousId"].into_iter().chain(required) {
        if let Some(Value::Number(n)) = message.get(key) {
            let text = n.to_string();
            message.insert(key.into(), Value::String(text));
        }
    }
    let present = |m: &Map<String, Value>, key: &str| matches!(m.get(key), Some(Value::String(s)) if !s.is_empty());
    if !present(&message, "userId") && !present(&message, "anonymousId") {
        return Err("\"userId\" or \"anonymousId\" is required".into());
    }
    if let Some(key) = required
        && !present(&message, key)
    {
        return Err(format!(
            "{kind} messages need \"{key}\", a non-empty string"
        ));
    }
    for key in ["properties", "traits", "context", "integrations"] {
        match message.get(key) {
            None | Some(Value::Object(_)) => {}
            Some(Value::Null) => {
                message.remove(key);
            }
            Some(other) => {
                return Err(format!(
                    "\"{key}\" must be an object, not {}",
                    crate::mapping::kind_of(other)
                ));
            }
        }
    }

    if !message.contains_key("messageId") {
        let id = format!("switchyard-{}", uuid::Uuid::new_v4());
        message.insert("messageId".into(), Value::String(id));
    }
    complete_times(&mut message, received);
    let context = message
        .entry("context")
        .or_insert_with(|| Value::Object(Map::new()));
    if let Value::Object(context) = context
        && !context.contains_key("ip")
    {
        context.insert("ip".into(), Value::String(received.ip.to_string()));
    }
    Ok(message)
}

/// `receivedAt` is now; `timestamp` is corrected for the client's clock as Segment does:
/// `receivedAt − (sentAt − timestamp)`. The client's own timestamp stays in
/// `originalTimestamp`. A missing or unreadable timestamp becomes `receivedAt`.
fn complete_times(message: &mut Map<String, Value>, received: &Received) {
    let own_sent_at = message
        .get("sentAt")
        .and_then(Value::as_str)
        .and_then(parse_time);
    let sent_at = own_sent_at.or(received.sent_at);
    let original = message.get("timestamp").cloned();
    let client_time = original
        .as_ref()
        .and_then(Value::as_str)
        .and_then(parse_time);
    let timestamp = match (client_time, sent_at) {
        (Some(t), Some(sent)) => received.at - (sent - t),
        (Some(t), None) => t,
        (None, _) => received.at,
    };
    if let Some(original) = original {
        message.insert("originalTimestamp".into(), original);
    }
    message.insert("timestamp".into(), Value::String(format_time(timestamp)));
    message.insert("receivedAt".into(), Value::String(format_time(received.at)));
}

pub fn parse_time(text: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(text, &Rfc3339).ok()
}

/// RFC 3339 in UTC with milliseconds, as Segment writes times.
pub fn format_time(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    let t = t
        .replace_nanosecond(t.millisecond() as u32 * 1_000_000)
        .unwrap_or(t);
    t.format(&Rfc3339).unwrap_or_else(|_| t.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn received() -> Received {
        Received {
            at: parse_time("2026-11-28T12:00:10.000Z").unwrap(),
            sent_at: None,
            ip: "203.0.113.7".parse().unwrap(),
        }
    }

    fn accept_json(v: Value, kind: Option<&str>, r: &Received) -> Result<Value, String> {
        let size = v.to_string().len();
        accept(v.as_object().unwrap().clone(), kind, size, r).map(Value::Object)
    }

    #[test]
    fn completes_a_track_call() {
        let mut r = received();
        r.sent_at = parse_time("2026-11-28T12:00:05.000Z");
        let out = accept_json(
            json!({"userId": 42, "event": "Signed Up", "timestamp": "2026-11-28T12:00:00Z",
                "writeKey": "secret"}),
            Some("track"),
            &r,
        )
        .unwrap();
        assert_eq!(out["type"], "track");
        assert_eq!(out["userId"], "42");
        assert!(out.get("writeKey").is_none());
        assert!(
            out["messageId"]
                .as_str()
                .unwrap()
                .starts_with("switchyard-")
        );
        assert_eq!(out["receivedAt"], "2026-11-28T12:00:10Z");
        // The client's clock ran 5 s behind the moment it sent: corrected by the skew.
        assert_eq!(out["timestamp"], "2026-11-28T12:00:05Z");
        assert_eq!(out["originalTimestamp"], "2026-11-28T12:00:00Z");
        assert_eq!(out["context"]["ip"], "203.0.113.7");
    }

    #[test]
    fn keeps_what_the_client_set() {
        let out = accept_json(
            json!({"anonymousId": "a", "messageId": "m-1", "context": {"ip": "198.51.100.1"},
                "timestamp": "2026-11-28T11:00:00.250+01:00"}),
            Some("page"),
            &received(),
        )
        .unwrap();
        assert_eq!(out["messageId"], "m-1");
        assert_eq!(out["context"]["ip"], "198.51.100.1");
        assert_eq!(out["timestamp"], "2026-11-28T10:00:00.25Z");
    }

    #[test]
    fn refuses_what_segment_refuses() {
        let r = received();
        let err = |v: Value, kind: Option<&str>| accept_json(v, kind, &r).unwrap_err();
        assert_eq!(
            err(json!({"event": "x"}), Some("track")),
            "\"userId\" or \"anonymousId\" is required"
        );
        assert_eq!(
            err(json!({"userId": "u"}), Some("track")),
            "track messages need \"event\", a non-empty string"
        );
        assert_eq!(
            err(json!({"userId": "u"}), Some("group")),
            "group messages need \"groupId\", a non-empty string"
        );
        assert_eq!(
            err(json!({"userId": "u"}), Some("alias")),
            "alias messages need \"previousId\", a non-empty string"
        );
        assert_eq!(
            err(json!({"userId": "u", "type": "bogus"}), None),
            "\"type\" must be one of track, identify, page, screen, group, alias, not \"bogus\""
        );
        assert_eq!(
            err(json!({"userId": "u", "traits": "x"}), Some("identify")),
            "\"traits\" must be an object, not a string"
        );
        let big = json!({"userId": "u", "event": "e", "properties": {"x": "y".repeat(33_000)}});
        assert!(err(big, Some("track")).starts_with("the message is 33"));
    }
}
