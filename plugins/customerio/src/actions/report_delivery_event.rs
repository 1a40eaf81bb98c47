//! `reportDeliveryEvent`: a delivery metric for a message Customer.io sent → `POST
//! /api/v1/metrics` (never batched).

use super::entity;
use super::{Payload, post, take};
use crate::settings::Settings;
use serde_json::{Map, Value, json};
use switchyard_plugin_sdk::{Context, Error};

pub(crate) fn perform(ctx: &mut Context, mut p: Payload, s: Settings) -> Result<(), Error> {
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
