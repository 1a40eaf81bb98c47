//! Braze: user profiles, custom events, purchases and aliases through Braze's REST API.
//!
//! Compatible with Segment's "Braze Cloud Mode (Actions)": the same action ids, setting keys,
//! field keys, default mappings and triggers, so a Segment configuration carries over. Every
//! request carries `Authorization: Bearer <api_key>` and goes to the account's REST endpoint
//! (the `endpoint` setting).
//!
//! Actions: `trackEvent`, `trackPurchase`, `updateUserProfile` (module `track`), `createAlias`,
//! `identifyUser` (`alias`), `triggerCampaign`, `triggerCanvas` (`trigger`), `ecommerce` and
//! `ecommerceSingleProduct` (`ecommerce`, sent through `track`), and the V2 twins
//! `updateUserProfile2`, `trackEvent2`, `trackPurchase2`, `createAlias2` and `identifyUser2`
//! (`v2`), which take a sync mode instead of `_update_existing_only`.
//!
//! Batching: `trackEvent`, `trackPurchase` and `updateUserProfile` send up to 75 objects in one
//! `/users/track` request (`enable_batching`, on by default as in Segment), with a result per
//! event from Braze's `errors` list.

mod actions;
mod response;
mod settings;

#[cfg(test)]
mod tests;

use actions::track::{self, Batch, Single};
use actions::{alias, campaign, catalog, ecommerce, v2};
use serde_json::{Value, json};
use switchyard_plugin_sdk::{Action, Field, Plugin, Preset, Setting};

/// The REST endpoints Braze lists, one per data centre.
const ENDPOINTS: &[(&str, &str)] = &[
    ("https://rest.iad-01.braze.com", "US-01 (dashboard-01)"),
    ("https://rest.iad-02.braze.com", "US-02 (dashboard-02)"),
    ("https://rest.iad-03.braze.com", "US-03 (dashboard-03)"),
    ("https://rest.iad-04.braze.com", "US-04 (dashboard-04)"),
    ("https://rest.iad-05.braze.com", "US-05 (dashboard-05)"),
    ("https://rest.iad-06.braze.com", "US-06 (dashboard-06)"),
    ("https://rest.iad-07.braze.com", "US-07 (dashboard-07)"),
    ("https://rest.iad-08.braze.com", "US-08 (dashboard-08)"),
    ("https://rest.us-09.braze.com", "US-09 (dashboard-09)"),
    ("https://rest.us-10.braze.com", "US-10 (dashboard-10)"),
    (
        "https://rest.fra-01.braze.eu",
        "EU-01 (dashboard-01.braze.eu)",
    ),
    (
        "https://rest.fra-02.braze.eu",
        "EU-02 (dashboard-02.braze.eu)",
    ),
    (
        "https://rest.au-01.braze.com",
        "AU-01 (dashboard.au-01.braze.com)",
    ),
    (
        "https://rest.id-01.braze.com",
        "ID-01 (dashboard.id-01.braze.com)",
    ),
    (
        "https://rest.jp-01.braze.com",
        "JP-01 (dashboard.jp-01.braze.com)",
    ),
];

/// The events Segment's Braze presets send to the ecommerce actions instead of `trackEvent`.
const TRACK_CALLS: &str = "type = \"track\" and event != \"Order Completed\" and event != \
     \"Checkout Started\" and event != \"Order Refunded\" and event != \"Order Cancelled\" and \
     event != \"Product Viewed\" and event != \"Product Added\" and event != \"Product Removed\"";

