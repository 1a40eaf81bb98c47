//! Each action's payload → the entity (or, for `reportDeliveryEvent`, the metric) it sends,
//! and the requests: one entity to `/api/v2/entity`, a batch to `/api/v2/batch`.

use crate::entity::{self, Payload, identifiers};
use base64::Engine;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use switchyard_plugin_sdk::{BatchResults, Context, Error};

#[derive(Debug, Deserialize)]
pub(crate) struct Settings {
    #[serde(rename = "siteId")]
    site_id: String,
    #[serde(rename = "apiKey")]
    api_key: String,
    #[serde(rename = "accountRegion", default)]
    account_region: Option<String>,
}

impl Settings {
    fn host(&self) -> &'static str {
        if self.account_region.as_deref() == Some("EU 🇪🇺") {
            "https://track-eu.customer.io"
        } else {
            "https://track.customer.io"
        }
    }

    fn auth(&self) -> String {
        let pair = format!("{}:{}", self.site_id, self.api_key);
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(pair)
        )
    }
}

fn take(p: &mut Payload, key: &str) -> Option<Value> {
    p.remove(key).filter(|v| !v.is_null())
}

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
            if let Some(created) = take(&mut p, "created_at") {
                attributes.insert("created_at".into(), created);
            }
            if let Some(email) = p.get("email").filter(|e| !e.is_null()) {
                attributes.insert("email".into(), email.clone());
            }
            let relationship = take(&mut p, "relationship_attributes");
            if let Some(group) = take(&mut p, "group_id") {
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
            let relationship = take(&mut p, "relationship_attributes");
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
            let mut q = Map::new();
            for key in ["anonymous_id", "person_id"] {
                if let Some(v) = take(&mut p, key) {
                    q.insert(key.into(), v);
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
    Ok(entity::build(kind, &verb, &p))
}

fn post(ctx: &mut Context, s: &Settings, path: &str, body: &Value) -> Result<(), Error> {
    ctx.post(&format!("{}{path}", s.host()))
        .header("Authorization", &s.auth())
        .json(body)
        .send()?
        .error_for_status()?;
    Ok(())
}

fn single(ctx: &mut Context, action: &str, p: Payload, s: &Settings) -> Result<(), Error> {
    let body = entity(action, p)?;
    post(ctx, s, "/api/v2/entity", &body)
}

fn batch(ctx: &mut Context, action: &str, ps: Vec<Payload>, s: &Settings) -> BatchResults {
    let mut results: Vec<Result<(), Error>> = Vec::with_capacity(ps.len());
    // Objects for identified and anonymous people go in separate batch calls.
    let mut groups: Vec<(String, Vec<usize>, Vec<Value>)> = Vec::new();
    for (i, p) in ps.into_iter().enumerate() {
        match entity(action, p) {
            Ok(e) => {
                results.push(Ok(()));
                let verb = e["action"].as_str().unwrap_or_default().to_string();
                match groups.iter_mut().find(|(v, ..)| *v == verb) {
                    Some((_, members, entities)) => {
                        members.push(i);
                        entities.push(e);
                    }
                    None => groups.push((verb, vec![i], vec![e])),
                }
            }
            Err(e) => results.push(Err(e)),
        }
    }
    for (_, members, entities) in groups {
        // Customer.io answers for the whole batch, so each event gets that answer.
        let outcome = post(ctx, s, "/api/v2/batch", &json!({"batch": entities}));
        for i in members {
            results[i] = outcome.clone();
        }
    }
    results
}

macro_rules! actions {
    ($($single:ident, $batch:ident => $id:literal;)*) => {$(
        pub(crate) fn $single(ctx: &mut Context, p: Payload, s: Settings) -> Result<(), Error> {
            single(ctx, $id, p, &s)
        }
        pub(crate) fn $batch(ctx: &mut Context, ps: Vec<Payload>, s: Settings) -> BatchResults {
            batch(ctx, $id, ps, &s)
        }
    )*};
}

actions! {
    create_update_person, create_update_person_batch => "createUpdatePerson";
    track_event, track_event_batch => "trackEvent";
    track_page_view, track_page_view_batch => "trackPageView";
    track_screen_view, track_screen_view_batch => "trackScreenView";
    create_update_device, create_update_device_batch => "createUpdateDevice";
    delete_device, delete_device_batch => "deleteDevice";
    delete_person, delete_person_batch => "deletePerson";
    suppress_person, suppress_person_batch => "suppressPerson";
    unsuppress_person, unsuppress_person_batch => "unsuppressPerson";
    merge_people, merge_people_batch => "mergePeople";
    create_update_object, create_update_object_batch => "createUpdateObject";
    delete_object, delete_object_batch => "deleteObject";
    delete_relationship, delete_relationship_batch => "deleteRelationship";
    report_content_event, report_content_event_batch => "reportContentEvent";
}

/// `reportDeliveryEvent`: a delivery metric for a message Customer.io sent (never batched).
pub(crate) fn report_delivery_event(
    ctx: &mut Context,
    mut p: Payload,
    s: Settings,
) -> Result<(), Error> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let at = p
        .get("timestamp")
        .map(entity::timestamp)
        .and_then(|t| match t {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => s.parse::<f64>().ok(),
            _ => None,
        })
        .map_or(json!(now), |t| json!(t as i64));
    let mut body = json!({"delivery_id": take(&mut p, "delivery_id"), "metric": take(&mut p, "metric"),
        "timestamp": at});
    for key in ["recipient", "reason", "href"] {
        if let Some(v) = take(&mut p, key) {
            body[key] = v;
        }
    }
    let mut metadata = Map::new();
    for key in ["action_name", "action_value"] {
        if let Some(v) = take(&mut p, key) {
            metadata.insert(key.into(), v);
        }
    }
    if !metadata.is_empty() {
        body["metadata"] = Value::Object(metadata);
    }
    post(ctx, &s, "/api/v1/metrics", &body)
}
