//! `ecommerce` (many products) and `ecommerceSingleProduct`: Braze's recommended ecommerce
//! events (`ecommerce.order_placed`, `ecommerce.cart_updated`, ...), sent as `/users/track`
//! events whose properties follow Braze's schema for each event name.

use super::track::{Payload, truthy, user_alias};
use crate::settings::Settings;
use serde_json::{Map, Value, json};
use switchyard_plugin_sdk::{Action, Error, Field, SYNC_MODE, currency, sync_mode};

/// Braze's ecommerce event names.
pub(crate) const NAMES: &[&str] = &[
    "ecommerce.product_viewed",
    "ecommerce.cart_updated",
    "ecommerce.checkout_started",
    "ecommerce.order_placed",
    "ecommerce.order_cancelled",
    "ecommerce.order_refunded",
];

/// The fields of one product, as Braze names them.
const PRODUCT_KEYS: &[&str] = &[
    "product_id",
    "product_name",
    "variant_id",
    "image_url",
    "product_url",
    "quantity",
    "price",
];

/// The event's fields, shared by both actions; `single` adds `product` and `catalog_type`
/// instead of `products`.
pub(crate) fn action(single: bool) -> Action {
    let path = |p: &str| json!({"@path": p});
    let either = |key: &str| {
        json!({"@if": {"exists": {"@path": format!("$.context.traits.{key}")},
            "then": {"@path": format!("$.context.traits.{key}")},
            "else": {"@path": format!("$.properties.{key}")}}})
    };
    let mut name = Field::string("name", "Ecommerce Event Name")
        .description("The name of the Braze ecommerce recommended event")
        .required();
    for n in NAMES {
        name = name.choice(n, n);
    }
    let (id, title, description) = if single {
        (
            "ecommerceSingleProduct",
            "Ecommerce Event (single product)",
            "Send a single product Ecommerce Recommended event to Braze.",
        )
    } else {
        (
            "ecommerce",
            "Ecommerce Event (multi product)",
            "Send a multi product Ecommerce Recommended event to Braze.",
        )
    };
    let mut action = Action::new(id, title)
        .description(description)
        .field(name)
        .field(
            Field::string("external_id", "External User ID")
                .description("The unique user identifier")
                .default(path("$.userId")),
        )
        .field(
            Field::object("user_alias", "User Alias Object")
                .description("A user alias object: alias_name and alias_label."),
        )
        .field(
            Field::string("email", "Email")
                .description("The user email")
                .default(either("email")),
        )
        .field(
            Field::string("phone", "Phone Number")
                .description("The user's phone number")
                .allow_null()
                .default(either("phone")),
        )
        .field(
            Field::string("braze_id", "Braze User Identifier")
                .description("The unique user identifier")
                .allow_null()
                .default(either("braze_id")),
        )
        .field(
            Field::string("cancel_reason", "Cancel Reason")
                .description("The reason the order was cancelled (ecommerce.order_cancelled).")
                .default(path("$.properties.reason")),
        )
        .field(
            Field::datetime("time", "Time")
                .description("Timestamp for when the event occurred.")
                .required()
                .default(path("$.timestamp")),
        )
        .field(
            Field::string("checkout_id", "Checkout ID")
                .description("Unique identifier for the checkout (ecommerce.checkout_started).")
                .default(path("$.properties.checkout_id")),
        )
        .field(
            Field::string("order_id", "Order ID")
                .description("Unique identifier for the order (the order events).")
                .default(path("$.properties.order_id")),
        )
        .field(
            Field::string("cart_id", "Cart ID")
                .description("Unique identifier for the cart.")
                .default(path("$.properties.cart_id")),
        )
        .field(
            Field::number("total_value", "Total Value")
                .description("Total monetary value of the cart, checkout or order.")
                .default(path("$.properties.total")),
        )
        .field(
            Field::string("action", "Action")
                .description("The cart action that was performed (add, remove, or replace).")
                .choice("add", "Add")
                .choice("remove", "Remove")
                .choice("replace", "Replace")
                .default(path("$.properties.action")),
        )
        .field(
            Field::number("subtotal_value", "Subtotal Value")
                .description("Subtotal monetary value of the transaction.")
                .default(path("$.properties.subtotal")),
        )
        .field(
            Field::number("tax", "Tax")
                .description("Tax amount applied to the transaction.")
                .default(path("$.properties.tax")),
        )
        .field(
            Field::number("shipping", "Shipping")
                .description("Shipping cost for the transaction.")
                .default(path("$.properties.shipping")),
        )
        .field(
            Field::number("total_discounts", "Total Discounts")
                .description("Total amount of discounts applied to the order.")
                .default(path("$.properties.discount")),
        )
        .field(
            Field::object("discounts", "Discounts")
                .description("Discounts applied: code and amount of each.")
                .multiple()
                .default_with(|| {
                    json!({"@arrayPath": ["$.properties.discount_items",
                    {"code": {"@path": "$.code"}, "amount": {"@path": "$.amount"}}]})
                }),
        )
        .field(
            Field::string("currency", "Currency")
                .description("ISO 4217 currency code of the event's values.")
                .required()
                .default(path("$.properties.currency")),
        )
        .field(
            Field::string("source", "Source")
                .description("Source the event is derived from.")
                .required()
                .default(path("$.properties.source")),
        )
        .field(
            Field::object("metadata", "Metadata")
                .description("Additional metadata for the ecommerce event."),
        )
        .field(
            Field::boolean("enable_batching", "Batch Data to Braze")
                .description("If true, events are batched before they are sent to Braze.")
                .required()
                .default(json!(true)),
        )
        .field(
            Field::number("batch_size", "Maximum Batch Size")
                .description("Maximum number of events to include in each batch (2 to 75).")
                .required()
                .default(json!(75)),
        );
    if single {
        let product = || {
            json!({"product_id": path("$.properties.product_id"),
                "product_name": path("$.properties.name"),
                "variant_id": path("$.properties.variant"),
                "image_url": path("$.properties.image_url"),
                "product_url": path("$.properties.url"), "price": path("$.properties.price")})
        };
        action = action
            .field(
                Field::string("catalog_type", "Catalog Trigger Type")
                    .description(
                        "For Braze catalog triggers on ecommerce.product_viewed: price_drop or \
                         back_in_stock.",
                    )
                    .multiple()
                    .choice("price_drop", "Price drop")
                    .choice("back_in_stock", "Back in stock")
                    .default(path("$.properties.type")),
            )
            .field(
                Field::object("product", "Product")
                    .description(
                        "product_id, product_name, variant_id and price (required), image_url \
                         and product_url.",
                    )
                    .required()
                    .default_with(product),
            )
            .field(super::v2::sync_mode_field(&["add", "update"], "add"))
            .perform(super::track::ecommerce_single)
            .perform_batch(
                super::track::MAX_OBJECTS as u32,
                super::track::ecommerce_single_batch,
            )
    } else {
        let products = || {
            json!({"@arrayPath": ["$.properties.products", {
                "product_id": path("$.product_id"), "product_name": path("$.name"),
                "variant_id": path("$.variant"), "image_url": path("$.image_url"),
                "product_url": path("$.url"), "quantity": path("$.quantity"),
                "price": path("$.price")}]})
        };
        action = action
            .field(
                Field::object("products", "Products")
                    .description(
                        "Products of the event: product_id, product_name, variant_id, quantity \
                         and price (required), image_url and product_url; other keys go to the \
                         product's metadata.",
                    )
                    .required()
                    .multiple()
                    .default_with(products),
            )
            .field(super::v2::sync_mode_field(&["add", "update"], "add"))
            .perform(super::track::ecommerce)
            .perform_batch(
                super::track::MAX_OBJECTS as u32,
                super::track::ecommerce_batch,
            )
    }
    action
}

