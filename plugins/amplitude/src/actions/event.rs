//! The three event actions (`logEvent`, `logEventV2`, `logPurchase`): each payload becomes one
//! Amplitude event (plus one "Product Purchased" event per product for `logPurchase`), posted
//! as `{"api_key", "events", "options"}` to the HTTP API or, when asked, the batch endpoint.
//!
//! The event is the mapped payload itself, minus the fields that steer this plugin, with the
//! conversions the reference makes: times to epoch milliseconds, platform spelling, user
//! property operations (`$set`, `$setOnce`, `$add`), fields read from the user agent, and the
//! `library` value.

use super::ua;
use crate::response;
use crate::settings::{Endpoint, Settings};
use serde_json::{Map, Value, json};
use switchyard_plugin_sdk::date::iso_millis;
use switchyard_plugin_sdk::{Context, Error};

pub(crate) type Payload = Map<String, Value>;

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    V1,
    V2,
    Purchase,
}

/// Revenue fields: sent only by `logPurchase`, in its own shape.
const REVENUE: &[&str] = &["revenue", "price", "productId", "quantity", "revenueType"];

/// Fields that steer the plugin and are not event properties. `use_batch_endpoint` is not one
/// of them: Segment copies it into every event (`false` or `true`), and so does this plugin.
const STEERING: &[&str] = &[
    "time",
    "session_id",
    "userAgent",
    "userAgentParsing",
    "includeRawUserAgent",
    "userAgentData",
    "min_id_length",
    "library",
    "library2",
];

pub(crate) fn log_event(ctx: &mut Context, p: Payload, s: Settings) -> Result<(), Error> {
    send(ctx, Kind::V1, &p, &s)
}

pub(crate) fn log_event_v2(ctx: &mut Context, p: Payload, s: Settings) -> Result<(), Error> {
    send(ctx, Kind::V2, &p, &s)
}

pub(crate) fn log_purchase(ctx: &mut Context, p: Payload, s: Settings) -> Result<(), Error> {
    send(ctx, Kind::Purchase, &p, &s)
}

fn send(ctx: &mut Context, kind: Kind, p: &Payload, s: &Settings) -> Result<(), Error> {
    let events = build(kind, p)?;
    let mut body = json!({"api_key": s.api_key, "events": events});
    if let Some(options) = options(p) {
        body["options"] = options;
    }
    let endpoint = if p.get("use_batch_endpoint") == Some(&Value::Bool(true)) {
        Endpoint::Batch
    } else {
        Endpoint::HttpApi
    };
    response::check(
        ctx.post(endpoint.url(s.endpoint.as_deref()))
            .json(&body)
            .send()?,
    )
}

pub(crate) fn text<'a>(p: &'a Payload, key: &str) -> Option<&'a str> {
    p.get(key).and_then(Value::as_str).filter(|s| !s.is_empty())
}

/// `{"min_id_length": n}` when the payload sets a positive minimum.
pub(crate) fn options(p: &Payload) -> Option<Value> {
    let n = p.get("min_id_length").and_then(Value::as_i64)?;
    (n > 0).then(|| json!({"min_id_length": n}))
}

/// Amplitude refuses an event with neither identifier; say so before sending.
pub(crate) fn require_identity(p: &Payload) -> Result<(), Error> {
    if text(p, "user_id").is_none() && text(p, "device_id").is_none() {
        return Err(Error::invalid_payload(
            "either user_id or device_id is required by Amplitude; both are empty",
        ));
    }
    Ok(())
}

