//! The form-encoded calls: `identifyUser` (identify API), `groupIdentifyUser` (identify and
//! group identify APIs) and `mapUser` (user mapping API). Each body is a form whose fields
//! hold JSON text, as these Amplitude APIs expect.

use super::event::{
    Payload, agent_fields, attribution, fix_platform, merge, millis, options, require_identity,
    text, user_properties,
};
use crate::response;
use crate::settings::{Endpoint, Settings};
use serde_json::{Value, json};
use switchyard_plugin_sdk::{Context, Error};

const FORM: &str = "application/x-www-form-urlencoded;charset=UTF-8";

/// Posts a form of `api_key`, `name` = `value` and, when set, `options`.
fn post(
    ctx: &mut Context,
    endpoint: Endpoint,
    s: &Settings,
    p: &Payload,
    name: &str,
    value: &Value,
) -> Result<(), Error> {
    let value = value.to_string();
    let options = options(p).map(|o| o.to_string());
    let mut form = vec![("api_key", s.api_key.as_str()), (name, value.as_str())];
    if let Some(o) = &options {
        form.push(("options", o.as_str()));
    }
    let sent = ctx
        .post(endpoint.url(s.endpoint.as_deref()))
        .form(&form)
        .header("content-type", FORM)
        .send()?;
    response::check(sent)
}

/// Fields that steer the plugin and are not sent as part of the identification.
const STEERING: &[&str] = &[
    "utm_properties",
    "referrer",
    "userAgent",
    "userAgentParsing",
    "includeRawUserAgent",
    "userAgentData",
    "min_id_length",
    "library",
];

pub(crate) fn identify_user(ctx: &mut Context, p: Payload, s: Settings) -> Result<(), Error> {
    require_identity(&p)?;
    let mut props = p.clone();
    for key in STEERING {
        props.remove(*key);
    }
    fix_platform(&mut props);
    if let Some(attribution) = attribution(&p) {
        let merged = merge(&[&user_properties(&p), &attribution]);
        props.insert("user_properties".into(), Value::Object(merged));
    }
    let mut identification = agent_fields(&p);
    identification.extend(props);
    identification.insert("library".into(), json!("segment"));
    post(
        ctx,
        Endpoint::Identify,
        &s,
        &p,
        "identification",
        &Value::Object(identification),
    )
}

pub(crate) fn group_identify_user(ctx: &mut Context, p: Payload, s: Settings) -> Result<(), Error> {
    let group_type = text(&p, "group_type").unwrap_or_default();
    let group_value = p.get("group_value").cloned().unwrap_or(Value::Null);
    if text(&p, "user_id").is_some() || text(&p, "device_id").is_some() {
        let mut association = serde_json::Map::new();
        for key in ["device_id", "insert_id", "user_id"] {
            if let Some(v) = p.get(key) {
                association.insert(key.into(), v.clone());
            }
        }
        association.insert("groups".into(), json!({group_type: group_value}));
        association.insert("user_properties".into(), json!({group_type: group_value}));
        association.insert("library".into(), json!("segment"));
        if let Some(ms) = p.get("time").and_then(millis) {
            association.insert("time".into(), json!(ms));
        }
        post(
            ctx,
            Endpoint::Identify,
            &s,
            &p,
            "identification",
            &json!([association]),
        )?;
    }
    let mut group = serde_json::Map::new();
    if let Some(v) = p.get("group_properties") {
        group.insert("group_properties".into(), v.clone());
    }
    group.insert("group_value".into(), group_value);
    group.insert("group_type".into(), json!(group_type));
    group.insert("library".into(), json!("segment"));
    post(
        ctx,
        Endpoint::GroupIdentify,
        &s,
        &p,
        "identification",
        &json!([group]),
    )
}

pub(crate) fn map_user(ctx: &mut Context, p: Payload, s: Settings) -> Result<(), Error> {
    for key in ["user_id", "global_user_id"] {
        if text(&p, key).is_none() {
            return Err(Error::invalid_payload(format!(
                "{key} is required to map one user to another"
            )));
        }
    }
    post(
        ctx,
        Endpoint::UserMap,
        &s,
        &p,
        "mapping",
        &json!([Value::Object(p.clone())]),
    )
}