/// The Braze plugin.
pub fn plugin() -> Plugin {
    let mut endpoint = Setting::string("endpoint", "REST Endpoint")
        .description(
            "Your Braze REST endpoint. See https://www.braze.com/docs/api/basics/#endpoints",
        )
        .required()
        .default(json!("https://rest.iad-01.braze.com"));
    for (url, label) in ENDPOINTS {
        endpoint = endpoint.choice(url, label);
    }
    Plugin::new("braze", "Braze", env!("CARGO_PKG_VERSION"))
        .description("Send user profiles, custom events, purchases and aliases to Braze.")
        .allowed_host("https://*.braze.com")
        .allowed_host("https://*.braze.eu")
        .setting(
            Setting::string("api_key", "API Key")
                .description("Created under Developer Console in the Braze Dashboard.")
                .required()
                .secret(),
        )
        .setting(Setting::string("app_id", "App ID").description(
            "The app identifier used to reference specific Apps in requests made to the Braze \
             API. Created under Developer Console in the Braze Dashboard.",
        ))
        .setting(endpoint)
        .preset(Preset::new("Track Calls", "trackEvent", TRACK_CALLS))
        .preset(Preset::new(
            "Identify Calls",
            "updateUserProfile",
            "type = \"identify\"",
        ))
        .preset(ecommerce_preset(
            "Order Placed (beta)",
            "Order Completed",
            "order_placed",
            None,
        ))
        .preset(ecommerce_preset(
            "Checkout Started (beta)",
            "Checkout Started",
            "checkout_started",
            None,
        ))
        .preset(ecommerce_preset(
            "Order Refunded (beta)",
            "Order Refunded",
            "order_refunded",
            None,
        ))
        .preset(ecommerce_preset(
            "Order Cancelled (beta)",
            "Order Cancelled",
            "order_cancelled",
            None,
        ))
        .preset(
            Preset::new(
                "Product Viewed (beta)",
                "ecommerceSingleProduct",
                "event = \"Product Viewed\"",
            )
            .mapping_with(|| json!({"name": "ecommerce.product_viewed"})),
        )
        .preset(ecommerce_preset(
            "Product Added (beta)",
            "Product Added",
            "cart_updated",
            Some("add"),
        ))
        .preset(ecommerce_preset(
            "Product Removed (beta)",
            "Product Removed",
            "cart_updated",
            Some("remove"),
        ))
        .action(update_user_profile(false))
        .action(track_event(false))
        .action(track_purchase(false))
        .action(alias::create_alias(false))
        .action(alias::identify_user())
        .action(campaign::trigger_campaign())
        .action(campaign::trigger_canvas())
        .action(ecommerce::action(false))
        .action(ecommerce::action(true))
        .action(update_user_profile(true))
        .action(track_event(true))
        .action(track_purchase(true))
        .action(alias::create_alias(true))
        .action(alias::identify_user_2())
        .action(catalog::action())
}

/// A V1 action's id and title, or its V2 twin's.
fn named(v2: bool, id: &str, title: &str) -> Action {
    if v2 {
        Action::new(&format!("{id}2"), &format!("{title} V2"))
    } else {
        Action::new(id, title)
    }
}

/// A `/users/track` action with its batching fields and functions: V1's, or the V2 twins that
/// first turn the sync mode into `_update_existing_only`.
fn performed(action: Action, v2: bool, v1: (Single, Batch), twin: (Single, Batch)) -> Action {
    let (single, batch) = if v2 { twin } else { v1 };
    batching(action)
        .perform(single)
        .perform_batch(track::MAX_OBJECTS as u32, batch)
}

/// V1 actions take `_update_existing_only` as a field; V2 actions derive it from a sync mode.
fn update_mode(v2: bool, default: &str) -> Field {
    if v2 {
        v2::sync_mode_field(&["add", "update"], default)
    } else {
        update_existing_only()
    }
}

/// A preset sending `event` to `ecommerce` as Braze's `ecommerce.<name>`. A cart change
/// (`action`) carries the one product the event describes.
fn ecommerce_preset(title: &str, event: &str, name: &str, action: Option<&str>) -> Preset {
    Preset::new(title, "ecommerce", &format!("event = \"{event}\"")).mapping_with(|| {
        let mut mapping = json!({"name": format!("ecommerce.{name}")});
        if let Some(action) = action {
            let path = |p: &str| json!({"@path": p});
            mapping["action"] = json!(action);
            mapping["products"] = json!([{"product_id": path("$.properties.product_id"),
                "product_name": path("$.properties.name"),
                "variant_id": path("$.properties.variant"),
                "image_url": path("$.properties.image_url"),
                "product_url": path("$.properties.url"),
                "quantity": path("$.properties.quantity"), "price": path("$.properties.price")}]);
        }
        mapping
    })
}

