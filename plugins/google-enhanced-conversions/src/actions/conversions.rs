//! The upload actions: click conversions, call conversions and conversion adjustments, one
//! event or a batch of up to 2000 per request, always with `partialFailure: true`. Google then
//! answers 200 and lists the conversions it refused, by index; each event gets its own result
//! from that list, so one bad conversion never fails (or retries) the others.

use super::auth::{customer_id, post};
use super::identity::{email, google_time, phone, text};
use crate::response::partial_failures;
use crate::settings::{API, Settings};
use serde_json::{Map, Value, json};
use switchyard_plugin_sdk::date::iso_millis;
use switchyard_plugin_sdk::{BatchResults, Context, Error, SYNC_MODE};

pub(crate) type Payload = Map<String, Value>;

/// Google accepts up to 2000 conversions per upload request.
pub(crate) const MAX_BATCH: u32 = 2000;

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Click,
    Call,
    Adjustment,
}

impl Kind {
    fn method(self) -> &'static str {
        match self {
            Kind::Click => "uploadClickConversions",
            Kind::Call => "uploadCallConversions",
            Kind::Adjustment => "uploadConversionAdjustments",
        }
    }

    /// The list in the request body, and the field name Google's error locations use.
    fn list(self) -> &'static str {
        match self {
            Kind::Click | Kind::Call => "conversions",
            Kind::Adjustment => "conversionAdjustments",
        }
    }
}

pub(crate) fn click(ctx: &mut Context, p: Payload, s: Settings) -> Result<(), Error> {
    one(ctx, Kind::Click, p, s)
}

pub(crate) fn click_batch(ctx: &mut Context, ps: Vec<Payload>, s: Settings) -> BatchResults {
    upload(ctx, Kind::Click, &ps, &s)
}

pub(crate) fn call(ctx: &mut Context, p: Payload, s: Settings) -> Result<(), Error> {
    one(ctx, Kind::Call, p, s)
}

pub(crate) fn call_batch(ctx: &mut Context, ps: Vec<Payload>, s: Settings) -> BatchResults {
    upload(ctx, Kind::Call, &ps, &s)
}

pub(crate) fn adjustment(ctx: &mut Context, p: Payload, s: Settings) -> Result<(), Error> {
    one(ctx, Kind::Adjustment, p, s)
}

pub(crate) fn adjustment_batch(ctx: &mut Context, ps: Vec<Payload>, s: Settings) -> BatchResults {
    upload(ctx, Kind::Adjustment, &ps, &s)
}

fn one(ctx: &mut Context, kind: Kind, p: Payload, s: Settings) -> Result<(), Error> {
    upload(ctx, kind, &[p], &s)
        .pop()
        .unwrap_or_else(|| Err(Error::permanent("no result")))
}

fn text_of<'a>(p: &'a Payload, key: &str) -> Option<&'a str> {
    p.get(key).and_then(Value::as_str).filter(|s| !s.is_empty())
}

/// Copies `from` in the payload to `to` in the object, when it has a value.
fn copy(out: &mut Payload, p: &Payload, pairs: &[(&str, &str)]) {
    for (from, to) in pairs {
        match p.get(*from) {
            None | Some(Value::Null) => {}
            Some(Value::String(s)) if s.is_empty() => {}
            Some(v) => {
                out.insert((*to).into(), v.clone());
            }
        }
    }
}

