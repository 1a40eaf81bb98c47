//! Facebook (Meta) Conversions API: server events through the Graph API (v24.0).
//!
//! Compatible with Segment's "Facebook Conversions API (Actions)": the same action ids
//! (purchase, initiateCheckout, addToCart, viewContent, search, pageView, custom), the
//! `pixelId` and `testEventCode` settings, field keys, default mappings and default triggers.
//! One addition: the access token is the `accessToken` setting (a secret), where Segment uses
//! its own system-user token from its environment. Customer information in `user_data` is
//! normalised and hashed before it leaves (module `user_data`).

mod request;
mod user_data;

#[cfg(test)]
mod tests;

use serde_json::json;
use switchyard_plugin_sdk::mapping::path;
use switchyard_plugin_sdk::{Action, Field, Plugin, Setting};

fn contents(single: bool) -> Field {
    let root = if single {
        "$.properties"
    } else {
        "$.properties.products"
    };
    Field::object("contents", "Contents")
        .description(
            "Products of the event: id, quantity, item_price and delivery_category (in_store, \
             curbside or home_delivery).",
        )
        .multiple()
        .default(json!({"@arrayPath": [root, {"id": path("$.product_id"),
            "quantity": path("$.quantity"), "item_price": path("$.price")}]}))
}

fn currency(required: bool) -> Field {
    let f = Field::string("currency", "Currency")
        .description("The currency for the value, as a three-letter ISO 4217 code.")
        .default(path("$.properties.currency"));
    if required { f.required() } else { f }
}

fn value(from: Option<&str>, required: bool) -> Field {
    let f = Field::number("value", "Value")
        .description("A numeric value associated with this event, such as a monetary value.");
    let f = match from {
        Some(p) => f.default(path(p)),
        None => f,
    };
    if required { f.required() } else { f }
}

fn content_ids(from: Option<&str>) -> Field {
    let f = Field::string("content_ids", "Content IDs")
        .description("The content IDs associated with the event, such as product SKUs.")
        .multiple();
    match from {
        Some(p) => f.default(path(p)),
        None => f,
    }
}

fn plain(key: &str, label: &str, description: &str) -> Field {
    Field::string(key, label).description(description)
}

fn content_name() -> Field {
    plain(
        "content_name",
        "Content Name",
        "The name of the page or product associated with the event.",
    )
}

fn content_type() -> Field {
    plain("content_type", "Content Type", "product or product_group.")
}

fn content_category() -> Field {
    plain(
        "content_category",
        "Content Category",
        "The category of the content associated with the event.",
    )
}

fn num_items() -> Field {
    Field::integer("num_items", "Number of Items")
        .description("The number of items when checkout was initiated.")
}

/// The fields every action has, around the action's own.
fn action(
    id: &str,
    title: &str,
    description: &str,
    trigger: Option<&str>,
    own: Vec<Field>,
) -> Action {
    let mut action = Action::new(id, title).description(description);
    if let Some(t) = trigger {
        action = action.default_trigger(t);
    }
    let mut source = Field::string("action_source", "Action Source")
        .description("Where the conversion occurred.")
        .required();
    for s in request::ACTION_SOURCES {
        source = source.choice(s, s);
    }
    action = action
        .field(source)
        .field(
            Field::string("event_time", "Event Time")
                .description(
                    "When the event occurred: Unix seconds, or ISO 8601 (Meta converts it).",
                )
                .required()
                .default(path("$.timestamp")),
        )
        .field(
            Field::object("user_data", "User Data")
                .description(
                    "Customer information (externalId, email, phone, gender, dateOfBirth, \
                     lastName, firstName, city, state, zip, country are hashed; \
                     client_ip_address, client_user_agent, fbc, fbp, subscriptionID, leadID, \
                     fbLoginID, anonId, madId, partner_id, partner_name, ctwa_clid are not).",
                )
                .required()
                .default(json!({
                    "externalId": {"@if": {"exists": {"@path": "$.userId"},
                        "then": {"@path": "$.userId"}, "else": {"@path": "$.anonymousId"}}},
                    "email": path("$.context.traits.email"),
                    "phone": path("$.context.traits.phone"),
                    "dateOfBirth": path("$.context.traits.birthday"),
                    "lastName": path("$.context.traits.lastName"),
                    "firstName": path("$.context.traits.firstName"),
                    "city": path("$.context.traits.address.city"),
                    "state": path("$.context.traits.address.state"),
                    "zip": path("$.context.traits.address.postalCode"),
                    "client_ip_address": path("$.context.ip"),
                    "client_user_agent": path("$.context.userAgent"),
                    "fbc": path("$.properties.fbc"),
                    "fbp": path("$.properties.fbp")})),
        )
        .field(
            Field::object("app_data_field", "App Data")
                .description("App event details; sent only when use_app_data is true.")
                .default(json!({
                    "use_app_data": false,
                    "application_tracking_enabled": path("$.context.device.adTrackingEnabled"),
                    "packageName": path("$.context.app.namespace"),
                    "longVersion": path("$.context.app.version"),
                    "osVersion": path("$.context.os.version"),
                    "deviceName": path("$.context.device.model"),
                    "locale": path("$.context.locale"),
                    "carrier": path("$.context.network.carrier"),
                    "width": path("$.context.screen.width"),
                    "height": path("$.context.screen.height"),
                    "density": path("$.context.screen.density"),
                    "deviceTimezone": path("$.context.timezone"),
                    "madId": path("$.context.madId")})),
        );
    for f in own {
        action = action.field(f);
    }
    // Meta's accepted values (0 or 1; 0 or 1000-1010) are described, not listed as choices:
    // choices are text and these fields are numbers.
    let state = Field::number("data_processing_options_state", "Data Processing State")
        .description("1000 for California (1001-1010 for other states), or 0 to let Meta geolocate the event.");
    action
        .field(
            Field::string("event_id", "Event ID")
                .description(
                    "Any unique string; used to deduplicate Pixel and Conversions API events.",
                )
                .default(path("$.messageId")),
        )
        .field(
            Field::string("event_source_url", "Event Source URL")
                .description("The browser URL where the event happened.")
                .default(path("$.context.page.url")),
        )
        .field(
            Field::object("custom_data", "Custom Data")
                .description("Custom properties sent in custom_data; the action's own fields win."),
        )
        .field(
            Field::boolean("data_processing_options", "Data Processing Options")
                .description("If true, the event is processed with Limited Data Use (LDU)."),
        )
        .field(
            Field::number("data_processing_options_country", "Data Processing Country")
                .description("1 for the United States, or 0 to let Meta geolocate the event."),
        )
        .field(state)
        .field(
            Field::string("test_event_code", "Test Event Code")
                .description("Send the event as a test event, with the code from Events Manager."),
        )
}