/// `user_alias`, `external_id`, `braze_id` and the batching fields every `/users/track` action
/// shares, in the reference's order around the action's own fields.
fn external_id() -> Field {
    Field::string("external_id", "External User ID")
        .description("The unique user identifier")
        .default_with(|| json!({"@path": "$.userId"}))
}

fn user_alias() -> Field {
    Field::object("user_alias", "User Alias Object").description(
        "A user alias object (alias_name and alias_label). See \
         https://www.braze.com/docs/api/objects_filters/user_alias_object/",
    )
}

fn braze_id() -> Field {
    Field::string("braze_id", "Braze User Identifier")
        .description("The unique user identifier")
        .allow_null()
        .default_with(|| json!({"@path": "$.properties.braze_id"}))
}

fn update_existing_only() -> Field {
    Field::boolean("_update_existing_only", "Update Existing Only")
        .description(
            "Setting this flag to true will put the API in \"Update Only\" mode. When using a \
             \"user_alias\", \"Update Only\" mode is always true.",
        )
        .default(json!(false))
}

fn batching(action: Action) -> Action {
    action
        .field(
            Field::boolean("enable_batching", "Batch Data to Braze")
                .description(
                    "If true, events are batched before they are sent to Braze's user track \
                     endpoint. Braze accepts batches of up to 75 events.",
                )
                .default(json!(true)),
        )
        .field(
            Field::number("batch_size", "Batch Size")
                .description("Maximum number of events to include in each batch.")
                .default(json!(75)),
        )
}

fn time() -> Field {
    Field::datetime("time", "Time")
        .description("When the event occurred.")
        .required()
        .default_with(|| json!({"@path": "$.receivedAt"}))
}

fn properties() -> Field {
    Field::object("properties", "Event Properties")
        .description("Properties of the event")
        .default_with(|| json!({"@path": "$.properties"}))
}

fn track_event(v2: bool) -> Action {
    let action = named(v2, "trackEvent", "Track Event")
        .description("Record custom events in Braze")
        .default_trigger("type = \"track\" and event != \"Order Completed\"")
        .field(external_id())
        .field(user_alias())
        .field(
            Field::string("email", "Email")
                .description("The user email")
                .default_with(|| {
                    json!({"@if": {"exists": {"@path": "$.context.traits.email"},
                    "then": {"@path": "$.context.traits.email"},
                    "else": {"@path": "$.properties.email"}}})
                }),
        )
        .field(braze_id())
        .field(
            Field::string("name", "Event Name")
                .description("The event name")
                .required()
                .default_with(|| json!({"@path": "$.event"})),
        )
        .field(time())
        .field(properties())
        .field(update_mode(v2, v2::TRACK_DEFAULT));
    performed(
        action,
        v2,
        (track::track_event, track::track_event_batch),
        (v2::track_event, v2::track_event_batch),
    )
}

fn track_purchase(v2: bool) -> Action {
    let action = named(v2, "trackPurchase", "Track Purchase")
        .description("Records purchases in Braze: one purchase per product of the event.")
        .default_trigger("event = \"Order Completed\"")
        .field(external_id())
        .field(user_alias())
        .field(
            Field::string("email", "Email")
                .description("The user email")
                .default_with(|| json!({"@path": "$.traits.email"})),
        )
        .field(braze_id())
        .field(time())
        .field(
            Field::object("products", "Products")
                .description(
                    "Products purchased: objects with product_id and price (required), currency \
                     (USD when absent) and quantity; other keys become purchase properties.",
                )
                .required()
                .multiple()
                .default_with(|| json!({"@path": "$.properties.products"})),
        )
        .field(properties())
        .field(update_mode(v2, v2::TRACK_DEFAULT));
    performed(
        action,
        v2,
        (track::track_purchase, track::track_purchase_batch),
        (v2::track_purchase, v2::track_purchase_batch),
    )
}

