//! One message of Segment's tracking API: checked as Segment checks it, then completed as
//! Segment completes it (`messageId`, `receivedAt`, clock-skew-corrected `timestamp`,
//! `context.ip`).

use super::shallow::{self, Shallow, string_text};
use serde_json::Value;
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

/// What a batch gives each of its messages: its `context` and `integrations`, whose keys a
/// message's own keys override.
#[derive(Default)]
pub struct Shared<'a> {
    pub context: Option<Shallow<'a>>,
    pub integrations: Option<Shallow<'a>>,
}

/// A checked and completed message.
#[derive(Debug, Clone, PartialEq)]
pub struct Accepted {
    /// Its type, one of [`TYPES`].
    pub kind: &'static str,
    /// Its `messageId` when that is a string (the de-duplication key), else empty.
    pub message_id: String,
    /// The client's own `timestamp` (kept as `originalTimestamp`), when it reads as a time.
    pub client_time: Option<OffsetDateTime>,
    /// The completed message as JSON text.
    pub text: String,
}

impl Accepted {
    /// An already completed event (tests, benchmarks and tools that feed a sink directly).
    pub fn of(event: &Value) -> Accepted {
        let text = |key: &str| event.get(key).and_then(Value::as_str);
        Accepted {
            kind: text("type")
                .and_then(|t| TYPES.iter().find(|k| **k == t).copied())
                .unwrap_or("track"),
            message_id: text("messageId").unwrap_or_default().to_string(),
            client_time: text("originalTimestamp").and_then(parse_time),
            text: event.to_string(),
        }
    }
}

/// Checks a message and completes it. `kind` is the type the endpoint implies (`None` for a
/// batch, where each message names its own). `size` is its size in bytes as received.
///
/// Only the top level of the message is read, and `context` when it must be completed: every
/// other value is kept as the text the client sent ([`Shallow`]).
pub fn accept(
    mut message: Shallow<'_>,
    kind: Option<&str>,
    size: usize,
    shared: &Shared<'_>,
    received: &Received,
) -> Result<Accepted, String> {
    if size > MAX_MESSAGE_BYTES {
        return Err(format!(
            "the message is {size} bytes; the limit is {MAX_MESSAGE_BYTES} bytes (32 KB) per \
             message"
        ));
    }
    let known = |t: &str| TYPES.iter().find(|k| **k == t).copied();
    let kind: &'static str = match kind {
        Some(k) => known(k).ok_or_else(|| format!("{k:?} is not a message type"))?,
        None => match message.get("type") {
            Some(t) => match shallow::string_of(t).and_then(|t| known(&t)) {
                Some(k) => k,
                None => {
                    return Err(format!(
                        "\"type\" must be one of {}, not {t}",
                        TYPES.join(", ")
                    ));
                }
            },
            None => {
                return Err(format!(
                    "\"type\" is missing; it is one of {}",
                    TYPES.join(", ")
                ));
            }
        },
    };
    message.set("type", string_text(kind));
    // The write key authenticated the request; it is a secret and not part of the event.
    message.remove("writeKey");

    let required = match kind {
        "track" => Some("event"),
        "group" => Some("groupId"),
        "alias" => Some("previousId"),
        _ => None,
    };
    // Ids sent as numbers are read as their text, as Segment does.
    for key in ["userId", "anonymousId"].into_iter().chain(required) {
        if let Some(text) = message.get(key)
            && shallow::kind_of(text) == "a number"
            && let Ok(n) = serde_json::from_str::<serde_json::Number>(text)
        {
            message.set(key, string_text(&n.to_string()));
        }
    }
    let present = |m: &Shallow<'_>, key: &str| {
        m.get(key)
            .is_some_and(|t| t.starts_with('"') && t != "\"\"")
    };
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
        match message.get(key).map(shallow::kind_of) {
            None | Some("an object") => {}
            Some("null") => message.remove(key),
            Some(other) => return Err(format!("\"{key}\" must be an object, not {other}")),
        }
    }

    if !message.contains("messageId") {
        message.set(
            "messageId",
            string_text(&format!("switchyard-{}", uuid::Uuid::new_v4())),
        );
    }
    let message_id = message.string("messageId").unwrap_or_default().into_owned();
    let client_time = complete_times(&mut message, received);
    complete_context(&mut message, shared.context.as_ref(), received)?;
    if let Some(shared) = &shared.integrations {
        let merged = match message.get("integrations") {
            Some(own) => {
                let mut own = object(own, "integrations")?;
                own.fill_from(shared);
                own.to_text()
            }
            None => shared.to_text(),
        };
        message.set("integrations", merged);
    }
    Ok(Accepted {
        kind,
        message_id,
        client_time,
        text: message.to_text(),
    })
}

/// An object value of the message, read one level deep.
fn object<'a>(text: &'a str, key: &str) -> Result<Shallow<'a>, String> {
    Shallow::parse(text).map_err(|_| format!("\"{key}\" must be an object"))
}

