//! TikTok Conversions: report web (and CRM) events to TikTok's Events API v1.3.
//!
//! Compatible with Segment's "Tiktok Conversions" destination: the `reportWebEvent` action
//! with the same field keys and default mappings, the `accessToken` and `pixelCode` settings,
//! and its fifteen presets, each of which names the TikTok event. Personal data is normalised
//! and hashed with SHA-256 before it leaves (see `actions/mod.rs`).

mod actions;
mod response;
mod settings;

#[cfg(test)]
mod tests;

use serde_json::{Value, json};
use switchyard_plugin_sdk::mapping::{path, path_or};
use switchyard_plugin_sdk::{Action, Field, Plugin, Preset, Setting};

/// (preset name, Segment trigger, TikTok event, what `contents` is built from).
const PRESETS: &[(&str, &str, &str, Contents)] = &[
    (
        "Complete Payment",
        "event = \"Order Completed\"",
        "CompletePayment",
        Contents::Products,
    ),
    (
        "Contact",
        "event = \"Callback Started\"",
        "Contact",
        Contents::None,
    ),
    (
        "Subscribe",
        "event = \"Subscription Created\"",
        "Subscribe",
        Contents::None,
    ),
    (
        "Submit Form",
        "event = \"Form Submitted\"",
        "SubmitForm",
        Contents::None,
    ),
    ("Page View", "type=\"page\"", "PageView", Contents::None),
    (
        "View Content",
        "event = \"Product Viewed\"",
        "ViewContent",
        Contents::Product,
    ),
    (
        "Click Button",
        "event = \"Product Clicked\"",
        "ClickButton",
        Contents::Product,
    ),
    (
        "Search",
        "event = \"Products Searched\"",
        "Search",
        Contents::None,
    ),
    (
        "Add to Wishlist",
        "event = \"Product Added to Wishlist\"",
        "AddToWishlist",
        Contents::Product,
    ),
    (
        "Add to Cart",
        "event = \"Product Added\"",
        "AddToCart",
        Contents::Product,
    ),
    (
        "Initiate Checkout",
        "event = \"Checkout Started\"",
        "InitiateCheckout",
        Contents::Products,
    ),
    (
        "Add Payment Info",
        "event = \"Payment Info Entered\"",
        "AddPaymentInfo",
        Contents::None,
    ),
    (
        "Place an Order",
        "event = \"Order Placed\"",
        "PlaceAnOrder",
        Contents::Products,
    ),
    (
        "Download",
        "event = \"Download Link Clicked\"",
        "Download",
        Contents::None,
    ),
    (
        "Complete Registration",
        "event = \"Signed Up\"",
        "CompleteRegistration",
        Contents::None,
    ),
];

/// Where a preset's `contents` come from.
#[derive(Clone, Copy)]
enum Contents {
    None,
    /// Each of `properties.products`.
    Products,
    /// The event's properties, for events about one product.
    Product,
}

/// `properties.<key>` if present, else `<fallback>`.
fn either(key: &str, fallback: &str) -> Value {
    path_or(&format!("$.properties.{key}"), fallback)
}

fn preset_mapping(event: &str, contents: Contents) -> Value {
    let item = |prefix: &str| {
        json!({"price": path(&format!("{prefix}price")),
            "quantity": path(&format!("{prefix}quantity")),
            "content_category": path(&format!("{prefix}category")),
            "content_id": path(&format!("{prefix}product_id")),
            "content_name": path(&format!("{prefix}name")),
            "brand": path(&format!("{prefix}brand"))})
    };
    let mut mapping = json!({"event": event});
    match contents {
        Contents::None => {}
        Contents::Products => {
            mapping["contents"] = json!({"@arrayPath": ["$.properties.products", item("$.")]});
        }
        Contents::Product => mapping["contents"] = json!([item("$.properties.")]),
    }
    mapping
}

/// The TikTok Conversions plugin.
pub fn plugin() -> Plugin {
    let mut plugin = Plugin::new(
        "tiktok-conversions",
        "TikTok Conversions",
        env!("CARGO_PKG_VERSION"),
    )
    .description("Report web and CRM conversion events to TikTok's Events API.")
    .allowed_host("https://business-api.tiktok.com")
    .setting(
        Setting::string("accessToken", "Access Token")
            .description("Your TikTok Events API access token.")
            .required()
            .secret(),
    )
    .setting(
        Setting::string("pixelCode", "Pixel Code")
            .description("Your TikTok Pixel ID.")
            .required(),
    );
    for (name, trigger, event, contents) in PRESETS {
        plugin = plugin.preset(
            Preset::new(name, "reportWebEvent", trigger)
                .mapping_with(|| preset_mapping(event, *contents)),
        );
    }
    plugin.action(report_web_event())
}