fn update_user_profile(v2: bool) -> Action {
    let path = |p: &str| -> Value { json!({"@path": p}) };
    let action = named(v2, "updateUserProfile", "Update User Profile")
        .description("Update a user's profile attributes in Braze")
        .default_trigger("type = \"identify\"")
        .field(external_id())
        .field(user_alias())
        .field(braze_id())
        .field(
            Field::string("country", "Country")
                .description("The country code of the user")
                .allow_null()
                .default(path("$.context.location.country")),
        )
        .field(
            Field::object("current_location", "Current Location")
                .description("The user's current longitude/latitude.")
                .allow_null()
                .default_with(|| {
                    json!({"latitude": {"@path": "$.context.location.latitude"},
                    "longitude": {"@path": "$.context.location.longitude"}})
                }),
        )
        .field(
            Field::datetime("date_of_first_session", "Date of First Session")
                .description("The date the user first used the app")
                .allow_null(),
        )
        .field(
            Field::datetime("date_of_last_session", "Date of Last Session")
                .description("The date the user last used the app")
                .allow_null(),
        )
        .field(
            Field::datetime("dob", "Date of Birth")
                .description("The user's date of birth")
                .allow_null(),
        )
        .field(
            Field::string("email", "Email")
                .description("The user's email")
                .allow_null()
                .default(path("$.traits.email")),
        )
        .field(
            Field::string("email_subscribe", "Email Subscribe").description(
                "The user's email subscription preference: opted_in, unsubscribed or subscribed.",
            ),
        )
        .field(
            Field::boolean(
                "email_open_tracking_disabled",
                "Email Open Tracking Disabled",
            )
            .description("Set to true to disable the open tracking pixel in future emails."),
        )
        .field(
            Field::boolean(
                "email_click_tracking_disabled",
                "Email Click Tracking Disabled",
            )
            .description("Set to true to disable click tracking in future emails."),
        )
        .field(
            Field::object("facebook", "Facebook Attribution Data").description(
                "Any of id (string), likes (array of strings), num_friends (integer).",
            ),
        )
        .field(
            Field::string("first_name", "First Name")
                .description("The user's first name")
                .allow_null()
                .default(path("$.traits.firstName")),
        )
        .field(
            Field::string("gender", "Gender")
                .description(
                    "The user's gender: M, F, O (other), N (not applicable), P (prefer not to \
                     say); common words such as female are converted.",
                )
                .allow_null()
                .default(path("$.traits.gender")),
        )
        .field(
            Field::string("home_city", "Home City")
                .description("The user's home city.")
                .allow_null()
                .default(path("$.traits.address.city")),
        )
        .field(
            Field::string("image_url", "Image URL")
                .description("URL of image to be associated with user profile.")
                .allow_null()
                .default(path("$.traits.avatar")),
        )
        .field(
            Field::string("language", "Language")
                .description("The user's preferred language.")
                .allow_null(),
        )
        .field(
            Field::string("last_name", "Last Name")
                .description("The user's last name")
                .default(path("$.traits.lastName")),
        )
        .field(
            Field::datetime("marked_email_as_spam_at", "Marked Email as Spam At")
                .description("The date the user marked their email as spam.")
                .allow_null(),
        )
        .field(
            Field::string("phone", "Phone Number")
                .description("The user's phone number")
                .allow_null()
                .default(path("$.traits.phone")),
        )
        .field(
            Field::string("push_subscribe", "Push Subscribe").description(
                "The user's push subscription preference: opted_in, unsubscribed or subscribed.",
            ),
        )
        .field(
            Field::object("push_tokens", "Push Tokens")
                .description("Objects with app_id and token, and optionally device_id.")
                .multiple(),
        )
        .field(Field::string("time_zone", "Time zone").description(
            "The user's time zone name from the IANA Time Zone Database (e.g. America/New_York).",
        ))
        .field(
            Field::object("twitter", "Twitter Attribution Data").description(
                "Any of id, screen_name, followers_count, friends_count, statuses_count.",
            ),
        )
        .field(
            Field::object("subscription_groups", "Subscription Groups")
                .description(
                    "Objects with subscription_group_id and subscription_state (subscribed or \
                     unsubscribed).",
                )
                .multiple(),
        )
        .field(
            Field::object("custom_attributes", "Custom Attributes")
                .description("Hash of custom attributes to send to Braze")
                .default(path("$.traits")),
        )
        .field(update_mode(v2, v2::PROFILE_DEFAULT));
    performed(
        action,
        v2,
        (track::update_user_profile, track::update_user_profile_batch),
        (v2::update_user_profile, v2::update_user_profile_batch),
    )
}

switchyard_plugin_sdk::export!(plugin);
