//! Customer.io's Track API v2 entities: each action's payload becomes one entity object
//! (`{type, action, identifiers, ...}`), built as the reference's `buildPayload` builds it.

use serde_json::{Map, Value, json};
use switchyard_plugin_sdk::date::iso_seconds;

pub(crate) type Payload = Map<String, Value>;

fn text<'a>(p: &'a Payload, key: &str) -> Option<&'a str> {
    p.get(key).and_then(Value::as_str).filter(|s| !s.is_empty())
}

/// Every ISO date string in `value` (and its nested objects, not arrays) as unix seconds.
fn convert_dates(value: &mut Value) {
    match value {
        Value::String(s) => {
            if let Some(t) = iso_seconds(s) {
                *value = json!(t);
            }
        }
        Value::Object(map) => map.values_mut().for_each(convert_dates),
        _ => {}
    }
}

/// Numbers and digit strings as they are; other times as unix seconds; anything else as is.
pub(crate) fn timestamp(value: &Value) -> Value {
    match value {
        Value::String(s) if !s.bytes().all(|b| b.is_ascii_digit() || b == b'.') => {
            iso_seconds(s).map_or_else(|| value.clone(), |t| json!(t))
        }
        other => other.clone(),
    }
}

/// Roughly the email format: one `@`, something before, a dot in the domain, no spaces.
fn is_email(s: &str) -> bool {
    match s.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !s.contains(char::is_whitespace)
                && !domain.contains('@')
        }
        None => false,
    }
}

/// Who or what an entity is about.
pub(crate) fn identifiers(p: &Payload) -> Option<Value> {
    if let Some(object) = text(p, "object_id") {
        let kind = text(p, "object_type_id").unwrap_or("1");
        return Some(json!({"object_id": object, "object_type_id": kind}));
    }
    if let Some(person) = text(p, "person_id") {
        return Some(if let Some(cio) = person.strip_prefix("cio_") {
            json!({"cio_id": cio})
        } else if is_email(person) {
            json!({"email": person})
        } else {
            json!({"id": person})
        });
    }
    if let Some(email) = text(p, "email") {
        return Some(json!({"email": email}));
    }
    text(p, "anonymous_id").map(|a| json!({"anonymous_id": a}))
}

/// The entity for `type`/`action` from an action's payload (already shaped by the action).
pub(crate) fn build(kind: &str, action: &str, p: &Payload) -> Value {
    const TAKEN: &[&str] = &[
        "convert_timestamp",
        "person_id",
        "anonymous_id",
        "email",
        "object_id",
        "object_type_id",
        "timestamp",
        "enable_batching",
        "batch_size",
    ];
    let mut rest: Map<String, Value> = p
        .iter()
        .filter(|(k, _)| !TAKEN.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if p.contains_key("convert_timestamp")
        && p.get("convert_timestamp") != Some(&Value::Bool(false))
    {
        rest.values_mut().for_each(convert_dates);
    }
    if let Some(t) = p.get("timestamp").filter(|t| truthy(t)) {
        rest.insert("timestamp".into(), timestamp(t));
    }
    let mut body = json!({"type": kind, "action": action});
    let out = body.as_object_mut().expect("an object");
    out.extend(rest);
    if let Some(anonymous) = text(p, "anonymous_id") {
        let attributes = out.entry("attributes").or_insert_with(|| json!({}));
        if let Some(a) = attributes.as_object_mut() {
            a.insert("anonymous_id".into(), json!(anonymous));
        }
    }
    if action != "merge"
        && let Some(ids) = identifiers(p)
    {
        if ids.get("anonymous_id").is_some()
            && let Some(a) = out.get_mut("attributes").and_then(Value::as_object_mut)
        {
            a.remove("anonymous_id");
        }
        out.insert("identifiers".into(), ids);
    }
    body
}

fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::String(s) => !s.is_empty(),
        Value::Number(n) => n.as_f64() != Some(0.0),
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_dates_become_unix_seconds() {
        assert_eq!(timestamp(&json!("1795939200")), json!("1795939200"));
        assert_eq!(timestamp(&json!("2026-11-29T08:00:00Z")), json!(1795939200));
        assert_eq!(timestamp(&json!("soon")), json!("soon"));
    }

    #[test]
    fn identifiers_follow_the_reference_order() {
        let ids = |p: Value| identifiers(p.as_object().unwrap());
        assert_eq!(
            ids(json!({"object_id": "o"})),
            Some(json!({"object_id": "o", "object_type_id": "1"}))
        );
        assert_eq!(
            ids(json!({"person_id": "cio_abc"})),
            Some(json!({"cio_id": "abc"}))
        );
        assert_eq!(
            ids(json!({"person_id": "ann@example.com"})),
            Some(json!({"email": "ann@example.com"}))
        );
        assert_eq!(
            ids(json!({"person_id": "u-1", "email": "x@y.z"})),
            Some(json!({"id": "u-1"}))
        );
        assert_eq!(
            ids(json!({"email": "x@y.z"})),
            Some(json!({"email": "x@y.z"}))
        );
        assert_eq!(
            ids(json!({"anonymous_id": "a"})),
            Some(json!({"anonymous_id": "a"}))
        );
        assert_eq!(ids(json!({})), None);
    }
}
