//! GA4's nineteen actions. They share one request shape (`measurement.rs`); each action is its
//! event name, the payload fields it sends as parameters and the checks it needs.

pub(crate) mod measurement;

use crate::settings::Settings;
use measurement::{CART, Kind, PROMOTION, kind, priced};
use serde_json::{Map, Value};
use switchyard_plugin_sdk::{Context, Error};

pub(crate) type Payload = Map<String, Value>;
pub(crate) type Perform = fn(&mut Context, Payload, Settings) -> Result<(), Error>;

macro_rules! actions {
    ($($name:ident => $kind:expr;)*) => {$(
        pub(crate) fn $name(ctx: &mut Context, p: Payload, s: Settings) -> Result<(), Error> {
            measurement::send(ctx, &$kind, p, &s)
        }
    )*};
}

actions! {
    purchase => kind("purchase", &["affiliation", "coupon", "currency", "items", "transaction_id", "shipping", "value", "tax"]);
    refund => Kind { items_always: true, ..priced("refund", &["currency", "transaction_id", "value", "affiliation", "coupon", "shipping", "tax", "items"]) };
    add_to_cart => kind("add_to_cart", CART);
    remove_from_cart => priced("remove_from_cart", CART);
    add_to_wishlist => priced("add_to_wishlist", CART);
    view_cart => priced("view_cart", CART);
    view_item => kind("view_item", CART);
    view_item_list => kind("view_item_list", &["item_list_id", "item_list_name", "items"]);
    select_item => kind("select_item", &["items", "item_list_name", "item_list_id"]);
    begin_checkout => kind("begin_checkout", &["coupon", "currency", "items", "value"]);
    add_payment_info => Kind { needs_items: true, ..priced("add_payment_info", &["currency", "value", "coupon", "payment_type", "items"]) };
    select_promotion => kind("select_promotion", PROMOTION);
    view_promotion => kind("view_promotion", PROMOTION);
    search => kind("search", &["search_term"]);
    sign_up => kind("sign_up", &["method"]);
    login => kind("login", &["method"]);
    generate_lead => Kind { value_needs_currency: true, ..kind("generate_lead", &["currency", "value"]) };
    page_view => kind("page_view", &["page_location", "page_referrer", "page_title"]);
    custom_event => kind("", &[]);
}
