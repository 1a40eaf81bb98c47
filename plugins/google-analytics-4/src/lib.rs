//! Google Analytics 4: events through the GA4 Measurement Protocol (cloud mode).
//!
//! Compatible with Segment's "Google Analytics 4 Cloud": the same nineteen action ids, the
//! `measurementId`, `firebaseAppId` and `apiSecret` settings, field keys, default mappings and
//! default triggers. Every action sends one event to `POST /mp/collect`, for a web stream
//! (measurement id, client id) or an app stream (Firebase app id, app instance id).

mod actions;
mod response;
mod settings;

#[cfg(test)]
mod tests;

use serde_json::json;
use switchyard_plugin_sdk::mapping::path;
use switchyard_plugin_sdk::{Action, Field, Plugin, Setting};

/// Where the `items` field's default mapping takes products from.
#[derive(Clone, Copy)]
enum Items {
    /// No `items` field.
    None,
    /// `properties.products`, with each product's position as `index`.
    Products,
    /// The event's properties, for events about one product.
    Single,
}

/// An action: id, title, description, default trigger, whether `items` is required, where
/// items come from, and its own fields.
struct Spec {
    id: &'static str,
    title: &'static str,
    description: &'static str,
    trigger: &'static str,
    items: Items,
    items_required: bool,
    fields: fn() -> Vec<Field>,
    perform: actions::Perform,
}

fn currency(required: bool) -> Field {
    let f = Field::string("currency", "Currency")
        .description(
            "Currency of the items associated with the event, in 3-letter ISO 4217 format.",
        )
        .default(path("$.properties.currency"));
    if required { f.required() } else { f }
}

fn value(from: &str) -> Field {
    Field::number("value", "Value")
        .description("The monetary value of the event.")
        .default(path(from))
}

fn text(key: &str, label: &str, description: &str, from: Option<&str>) -> Field {
    let f = Field::string(key, label).description(description);
    match from {
        Some(p) => f.default(path(p)),
        None => f,
    }
}

fn coupon(from: Option<&str>) -> Field {
    text("coupon", "Coupon", "Coupon code used for a purchase.", from)
}

fn transaction_id() -> Field {
    text(
        "transaction_id",
        "Order Id",
        "The unique identifier of a transaction.",
        Some("$.properties.order_id"),
    )
    .required()
}

fn affiliation() -> Field {
    text(
        "affiliation",
        "Affiliation",
        "Store or affiliation from which this transaction occurred (e.g. Google Store).",
        Some("$.properties.affiliation"),
    )
}

fn number(key: &str, label: &str, description: &str, from: Option<&str>) -> Field {
    let f = Field::number(key, label).description(description);
    match from {
        Some(p) => f.default(path(p)),
        None => f,
    }
}

fn shipping() -> Field {
    number(
        "shipping",
        "Shipping",
        "Shipping cost associated with the transaction.",
        Some("$.properties.shipping"),
    )
}

fn tax(from: Option<&str>) -> Field {
    number(
        "tax",
        "Tax",
        "Total tax associated with the transaction.",
        from,
    )
}

fn list_fields(id_from: Option<&str>, name_from: Option<&str>) -> Vec<Field> {
    vec![
        text(
            "item_list_id",
            "Item List ID",
            "The ID of the list in which the item was presented to the user.",
            id_from,
        ),
        text(
            "item_list_name",
            "Item List Name",
            "The name of the list in which the item was presented to the user.",
            name_from,
        ),
    ]
}

fn promotion_fields(location_from: Option<&str>) -> Vec<Field> {
    vec![
        text(
            "creative_name",
            "Creative Name",
            "The name of the promotional creative.",
            None,
        ),
        text(
            "creative_slot",
            "Creative Slot",
            "The name of the promotional creative slot associated with the event.",
            Some("$.properties.creative"),
        ),
        text(
            "location_id",
            "Location ID",
            "The ID of the location.",
            location_from,
        ),
        text(
            "promotion_id",
            "Promotion ID",
            "The ID of the promotion associated with the event.",
            Some("$.properties.promotion_id"),
        ),
        text(
            "promotion_name",
            "Promotion Name",
            "The name of the promotion associated with the event.",
            Some("$.properties.name"),
        ),
    ]
}

