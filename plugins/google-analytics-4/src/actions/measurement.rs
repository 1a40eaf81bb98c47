//! The one request every GA4 action sends: a Measurement Protocol event to `POST /mp/collect`,
//! for a web stream (measurement id, client id) or an app stream (Firebase app id, app instance
//! id), with the checks the reference makes before sending (GA4 answers 2xx even to events it
//! drops, so a bad event must be caught here). What differs between actions is a [`Kind`].

use super::Payload;
use crate::response;
use crate::settings::Settings;
use serde_json::{Map, Value, json};
use switchyard_plugin_sdk::{Context, Error, currency, date};

pub(crate) const COLLECT: &str = "https://www.google-analytics.com/mp/collect";

/// What distinguishes one action's event.
pub(crate) struct Kind {
    /// The GA4 event name (`customEvent` takes it from the payload).
    pub(crate) event: &'static str,
    /// Payload fields sent as event parameters.
    pub(crate) params: &'static [&'static str],
    /// `value` without `currency` is refused.
    pub(crate) value_needs_currency: bool,
    /// A currency is needed at the top level or on the first item.
    pub(crate) needs_currency: bool,
    /// At least one item is needed.
    pub(crate) needs_items: bool,
    /// `items` is sent even when the event has none (`[]`), as the reference's refund does.
    pub(crate) items_always: bool,
}

pub(crate) const CART: &[&str] = &["currency", "value", "items"];
pub(crate) const PROMOTION: &[&str] = &[
    "creative_name",
    "creative_slot",
    "location_id",
    "promotion_id",
    "promotion_name",
    "items",
];

pub(crate) const fn kind(event: &'static str, params: &'static [&'static str]) -> Kind {
    Kind {
        event,
        params,
        value_needs_currency: false,
        needs_currency: false,
        needs_items: false,
        items_always: false,
    }
}

/// A kind whose value needs a currency, found at the top or on the first item.
pub(crate) const fn priced(event: &'static str, params: &'static [&'static str]) -> Kind {
    Kind {
        value_needs_currency: true,
        needs_currency: true,
        ..kind(event, params)
    }
}

fn invalid(message: impl Into<String>) -> Error {
    Error::invalid_payload(message)
}

fn text<'a>(p: &'a Payload, key: &str) -> Option<&'a str> {
    p.get(key).and_then(Value::as_str).filter(|s| !s.is_empty())
}

/// An ISO 4217 code (checked in upper case; sent as given, as the reference does).
fn check_currency(code: &str) -> Result<(), Error> {
    if currency::is_iso_4217(&code.to_ascii_uppercase()) {
        Ok(())
    } else {
        Err(invalid(format!("{code} is not a valid currency code.")))
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Array(_) => "Array",
        Value::Null => "NULL",
        _ => "object",
    }
}

/// The event's name and parameters, checked.
fn event(kind: &Kind, p: &Payload) -> Result<Value, Error> {
    let name = if kind.event.is_empty() {
        let raw =
            text(p, "name").ok_or_else(|| invalid("The event needs a name (field `name`)."))?;
        let name: String = raw
            .trim()
            .chars()
            .map(|c| if c.is_whitespace() { '_' } else { c })
            .collect();
        if p.get("lowercase") == Some(&Value::Bool(true)) {
            name.to_lowercase()
        } else {
            name
        }
    } else {
        kind.event.to_string()
    };
    let items: &[Value] = match p.get("items") {
        Some(Value::Array(items)) => items,
        _ => &[],
    };
    // In the reference's order, so that the same error comes first: the event's currency,
    // then value without currency, then a currency anywhere, then the items one by one.
    let currency = text(p, "currency");
    if let Some(c) = currency {
        check_currency(c)?;
    }
    if kind.value_needs_currency
        && p.get("value").is_some_and(|v| !v.is_null())
        && currency.is_none()
    {
        return Err(invalid("Currency is required if value is set."));
    }
    if kind.needs_currency
        && currency.is_none()
        && items.first().and_then(|i| text_of(i, "currency")).is_none()
    {
        return Err(invalid(
            "One of item-level currency or top-level currency is required.",
        ));
    }
    if kind.needs_items && items.is_empty() {
        return Err(invalid(
            "Google requires one or more products in add_payment_info events.",
        ));
    }
    for item in items {
        if text_of(item, "item_name").is_none() && text_of(item, "item_id").is_none() {
            return Err(invalid(if kind.event == "view_promotion" {
                "One of item id or item name is required."
            } else {
                "One of product name or product id is required for product or impression data."
            }));
        }
        if let Some(c) = text_of(item, "currency") {
            check_currency(c)?;
        }
    }
    let mut params = Map::new();
    for key in kind.params {
        if let Some(v) = p.get(*key).filter(|v| !v.is_null()) {
            params.insert((*key).into(), v.clone());
        }
    }
    if kind.items_always && !params.contains_key("items") {
        params.insert("items".into(), json!([]));
    }
    // Sent when mapped (its default mapping is 1), never made up.
    if let Some(v) = p.get("engagement_time_msec").filter(|v| v.is_number()) {
        params.insert("engagement_time_msec".into(), v.clone());
    }
    if let Some(Value::Object(extra)) = p.get("params") {
        for (k, v) in extra {
            let allowed = match v {
                Value::Array(_) => k == "items",
                Value::Null | Value::Object(_) => false,
                _ => true,
            };
            if !allowed {
                return Err(invalid(format!(
                    "Param [{k}] has unsupported value of type [{}]. GA4 does not accept null, \
                     array, or object values for event parameters and item parameters.",
                    type_name(v)
                )));
            }
            params.insert(k.clone(), v.clone());
        }
    }
    Ok(json!({"name": name, "params": params}))
}

