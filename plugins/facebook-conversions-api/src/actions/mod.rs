//! Meta's actions: each standard event (and `custom`) with its V2 twin. They share one request
//! shape, a server event (`server_event.rs`), whose customer information is normalised and
//! hashed by `user_data.rs`.

pub(crate) mod server_event;
pub(crate) mod user_data;

use crate::settings::Settings;
use serde_json::{Map, Value};
use server_event::{Kind, send};
use switchyard_plugin_sdk::{Context, Error, SYNC_MODE, sync_mode};

pub(crate) type Payload = Map<String, Value>;

/// What performs one action.
pub(crate) type Perform = fn(&mut Context, Payload, Settings) -> Result<(), Error>;

/// Each action and its V2 twin, which first checks the sync mode (`add` is the only one).
macro_rules! actions {
    ($($name:ident, $v2:ident => $event:literal, [$($key:literal),*];)*) => {$(
        pub(crate) fn $name(ctx: &mut Context, p: Payload, s: Settings) -> Result<(), Error> {
            send(ctx, &Kind { event: $event, keys: &[$($key),*] }, &p, &s)
        }

        pub(crate) fn $v2(ctx: &mut Context, p: Payload, s: Settings) -> Result<(), Error> {
            // V2 actions only add events.
            sync_mode(p.get(SYNC_MODE), &["add"], "add")?;
            $name(ctx, p, s)
        }
    )*};
}

actions! {
    purchase, purchase_v2 => "Purchase", ["currency", "value", "net_revenue", "content_ids", "content_name", "content_type", "contents", "num_items"];
    initiate_checkout, initiate_checkout_v2 => "InitiateCheckout", ["currency", "value", "content_ids", "contents", "num_items", "content_category"];
    add_to_cart, add_to_cart_v2 => "AddToCart", ["currency", "value", "content_ids", "content_name", "content_type", "contents"];
    view_content, view_content_v2 => "ViewContent", ["currency", "value", "content_ids", "content_name", "content_type", "contents", "content_category"];
    search, search_v2 => "Search", ["currency", "value", "content_ids", "contents", "content_category", "search_string"];
    page_view, page_view_v2 => "PageView", [];
    custom, custom_v2 => "", [];
}
