//! Amplitude: events, revenue, user and group properties through Amplitude's HTTP APIs.
//!
//! Compatible with Segment's "Actions Amplitude": the same action ids (`logEventV2`,
//! `logEvent`, `logPurchase`, `identifyUser`, `groupIdentifyUser`, `mapUser`), the `apiKey`,
//! `secretKey` and `endpoint` settings, field keys, default mappings and presets. The API key
//! travels inside the body (JSON or form field), as Amplitude's ingestion APIs expect.
//!
//! Actions: `actions/event.rs` builds the events of the three event actions (revenue, products,
//! user property operations, user-agent fields); `actions/identify.rs` the form-encoded
//! identify, group and user-map calls; `actions/ua.rs` reads operating system and device from a
//! user-agent string.

mod actions;
mod response;
mod settings;

#[cfg(test)]
mod tests;

use serde_json::{Value, json};
use switchyard_plugin_sdk::mapping::{path, path_or};
use switchyard_plugin_sdk::{Action, Field, FieldType, Plugin, Preset, Setting};

fn field(key: &str, label: &str, kind: FieldType, description: &str) -> Field {
    Field::new(key, label, kind).description(description)
}

fn with_path(f: Field, p: &str) -> Field {
    f.default(path(p))
}

const USER_ID: &str = "A readable ID specified by you. Required unless Device ID is present.";
const DEVICE_ID: &str = "A device-specific identifier. Required unless User ID is present.";
const INSERT_ID: &str =
    "Amplitude drops a later event with an Insert ID it has seen within 7 days.";
const MIN_ID_LENGTH: &str =
    "Overrides Amplitude's minimum length of 5 characters for user_id and device_id.";

fn user_id() -> Field {
    with_path(
        field("user_id", "User ID", FieldType::String, USER_ID),
        "$.userId",
    )
    .allow_null()
}

fn device_id() -> Field {
    field("device_id", "Device ID", FieldType::String, DEVICE_ID)
        .default(path_or("$.context.device.id", "$.anonymousId"))
}

fn user_properties() -> Field {
    with_path(
        field(
            "user_properties",
            "User Properties",
            FieldType::Object,
            "Properties of the user.",
        ),
        "$.traits",
    )
}

fn min_id_length() -> Field {
    field(
        "min_id_length",
        "Minimum ID Length",
        FieldType::Integer,
        MIN_ID_LENGTH,
    )
    .allow_null()
}

fn insert_id() -> Field {
    field("insert_id", "Insert ID", FieldType::String, INSERT_ID)
}

/// Device and location fields mapped from the event's context: (key, label, type, path).
const CONTEXT_FIELDS: &[(&str, &str, FieldType, &str)] = &[
    (
        "app_version",
        "App Version",
        FieldType::String,
        "$.context.app.version",
    ),
    (
        "platform",
        "Platform",
        FieldType::String,
        "$.context.device.type",
    ),
    ("os_name", "OS Name", FieldType::String, "$.context.os.name"),
    (
        "os_version",
        "OS Version",
        FieldType::String,
        "$.context.os.version",
    ),
    (
        "device_brand",
        "Device Brand",
        FieldType::String,
        "$.context.device.brand",
    ),
    (
        "device_manufacturer",
        "Device Manufacturer",
        FieldType::String,
        "$.context.device.manufacturer",
    ),
    (
        "device_model",
        "Device Model",
        FieldType::String,
        "$.context.device.model",
    ),
    (
        "carrier",
        "Carrier",
        FieldType::String,
        "$.context.network.carrier",
    ),
    (
        "country",
        "Country",
        FieldType::String,
        "$.context.location.country",
    ),
    (
        "region",
        "Region",
        FieldType::String,
        "$.context.location.region",
    ),
    ("city", "City", FieldType::String, "$.context.location.city"),
];

fn context_fields() -> Vec<Field> {
    let mut fields: Vec<Field> = CONTEXT_FIELDS
        .iter()
        .map(|(key, label, kind, p)| with_path(field(key, label, *kind, label), p))
        .collect();
    fields.push(field(
        "dma",
        "Designated Market Area",
        FieldType::String,
        "The user's Designated Market Area.",
    ));
    fields.push(with_path(
        field(
            "language",
            "Language",
            FieldType::String,
            "The user's language.",
        ),
        "$.context.locale",
    ));
    fields
}