fn text_of<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str).filter(|s| !s.is_empty())
}

/// A numeric string passes as a number; an ISO time becomes epoch microseconds.
fn timestamp_micros(v: &Value) -> Option<Value> {
    match v {
        Value::Number(_) => Some(v.clone()),
        Value::String(s) => {
            if let Ok(n) = s.trim().parse::<f64>() {
                return Some(json!(n as i64));
            }
            Some(json!(date::iso_millis(s)? * 1000))
        }
        _ => None,
    }
}

fn build(kind: &Kind, p: &Payload, s: &Settings) -> Result<(String, Value), Error> {
    let mobile = text(p, "data_stream_type") == Some("Mobile App");
    let mut body = Map::new();
    let url = if mobile {
        let app = s
            .firebase_app_id
            .as_deref()
            .filter(|a| !a.is_empty())
            .ok_or_else(|| {
                Error::invalid_settings("Firebase App ID is required for mobile app streams")
            })?;
        let id = text(p, "app_instance_id").ok_or_else(|| {
            invalid("Firebase App Instance ID is required for mobile app streams")
        })?;
        body.insert("app_instance_id".into(), json!(id));
        // Not URL-encoded, as in the reference: Firebase app ids hold ':'.
        format!(
            "{COLLECT}?api_secret={}&firebase_app_id={app}",
            s.api_secret
        )
    } else {
        let measurement = s
            .measurement_id
            .as_deref()
            .filter(|m| !m.is_empty())
            .ok_or_else(|| Error::invalid_settings("Measurement ID is required for web streams"))?;
        let id = text(p, "client_id")
            .or_else(|| text(p, "clientId"))
            .ok_or_else(|| invalid("Client ID is required for web streams"))?;
        body.insert("client_id".into(), json!(id));
        format!(
            "{COLLECT}?api_secret={}&measurement_id={measurement}",
            s.api_secret
        )
    };
    if let Some(user) = text(p, "user_id") {
        body.insert("user_id".into(), json!(user));
    }
    body.insert("events".into(), json!([event(kind, p)?]));
    if let Some(Value::Object(props)) = p.get("user_properties") {
        let mut out = Map::new();
        for (k, v) in props {
            if v.is_array() || v.is_object() {
                return Err(invalid(format!(
                    "Param [{k}] has unsupported value of type [{}]. GA4 does not accept array \
                     or object values for user properties.",
                    type_name(v)
                )));
            }
            out.insert(k.clone(), json!({"value": v}));
        }
        body.insert("user_properties".into(), Value::Object(out));
    }
    if let Some(t) = p.get("timestamp_micros").and_then(timestamp_micros) {
        body.insert("timestamp_micros".into(), t);
    }
    let mut consent = Map::new();
    for (from, to) in [
        ("ad_user_data_consent", "ad_user_data"),
        ("ad_personalization_consent", "ad_personalization"),
    ] {
        if let Some(v) = text(p, from) {
            consent.insert(to.into(), json!(v));
        }
    }
    if !consent.is_empty() {
        body.insert("consent".into(), Value::Object(consent));
    }
    Ok((url, Value::Object(body)))
}

pub(crate) fn send(ctx: &mut Context, kind: &Kind, p: Payload, s: &Settings) -> Result<(), Error> {
    let (url, body) = build(kind, &p, s)?;
    response::check(ctx.post(&url).json(&body).send()?)
}