/// The Facebook Conversions API plugin.
pub fn plugin() -> Plugin {
    Plugin::new(
        "facebook-conversions-api",
        "Facebook Conversions API",
        env!("CARGO_PKG_VERSION"),
    )
    .description("Send server events to Meta's Conversions API.")
    .allowed_host("https://graph.facebook.com")
    .setting(
        Setting::string("pixelId", "Pixel ID")
            .description("Your Facebook Pixel ID, or a dataset ID.")
            .required(),
    )
    .setting(
        Setting::string("testEventCode", "Test Event Code")
            .description("Send every event as a test event, with the code from Events Manager."),
    )
    .setting(
        Setting::string("accessToken", "Access Token")
            .description("A Conversions API access token (Events Manager > Settings).")
            .required()
            .secret(),
    )
    .action(
        action(
            "purchase",
            "Purchase",
            "Send event when a user completes a purchase",
            Some("type = \"track\" and event = \"Order Completed\""),
            vec![
                currency(true),
                value(Some("$.properties.revenue"), true),
                Field::number("net_revenue", "Net Revenue")
                    .description("The net revenue of the purchase."),
                content_ids(None),
                content_name(),
                content_type(),
                contents(false),
                num_items(),
            ],
        )
        .perform(request::purchase),
    )
    .action(
        action(
            "initiateCheckout",
            "Initiate Checkout",
            "Send event when a user enters the checkout flow",
            Some("type = \"track\" and event = \"Checkout Started\""),
            vec![
                content_category(),
                content_ids(None),
                contents(false),
                currency(false),
                num_items(),
                value(Some("$.properties.revenue"), false),
            ],
        )
        .perform(request::initiate_checkout),
    )
    .action(
        action(
            "addToCart",
            "Add to Cart",
            "Send event when a user adds a product to the shopping cart",
            Some("type = \"track\" and event = \"Product Added\""),
            vec![
                content_ids(None),
                content_name(),
                content_type(),
                contents(true),
                currency(false),
                value(Some("$.properties.price"), false),
            ],
        )
        .perform(request::add_to_cart),
    )
    .action(
        action(
            "viewContent",
            "View Content",
            "Send event when a user views content or a product",
            Some("type = \"track\" and event = \"Product Viewed\""),
            vec![
                content_category(),
                content_ids(Some("$.properties.product_id")),
                content_name(),
                content_type(),
                contents(true),
                currency(false),
                value(Some("$.properties.price"), false),
            ],
        )
        .perform(request::view_content),
    )
    .action(
        action(
            "search",
            "Search",
            "Send event when a user searches content or products",
            Some("type = \"track\" and event = \"Products Searched\""),
            vec![
                content_category(),
                content_ids(None),
                contents(true),
                currency(false),
                Field::string("search_string", "Search String")
                    .description("The string entered by the user for the search.")
                    .default(path("$.properties.query")),
                value(None, false),
            ],
        )
        .perform(request::search),
    )
    .action(
        action(
            "pageView",
            "Page View",
            "Send a page view event when a user lands on a page",
            Some("type = \"page\""),
            Vec::new(),
        )
        .perform(request::page_view),
    )
    .action(
        action(
            "custom",
            "Custom Event",
            "Send a custom event",
            None,
            vec![
                Field::string("event_name", "Event Name")
                    .description("A Facebook standard event or a custom event name.")
                    .required()
                    .default(path("$.event")),
            ],
        )
        .perform(request::custom),
    )
}

switchyard_plugin_sdk::export!(plugin);
