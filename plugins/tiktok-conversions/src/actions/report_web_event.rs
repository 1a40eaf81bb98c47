//! `reportWebEvent`: the payload → one `POST /open_api/v1.3/event/track/` request.

use crate::response;
use crate::settings::Settings;
use serde_json::{Map, Value, json};
use switchyard_plugin_sdk::date;
use switchyard_plugin_sdk::{Context, Error};

pub(crate) const URL: &str = "https://business-api.tiktok.com/open_api/v1.3/event/track/";

pub(crate) type Payload = Map<String, Value>;

fn text<'a>(p: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    p.get(key).and_then(Value::as_str).filter(|s| !s.is_empty())
}

fn texts<'a>(p: &'a Payload, key: &str) -> Vec<&'a str> {
    match p.get(key) {
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
        Some(Value::String(s)) => vec![s.as_str()],
        _ => Vec::new(),
    }
}

/// Copies the keys present in `from` to `to`.
fn copy(to: &mut Map<String, Value>, from: &Map<String, Value>, keys: &[&str]) {
    for key in keys {
        if let Some(v) = from.get(*key).filter(|v| !v.is_null()) {
            to.insert((*key).into(), v.clone());
        }
    }
}

/// The `ttclid` query parameter of a page URL.
fn ttclid_of(url: &str) -> Option<String> {
    let query = url.split_once('?')?.1.split('#').next()?;
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == "ttclid" && !v.is_empty()).then(|| v.to_string())
    })
}

fn user(p: &Payload) -> Value {
    let address = p.get("address").and_then(Value::as_object);
    let address_text = |key: &str| address.and_then(|a| text(a, key));
    let mut user = json!({
        "external_id": texts(p, "external_id").into_iter().map(super::lower).collect::<Vec<_>>(),
        "phone": texts(p, "phone_number").into_iter().map(super::phone).collect::<Vec<_>>(),
        "email": texts(p, "email").into_iter().map(super::lower).collect::<Vec<_>>(),
        "first_name": text(p, "first_name").map(super::compact).unwrap_or_default(),
        "last_name": text(p, "last_name").map(super::compact).unwrap_or_default(),
        "city": address_text("city").map(super::plain).unwrap_or_default(),
        "state": address_text("state").map(super::plain).unwrap_or_default(),
        "country": address_text("country").map(super::plain).unwrap_or_default(),
        "zip_code": address_text("zip_code").map(super::compact).unwrap_or_default(),
    });
    let ttclid = text(p, "url")
        .and_then(ttclid_of)
        .or_else(|| text(p, "ttclid").map(String::from));
    if let Some(t) = ttclid {
        user["ttclid"] = json!(t);
    }
    let object = user.as_object_mut().expect("an object");
    copy(object, p, &["ttp", "ip", "user_agent", "locale"]);
    user
}

fn properties(p: &Payload, web: bool) -> Value {
    let mut props = Map::new();
    if let Some(Value::Array(items)) = p.get("contents") {
        let contents: Vec<Value> = items
            .iter()
            .filter_map(Value::as_object)
            .map(|item| {
                let mut c = Map::new();
                copy(
                    &mut c,
                    item,
                    &[
                        "price",
                        "quantity",
                        "content_category",
                        "content_id",
                        "content_name",
                        "brand",
                    ],
                );
                Value::Object(c)
            })
            .collect();
        props.insert("contents".into(), Value::Array(contents));
    } else {
        props.insert("contents".into(), json!([]));
    }
    copy(
        &mut props,
        p,
        &[
            "content_type",
            "currency",
            "value",
            "query",
            "description",
            "order_id",
            "shop_id",
            "content_ids",
            "delivery_category",
            "num_items",
            "predicted_ltv",
            "search_string",
        ],
    );
    let spec = text(p, "event_spec_type");
    if web
        && spec == Some("travel_fields")
        && let Some(Value::Object(travel)) = p.get("travel_fields")
    {
        for (k, v) in travel.iter().filter(|(_, v)| !v.is_null()) {
            props.insert(k.clone(), v.clone());
        }
    }
    if web
        && spec == Some("vehicle_fields")
        && let Some(Value::Object(vehicle)) = p.get("vehicle_fields")
    {
        let derived = [
            "mileage_value",
            "mileage_unit",
            "preferred_price_range_min",
            "preferred_price_range_max",
        ];
        for (k, v) in vehicle.iter().filter(|(_, v)| !v.is_null()) {
            if !derived.contains(&k.as_str()) {
                props.insert(k.clone(), v.clone());
            }
        }
        if let (Some(value), Some(unit)) =
            (vehicle.get("mileage_value"), text(vehicle, "mileage_unit"))
            && !value.is_null()
        {
            props.insert("mileage".into(), json!({"unit": unit, "value": value}));
        }
        let number = |k: &str| vehicle.get(k).filter(|v| v.is_number()).cloned();
        if let (Some(min), Some(max)) = (
            number("preferred_price_range_min"),
            number("preferred_price_range_max"),
        ) {
            props.insert("preferred_price_range".into(), json!([min, max]));
        }
    }
    Value::Object(props)
}

/// The request body for one event; `now` (seconds) stands in for a missing timestamp.
pub(crate) fn body(p: &Payload, s: &Settings, now: i64) -> Result<Value, Error> {
    let source = text(p, "event_source").unwrap_or("web");
    let event = text(p, "event")
        .ok_or_else(|| Error::invalid_payload("The event needs a name (field `event`)."))?;
    let time = match text(p, "timestamp") {
        None => now,
        Some(t) => date::iso_seconds(t).ok_or_else(|| {
            Error::invalid_payload(format!("timestamp {t:?} is not an ISO 8601 date and time"))
        })?,
    };
    let mut data = json!({
        "event": event,
        "event_time": time,
        "user": user(p),
        "properties": properties(p, source == "web"),
        "limited_data_use": p.get("limited_data_use") == Some(&Value::Bool(true)),
    });
    if let Some(id) = p.get("event_id").filter(|v| !v.is_null()) {
        let id = match id {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        data["event_id"] = json!(id);
    }
    let mut page = Map::new();
    copy(&mut page, p, &["url", "referrer"]);
    if !page.is_empty() {
        data["page"] = Value::Object(page);
    }
    if source == "crm"
        && let Some(lead) = p.get("lead_fields").and_then(Value::as_object)
        && let Some(id) = text(lead, "lead_id")
    {
        let mut out = json!({"lead_id": id});
        if let Some(from) = text(lead, "lead_event_source") {
            out["lead_event_source"] = json!(from);
        }
        data["lead"] = out;
    }
    let mut body = json!({
        "event_source": source,
        "event_source_id": s.pixel_code,
        "partner_name": "Segment",
        "data": [data],
    });
    if let Some(code) = text(p, "test_event_code") {
        body["test_event_code"] = json!(code);
    }
    Ok(body)
}

pub(crate) fn perform(ctx: &mut Context, p: Payload, s: Settings) -> Result<(), Error> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let body = body(&p, &s, now)?;
    let sent = ctx
        .post(URL)
        .header("Access-Token", &s.access_token)
        .json(&body)
        .send()?;
    response::check(sent)
}