fn user_agent_fields() -> Vec<Field> {
    vec![
        with_path(
            field(
                "userAgent",
                "User Agent",
                FieldType::String,
                "The user agent of the device sending the event.",
            ),
            "$.context.userAgent",
        ),
        field(
            "userAgentParsing",
            "User Agent Parsing",
            FieldType::Boolean,
            "Set OS name and version, device manufacturer, model and type from the user agent.",
        )
        .default(json!(true)),
        field(
            "includeRawUserAgent",
            "Include Raw User Agent",
            FieldType::Boolean,
            "Send the raw user agent string as user_agent.",
        )
        .default(json!(false)),
        field(
            "userAgentData",
            "User Agent Data",
            FieldType::Object,
            "Client hints of the device (model, platformVersion); they win over the parsed values.",
        )
        .default_with(|| {
            json!({
                "model": path("$.context.userAgentData.model"),
                "platformVersion": path("$.context.userAgentData.platformVersion"),
            })
        }),
    ]
}

fn utm_and_referrer() -> Vec<Field> {
    vec![
        field(
            "utm_properties",
            "UTM Properties",
            FieldType::Object,
            "UTM tracking properties, set as user properties (and as initial_* once).",
        )
        .default_with(|| {
            json!({
                "utm_source": path("$.context.campaign.source"),
                "utm_medium": path("$.context.campaign.medium"),
                "utm_campaign": path("$.context.campaign.name"),
                "utm_term": path("$.context.campaign.term"),
                "utm_content": path("$.context.campaign.content"),
            })
        }),
        with_path(
            field(
                "referrer",
                "Referrer",
                FieldType::String,
                "The referrer of the web request, sent as referrer and initial_referrer.",
            ),
            "$.context.page.referrer",
        ),
    ]
}

fn advertising_id() -> Value {
    path_or("$.context.device.advertisingId", "$.context.device.idfa")
}

/// The fields every event action has (Segment's `eventSchema`).
fn event_fields() -> Vec<Field> {
    let mut fields = vec![
        user_id(),
        device_id(),
        with_path(
            field(
                "event_type",
                "Event Type",
                FieldType::String,
                "A unique identifier for your event.",
            ),
            "$.event",
        )
        .required(),
        with_path(
            field(
                "session_id",
                "Session ID",
                FieldType::Datetime,
                "The start time of the session (epoch milliseconds or a date).",
            ),
            "$.integrations.Actions Amplitude.session_id",
        ),
        with_path(
            field(
                "time",
                "Timestamp",
                FieldType::Datetime,
                "When the event happened.",
            ),
            "$.timestamp",
        ),
        with_path(
            field(
                "event_properties",
                "Event Properties",
                FieldType::Object,
                "Properties of the event.",
            ),
            "$.properties",
        ),
        user_properties(),
        field(
            "groups",
            "Groups",
            FieldType::Object,
            "Event-level groups (up to 5; an Amplitude Enterprise feature).",
        ),
    ];
    fields.extend(context_fields());
    for (key, label, kind, p) in [
        ("price", "Price", FieldType::Number, "$.properties.price"),
        (
            "quantity",
            "Quantity",
            FieldType::Integer,
            "$.properties.quantity",
        ),
        (
            "revenue",
            "Revenue",
            FieldType::Number,
            "$.properties.revenue",
        ),
        (
            "productId",
            "Product ID",
            FieldType::String,
            "$.properties.productId",
        ),
        (
            "revenueType",
            "Revenue Type",
            FieldType::String,
            "$.properties.revenueType",
        ),
        (
            "location_lat",
            "Latitude",
            FieldType::Number,
            "$.context.location.latitude",
        ),
        (
            "location_lng",
            "Longitude",
            FieldType::Number,
            "$.context.location.longitude",
        ),
        ("ip", "IP Address", FieldType::String, "$.context.ip"),
    ] {
        fields.push(with_path(field(key, label, kind, label), p));
    }
    fields.push(
        field(
            "idfa",
            "Identifier For Advertiser (IDFA)",
            FieldType::String,
            "iOS.",
        )
        .default(advertising_id()),
    );
    fields.push(with_path(
        field(
            "idfv",
            "Identifier For Vendor (IDFV)",
            FieldType::String,
            "iOS.",
        ),
        "$.context.device.id",
    ));
    fields.push(
        field(
            "adid",
            "Google Play Services Advertising ID",
            FieldType::String,
            "Android.",
        )
        .default(advertising_id()),
    );
    fields.push(field(
        "android_id",
        "Android ID",
        FieldType::String,
        "Android ID (not the advertising ID).",
    ));
    fields.push(field(
        "event_id",
        "Event ID",
        FieldType::Integer,
        "An incrementing counter for events with the same user and time.",
    ));
    fields.push(insert_id());
    fields.push(with_path(
        field(
            "library",
            "Library",
            FieldType::String,
            "The library that sent the event (hidden in Segment).",
        ),
        "$.context.library.name",
    ));
    fields.push(
        field(
            "library2",
            "Library Settings",
            FieldType::Object,
            "behavior \"use_mapping\" sends `mapping` as library; \"auto\" sends \"segment\".",
        )
        .default_with(
            || json!({"behavior": "use_mapping", "mapping": path("$.context.library.name")}),
        ),
    );
    fields.push(
        field(
            "products",
            "Products",
            FieldType::Object,
            "The products purchased.",
        )
        .multiple()
        .default_with(|| {
            json!({"@arrayPath": ["$.properties.products", {
                "price": path("price"), "revenue": path("revenue"), "quantity": path("quantity"),
                "productId": path("productId"), "revenueType": path("revenueType"),
            }]})
        }),
    );
    fields.push(
        field(
            "use_batch_endpoint",
            "Use Batch Endpoint",
            FieldType::Boolean,
            "Send to Amplitude's batch endpoint (higher throttling limits) instead of httpapi.",
        )
        .default(json!(false)),
    );
    fields
}

