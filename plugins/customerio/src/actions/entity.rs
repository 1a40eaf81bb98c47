//! Customer.io's Track API v2 entities: each action's payload becomes one entity object
//! (`{type, action, identifiers, ...}`), built as the reference's `buildPayload` builds it.
//! Every action but `reportDeliveryEvent` sends one: [`entity`] says which, per action.

use super::{Payload, take};
use serde_json::{Map, Value, json};
use switchyard_plugin_sdk::Error;
use switchyard_plugin_sdk::date::iso_seconds;

/// The entity an action's payload becomes.
pub(crate) fn entity(action: &str, mut p: Payload) -> Result<Value, Error> {
    let (kind, verb) = match action {
        "createUpdatePerson" => {
            let id = take(&mut p, "id");
            let mut attributes = match take(&mut p, "custom_attributes") {
                Some(Value::Object(a)) => a,
                _ => Map::new(),
            };
            for key in [
                "createdAt",
                "created_at",
                "object_type_id",
                "relationshipAttributes",
                "objectTypeId",
            ] {
                attributes.remove(key);
            }
            // Only when set: a batch keeps top-level `""`, which the reference leaves out here.
            if let Some(created) = take(&mut p, "created_at").filter(truthy) {
                attributes.insert("created_at".into(), created);
            }
            if let Some(email) = p.get("email").filter(|e| truthy(e)) {
                attributes.insert("email".into(), email.clone());
            }
            let relationship = take(&mut p, "relationship_attributes");
            if let Some(group) = take(&mut p, "group_id").filter(truthy) {
                let kind = p
                    .get("object_type_id")
                    .cloned()
                    .filter(|v| !v.is_null())
                    .unwrap_or(json!("1"));
                let mut r = json!({"identifiers": {"object_type_id": kind, "object_id": group}});
                if let Some(attrs) = relationship {
                    r["relationship_attributes"] = attrs;
                }
                p.insert("cio_relationships".into(), json!([r]));
            }
            if let Some(id) = id {
                p.insert("person_id".into(), id);
            }
            p.insert("attributes".into(), Value::Object(attributes));
            ("person", "identify".to_string())
        }
        "trackEvent" | "trackPageView" | "trackScreenView" => {
            if let Some(id) = take(&mut p, "id") {
                p.insert("person_id".into(), id);
            }
            let event_id = take(&mut p, "event_id");
            let data = take(&mut p, "data").unwrap_or(json!({}));
            p.insert("attributes".into(), data);
            if let Some(e) = event_id {
                p.insert("id".into(), e);
            }
            if action == "trackPageView"
                && let Some(url) = take(&mut p, "url")
            {
                p.insert("name".into(), url);
            }
            let verb = match action {
                "trackEvent" => "event",
                "trackPageView" => "page",
                _ => "screen",
            };
            ("person", verb.to_string())
        }
        "createUpdateDevice" => {
            let mut attributes = match take(&mut p, "attributes") {
                Some(Value::Object(a)) => a,
                _ => Map::new(),
            };
            if let Some(v) = take(&mut p, "app_version") {
                attributes.insert("app_version".into(), v);
            }
            let mut device = json!({"token": take(&mut p, "device_id"), "attributes": attributes});
            for key in ["platform", "last_used"] {
                if let Some(v) = take(&mut p, key) {
                    device[key] = v;
                }
            }
            p.insert("device".into(), device);
            ("person", "add_device".to_string())
        }
        "deleteDevice" => {
            let token = take(&mut p, "device_id");
            p.insert("device".into(), json!({"token": token}));
            ("person", "delete_device".to_string())
        }
        "deletePerson" => ("person", "delete".to_string()),
        "suppressPerson" => ("person", "suppress".to_string()),
        "unsuppressPerson" => ("person", "unsuppress".to_string()),
        "mergePeople" => {
            let side = |v: Option<Value>| {
                let mut q = Map::new();
                if let Some(v) = v {
                    q.insert("person_id".into(), v);
                }
                identifiers(&q)
            };
            let primary = side(take(&mut p, "primary"));
            let secondary = side(take(&mut p, "secondary"));
            p.insert("primary".into(), json!(primary));
            p.insert("secondary".into(), json!(secondary));
            ("person", "merge".to_string())
        }
        "createUpdateObject" => {
            let user = take(&mut p, "user_id");
            let anonymous = p.get("anonymous_id").cloned().filter(|v| !v.is_null());
            let attributes = take(&mut p, "custom_attributes").unwrap_or(json!({}));
            let mut relationship = take(&mut p, "relationship_attributes");
            // The relationship's attributes are converted like the rest (they end up in a
            // list, which the general conversion does not enter).
            if p.get("convert_timestamp")
                .is_some_and(|c| *c != Value::Bool(false))
                && let Some(attrs) = relationship.as_mut()
            {
                convert_dates(attrs);
            }
            if let Some(id) = take(&mut p, "id") {
                p.insert("object_id".into(), id);
            }
            if p.get("object_type_id").is_none_or(Value::is_null) {
                p.insert("object_type_id".into(), json!("1"));
            }
            if p.get("created_at").is_some_and(|c| c.is_null() || c == "") {
                p.remove("created_at");
            }
            let who = match &user {
                Some(u) => {
                    let mut q = Map::new();
                    q.insert("person_id".into(), u.clone());
                    identifiers(&q)
                }
                None => anonymous.as_ref().map(|a| json!({"anonymous_id": a})),
            };
            if let Some(who) = who {
                let mut r = json!({"identifiers": who});
                if let Some(attrs) = relationship {
                    r["relationship_attributes"] = attrs;
                }
                p.insert("cio_relationships".into(), json!([r]));
            }
            p.insert("attributes".into(), attributes);
            let verb = if user.is_none() && anonymous.is_some() {
                "identify_anonymous"
            } else {
                "identify"
            };
            ("object", verb.to_string())
        }
        "deleteObject" => ("object", "delete".to_string()),
        "deleteRelationship" => {
            // Both stay in the payload, as in the reference: an anonymous id also goes into
            // `attributes`, as for every entity.
            let mut q = Map::new();
            for key in ["anonymous_id", "person_id"] {
                if let Some(v) = p.get(key).filter(|v| !v.is_null()) {
                    q.insert(key.into(), v.clone());
                }
            }
            p.insert(
                "cio_relationships".into(),
                json!([{"identifiers": identifiers(&q)}]),
            );
            ("object", "delete_relationships".to_string())
        }
        "reportContentEvent" => {
            let verb = take(&mut p, "actionType")
                .and_then(|v| v.as_str().map(String::from))
                .ok_or_else(|| Error::invalid_payload("actionType is required"))?;
            let mut data = match take(&mut p, "data") {
                Some(Value::Object(d)) => d,
                _ => Map::new(),
            };
            data.remove("actionType");
            p.insert("name".into(), json!(verb));
            p.insert("attributes".into(), Value::Object(data));
            ("person", verb)
        }
        other => return Err(Error::permanent(format!("unknown action {other}"))),
    };
    if kind == "person" && verb != "merge" && identifiers(&p).is_none() {
        return Err(Error::invalid_payload(
            "The event names no person: map person_id, email or anonymous_id.",
        ));
    }
    Ok(build(kind, &verb, &p))
}

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