/// Uploads the payloads in one request; one result per payload, in order.
fn upload(ctx: &mut Context, kind: Kind, payloads: &[Payload], s: &Settings) -> BatchResults {
    let n = payloads.len();
    let customer = match customer_id(s) {
        Ok(c) => c,
        Err(e) => return vec![Err(e); n],
    };
    let wants_variables = payloads.iter().any(|p| {
        kind != Kind::Adjustment
            && p.get("custom_variables")
                .and_then(Value::as_object)
                .is_some_and(|m| !m.is_empty())
    });
    let variables = if wants_variables {
        match custom_variables(ctx, s, &customer) {
            Ok(v) => v,
            Err(e) => return vec![Err(e); n],
        }
    } else {
        Vec::new()
    };

    let mut results: Vec<Option<Result<(), Error>>> = vec![None; n];
    let mut objects = Vec::new();
    let mut places = Vec::new();
    for (i, p) in payloads.iter().enumerate() {
        // The V2 actions carry a sync mode; as in the reference, only "add" is supported, and
        // another is refused event by event with the reference's message.
        if let Some(mode) = p.get(SYNC_MODE).filter(|m| !m.is_null()) {
            let mode = mode
                .as_str()
                .map_or_else(|| mode.to_string(), str::to_string);
            if mode != "add" {
                results[i] = Some(Err(Error::invalid_payload(format!(
                    "Unsupported Sync Mode \"{mode}\""
                ))));
                continue;
            }
        }
        let built = match kind {
            Kind::Click => click_object(p, &customer),
            Kind::Call => call_object(p, &customer),
            Kind::Adjustment => adjustment_object(p, &customer),
        };
        match built {
            Ok(mut object) => {
                if kind != Kind::Adjustment {
                    add_variables(ctx, &mut object, p, &variables);
                }
                objects.push(Value::Object(object));
                places.push(i);
            }
            Err(e) => results[i] = Some(Err(e)),
        }
    }
    if !objects.is_empty() {
        let count = objects.len();
        let url = format!("{API}/customers/{customer}:{}", kind.method());
        let body = json!({kind.list(): objects, "partialFailure": true});
        let answers = match post(ctx, s, &url, Some(&body)).and_then(|a| a.error_for_status()) {
            Ok(answer) => {
                let body: Value = answer.json().unwrap_or(Value::Null);
                partial_failures(&body, kind.list(), count, 400)
            }
            Err(e) => vec![Some(e); count],
        };
        for (place, failure) in places.into_iter().zip(answers) {
            results[place] = Some(failure.map_or(Ok(()), Err));
        }
    }
    results.into_iter().map(|r| r.unwrap_or(Ok(()))).collect()
}

/// `customers/{customer}/conversionActions/{id}`; the id is a number in the payload.
fn conversion_action(p: &Payload, customer: &str) -> Result<String, Error> {
    let id = match p.get("conversion_action") {
        Some(Value::Number(n)) => match n.as_u64() {
            Some(i) => i.to_string(),
            None => n.to_string(),
        },
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        _ => return Err(Error::invalid_payload("conversion_action is required")),
    };
    Ok(format!("customers/{customer}/conversionActions/{id}"))
}

fn timestamp(p: &Payload, key: &str) -> Result<String, Error> {
    text_of(p, key)
        .map(google_time)
        .ok_or_else(|| Error::invalid_payload(format!("{key} is required")))
}

/// `[{hashedEmail}, {hashedPhoneNumber}]`, for what the payload has.
fn identifiers(p: &Payload, email_key: &str, phone_key: &str) -> Result<Vec<Value>, Error> {
    let mut out = Vec::new();
    if let Some(e) = text_of(p, email_key) {
        out.push(json!({"hashedEmail": email(e)?}));
    }
    if let Some(ph) = text_of(p, phone_key) {
        out.push(json!({"hashedPhoneNumber": phone(ph, text_of(p, "phone_country_code"))}));
    }
    Ok(out)
}

fn consent(out: &mut Payload, p: &Payload) {
    let mut consent = Map::new();
    copy(
        &mut consent,
        p,
        &[
            ("ad_user_data_consent_state", "adUserData"),
            ("ad_personalization_consent_state", "adPersonalization"),
        ],
    );
    if !consent.is_empty() {
        out.insert("consent".into(), Value::Object(consent));
    }
}