fn with_fields(action: Action, fields: Vec<Field>) -> Action {
    fields.into_iter().fold(action, Action::field)
}

fn log_event() -> Action {
    let mut fields = event_fields();
    fields.extend(user_agent_fields());
    fields.extend(utm_and_referrer());
    fields.push(min_id_length());
    with_fields(
        Action::new("logEvent", "Log Event")
            .description("Send an event to Amplitude.")
            .default_trigger("type = \"track\""),
        fields,
    )
    .perform(actions::event::log_event)
}

fn property_object(key: &str, label: &str, description: &str, props: &[(&str, &str)]) -> Field {
    let mut default = serde_json::Map::new();
    for (k, p) in props {
        default.insert((*k).into(), path(p));
    }
    let f = field(key, label, FieldType::Object, description);
    if default.is_empty() {
        f
    } else {
        f.default(Value::Object(default))
    }
}

fn log_event_v2() -> Action {
    let mut fields = event_fields();
    fields.push(property_object(
        "setOnce",
        "Set Once",
        "User properties set only when they have no value yet.",
        &[
            ("initial_referrer", "$.context.page.referrer"),
            ("initial_utm_source", "$.context.campaign.source"),
            ("initial_utm_medium", "$.context.campaign.medium"),
            ("initial_utm_campaign", "$.context.campaign.name"),
            ("initial_utm_term", "$.context.campaign.term"),
            ("initial_utm_content", "$.context.campaign.content"),
        ],
    ));
    fields.push(property_object(
        "setAlways",
        "Set Always",
        "User properties set on every event.",
        &[
            ("referrer", "$.context.page.referrer"),
            ("utm_source", "$.context.campaign.source"),
            ("utm_medium", "$.context.campaign.medium"),
            ("utm_campaign", "$.context.campaign.name"),
            ("utm_term", "$.context.campaign.term"),
            ("utm_content", "$.context.campaign.content"),
        ],
    ));
    fields.push(property_object(
        "add",
        "Add",
        "User properties incremented by a number (from 0 when unset).",
        &[],
    ));
    fields.extend(user_agent_fields());
    fields.push(min_id_length());
    with_fields(
        Action::new("logEventV2", "Log Event V2")
            .description("Send an event to Amplitude.")
            .default_trigger("type = \"track\""),
        fields,
    )
    .perform(actions::event::log_event_v2)
}

fn log_purchase() -> Action {
    let mut fields = vec![
        field(
            "trackRevenuePerProduct",
            "Track Revenue Per Product",
            FieldType::Boolean,
            "Track revenue with each product instead of once for the whole event.",
        )
        .default(json!(false)),
    ];
    fields.extend(event_fields());
    fields.extend(user_agent_fields());
    fields.extend(utm_and_referrer());
    fields.push(min_id_length());
    with_fields(
        Action::new("logPurchase", "Log Purchase")
            .description(
                "Send a purchase to Amplitude: one event with the total revenue, and one \
                 \"Product Purchased\" event per product.",
            )
            .default_trigger("type = \"track\""),
        fields,
    )
    .perform(actions::event::log_purchase)
}