fn cart_fields() -> Vec<Field> {
    vec![currency(false), value("$.properties.value")]
}

const SPECS: &[Spec] = &[
    Spec {
        id: "purchase",
        title: "Purchase",
        description: "Send event when a user completes a purchase",
        trigger: "type = \"track\" and event = \"Order Completed\"",
        items: Items::Products,
        items_required: true,
        fields: || {
            vec![
                affiliation(),
                coupon(Some("$.properties.coupon")),
                currency(true),
                transaction_id(),
                shipping(),
                tax(Some("$.properties.tax")),
                value("$.properties.total"),
            ]
        },
        perform: actions::purchase,
    },
    Spec {
        id: "addToCart",
        title: "Add to Cart",
        description: "Send event when a user adds items to a cart",
        trigger: "type = \"track\" and event = \"Product Added\"",
        items: Items::Single,
        items_required: true,
        fields: cart_fields,
        perform: actions::add_to_cart,
    },
    Spec {
        id: "pageView",
        title: "Page View",
        description: "Send page view when a user views a page",
        trigger: "type = \"page\"",
        items: Items::None,
        items_required: false,
        fields: || {
            vec![
                text(
                    "page_location",
                    "Page Location",
                    "The current page URL",
                    Some("$.context.page.url"),
                ),
                text(
                    "page_referrer",
                    "Page Referrer",
                    "Previous page URL",
                    Some("$.context.page.referrer"),
                ),
                text(
                    "page_title",
                    "Page Title",
                    "The current page title",
                    Some("$.context.page.title"),
                ),
            ]
        },
        perform: actions::page_view,
    },
    Spec {
        id: "customEvent",
        title: "Custom Event",
        description: "Send any custom event",
        trigger: "type = \"track\"",
        items: Items::None,
        items_required: false,
        fields: || {
            vec![
                Field::string("name", "Event Name")
                    .description(
                        "The unique name of the custom event. Spaces become underscores; GA4 \
                         allows letters, digits and underscores, starting with a letter.",
                    )
                    .required()
                    .default(path("$.event")),
                Field::boolean("lowercase", "Lowercase Event Name")
                    .description("If true, the event name is sent in lower case.")
                    .default(json!(false)),
            ]
        },
        perform: actions::custom_event,
    },
    Spec {
        id: "selectItem",
        title: "Select Item",
        description: "Send event when a user selects an item from a list",
        trigger: "type = \"track\" and event = \"Product Clicked\"",
        items: Items::Single,
        items_required: true,
        fields: || list_fields(None, None),
        perform: actions::select_item,
    },
    Spec {
        id: "beginCheckout",
        title: "Begin Checkout",
        description: "Send event when a user begins checkout",
        trigger: "type = \"track\" and event = \"Checkout Started\"",
        items: Items::Products,
        items_required: true,
        fields: || {
            vec![
                coupon(Some("$.properties.coupon")),
                currency(false),
                value("$.properties.value"),
            ]
        },
        perform: actions::begin_checkout,
    },
    Spec {
        id: "selectPromotion",
        title: "Select Promotion",
        description: "Send event when a user selects a promotion",
        trigger: "type = \"track\" and event = \"Promotion Clicked\"",
        items: Items::Single,
        items_required: false,
        fields: || promotion_fields(None),
        perform: actions::select_promotion,
    },
    Spec {
        id: "viewItem",
        title: "View Item",
        description: "Send event when a user views an item",
        trigger: "type = \"track\" and event =  \"Product Viewed\"",
        items: Items::Single,
        items_required: true,
        fields: cart_fields,
        perform: actions::view_item,
    },
    Spec {
        id: "removeFromCart",
        title: "Remove from Cart",
        description: "Send event when a user removes items from a cart",
        trigger: "type = \"track\" and event = \"Product Removed\"",
        items: Items::Single,
        items_required: true,
        fields: cart_fields,
        perform: actions::remove_from_cart,
    },
    Spec {
        id: "viewCart",
        title: "View Cart",
        description: "Send event when a user views their cart",
        trigger: "type = \"track\" and event = \"Cart Viewed\"",
        items: Items::Products,
        items_required: true,
        fields: cart_fields,
        perform: actions::view_cart,
    },
    Spec {
        id: "search",
        title: "Search",
        description: "Send event when a user searches your content",
        trigger: "type = \"track\" and event = \"Products Searched\"",
        items: Items::None,
        items_required: false,
        fields: || {
            vec![
                text(
                    "search_term",
                    "Search Term",
                    "The term that was searched for.",
                    Some("$.properties.query"),
                )
                .required(),
            ]
        },
        perform: actions::search,
    },
    Spec {
        id: "viewItemList",
        title: "View Item List",
        description: "Send event when a user views a list of items",
        trigger: "type = \"track\" and event = \"Product List Viewed\"",
        items: Items::Products,
        items_required: true,
        fields: || list_fields(Some("$.properties.list_id"), Some("$.properties.category")),
        perform: actions::view_item_list,
    },
    Spec {
        id: "signUp",
        title: "Sign Up",
        description: "Send event when a user signs up",
        trigger: "type = \"track\" and event = \"Signed Up\"",
        items: Items::None,
        items_required: false,
        fields: || {
            vec![text(
                "method",
                "Method",
                "The method used for sign up.",
                Some("$.properties.type"),
            )]
        },
        perform: actions::sign_up,
    },
    Spec {
        id: "viewPromotion",
        title: "View Promotion",
        description: "Send event when a promotion is shown to a user",
        trigger: "type = \"track\" and event = \"Promotion Viewed\"",
        items: Items::Single,
        items_required: true,
        fields: || promotion_fields(Some("$.properties.position")),
        perform: actions::view_promotion,
    },
    Spec {
        id: "addPaymentInfo",
        title: "Add Payment Info",
        description: "Send event when a user submits their payment information",
        trigger: "type = \"track\" and event = \"Payment Info Entered\"",
        items: Items::Products,
        items_required: true,
        fields: || {
            vec![
                currency(false),
                value("$.properties.value"),
                coupon(None),
                text(
                    "payment_type",
                    "Payment Type",
                    "The chosen method of payment.",
                    Some("$.properties.payment_method"),
                ),
            ]
        },
        perform: actions::add_payment_info,
    },
    Spec {
        id: "refund",
        title: "Refund",
        description: "Send event when a refund is issued",
        trigger: "type = \"track\" and event = \"Order Refunded\"",
        items: Items::Products,
        items_required: false,
        fields: || {
            vec![
                currency(false),
                transaction_id(),
                value("$.properties.total"),
                affiliation(),
                coupon(None),
                shipping(),
                tax(None),
            ]
        },
        perform: actions::refund,
    },
    Spec {
        id: "login",
        title: "Login",
        description: "Send event when a user logs in",
        trigger: "type = \"track\" and event = \"Signed In\"",
        items: Items::None,
        items_required: false,
        fields: || vec![text("method", "Method", "The method used to login.", None)],
        perform: actions::login,
    },
    Spec {
        id: "generateLead",
        title: "Generate Lead",
        description: "Send event when a user submits a form or request for information",
        trigger: "type = \"track\"",
        items: Items::None,
        items_required: false,
        fields: cart_fields,
        perform: actions::generate_lead,
    },
    Spec {
        id: "addToWishlist",
        title: "Add to Wishlist",
        description: "Send event when a user adds items to a wishlist",
        trigger: "type = \"track\" and event = \"Product Added to Wishlist\"",
        items: Items::Single,
        items_required: true,
        fields: cart_fields,
        perform: actions::add_to_wishlist,
    },
];

