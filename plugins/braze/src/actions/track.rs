//! The `/users/track` actions: `trackEvent`, `trackPurchase` and `updateUserProfile`, one event
//! or a batch per request, built as Segment's Braze destination builds them.
//!
//! A batch is one request with every valid object. Braze answers a 2xx with an `errors` list
//! naming the objects it refused (by index); those events fail with the error's type and the
//! rest are delivered. Any other answer is every event's answer.

use super::convert;
use crate::response;
use crate::settings::Settings;
use serde_json::{Map, Value, json};
use switchyard_plugin_sdk::{BatchResults, Context, Error};

/// Braze's most objects in one `/users/track` request of each kind.
pub(crate) const MAX_OBJECTS: usize = 75;

/// A mapped payload: kept as JSON so that a field mapped to `null` is sent as `null` and an
/// unmapped one is left out, as in the reference.
pub(crate) type Payload = Map<String, Value>;

/// An action's function for one event, and for a batch.
pub(crate) type Single = fn(&mut Context, Payload, Settings) -> Result<(), Error>;
pub(crate) type Batch = fn(&mut Context, Vec<Payload>, Settings) -> BatchResults;

pub(crate) fn truthy(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => false,
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_f64() != Some(0.0),
        Some(_) => true,
    }
}

/// `{alias_label, alias_name}` when both are given.
pub(crate) fn user_alias(p: &Payload) -> Option<Value> {
    let alias = p.get("user_alias")?;
    let (name, label) = (alias.get("alias_name"), alias.get("alias_label"));
    (truthy(name) && truthy(label)).then(|| json!({"alias_name": name, "alias_label": label}))
}

/// The identifiers every `/users/track` object carries; one of them is required.
fn identity(p: &Payload) -> Result<Map<String, Value>, Error> {
    let alias = user_alias(p);
    if !(truthy(p.get("external_id"))
        || alias.is_some()
        || truthy(p.get("braze_id"))
        || truthy(p.get("email")))
    {
        return Err(Error::invalid_payload(
            "One of \"external_id\" or \"user_alias\" or \"braze_id\" or \"email\" is required.",
        ));
    }
    let mut out = Map::new();
    for key in ["braze_id", "external_id", "email"] {
        if let Some(v) = p.get(key) {
            out.insert(key.into(), v.clone());
        }
    }
    if let Some(alias) = alias {
        out.insert("user_alias".into(), alias);
    }
    if let Some(v) = p.get("_update_existing_only") {
        out.insert("_update_existing_only".into(), v.clone());
    }
    Ok(out)
}

fn put_time(
    out: &mut Map<String, Value>,
    key: &str,
    p: &Payload,
    convert: fn(&Value) -> Option<Value>,
) {
    if let Some(v) = p.get(key).and_then(convert) {
        out.insert(key.into(), v);
    }
}

/// One `events` object.
pub(crate) fn event(p: &Payload, s: &Settings) -> Result<Value, Error> {
    let mut out = identity(p)?;
    if let Some(app) = s.app_id() {
        out.insert("app_id".into(), app);
    }
    let name = p.get("name").filter(|n| truthy(Some(n)));
    out.insert(
        "name".into(),
        name.cloned()
            .ok_or_else(|| Error::invalid_payload("The event needs a name (field `name`)."))?,
    );
    put_time(&mut out, "time", p, convert::iso);
    if let Some(v) = p.get("properties") {
        out.insert("properties".into(), v.clone());
    }
    Ok(Value::Object(out))
}