/// `context` gets the batch's shared keys it lacks, and `ip`, the address the request came
/// from, unless the client set one. Left as sent when there is nothing to add.
fn complete_context(
    message: &mut Shallow<'_>,
    shared: Option<&Shallow<'_>>,
    received: &Received,
) -> Result<(), String> {
    let completed = match message.get("context") {
        Some(own) => {
            let mut own = object(own, "context")?;
            if let Some(shared) = shared {
                own.fill_from(shared);
            } else if own.contains("ip") {
                return Ok(());
            }
            if !own.contains("ip") {
                own.set("ip", string_text(&received.ip.to_string()));
            }
            own.to_text()
        }
        None => {
            let mut own = shared.cloned().unwrap_or_default();
            if !own.contains("ip") {
                own.set("ip", string_text(&received.ip.to_string()));
            }
            own.to_text()
        }
    };
    message.set("context", completed);
    Ok(())
}

/// `receivedAt` is now; `timestamp` is corrected for the client's clock as Segment does:
/// `receivedAt − (sentAt − timestamp)`. The client's own timestamp stays in
/// `originalTimestamp`. A missing or unreadable timestamp becomes `receivedAt`. Returns the
/// client's own timestamp when it reads as a time.
fn complete_times(message: &mut Shallow<'_>, received: &Received) -> Option<OffsetDateTime> {
    let own_sent_at = message.string("sentAt").as_deref().and_then(parse_time);
    let sent_at = own_sent_at.or(received.sent_at);
    let client_time = message.string("timestamp").as_deref().and_then(parse_time);
    let timestamp = match (client_time, sent_at) {
        (Some(t), Some(sent)) => received.at - (sent - t),
        (Some(t), None) => t,
        (None, _) => received.at,
    };
    if let Some(original) = message.get("timestamp").map(str::to_string) {
        message.set("originalTimestamp", original);
    }
    message.set("timestamp", string_text(&format_time(timestamp)));
    message.set("receivedAt", string_text(&format_time(received.at)));
    client_time
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
        let text = v.to_string();
        let message = Shallow::parse(&text).unwrap();
        let accepted = accept(message, kind, text.len(), &Shared::default(), r)?;
        let out: Value = serde_json::from_str(&accepted.text).unwrap();
        assert_eq!(accepted.kind, out["type"]);
        assert_eq!(accepted.message_id, out["messageId"].as_str().unwrap_or(""));
        Ok(out)
    }

    #[test]
    fn a_batchs_context_and_integrations_fill_what_a_message_lacks() {
        let shared_text = (
            r#"{"library": {"name": "analytics-node"}, "locale": "fr-FR"}"#,
            r#"{"All": false, "Braze": true}"#,
        );
        let shared = Shared {
            context: Some(Shallow::parse(shared_text.0).unwrap()),
            integrations: Some(Shallow::parse(shared_text.1).unwrap()),
        };
        let accepted = |text: &str| {
            let a = accept(
                Shallow::parse(text).unwrap(),
                None,
                text.len(),
                &shared,
                &received(),
            )
            .unwrap();
            serde_json::from_str::<Value>(&a.text).unwrap()
        };
        let own = accepted(
            r#"{"type": "track", "event": "E", "userId": "u", "context": {"locale": "de-DE",
                "ip": "198.51.100.9"}, "integrations": {"Braze": false}}"#,
        );
        assert_eq!(
            own["context"],
            json!({"locale": "de-DE", "ip": "198.51.100.9", "library": {"name": "analytics-node"}})
        );
        assert_eq!(own["integrations"], json!({"Braze": false, "All": false}));
        let bare = accepted(r#"{"type": "identify", "userId": "u", "context": null}"#);
        assert_eq!(
            bare["context"],
            json!({"library": {"name": "analytics-node"}, "locale": "fr-FR", "ip": "203.0.113.7"})
        );
        assert_eq!(bare["integrations"], json!({"All": false, "Braze": true}));
    }

    #[test]
    fn values_are_kept_as_sent_and_keys_with_escapes_survive() {
        let text = r#"{"type":"track","event":"Caf\u00e9 \"Booked\"","userId":"u","properties":{"price":1.50,"tags":["a","b"]},"we\u0069rd":1,"messageId":"m-1","context":{"ip":"198.51.100.1"}}"#;
        let a = accept(
            Shallow::parse(text).unwrap(),
            None,
            text.len(),
            &Shared::default(),
            &received(),
        )
        .unwrap();
        // Untouched values are copied as text: the price keeps its trailing zero.
        assert!(
            a.text
                .contains(r#""properties":{"price":1.50,"tags":["a","b"]}"#),
            "{}",
            a.text
        );
        assert!(
            a.text.contains(r#""context":{"ip":"198.51.100.1"}"#),
            "{}",
            a.text
        );
        let out: Value = serde_json::from_str(&a.text).unwrap();
        assert_eq!(out["event"], "Caf\u{e9} \"Booked\"");
        assert_eq!(out["weird"], 1);
        assert_eq!(a.message_id, "m-1");
        assert_eq!(a.client_time, None);
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
        assert_eq!(
            err(
                json!({"userId": "u", "event": "e", "context": [1]}),
                Some("track")
            ),
            "\"context\" must be an object, not an array"
        );
        assert_eq!(
            err(json!({"userId": "", "event": "e"}), Some("track")),
            "\"userId\" or \"anonymousId\" is required"
        );
        let big = json!({"userId": "u", "event": "e", "properties": {"x": "y".repeat(33_000)}});
        assert!(err(big, Some("track")).starts_with("the message is 33"));
    }
}
