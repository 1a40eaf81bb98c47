//! Facebook (Meta) Conversions API: server events through the Graph API (v24.0).
//!
//! Compatible with Segment's "Facebook Conversions API (Actions)": the same action ids
//! (purchase, initiateCheckout, addToCart, viewContent, search, pageView, custom, and their V2
//! twins `purchase2`... whose sync mode is `add`), the `pixelId` and `testEventCode`
//! settings, field keys, default mappings and default triggers.
//! One addition: the access token is the `accessToken` setting (a secret), where Segment uses
//! its own system-user token from its environment. Customer information in `user_data` is
//! normalised and hashed before it leaves (`actions/user_data.rs`).

mod actions;
mod response;
mod settings;

#[cfg(test)]
mod tests;

use serde_json::json;
use switchyard_plugin_sdk::mapping::path;
use switchyard_plugin_sdk::{Action, Field, Plugin, SYNC_MODE, Setting};

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
        .default_with(|| {
            json!({"@arrayPath": [root, {"id": path("$.product_id"),
            "quantity": path("$.quantity"), "item_price": path("$.price")}]})
        })
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
    for s in actions::server_event::ACTION_SOURCES {
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
                .default_with(|| {
                    json!({
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
                    "fbp": path("$.properties.fbp")})
                }),
        )
        .field(
            Field::object("app_data_field", "App Data")
                .description("App event details; sent only when use_app_data is true.")
                .default_with(|| {
                    json!({
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
                    "madId": path("$.context.madId")})
                }),
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
    let mut plugin = Plugin::new(
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
    );
    let events = events();
    for e in &events {
        plugin = plugin.action(
            action(e.id, e.title, e.description, e.trigger, e.fields.clone()).perform(e.perform),
        );
    }
    // The V2 actions, after the others as in the reference: the same fields and requests,
    // plus a sync mode whose only choice is `add`.
    for e in events {
        let mut fields = e.fields;
        fields.push(
            Field::string(SYNC_MODE, "Sync Mode")
                .description("How records are synced; Meta's Conversions API only adds events.")
                .choice("add", "Add")
                .default(json!("add")),
        );
        let id = format!("{}2", e.id);
        let title = format!("{} V2", e.title);
        plugin = plugin
            .action(action(&id, &title, e.description, e.trigger, fields).perform(e.perform_v2));
    }
    plugin
}

/// One event action, declared once for its V1 and V2 ids.
struct Event {
    id: &'static str,
    title: &'static str,
    description: &'static str,
    trigger: Option<&'static str>,
    fields: Vec<Field>,
    perform: actions::Perform,
    perform_v2: actions::Perform,
}

fn events() -> Vec<Event> {
    vec![
        Event {
            id: "purchase",
            title: "Purchase",
            description: "Send event when a user completes a purchase",
            trigger: Some("type = \"track\" and event = \"Order Completed\""),
            fields: vec![
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
            perform: actions::purchase,
            perform_v2: actions::purchase_v2,
        },
        Event {
            id: "initiateCheckout",
            title: "Initiate Checkout",
            description: "Send event when a user enters the checkout flow",
            trigger: Some("type = \"track\" and event = \"Checkout Started\""),
            fields: vec![
                content_category(),
                content_ids(None),
                contents(false),
                currency(false),
                num_items(),
                value(Some("$.properties.revenue"), false),
            ],
            perform: actions::initiate_checkout,
            perform_v2: actions::initiate_checkout_v2,
        },
        Event {
            id: "addToCart",
            title: "Add to Cart",
            description: "Send event when a user adds a product to the shopping cart",
            trigger: Some("type = \"track\" and event = \"Product Added\""),
            fields: vec![
                content_ids(None),
                content_name(),
                content_type(),
                contents(true),
                currency(false),
                value(Some("$.properties.price"), false),
            ],
            perform: actions::add_to_cart,
            perform_v2: actions::add_to_cart_v2,
        },
        Event {
            id: "viewContent",
            title: "View Content",
            description: "Send event when a user views content or a product",
            trigger: Some("type = \"track\" and event = \"Product Viewed\""),
            fields: vec![
                content_category(),
                content_ids(Some("$.properties.product_id")),
                content_name(),
                content_type(),
                contents(true),
                currency(false),
                value(Some("$.properties.price"), false),
            ],
            perform: actions::view_content,
            perform_v2: actions::view_content_v2,
        },
        Event {
            id: "search",
            title: "Search",
            description: "Send event when a user searches content or products",
            trigger: Some("type = \"track\" and event = \"Products Searched\""),
            fields: vec![
                content_category(),
                content_ids(None),
                contents(true),
                currency(false),
                Field::string("search_string", "Search String")
                    .description("The string entered by the user for the search.")
                    .default(path("$.properties.query")),
                value(None, false),
            ],
            perform: actions::search,
            perform_v2: actions::search_v2,
        },
        Event {
            id: "pageView",
            title: "Page View",
            description: "Send a page view event when a user lands on a page",
            trigger: Some("type = \"page\""),
            fields: Vec::new(),
            perform: actions::page_view,
            perform_v2: actions::page_view_v2,
        },
        Event {
            id: "custom",
            title: "Custom Event",
            description: "Send a custom event",
            trigger: None,
            fields: vec![
                Field::string("event_name", "Event Name")
                    .description("A Facebook standard event or a custom event name.")
                    .required()
                    .default(path("$.event")),
            ],
            perform: actions::custom,
            perform_v2: actions::custom_v2,
        },
    ]
}

switchyard_plugin_sdk::export!(plugin);