/// The `purchases` objects of one event: one per product. An event without products has none.
pub(crate) fn purchases(p: &Payload, s: &Settings) -> Result<Vec<Value>, Error> {
    let base = {
        let mut out = identity(p)?;
        if let Some(app) = s.app_id() {
            out.insert("app_id".into(), app);
        }
        put_time(&mut out, "time", p, convert::iso);
        out
    };
    let products = match p.get("products") {
        Some(Value::Array(items)) => items.as_slice(),
        _ => &[],
    };
    let mut shared = match p.get("properties") {
        Some(Value::Object(props)) => props.clone(),
        _ => Map::new(),
    };
    shared.remove("products");
    let mut out = Vec::with_capacity(products.len());
    for (i, product) in products.iter().enumerate() {
        let Some(product) = product.as_object() else {
            return Err(Error::invalid_payload(format!(
                "products[{i}] must be an object"
            )));
        };
        let id = product
            .get("product_id")
            .filter(|v| v.is_string() || v.is_number());
        let Some(id) = id else {
            return Err(Error::invalid_payload(format!(
                "products[{i}] is missing the required field 'product_id'."
            )));
        };
        let price = product.get("price").and_then(number);
        let Some(price) = price else {
            return Err(Error::invalid_payload(format!(
                "products[{i}] is missing the required field 'price' (a number)."
            )));
        };
        let mut purchase = base.clone();
        let id = match id {
            Value::Number(n) => json!(n.to_string()),
            other => other.clone(),
        };
        purchase.insert("product_id".into(), id);
        purchase.insert(
            "currency".into(),
            product.get("currency").cloned().unwrap_or(json!("USD")),
        );
        purchase.insert("price".into(), price);
        if let Some(q) = product.get("quantity") {
            purchase.insert("quantity".into(), q.clone());
        }
        let mut properties: Map<String, Value> = product
            .iter()
            .filter(|(k, _)| !["product_id", "currency", "price", "quantity"].contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        properties.extend(shared.clone());
        purchase.insert("properties".into(), Value::Object(properties));
        out.push(Value::Object(purchase));
    }
    Ok(out)
}

/// A JSON number, or a string holding one (`"49.90"`), as a number.
fn number(v: &Value) -> Option<Value> {
    match v {
        Value::Number(_) => Some(v.clone()),
        Value::String(s) => s.trim().parse::<f64>().ok().map(|f| json!(f)),
        _ => None,
    }
}

/// Keys of `custom_attributes` never sent as custom attributes (the reference removes the
/// field keys of trackPurchase, plus three trait names it maps to standard attributes).
const RESERVED: &[&str] = &[
    "external_id",
    "user_alias",
    "braze_id",
    "email",
    "time",
    "products",
    "properties",
    "_update_existing_only",
    "enable_batching",
    "batch_size",
    "firstName",
    "lastName",
    "avatar",
];

/// Standard attributes copied as they are.
const STANDARD: &[&str] = &[
    "country",
    "email_subscribe",
    "email_open_tracking_disabled",
    "email_click_tracking_disabled",
    "facebook",
    "first_name",
    "home_city",
    "image_url",
    "language",
    "last_name",
    "phone",
    "push_subscribe",
    "push_tokens",
    "time_zone",
    "twitter",
];

/// One `attributes` object.
pub(crate) fn attributes(p: &Payload) -> Result<Value, Error> {
    let mut out: Map<String, Value> = match p.get("custom_attributes") {
        Some(Value::Object(custom)) => custom
            .iter()
            .filter(|(k, _)| !RESERVED.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        _ => Map::new(),
    };
    out.extend(identity(p)?);
    for key in STANDARD {
        if let Some(v) = p.get(*key) {
            out.insert((*key).into(), v.clone());
        }
    }
    match p.get("current_location") {
        Some(Value::Object(loc)) => {
            let loc: Map<String, Value> = ["latitude", "longitude"]
                .iter()
                .filter_map(|k| loc.get(*k).map(|v| ((*k).to_string(), v.clone())))
                .collect();
            if !loc.is_empty() {
                out.insert("current_location".into(), Value::Object(loc));
            }
        }
        Some(Value::Null) => {
            out.insert("current_location".into(), Value::Null);
        }
        _ => {}
    }
    for key in [
        "date_of_first_session",
        "date_of_last_session",
        "marked_email_as_spam_at",
    ] {
        put_time(&mut out, key, p, convert::iso);
    }
    put_time(&mut out, "dob", p, convert::dob);
    if let Some(g) = p.get("gender") {
        out.insert("gender".into(), convert::gender(g));
    }
    if let Some(Value::Array(groups)) = p.get("subscription_groups")
        && !groups.is_empty()
    {
        out.insert("subscription_groups".into(), Value::Array(groups.clone()));
    }
    Ok(Value::Object(out))
}

/// Which list of the `/users/track` body an action fills.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Events,
    Purchases,
    Attributes,
    /// Braze's recommended ecommerce events (`ecommerce`, or `ecommerceSingleProduct` when
    /// `true`), sent as events.
    Ecommerce(bool),
}

impl Kind {
    fn key(self) -> &'static str {
        match self {
            Kind::Events | Kind::Ecommerce(_) => "events",
            Kind::Purchases => "purchases",
            Kind::Attributes => "attributes",
        }
    }

    /// The objects one payload becomes.
    fn objects(self, p: &Payload, s: &Settings) -> Result<Vec<Value>, Error> {
        match self {
            Kind::Events => event(p, s).map(|e| vec![e]),
            Kind::Purchases => purchases(p, s),
            Kind::Attributes => attributes(p).map(|a| vec![a]),
            Kind::Ecommerce(single) => crate::ecommerce::event(p, s, single).map(|e| vec![e]),
        }
    }
}

pub(crate) fn track_event(ctx: &mut Context, p: Payload, s: Settings) -> Result<(), Error> {
    single(ctx, Kind::Events, &p, &s)
}

pub(crate) fn track_purchase(ctx: &mut Context, p: Payload, s: Settings) -> Result<(), Error> {
    single(ctx, Kind::Purchases, &p, &s)
}