fn identify_user() -> Action {
    let mut fields = vec![
        user_id(),
        device_id(),
        user_properties(),
        field(
            "groups",
            "Groups",
            FieldType::Object,
            "Groups for account-level reporting (up to 5).",
        ),
    ];
    fields.extend(context_fields());
    fields.push(field(
        "paying",
        "Is Paying",
        FieldType::Boolean,
        "Whether the user is paying.",
    ));
    fields.push(field(
        "start_version",
        "Initial Version",
        FieldType::String,
        "The version of the app the user was first on.",
    ));
    fields.push(insert_id());
    let mut agent = user_agent_fields();
    let data = agent
        .pop()
        .expect("userAgentData is the last user-agent field");
    fields.extend(agent);
    fields.extend(utm_and_referrer());
    fields.push(min_id_length());
    fields.push(with_path(
        field(
            "library",
            "Library",
            FieldType::String,
            "The library that sent the event.",
        ),
        "$.context.library.name",
    ));
    fields.push(data);
    with_fields(
        Action::new("identifyUser", "Identify User")
            .description("Set the user ID of a device, or update user properties without an event.")
            .default_trigger("type = \"identify\""),
        fields,
    )
    .perform(actions::identify::identify_user)
}

fn group_identify_user() -> Action {
    with_fields(
        Action::new("groupIdentifyUser", "Group Identify User")
            .description("Set or update the properties of a group.")
            .default_trigger("type = \"group\""),
        vec![
            user_id(),
            device_id(),
            insert_id(),
            with_path(
                field("time", "Timestamp", FieldType::String, "When it happened."),
                "$.timestamp",
            ),
            with_path(
                field(
                    "group_properties",
                    "Group Properties",
                    FieldType::Object,
                    "Properties of the group.",
                ),
                "$.traits",
            ),
            field(
                "group_type",
                "Group Type",
                FieldType::String,
                "The type of the group.",
            )
            .required(),
            field(
                "group_value",
                "Group Value",
                FieldType::String,
                "The value of the group.",
            )
            .required(),
            min_id_length(),
        ],
    )
    .perform(actions::identify::group_identify_user)
}

fn map_user() -> Action {
    with_fields(
        Action::new("mapUser", "Map User")
            .description("Merge two users that have different User IDs in Amplitude.")
            .default_trigger("type = \"alias\""),
        vec![
            with_path(
                field(
                    "user_id",
                    "User ID",
                    FieldType::String,
                    "The User ID to be associated.",
                ),
                "$.previousId",
            ),
            with_path(
                field(
                    "global_user_id",
                    "Global User ID",
                    FieldType::String,
                    "The Global User ID to associate with the User ID.",
                ),
                "$.userId",
            ),
            min_id_length(),
        ],
    )
    .perform(actions::identify::map_user)
}

/// The Amplitude plugin.
pub fn plugin() -> Plugin {
    Plugin::new("amplitude", "Amplitude", env!("CARGO_PKG_VERSION"))
        .description("Send events, revenue, user and group properties to Amplitude.")
        .allowed_host("https://api2.amplitude.com")
        .allowed_host("https://api.amplitude.com")
        .allowed_host("https://api.eu.amplitude.com")
        .setting(
            Setting::string("apiKey", "API Key")
                .description("Amplitude project API key (the project's General tab).")
                .required()
                .secret(),
        )
        .setting(
            Setting::string("secretKey", "Secret Key")
                .description("Amplitude project secret key (the project's General tab).")
                .required()
                .secret(),
        )
        .setting(
            Setting::string("endpoint", "Endpoint Region")
                .description("The region to send your data to.")
                .default(json!("north_america"))
                .choice("north_america", "North America")
                .choice("europe", "Europe"),
        )
        .preset(Preset::new(
            "Track Calls",
            "logEventV2",
            "type = \"track\" and event != \"Order Completed\"",
        ))
        .preset(Preset::new(
            "Order Completed Calls",
            "logPurchase",
            "type = \"track\" and event = \"Order Completed\"",
        ))
        .preset(
            Preset::new("Page Calls", "logEventV2", "type = \"page\"")
                .mapping_with(|| json!({"event_type": {"@template": "Viewed {{name}}"}})),
        )
        .preset(
            Preset::new("Screen Calls", "logEventV2", "type = \"screen\"")
                .mapping_with(|| json!({"event_type": {"@template": "Viewed {{name}}"}})),
        )
        .preset(Preset::new(
            "Identify Calls",
            "identifyUser",
            "type = \"identify\"",
        ))
        .action(log_event_v2())
        .action(log_event())
        .action(log_purchase())
        .action(identify_user())
        .action(group_identify_user())
        .action(map_user())
}

switchyard_plugin_sdk::export!(plugin);