/// The events one payload becomes.
fn build(kind: Kind, p: &Payload) -> Result<Vec<Value>, Error> {
    require_identity(p)?;
    let mut props = p.clone();
    for key in REVENUE.iter().chain(STEERING) {
        props.remove(*key);
    }
    let own: &[&str] = match kind {
        Kind::V1 => &["utm_properties", "referrer"],
        Kind::V2 => &["setOnce", "setAlways", "add"],
        Kind::Purchase => &[
            "utm_properties",
            "referrer",
            "products",
            "trackRevenuePerProduct",
        ],
    };
    for key in own {
        props.remove(*key);
    }

    fix_platform(&mut props);
    if text(p, "library") == Some("analytics.js") && !props.contains_key("platform") {
        props.insert("platform".into(), json!("Web"));
    }
    if let Some(ms) = p.get("time").and_then(millis) {
        props.insert("time".into(), json!(ms));
    }
    if let Some(id) = p.get("session_id").and_then(session_id) {
        props.insert("session_id".into(), json!(id));
    }
    match kind {
        Kind::V2 => {
            let user = operations(p);
            props.insert("user_properties".into(), Value::Object(user));
        }
        Kind::V1 | Kind::Purchase => {
            if let Some(attribution) = attribution(p) {
                let user = user_properties(p);
                let merged = merge(&[&attribution, &user]);
                props.insert("user_properties".into(), Value::Object(merged));
            }
        }
    }

    let mut main = agent_fields(p);
    main.extend(props.clone());
    let products: &[Value] = match p.get("products") {
        Some(Value::Array(items)) if kind == Kind::Purchase => items,
        _ => &[],
    };
    let per_product = p.get("trackRevenuePerProduct") == Some(&Value::Bool(true));
    // Revenue goes on the order unless it goes on each product.
    if kind == Kind::Purchase && (products.is_empty() || !per_product) {
        main.extend(revenue(p));
    }
    let library = library(p);
    if let Some(l) = &library {
        main.insert("library".into(), l.clone());
    }

    let mut events = vec![Value::Object(main)];
    let insert_id = text(p, "insert_id").map(str::to_owned);
    for product in products {
        let mut event = props.clone();
        if per_product && let Value::Object(product) = product {
            event.extend(revenue(product));
        }
        event.insert("event_properties".into(), product.clone());
        event.insert("event_type".into(), json!("Product Purchased"));
        match &insert_id {
            Some(id) => event.insert(
                "insert_id".into(),
                json!(format!("{id}-{}", events.len() + 1)),
            ),
            None => event.remove("insert_id"),
        };
        match &library {
            Some(l) => event.insert("library".into(), l.clone()),
            None => event.remove("library"),
        };
        events.push(Value::Object(event));
    }
    Ok(events)
}

/// `ios` → `iOS` and `android` → `Android`, whatever their case (first occurrence of each).
pub(crate) fn fix_platform(props: &mut Payload) {
    if let Some(Value::String(platform)) = props.get_mut("platform") {
        for (from, to) in [("ios", "iOS"), ("android", "Android")] {
            if let Some(at) = platform.to_ascii_lowercase().find(from) {
                platform.replace_range(at..at + from.len(), to);
            }
        }
    }
}

/// A time as epoch milliseconds: a number or digit string as it is, an ISO 8601 text parsed.
pub(crate) fn millis(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Value::String(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
            s.parse().ok()
        }
        Value::String(s) => iso_millis(s.trim()),
        _ => None,
    }
}

/// A session id: Amplitude wants the session's start in epoch milliseconds.
fn session_id(v: &Value) -> Option<i64> {
    millis(v)
}

