//! One server event → `POST https://graph.facebook.com/v24.0/{pixelId}/events`, with the checks
//! the reference makes before sending. What differs between actions is a [`Kind`].

use super::Payload;
use super::user_data;
use crate::response;
use crate::settings::Settings;
use serde_json::{Map, Value, json};
use switchyard_plugin_sdk::{Context, Error, currency};

pub(crate) const API: &str = "https://graph.facebook.com/v24.0";

/// Which standard event an action sends, and the custom-data keys it adds.
pub(crate) struct Kind {
    pub(crate) event: &'static str,
    pub(crate) keys: &'static [&'static str],
}

/// Where a conversion can happen (`action_source`).
pub(crate) const ACTION_SOURCES: &[&str] = &[
    "email",
    "website",
    "app",
    "phone_call",
    "chat",
    "physical_store",
    "system_generated",
    "other",
];

fn invalid(message: impl Into<String>) -> Error {
    Error::invalid_payload(message)
}

fn text<'a>(p: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    p.get(key).and_then(Value::as_str).filter(|s| !s.is_empty())
}

/// Checks what Meta would refuse, before anything is sent.
fn check(kind: &Kind, p: &Payload, user: &Map<String, Value>) -> Result<(), Error> {
    if user.is_empty() {
        return Err(invalid("Must include at least one user data property"));
    }
    let source = text(p, "action_source").unwrap_or_default();
    if !ACTION_SOURCES.contains(&source) {
        return Err(invalid(format!(
            "action_source {source:?} must be one of {}",
            ACTION_SOURCES.join(", ")
        )));
    }
    let standard = !matches!(kind.event, "" | "PageView");
    if !kind.event.is_empty() && source == "website" && !user.contains_key("client_user_agent") {
        return Err(invalid(
            "user_data.client_user_agent is required when action_source is website",
        ));
    }
    if !standard {
        return Ok(());
    }
    match text(p, "currency") {
        None if kind.event == "Purchase" => {
            return Err(invalid("Must include a currency for Purchase events"));
        }
        Some(c) if !currency::is_iso_4217(c) => {
            return Err(invalid(format!("{c} is not a valid currency code.")));
        }
        _ => {}
    }
    if let Some(Value::Array(contents)) = p.get("contents") {
        for (i, c) in contents.iter().enumerate() {
            if c.get("id").is_none_or(Value::is_null) {
                return Err(invalid(format!(
                    "contents[{i}] must include an 'id' parameter."
                )));
            }
            if let Some(d) = c.get("delivery_category").filter(|d| !d.is_null())
                && !matches!(d.as_str(), Some("in_store" | "curbside" | "home_delivery"))
            {
                return Err(invalid(format!(
                    "contents[{i}].delivery_category must be in_store, curbside or home_delivery."
                )));
            }
        }
    }
    Ok(())
}

fn custom_data(kind: &Kind, p: &Payload) -> Option<Value> {
    if kind.event == "PageView" {
        return None;
    }
    let mut data = match p.get("custom_data") {
        Some(Value::Object(custom)) => custom.clone(),
        _ => Map::new(),
    };
    for key in kind.keys {
        let Some(v) = p.get(*key).filter(|v| !v.is_null()) else {
            continue;
        };
        let keep = match *key {
            "content_ids" => v.as_array().is_some_and(|a| !a.is_empty()),
            "net_revenue" | "num_items" => v.is_number(),
            _ => true,
        };
        if keep {
            data.insert((*key).into(), v.clone());
        }
    }
    Some(Value::Object(data))
}

fn app_data(p: &Payload) -> Option<Value> {
    let app = p.get("app_data_field")?.as_object()?;
    if app.get("use_app_data") != Some(&Value::Bool(true)) {
        return None;
    }
    let flag = |k: &str| i32::from(app.get(k) == Some(&Value::Bool(true)));
    let ext: Vec<Value> = [
        "version",
        "packageName",
        "shortVersion",
        "longVersion",
        "osVersion",
        "deviceName",
        "locale",
        "timezone",
        "carrier",
        "width",
        "height",
        "density",
        "cpuCores",
        "storageSize",
        "freeStorage",
        "deviceTimezone",
    ]
    .iter()
    .map(|k| match app.get(*k) {
        Some(Value::String(s)) => json!(s),
        Some(Value::Number(n)) => json!(n.to_string()),
        _ => json!(""),
    })
    .collect();
    let mut out = json!({"advertiser_tracking_enabled": flag("advertiser_tracking_enabled"),
        "application_tracking_enabled": flag("application_tracking_enabled"),
        "extinfo": ext});
    if let Some(m) = text(app, "madId") {
        out["madid"] = json!(m);
    }
    Some(out)
}

/// The request body.
pub(crate) fn body(kind: &Kind, p: &Payload, s: &Settings) -> Result<Value, Error> {
    let user = match p.get("user_data") {
        Some(Value::Object(u)) => user_data::build(u),
        _ => Map::new(),
    };
    check(kind, p, &user)?;
    let name = if kind.event.is_empty() {
        text(p, "event_name").ok_or_else(|| invalid("The event needs a name (event_name)."))?
    } else {
        kind.event
    };
    let mut event = json!({"event_name": name,
        "event_time": p.get("event_time").cloned().unwrap_or(Value::Null),
        "action_source": p.get("action_source"), "user_data": user});
    for key in ["event_source_url", "event_id"] {
        if let Some(v) = text(p, key) {
            event[key] = json!(v);
        }
    }
    if let Some(app) = app_data(p) {
        event["app_data"] = app;
    }
    if let Some(data) = custom_data(kind, p) {
        event["custom_data"] = data;
    }
    if p.get("data_processing_options") == Some(&Value::Bool(true)) {
        let or_zero = |k: &str| {
            p.get(k)
                .filter(|v| v.is_number())
                .cloned()
                .unwrap_or(json!(0))
        };
        event["data_processing_options"] = json!(["LDU"]);
        event["data_processing_options_country"] = or_zero("data_processing_options_country");
        event["data_processing_options_state"] = or_zero("data_processing_options_state");
    }
    let mut body = json!({"data": [event]});
    let test =
        text(p, "test_event_code").or(s.test_event_code.as_deref().filter(|c| !c.is_empty()));
    if let Some(code) = test {
        body["test_event_code"] = json!(code);
    }
    Ok(body)
}

/// Sends one server event.
pub(crate) fn send(ctx: &mut Context, kind: &Kind, p: &Payload, s: &Settings) -> Result<(), Error> {
    let body = body(kind, p, s)?;
    let url = format!("{API}/{}/events", s.checked_pixel_id()?);
    response::check(ctx.post(&url).bearer(&s.access_token).json(&body).send()?)
}