fn click_object(p: &Payload, customer: &str) -> Result<Payload, Error> {
    // No identifier is required here, as in the reference: Google judges the conversion (with
    // session attributes, say) and answers a partial failure for one it cannot attribute.
    let ids = identifiers(p, "email_address", "phone_number")?;
    let mut c = Map::new();
    c.insert(
        "conversionAction".into(),
        json!(conversion_action(p, customer)?),
    );
    c.insert(
        "conversionDateTime".into(),
        json!(timestamp(p, "conversion_timestamp")?),
    );
    copy(
        &mut c,
        p,
        &[
            ("gclid", "gclid"),
            ("gbraid", "gbraid"),
            ("wbraid", "wbraid"),
            ("user_ip_address", "userIpAddress"),
        ],
    );
    if let Some(encoded) = text_of(p, "session_attributes_encoded") {
        c.insert("sessionAttributesEncoded".into(), json!(encoded));
    } else if let Some(pairs) = session_pairs(p) {
        c.insert(
            "sessionAttributesKeyValuePairs".into(),
            json!({"keyValuePairs": pairs}),
        );
    }
    copy(
        &mut c,
        p,
        &[
            ("order_id", "orderId"),
            ("value", "conversionValue"),
            ("currency", "currencyCode"),
            ("conversion_environment", "conversionEnvironment"),
        ],
    );
    // Always, as the reference sends it: `{"items": []}` when the event has no cart data.
    c.insert("cartData".into(), Value::Object(cart(p)));
    c.insert("userIdentifiers".into(), Value::Array(ids));
    consent(&mut c, p);
    Ok(c)
}

/// Session attributes as key-value pairs, without empty ones; the session start becomes epoch
/// microseconds.
fn session_pairs(p: &Payload) -> Option<Vec<Value>> {
    let attributes = p.get("session_attributes_key_value_pairs")?.as_object()?;
    let keys = [
        "gad_source",
        "gad_campaignid",
        "landing_page_url",
        "session_start_time_usec",
        "landing_page_referrer",
        "landing_page_user_agent",
    ];
    let pairs: Vec<Value> = keys
        .iter()
        .filter_map(|key| {
            let value = match attributes.get(*key)? {
                Value::String(s) if s.is_empty() => return None,
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                _ => return None,
            };
            let value = if *key == "session_start_time_usec" {
                iso_millis(&value).map_or(value, |ms| (i128::from(ms) * 1000).to_string())
            } else {
                value
            };
            Some(json!({"sessionAttributeKey": key, "sessionAttributeValue": value}))
        })
        .collect();
    (!pairs.is_empty()).then_some(pairs)
}

fn cart(p: &Payload) -> Payload {
    let mut cart = Map::new();
    copy(
        &mut cart,
        p,
        &[
            ("merchant_id", "merchantId"),
            ("merchant_country_code", "feedCountryCode"),
            ("merchant_language_code", "feedLanguageCode"),
            ("local_cost", "localTransactionCost"),
        ],
    );
    let items: Vec<Value> = p
        .get("items")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_object)
        .map(|item| {
            let mut out = Map::new();
            copy(
                &mut out,
                item,
                &[
                    ("product_id", "productId"),
                    ("quantity", "quantity"),
                    ("price", "unitPrice"),
                ],
            );
            Value::Object(out)
        })
        .collect();
    cart.insert("items".into(), Value::Array(items));
    cart
}

fn call_object(p: &Payload, customer: &str) -> Result<Payload, Error> {
    let mut c = Map::new();
    c.insert(
        "conversionAction".into(),
        json!(conversion_action(p, customer)?),
    );
    let caller =
        text_of(p, "caller_id").ok_or_else(|| Error::invalid_payload("caller_id is required"))?;
    c.insert("callerId".into(), json!(caller));
    c.insert(
        "callStartDateTime".into(),
        json!(timestamp(p, "call_timestamp")?),
    );
    c.insert(
        "conversionDateTime".into(),
        json!(timestamp(p, "conversion_timestamp")?),
    );
    copy(
        &mut c,
        p,
        &[("value", "conversionValue"), ("currency", "currencyCode")],
    );
    consent(&mut c, p);
    Ok(c)
}

fn now() -> String {
    let format =
        time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]+00:00");
    time::OffsetDateTime::now_utc()
        .format(format)
        .unwrap_or_default()
}