fn items_field(items: Items, required: bool) -> Option<Field> {
    let root = match items {
        Items::None => return None,
        Items::Products => "$.properties.products",
        Items::Single => "$.properties",
    };
    let field = Field::object("items", "Products")
        .description(
            "The products of the event: item_id or item_name, and optionally affiliation, \
             coupon, currency, discount, index, item_brand, item_category (2-5), item_list_id, \
             item_list_name, item_variant, location_id, price, quantity.",
        )
        .multiple()
        .default_with(|| {
            let mut shape = json!({"item_id": path("$.product_id"), "item_name": path("$.name"),
                "affiliation": path("$.affiliation"), "coupon": path("$.coupon"),
                "item_brand": path("$.brand"), "item_category": path("$.category"),
                "item_variant": path("$.variant"), "price": path("$.price"),
                "quantity": path("$.quantity")});
            if matches!(items, Items::Products) {
                shape["index"] = path("$.position");
            }
            json!({"@arrayPath": [root, shape]})
        });
    Some(if required { field.required() } else { field })
}

fn action(spec: &Spec) -> Action {
    let client_key = if matches!(spec.id, "pageView" | "customEvent") {
        "clientId"
    } else {
        "client_id"
    };
    let mut action = Action::new(spec.id, spec.title)
        .description(spec.description)
        .default_trigger(spec.trigger)
        .field(
            Field::string("data_stream_type", "Data Stream Type")
                .description("Web (default) or Mobile App.")
                .choice("Web", "Web")
                .choice("Mobile App", "Mobile App")
                .default(json!("Web")),
        )
        .field(Field::string("app_instance_id", "Firebase App Instance ID").description(
            "Uniquely identifies a specific installation of a Firebase app. Required for mobile \
             app streams.",
        ))
        .field(
            Field::string(client_key, "Client ID")
                .description("Uniquely identifies a user instance of a web client. Required for web streams.")
                .default_with(|| json!({"@if": {"exists": {"@path": "$.userId"},
                    "then": {"@path": "$.userId"}, "else": {"@path": "$.anonymousId"}}})),
        )
        .field(Field::string("user_id", "User ID").description("A unique identifier for a user."))
        .field(
            Field::string("timestamp_micros", "Event Timestamp")
                .description(
                    "A Unix timestamp in microseconds for the event; an ISO 8601 time is \
                     converted.",
                )
                .default(path("$.timestamp")),
        );
    for field in (spec.fields)() {
        action = action.field(field);
    }
    if let Some(items) = items_field(spec.items, spec.items_required) {
        action = action.field(items);
    }
    action
        .field(
            Field::object("user_properties", "User Properties")
                .description("User properties to send to GA4 (user-scoped custom dimensions)."),
        )
        .field(
            Field::number("engagement_time_msec", "Engagement Time in Milliseconds")
                .description("The time a user interacted with your site, in milliseconds.")
                .default(json!(1)),
        )
        .field(
            Field::object("params", "Event Parameters")
                .description("More event parameters to send to GA4; they override the ones above."),
        )
        .field(
            Field::string("ad_user_data_consent", "Ad User Data Consent State")
                .description("Consent for sending user data to Google for advertising purposes.")
                .choice("GRANTED", "Granted")
                .choice("DENIED", "Denied"),
        )
        .field(
            Field::string(
                "ad_personalization_consent",
                "Ad Personalization Consent State",
            )
            .description("Consent for personalized advertising.")
            .choice("GRANTED", "Granted")
            .choice("DENIED", "Denied"),
        )
        .perform(spec.perform)
}

/// The Google Analytics 4 plugin.
pub fn plugin() -> Plugin {
    let mut plugin = Plugin::new(
        "google-analytics-4",
        "Google Analytics 4",
        env!("CARGO_PKG_VERSION"),
    )
    .description("Send events to Google Analytics 4 through the Measurement Protocol.")
    .allowed_host("https://www.google-analytics.com")
    .setting(
        Setting::string("measurementId", "Measurement ID").description(
            "The Measurement ID of a web data stream (Admin > Data Streams). Required for web \
             streams.",
        ),
    )
    .setting(
        Setting::string("firebaseAppId", "Firebase App ID").description(
            "The Firebase App ID of an app (Project Settings > General > Your Apps). Required \
             for mobile app streams.",
        ),
    )
    .setting(
        Setting::string("apiSecret", "API Secret")
            .description(
                "A Measurement Protocol API secret (Admin > Data Streams > Measurement Protocol).",
            )
            .required()
            .secret(),
    );
    for spec in SPECS {
        plugin = plugin.action(action(spec));
    }
    plugin
}

switchyard_plugin_sdk::export!(plugin);