/// The `events` object of one ecommerce event.
pub(crate) fn event(p: &Payload, s: &Settings, single: bool) -> Result<Value, Error> {
    let name = p.get("name").and_then(Value::as_str).unwrap_or_default();
    if !NAMES.contains(&name) {
        return Err(Error::invalid_payload(format!(
            "name {name:?} is not a Braze ecommerce event; it must be one of {}",
            NAMES.join(", ")
        )));
    }
    let mut out = Map::new();
    let alias = user_alias(p);
    for key in ["external_id", "braze_id", "email", "phone"] {
        if let Some(v) = p.get(key).filter(|v| truthy(Some(v))) {
            out.insert(key.into(), v.clone());
        }
    }
    if out.is_empty() && alias.is_none() {
        return Err(Error::invalid_payload(
            "One of \"external_id\", \"user_alias\", \"braze_id\", \"email\" or \"phone\" is \
             required.",
        ));
    }
    if let Some(alias) = alias {
        out.insert("user_alias".into(), alias);
        out.insert("_update_existing_only".into(), json!(true));
    }
    if sync_mode(p.get(SYNC_MODE), &["add", "update"], "add")? == "update" {
        out.insert("_update_existing_only".into(), json!(true));
    }
    if let Some(app) = s.app_id() {
        out.insert("app_id".into(), app);
    }
    out.insert("name".into(), json!(name));
    let time = p.get("time").and_then(super::convert::iso);
    out.insert(
        "time".into(),
        time.filter(|t| !t.is_null())
            .ok_or_else(|| Error::invalid_payload("time is not a date and time"))?,
    );
    let mut props = Map::new();
    let currency = p
        .get("currency")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if !currency::is_current_iso_4217(currency) {
        return Err(Error::invalid_payload(format!(
            "currency {currency:?} is not an ISO 4217 code such as USD or EUR"
        )));
    }
    props.insert("currency".into(), json!(currency));
    copy(&mut props, p, &["source", "metadata"]);
    let needs = |key: &str| -> Result<(), Error> {
        if truthy(p.get(key)) {
            Ok(())
        } else {
            Err(Error::invalid_payload(format!(
                "{name} needs the field '{key}'."
            )))
        }
    };
    let costs = ["subtotal_value", "tax", "shipping"];
    let discounts = ["total_discounts", "discounts"];
    match name {
        "ecommerce.product_viewed" => {}
        "ecommerce.cart_updated" => {
            needs("cart_id")?;
            copy(&mut props, p, &["cart_id", "action"]);
            copy(&mut props, p, &costs);
        }
        "ecommerce.checkout_started" => {
            needs("checkout_id")?;
            copy(&mut props, p, &["checkout_id", "cart_id"]);
            copy(&mut props, p, &costs);
        }
        "ecommerce.order_placed" => {
            needs("order_id")?;
            copy(&mut props, p, &["order_id", "cart_id"]);
            copy(&mut props, p, &costs);
            copy(&mut props, p, &discounts);
        }
        "ecommerce.order_cancelled" => {
            needs("order_id")?;
            needs("cancel_reason")?;
            copy(&mut props, p, &["order_id", "cancel_reason"]);
            copy(&mut props, p, &costs);
            copy(&mut props, p, &discounts);
        }
        _ => {
            needs("order_id")?;
            copy(&mut props, p, &["order_id"]);
            copy(&mut props, p, &discounts);
        }
    }
    if name == "ecommerce.product_viewed" {
        let product = products(p, single)?.into_iter().next().unwrap_or_default();
        props.extend(product);
        if let Some(t) = p.get("catalog_type") {
            props.insert("type".into(), t.clone());
        }
    } else {
        let cart_change = name == "ecommerce.cart_updated"
            && matches!(
                p.get("action").and_then(Value::as_str),
                Some("add" | "remove")
            );
        match p.get("total_value").filter(|v| v.is_number()) {
            Some(total) => {
                props.insert("total_value".into(), total.clone());
            }
            None if cart_change => {}
            None => {
                return Err(Error::invalid_payload(format!(
                    "{name} needs a numeric 'total_value'."
                )));
            }
        }
        let list = products(p, single)?
            .into_iter()
            .map(Value::Object)
            .collect();
        props.insert("products".into(), Value::Array(list));
    }
    out.insert("properties".into(), Value::Object(props));
    Ok(Value::Object(out))
}