/// Operating system, version and device read from `userAgent` (unless `userAgentParsing` is
/// false), and the raw string when `includeRawUserAgent` is true. Mapped fields win: the
/// caller lays the payload's own fields over these.
pub(crate) fn agent_fields(p: &Payload) -> Payload {
    let mut out = Map::new();
    let Some(agent) = text(p, "userAgent") else {
        return out;
    };
    if p.get("userAgentParsing") != Some(&Value::Bool(false)) {
        let hints = p.get("userAgentData");
        let hint = |key: &str| {
            hints
                .and_then(|h| h.get(key))
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        let parsed = ua::parse(agent);
        let fields = [
            ("os_name", parsed.os.clone().or(parsed.browser.clone())),
            (
                "os_version",
                hint("platformVersion").or(parsed.browser_major),
            ),
            ("device_manufacturer", parsed.vendor),
            ("device_model", hint("model").or(parsed.model).or(parsed.os)),
            ("device_type", parsed.kind.map(str::to_owned)),
        ];
        for (key, value) in fields {
            if let Some(v) = value {
                out.insert(key.into(), json!(v));
            }
        }
    }
    if p.get("includeRawUserAgent") == Some(&Value::Bool(true)) {
        out.insert("user_agent".into(), json!(agent));
    }
    out
}

/// The `library` sent: the mapped one when `library2.behavior` is "use_mapping", else
/// "segment".
fn library(p: &Payload) -> Option<Value> {
    let settings = p.get("library2");
    let behavior = settings
        .and_then(|l| l.get("behavior"))
        .and_then(Value::as_str);
    if behavior == Some("use_mapping") {
        settings
            .and_then(|l| l.get("mapping"))
            .filter(|m| !m.is_null())
            .cloned()
    } else {
        Some(json!("segment"))
    }
}

/// The revenue fields of a payload or a product: `revenue` is `quantity × price` when both
/// are numbers; nothing when there is no revenue.
fn revenue(p: &Payload) -> Payload {
    let mut out = Map::new();
    let price = p.get("price").and_then(Value::as_f64);
    let quantity = p.get("quantity").and_then(Value::as_f64);
    let revenue = match (quantity, price) {
        (Some(q), Some(pr)) => Some(number(q * pr)),
        _ => p.get("revenue").filter(|r| r.as_f64().is_some()).cloned(),
    };
    let Some(revenue) = revenue.filter(|r| r.as_f64() != Some(0.0)) else {
        return out;
    };
    out.insert("revenue".into(), revenue);
    out.insert(
        "revenueType".into(),
        p.get("revenueType").cloned().unwrap_or(json!("Purchase")),
    );
    if let Some(q) = quantity {
        out.insert("quantity".into(), json!(q.round() as i64));
    }
    for key in ["price", "productId"] {
        if let Some(v) = p.get(key) {
            out.insert(key.into(), v.clone());
        }
    }
    out
}

/// An integral product stays an integer in JSON (`2 × 10` is `20`, not `20.0`).
fn number(f: f64) -> Value {
    if f.fract() == 0.0 && f.abs() < 9.0e15 {
        json!(f as i64)
    } else {
        json!(f)
    }
}

/// The mapped user properties, without keys the attribution fields replace.
pub(crate) fn user_properties(p: &Payload) -> Payload {
    let mut user = match p.get("user_properties") {
        Some(Value::Object(m)) => m.clone(),
        _ => Map::new(),
    };
    user.remove("utm_properties");
    user.remove("referrer");
    user
}

/// UTM parameters and the referrer as user property operations: `$set` to the latest value,
/// `$setOnce` to the first (`initial_*`). `None` when the payload has neither.
pub(crate) fn attribution(p: &Payload) -> Option<Payload> {
    let utm = match p.get("utm_properties") {
        Some(Value::Object(m)) if !m.is_empty() => Some(m),
        _ => None,
    };
    let referrer = text(p, "referrer");
    if utm.is_none() && referrer.is_none() {
        return None;
    }
    let mut set = Map::new();
    let mut once = Map::new();
    for (k, v) in utm.into_iter().flatten() {
        set.insert(k.clone(), v.clone());
        once.insert(format!("initial_{k}"), v.clone());
    }
    if let Some(r) = referrer {
        set.insert("referrer".into(), json!(r));
        once.insert("initial_referrer".into(), json!(r));
    }
    let mut out = Map::new();
    out.insert("$set".into(), Value::Object(set));
    out.insert("$setOnce".into(), Value::Object(once));
    Some(out)
}

/// Later maps win, except that `$set` and `$setOnce` objects are merged key by key.
pub(crate) fn merge(parts: &[&Payload]) -> Payload {
    let mut out = Map::new();
    for part in parts {
        for (k, v) in part.iter() {
            let operation = k == "$set" || k == "$setOnce";
            match (out.get_mut(k), v) {
                (Some(Value::Object(into)), Value::Object(from)) if operation => {
                    into.extend(from.clone());
                }
                _ => {
                    out.insert(k.clone(), v.clone());
                }
            }
        }
    }
    out
}

/// `logEventV2`: the user properties with `setOnce`, `setAlways` and `add` as `$setOnce`,
/// `$set` and `$add`, each when it has a value that is not empty text.
fn operations(p: &Payload) -> Payload {
    let mut user = match p.get("user_properties") {
        Some(Value::Object(m)) => m.clone(),
        _ => Map::new(),
    };
    for (field, operation) in [
        ("setOnce", "$setOnce"),
        ("setAlways", "$set"),
        ("add", "$add"),
    ] {
        if let Some(Value::Object(values)) = p.get(field)
            && values.values().any(|v| v.as_str() != Some(""))
        {
            user.insert(operation.into(), Value::Object(values.clone()));
        }
    }
    user
}