pub(crate) fn update_user_profile(ctx: &mut Context, p: Payload, s: Settings) -> Result<(), Error> {
    single(ctx, Kind::Attributes, &p, &s)
}

pub(crate) fn track_event_batch(ctx: &mut Context, ps: Vec<Payload>, s: Settings) -> BatchResults {
    batch(ctx, Kind::Events, &ps, &s)
}

pub(crate) fn track_purchase_batch(
    ctx: &mut Context,
    ps: Vec<Payload>,
    s: Settings,
) -> BatchResults {
    batch(ctx, Kind::Purchases, &ps, &s)
}

pub(crate) fn update_user_profile_batch(
    ctx: &mut Context,
    ps: Vec<Payload>,
    s: Settings,
) -> BatchResults {
    batch(ctx, Kind::Attributes, &ps, &s)
}

pub(crate) fn ecommerce(ctx: &mut Context, p: Payload, s: Settings) -> Result<(), Error> {
    single(ctx, Kind::Ecommerce(false), &p, &s)
}

pub(crate) fn ecommerce_batch(ctx: &mut Context, ps: Vec<Payload>, s: Settings) -> BatchResults {
    batch(ctx, Kind::Ecommerce(false), &ps, &s)
}

pub(crate) fn ecommerce_single(ctx: &mut Context, p: Payload, s: Settings) -> Result<(), Error> {
    single(ctx, Kind::Ecommerce(true), &p, &s)
}

pub(crate) fn ecommerce_single_batch(
    ctx: &mut Context,
    ps: Vec<Payload>,
    s: Settings,
) -> BatchResults {
    batch(ctx, Kind::Ecommerce(true), &ps, &s)
}

fn single(ctx: &mut Context, kind: Kind, p: &Payload, s: &Settings) -> Result<(), Error> {
    let objects = kind.objects(p, s)?;
    if objects.is_empty() {
        // A purchase event without products: nothing to record, as in the reference.
        return Ok(());
    }
    if objects.len() > MAX_OBJECTS {
        return Err(too_many(objects.len()));
    }
    let owners = vec![0; objects.len()];
    send(ctx, kind, objects, &owners, 1, s)
        .into_iter()
        .next()
        .unwrap_or(Ok(()))
}

fn too_many(n: usize) -> Error {
    Error::Permanent {
        message: format!(
            "{n} products in one event; Braze takes at most {MAX_OBJECTS} per request"
        ),
        status: Some(413),
    }
}

fn batch(ctx: &mut Context, kind: Kind, ps: &[Payload], s: &Settings) -> BatchResults {
    let mut results: Vec<Option<Result<(), Error>>> = vec![None; ps.len()];
    let mut objects = Vec::new();
    let mut owners = Vec::new();
    let mut members = Vec::new();
    for (i, p) in ps.iter().enumerate() {
        match kind.objects(p, s) {
            Err(e) => results[i] = Some(Err(e)),
            Ok(o) if o.is_empty() => {
                results[i] = Some(Err(Error::invalid_payload(
                    "The event has no products to record as purchases.",
                )));
            }
            Ok(o) if o.len() > MAX_OBJECTS => results[i] = Some(Err(too_many(o.len()))),
            Ok(o) if objects.len() + o.len() > MAX_OBJECTS => {
                // Over the request's limit: this event goes again in another batch.
                results[i] = Some(Err(Error::Retryable {
                    message: "the batch already holds Braze's limit of 75 objects".into(),
                    status: Some(429),
                }));
            }
            Ok(o) => {
                let member = members.len();
                members.push(i);
                owners.extend(std::iter::repeat_n(member, o.len()));
                objects.extend(o);
            }
        }
    }
    if !objects.is_empty() {
        let answers = send(ctx, kind, objects, &owners, members.len(), s);
        for (member, answer) in members.into_iter().zip(answers) {
            results[member] = Some(answer);
        }
    }
    results.into_iter().map(|r| r.unwrap_or(Ok(()))).collect()
}

/// Sends the objects in one request; answers one result per member (owners maps each object to
/// its member).
fn send(
    ctx: &mut Context,
    kind: Kind,
    objects: Vec<Value>,
    owners: &[usize],
    members: usize,
    s: &Settings,
) -> Vec<Result<(), Error>> {
    let url = match s.url("/users/track") {
        Ok(u) => u,
        Err(e) => return vec![Err(e); members],
    };
    let many = objects.len() > 1;
    let body = json!({ kind.key(): objects });
    let mut request = ctx.post(&url).bearer(&s.api_key).json(&body);
    if many {
        request = request.header("X-Braze-Batch", "true");
    }
    match request.send().and_then(|r| r.error_for_status()) {
        Ok(response) => response::track_results(&response, owners, members),
        Err(e) => vec![Err(e); members],
    }
}