fn copy(to: &mut Map<String, Value>, p: &Payload, keys: &[&str]) {
    for key in keys {
        if let Some(v) = p.get(*key) {
            to.insert((*key).into(), v.clone());
        }
    }
}

/// The event's products with Braze's keys; other keys of a product go to its `metadata`.
fn products(p: &Payload, single: bool) -> Result<Vec<Map<String, Value>>, Error> {
    let (items, field) = if single {
        (
            p.get("product").cloned().into_iter().collect::<Vec<_>>(),
            "product",
        )
    } else {
        match p.get("products") {
            Some(Value::Array(items)) => (items.clone(), "products"),
            _ => (Vec::new(), "products"),
        }
    };
    if items.is_empty() {
        return Err(Error::invalid_payload(format!("The event has no {field}.")));
    }
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let at = if single {
            "product".to_string()
        } else {
            format!("products[{i}]")
        };
        let Some(item) = item.as_object() else {
            return Err(Error::invalid_payload(format!("{at} must be an object")));
        };
        let mut required = vec!["product_id", "product_name", "variant_id", "price"];
        if !single {
            required.push("quantity");
        }
        for key in required {
            if !truthy(item.get(key)) && item.get(key).and_then(Value::as_f64) != Some(0.0) {
                return Err(Error::invalid_payload(format!(
                    "{at} is missing the required field '{key}'."
                )));
            }
        }
        let mut product: Map<String, Value> = PRODUCT_KEYS
            .iter()
            .filter_map(|k| item.get(*k).map(|v| ((*k).to_string(), v.clone())))
            .collect();
        let extra: Map<String, Value> = item
            .iter()
            .filter(|(k, _)| !PRODUCT_KEYS.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if !extra.is_empty() {
            product.insert("metadata".into(), Value::Object(extra));
        }
        out.push(product);
    }
    Ok(out)
}