fn adjustment_object(p: &Payload, customer: &str) -> Result<Payload, Error> {
    let adjustment_type = text_of(p, "adjustment_type")
        .ok_or_else(|| Error::invalid_payload("adjustment_type is required"))?;
    if text_of(p, "order_id").is_none() && text_of(p, "gclid").is_none() {
        return Err(Error::invalid_payload(
            "a conversion adjustment needs order_id, or gclid with conversion_timestamp, to \
             find the conversion it adjusts",
        ));
    }
    let mut a = Map::new();
    a.insert(
        "conversionAction".into(),
        json!(conversion_action(p, customer)?),
    );
    a.insert("adjustmentType".into(), json!(adjustment_type));
    let when = text_of(p, "adjustment_timestamp").map_or_else(now, google_time);
    a.insert("adjustmentDateTime".into(), json!(when));
    copy(&mut a, p, &[("order_id", "orderId")]);
    if let Some(gclid) = text_of(p, "gclid") {
        let mut pair = Map::new();
        pair.insert("gclid".into(), json!(gclid));
        if let Some(t) = text_of(p, "conversion_timestamp") {
            pair.insert("conversionDateTime".into(), json!(google_time(t)));
        }
        a.insert("gclidDateTimePair".into(), Value::Object(pair));
    }
    let mut ids = identifiers(p, "email_address", "phone_number")?;
    let mut address = Map::new();
    for (key, to) in [
        ("first_name", "hashedFirstName"),
        ("last_name", "hashedLastName"),
        ("street_address", "hashedStreetAddress"),
    ] {
        if let Some(v) = text_of(p, key) {
            address.insert(to.into(), json!(text(v)));
        }
    }
    copy(
        &mut address,
        p,
        &[
            ("city", "city"),
            ("state", "state"),
            ("country", "countryCode"),
            ("postal_code", "postalCode"),
        ],
    );
    if !address.is_empty() {
        ids.push(json!({"addressInfo": address}));
    }
    a.insert("userIdentifiers".into(), Value::Array(ids));
    copy(&mut a, p, &[("user_agent", "userAgent")]);
    if adjustment_type != "RETRACTION" {
        let mut restatement = Map::new();
        copy(
            &mut restatement,
            p,
            &[
                ("restatement_value", "adjustedValue"),
                ("restatement_currency_code", "currencyCode"),
            ],
        );
        if !restatement.is_empty() {
            a.insert("restatementValue".into(), Value::Object(restatement));
        }
    }
    Ok(a)
}

/// The account's custom variables: (name, resource name).
fn custom_variables(
    ctx: &mut Context,
    s: &Settings,
    customer: &str,
) -> Result<Vec<(String, String)>, Error> {
    let url = format!("{API}/customers/{customer}/googleAds:searchStream");
    let query = json!({"query": "SELECT conversion_custom_variable.id, \
        conversion_custom_variable.name FROM conversion_custom_variable"});
    let body: Value = post(ctx, s, &url, Some(&query))?
        .error_for_status()?
        .json()?;
    // searchStream answers a list of chunks, each with its `results`.
    Ok(body
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|chunk| chunk["results"].as_array().into_iter().flatten())
        .filter_map(|r| {
            let v = &r["conversionCustomVariable"];
            Some((
                v["name"].as_str()?.to_string(),
                v["resourceName"].as_str()?.to_string(),
            ))
        })
        .collect())
}

/// `customVariables` for the payload's `custom_variables` whose names the account has.
fn add_variables(
    ctx: &mut Context,
    object: &mut Payload,
    p: &Payload,
    variables: &[(String, String)],
) {
    let Some(wanted) = p.get("custom_variables").and_then(Value::as_object) else {
        return;
    };
    let mut out = Vec::new();
    for (name, value) in wanted {
        let Some((_, resource)) = variables.iter().find(|(n, _)| n == name) else {
            ctx.warn(&format!(
                "custom variable {name:?} is not defined in the Google Ads account; left out"
            ));
            continue;
        };
        let value = match value {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        out.push(json!({"conversionCustomVariable": resource, "value": value}));
    }
    if !out.is_empty() {
        object.insert("customVariables".into(), Value::Array(out));
    }
}