fn report_web_event() -> Action {
    let address = json!({
        "city": either("address.city", "$.context.traits.address.city"),
        "country": either("address.country", "$.context.traits.address.country"),
        "zip_code": either("address.postal_code", "$.context.traits.address.postal_code"),
        "state": either("address.state", "$.context.traits.address.state")});
    let object_of = |keys: &[(&str, &str)]| -> Value {
        keys.iter()
            .map(|(k, from)| ((*k).to_string(), path(&format!("$.properties.{from}"))))
            .collect::<serde_json::Map<_, _>>()
            .into()
    };
    let vehicle = object_of(&[
        ("postal_code", "postal_code"),
        ("make", "make"),
        ("model", "model"),
        ("year", "year"),
        ("state_of_vehicle", "state_of_vehicle"),
        ("mileage_value", "mileage_value"),
        ("mileage_unit", "mileage_unit"),
        ("exterior_color", "exterior_color"),
        ("transmission", "transmission"),
        ("body_style", "body_style"),
        ("fuel_type", "fuel_type"),
        ("drivetrain", "drive_train"),
        ("preferred_price_range_min", "preferred_price_range_min"),
        ("preferred_price_range_max", "preferred_price_range_max"),
        ("trim", "trim"),
        ("vin", "vin"),
        ("interior_color", "interior_color"),
        ("condition_of_vehicle", "condition_of_vehicle"),
        ("viewcontent_type", "viewcontent_type"),
        ("search_type", "search_type"),
        ("registration_type", "registration_type"),
    ]);
    let travel_keys = [
        "city",
        "region",
        "country",
        "checkin_date",
        "checkout_date",
        "num_adults",
        "num_children",
        "num_infants",
        "suggested_hotels",
        "departing_departure_date",
        "returning_departure_date",
        "origin_airport",
        "destination_airport",
        "destination_ids",
        "departing_arrival_date",
        "returning_arrival_date",
        "travel_class",
        "user_score",
        "preferred_num_stops",
        "travel_start",
        "travel_end",
        "suggested_destinations",
    ];
    let travel = object_of(&travel_keys.map(|k| (k, k)));
    Action::new("reportWebEvent", "Report Web Event")
        .description(
            "Report Web events directly to TikTok. Data shared can power TikTok solutions like \
             dynamic product ads, custom targeting, campaign optimization and attribution.",
        )
        .field(
            Field::string("event_source", "Event Source")
                .description("The type of events you are uploading: web or crm.")
                .choice("web", "Web")
                .choice("crm", "CRM")
                .default(json!("web")),
        )
        .field(
            Field::string("event_spec_type", "Additional Fields")
                .description("Include fields for travel or vehicle events (web events only).")
                .choice("travel_fields", "Travel fields")
                .choice("vehicle_fields", "Vehicle fields"),
        )
        .field(
            Field::string("event", "Event Name")
                .description("Conversion event name, one of TikTok's supported web events.")
                .required(),
        )
        .field(
            Field::string("event_id", "Event ID")
                .description("Any hashed ID that can identify a unique user/session.")
                .default(path("$.messageId")),
        )
        .field(
            Field::string("timestamp", "Event Timestamp")
                .description("Timestamp that the event took place, in ISO 8601 format.")
                .default(path("$.timestamp")),
        )
        .field(
            Field::string("phone_number", "Phone Number")
                .description("Phone numbers in E.164 format; hashed before sending.")
                .multiple()
                .default(either("phone", "$.context.traits.phone")),
        )
        .field(
            Field::string("email", "Email")
                .description("Email addresses; hashed before sending.")
                .multiple()
                .default(either("email", "$.context.traits.email")),
        )
        .field(
            Field::string("first_name", "First Name")
                .description("The first name of the customer; hashed before sending.")
                .default(either("first_name", "$.context.traits.first_name")),
        )
        .field(
            Field::string("last_name", "Last Name")
                .description("The last name of the customer; hashed before sending.")
                .default(either("last_name", "$.context.traits.last_name")),
        )
        .field(
            Field::object("address", "Address")
                .description("city, country, zip_code (hashed) and state of the customer.")
                .default(address),
        )
        .field(
            Field::string("order_id", "Order ID")
                .description("Order ID of the transaction.")
                .default(path("$.properties.order_id")),
        )
        .field(
            Field::string("shop_id", "Shop ID")
                .description("Shop ID of the transaction.")
                .default(path("$.properties.shop_id")),
        )
        .field(
            Field::string("external_id", "External ID")
                .description("Identifies the user who triggered the event; hashed before sending.")
                .multiple()
                .default_with(|| {
                    json!({"@if": {"exists": {"@path": "$.userId"},
                    "then": {"@path": "$.userId"}, "else": {"@path": "$.anonymousId"}}})
                }),
        )
        .field(
            Field::string("ttclid", "TikTok Click ID")
                .description("The ttclid used to match website visitor events with TikTok ads.")
                .default(either("ttclid", "$.integrations.TikTok Conversions.ttclid")),
        )
        .field(
            Field::string("ttp", "TikTok Cookie ID")
                .description("The value of the _ttp cookie set by TikTok's Pixel SDK.")
                .default(either("ttp", "$.integrations.TikTok Conversions.ttp")),
        )
        .field(
            Field::string("locale", "Locale")
                .description("The BCP 47 language identifier.")
                .default(path("$.context.locale")),
        )
        .field(
            Field::string("url", "Page URL")
                .description("The page URL where the conversion event took place.")
                .default(path("$.context.page.url")),
        )
        .field(
            Field::string("referrer", "Page Referrer")
                .description("The page referrer.")
                .default(path("$.context.page.referrer")),
        )
        .field(
            Field::string("ip", "IP Address")
                .description("IP address of the browser.")
                .default(path("$.context.ip")),
        )
        .field(
            Field::string("user_agent", "User Agent")
                .description("User agent from the user's device.")
                .default(path("$.context.userAgent")),
        )
        .field(
            Field::object("contents", "Contents")
                .description(
                    "Related items: price, quantity, content_category, content_id, \
                     content_name, brand.",
                )
                .multiple(),
        )
        .field(
            Field::string("content_ids", "Content IDs")
                .description("Product IDs associated with the event, such as SKUs.")
                .multiple()
                .default(path("$.properties.content_ids")),
        )
        .field(
            Field::number("num_items", "Number of Items")
                .description("Number of items when checkout was initiated.")
                .default(path("$.properties.num_items")),
        )
        .field(
            Field::string("content_type", "Content Type")
                .description("Type of the product item: product or product_group.")
                .choice("product", "Product")
                .choice("product_group", "Product Group")
                .default(json!("product")),
        )
        .field(
            Field::string("currency", "Currency")
                .description("Currency for the value specified as ISO 4217 code.")
                .default(path("$.properties.currency")),
        )
        .field(
            Field::number("value", "Value")
                .description("Value of the order or items sold.")
                .default(either("value", "$.properties.revenue")),
        )
        .field(
            Field::string("description", "Description")
                .description("A string description of the web event."),
        )
        .field(
            Field::string("query", "Query")
                .description("The text string that was searched for.")
                .default(path("$.properties.query")),
        )
        .field(
            Field::boolean("limited_data_use", "Limited Data Use")
                .description("Flag the event for limited data processing.")
                .default(path("$.properties.limited_data_use")),
        )
        .field(
            Field::string("test_event_code", "Test Event Code").description(
                "Send the events as test events, with the code from TikTok's Events Manager.",
            ),
        )
        .field(
            Field::string("delivery_category", "Delivery Category")
                .description("Category of the delivery.")
                .choice("in_store", "In store")
                .choice("curbside", "Curbside")
                .choice("home_delivery", "Home delivery")
                .default(path("$.properties.delivery_category")),
        )
        .field(
            Field::number("predicted_ltv", "Predicted Lifetime Value")
                .description("Predicted lifetime value of a subscriber.")
                .default(path("$.properties.predicted_ltv")),
        )
        .field(
            Field::string("search_string", "Search String")
                .description("The text string entered by the user for the search.")
                .default(path("$.properties.search_string")),
        )
        .field(
            Field::object("lead_fields", "CRM Fields")
                .description("lead_id and lead_event_source, for CRM events.")
                .default_with(|| {
                    json!({"lead_id": path("$.properties.lead_id"),
                    "lead_event_source": path("$.properties.lead_event_source")})
                }),
        )
        .field(
            Field::object("vehicle_fields", "Vehicle Fields")
                .description("Vehicle details, sent with event_spec_type vehicle_fields.")
                .default(vehicle),
        )
        .field(
            Field::object("travel_fields", "Travel Fields")
                .description("Hotel and flight details, sent with event_spec_type travel_fields.")
                .default(travel),
        )
        .perform(actions::report_web_event::perform)
}

switchyard_plugin_sdk::export!(plugin);
