//! Google Ads conversions: offline click and call conversions, conversion adjustments and
//! Customer Match user lists through the Google Ads API (v22).
//!
//! Compatible with Segment's "Google Ads Conversions" (`actions-google-enhanced-conversions`):
//! the same action ids (`uploadClickConversion`, `uploadCallConversion`,
//! `uploadConversionAdjustment`, their V2 twins, `userList`), the `customerId`,
//! `loginCustomerId` and `conversionTrackingId` settings, field keys and default mappings.
//!
//! Segment holds the OAuth grant and its own developer token; a self-hosted runtime takes them
//! as secret settings (`developerToken`, `clientId`, `clientSecret`, `refreshToken`). The
//! access token is refreshed from the refresh token and kept in the destination's kv store
//! until shortly before it expires (module `auth`), so events share one token.
//!
//! Modules: `auth` (tokens and authorised requests), `identity` (normalising and hashing
//! personal data, Google's date format), `conversions` (the three upload actions, single and
//! batched, with per-event results from Google's partial failures), `user_list`.

mod actions;
mod response;
mod settings;

#[cfg(test)]
mod tests;

use serde_json::json;
use switchyard_plugin_sdk::mapping::{path, path_or};
use switchyard_plugin_sdk::{Action, Field, FieldType, Plugin, SYNC_MODE, Setting};

fn field(key: &str, label: &str, kind: FieldType, description: &str) -> Field {
    Field::new(key, label, kind).description(description)
}

fn string(key: &str, label: &str, description: &str) -> Field {
    field(key, label, FieldType::String, description)
}

const CONSENT: &[&str] = &["GRANTED", "DENIED", "UNSPECIFIED"];

fn choices(mut f: Field, values: &[&str]) -> Field {
    for v in values {
        f = f.choice(v, v);
    }
    f
}

fn conversion_action() -> Field {
    field(
        "conversion_action",
        "Conversion Action ID",
        FieldType::Number,
        "The ID of the conversion action associated with this conversion.",
    )
    .required()
}

fn conversion_timestamp(required: bool) -> Field {
    let f = string(
        "conversion_timestamp",
        "Conversion Timestamp",
        "When the conversion happened, with its time zone (\"yyyy-mm-dd hh:mm:ss+|-hh:mm\" or \
         ISO 8601).",
    );
    if required {
        f.required().default(path("$.timestamp"))
    } else {
        f
    }
}

fn email_address() -> Field {
    string(
        "email_address",
        "Email Address",
        "Email of the person who converted; normalised and hashed (SHA-256) before sending.",
    )
    .default(path_or("$.properties.email", "$.context.traits.email"))
}

fn phone_country_code() -> Field {
    string(
        "phone_country_code",
        "Phone Number Country Code",
        "The numeric country code of the phone number; +1 when absent.",
    )
}

fn phone_number() -> Field {
    string(
        "phone_number",
        "Phone Number",
        "Phone number of the person who converted, ideally in E.164 (+14150000000); hashed \
         before sending.",
    )
    .default(path_or("$.properties.phone", "$.context.traits.phone"))
}

fn order_id() -> Field {
    string(
        "order_id",
        "Order ID",
        "The order ID of the conversion; one conversion per order ID and conversion action.",
    )
    .default(path_or("$.properties.orderId", "$.properties.order_id"))
}

fn value() -> Field {
    field(
        "value",
        "Value",
        FieldType::Number,
        "The value of the conversion for the advertiser.",
    )
    .default(path("$.properties.total"))
}

fn currency() -> Field {
    string(
        "currency",
        "Currency",
        "ISO 4217 currency code of the conversion value.",
    )
    .default(path("$.properties.currency"))
}

fn custom_variables() -> Field {
    field(
        "custom_variables",
        "Custom Variables",
        FieldType::Object,
        "Custom variables by the name they have in Google Ads, with their values.",
    )
}

fn consent() -> Vec<Field> {
    vec![
        choices(
            string(
                "ad_user_data_consent_state",
                "Ad User Data Consent State",
                "Consent for ad user data.",
            ),
            CONSENT,
        ),
        choices(
            string(
                "ad_personalization_consent_state",
                "Ad Personalization Consent State",
                "Consent for ad personalization.",
            ),
            CONSENT,
        ),
    ]
}

fn batching(on: bool, size: u32, kind: FieldType) -> Vec<Field> {
    vec![
        field(
            "enable_batching",
            "Batch Data to Google",
            FieldType::Boolean,
            "Send many events in one request (Google accepts up to 2000 conversions).",
        )
        .default(json!(on)),
        field(
            "batch_size",
            "Batch Size",
            kind,
            "The most events in one request.",
        )
        .default(json!(size)),
    ]
}

fn with_fields(action: Action, fields: Vec<Field>) -> Action {
    fields.into_iter().fold(action, Action::field)
}

fn click_fields() -> Vec<Field> {
    let mut fields = vec![
        conversion_action(),
        string("gclid", "GCLID", "The Google click ID of this conversion."),
        string(
            "gbraid",
            "GBRAID",
            "Click identifier for app conversions from iOS 14+ devices.",
        ),
        string(
            "wbraid",
            "WBRAID",
            "Click identifier for web conversions from iOS 14+ devices.",
        ),
        string(
            "user_ip_address",
            "User IP Address",
            "The IP address of the user who converted.",
        )
        .default(path("$.context.ip")),
        string(
            "session_attributes_encoded",
            "Session Attributes (Encoded)",
            "Base64url-encoded JSON of session attributes collected in the browser.",
        )
        .default(path(
            "$.integrations.Google Ads Conversions.session_attributes_encoded",
        )),
        field(
            "session_attributes_key_value_pairs",
            "Session Attributes (Key Value Pairs)",
            FieldType::Object,
            "Session attributes, when the encoded form is not available.",
        )
        .default_with(|| {
            json!({
                "gad_source": path("$.properties.gad_source"),
                "gad_campaignid": path("$.properties.gad_campaignid"),
                "landing_page_url": path("$.context.page.url"),
                "session_start_time_usec": path("$.properties.session_start_time_usec"),
                "landing_page_referrer": path("$.context.page.referrer"),
                "landing_page_user_agent": path("$.context.userAgent"),
            })
        }),
        conversion_timestamp(true),
        email_address(),
        phone_country_code(),
        phone_number(),
        order_id(),
        value(),
        currency(),
        choices(
            string(
                "conversion_environment",
                "Conversion Environment",
                "Where the conversion was recorded (needs an allow-list in Google Ads).",
            ),
            &["APP", "WEB", "UNSPECIFIED"],
        ),
        string(
            "merchant_id",
            "Merchant Center ID",
            "The Merchant Center account of the items.",
        ),
        string(
            "merchant_country_code",
            "Merchant Center Feed Country Code",
            "ISO 3166 country code of the Merchant Center feed.",
        ),
        string(
            "merchant_language_code",
            "Merchant Center Feed Language Code",
            "ISO 639-1 language code of the Merchant Center feed.",
        ),
        field(
            "local_cost",
            "Local Transaction Cost",
            FieldType::Number,
            "Sum of the cart's transaction-level discounts.",
        ),
        field("items", "Items", FieldType::Object, "The items purchased.")
            .multiple()
            .default_with(|| {
                json!({"@arrayPath": ["$.properties.products", {
                    "product_id": path("$.product_id"),
                    "quantity": path("$.quantity"),
                    "price": path("$.price"),
                }]})
            }),
        custom_variables(),
    ];
    fields.extend(consent());
    fields.extend(batching(false, 1500, FieldType::Number));
    fields
}

fn call_fields() -> Vec<Field> {
    let mut fields = vec![
        conversion_action(),
        string(
            "caller_id",
            "Caller ID",
            "The caller's number in E.164, e.g. \"+16502531234\".",
        )
        .required(),
        string(
            "call_timestamp",
            "Call Timestamp",
            "When the call happened, with its time zone.",
        )
        .required(),
        conversion_timestamp(true),
        value(),
        currency(),
        custom_variables(),
    ];
    fields.extend(consent());
    fields.extend(batching(false, 1500, FieldType::Number));
    fields
}

/// An address part, from the event's properties or else its context traits. (The reference's
/// default mappings have a stray comma in the first path; it is kept so configurations match.)
fn address(key: &str, label: &str, part: &str, description: &str) -> Field {
    string(key, label, description).default(path_or(
        &format!("$.properties.address.{part},"),
        &format!("$.context.traits.address.{part}"),
    ))
}

fn adjustment_fields() -> Vec<Field> {
    let mut fields = vec![
        conversion_action(),
        choices(
            string(
                "adjustment_type",
                "Adjustment Type",
                "RETRACTION, RESTATEMENT or ENHANCEMENT.",
            )
            .required(),
            &[
                "UNSPECIFIED",
                "UNKNOWN",
                "RETRACTION",
                "RESTATEMENT",
                "ENHANCEMENT",
            ],
        ),
        string(
            "adjustment_timestamp",
            "Adjustment Timestamp",
            "When the adjustment happened, with its time zone; now when absent.",
        )
        .default(path("$.timestamp")),
        order_id(),
        string(
            "gclid",
            "GCLID",
            "The Google click ID of the original conversion.",
        ),
        conversion_timestamp(false),
        field(
            "restatement_value",
            "Restatement Value",
            FieldType::Number,
            "The conversion's value after restatement.",
        ),
        string(
            "restatement_currency_code",
            "Restatement Currency Code",
            "The currency of the restated value.",
        ),
        email_address(),
        phone_country_code(),
        phone_number(),
        string("first_name", "First Name", "First name of the person.").default(path_or(
            "$.properties.firstName",
            "$.context.traits.firstName",
        )),
        string("last_name", "Last Name", "Last name of the person.").default(path_or(
            "$.properties.lastName",
            "$.context.traits.lastName",
        )),
        address("city", "City", "city", "City of the person."),
        address("state", "State", "state", "State of the person."),
        address(
            "country",
            "Country",
            "country",
            "ISO 3166-1 alpha-2 country code of the person.",
        ),
        address(
            "postal_code",
            "Postal Code",
            "postalCode",
            "Postal code of the person.",
        ),
        address(
            "street_address",
            "Street Address",
            "street",
            "Street address of the person.",
        ),
        string(
            "user_agent",
            "User Agent",
            "The user agent of the original conversion (enhancements only).",
        )
        .default(path("$.context.userAgent")),
    ];
    fields.extend(batching(false, 1500, FieldType::Number));
    fields
}

fn user_list_fields() -> Vec<Field> {
    let trait_or_property = |key: &str, label: &str, name: &str| {
        string(key, label, label).default(path_or(
            &format!("$.context.traits.{name}"),
            &format!("$.properties.{name}"),
        ))
    };
    let mut fields = vec![
        trait_or_property("first_name", "First Name", "firstName"),
        trait_or_property("last_name", "Last Name", "lastName"),
        trait_or_property("email", "Email", "email"),
        trait_or_property("phone", "Phone", "phone"),
        phone_country_code(),
        string(
            "country_code",
            "Address Country Code",
            "ISO 3166-1 alpha-2 country code of the address.",
        ),
        string("postal_code", "Postal Code", "Postal code of the address."),
        string(
            "crm_id",
            "CRM ID",
            "Your user ID (for lists of type CRM_ID).",
        ),
        string(
            "mobile_advertising_id",
            "Mobile Advertising ID",
            "IDFA or Android advertising ID (for lists of type MOBILE_ADVERTISING_ID).",
        )
        .default(path("$.context.device.advertisingId")),
    ];
    for f in consent() {
        fields.push(f.required());
    }
    fields.push(
        string(
            "external_audience_id",
            "External Audience ID",
            "The ID of the Customer Match user list.",
        )
        .default(path("$.context.personas.external_audience_id")),
    );
    fields.extend(batching(true, 10000, FieldType::Integer));
    fields.push(
        string("event_name", "Event Name", "The name of the event.").default(path("$.event")),
    );
    fields.push(
        choices(
            string(
                "external_id_type",
                "External ID Type",
                "What identifies users in the list (Segment's audience setting).",
            ),
            &["CONTACT_INFO", "CRM_ID", "MOBILE_ADVERTISING_ID"],
        )
        .default(json!("CONTACT_INFO")),
    );
    fields.push(
        choices(
            string(
                SYNC_MODE,
                "Sync Mode",
                "add, delete, or mirror (\"Audience Exited\" removes, anything else adds).",
            ),
            &["add", "delete", "mirror"],
        )
        .default(json!("mirror")),
    );
    fields
}

/// An upload action and its V2 twin share fields and behaviour.
fn upload(id: &str, title: &str, description: &str, mut fields: Vec<Field>) -> Action {
    if id.ends_with('2') {
        // Segment's V2 actions have a sync mode; "add" is the one they support. It takes any
        // text, so that another mode reaches the action and is refused with Segment's message.
        fields.push(
            Field::string(SYNC_MODE, "Sync Mode")
                .description("How records are synced; this action only adds (\"add\").")
                .default(json!("add")),
        );
    }
    let action = with_fields(Action::new(id, title).description(description), fields);
    match id.trim_end_matches('2') {
        "uploadClickConversion" => action.perform(actions::conversions::click).perform_batch(
            actions::conversions::MAX_BATCH,
            actions::conversions::click_batch,
        ),
        "uploadCallConversion" => action.perform(actions::conversions::call).perform_batch(
            actions::conversions::MAX_BATCH,
            actions::conversions::call_batch,
        ),
        _ => action
            .perform(actions::conversions::adjustment)
            .perform_batch(
                actions::conversions::MAX_BATCH,
                actions::conversions::adjustment_batch,
            ),
    }
}

/// The Google Enhanced Conversions plugin.
pub fn plugin() -> Plugin {
    let secret = |key: &str, label: &str, description: &str| {
        Setting::string(key, label)
            .description(description)
            .required()
            .secret()
    };
    Plugin::new(
        "google-enhanced-conversions",
        "Google Ads Conversions",
        env!("CARGO_PKG_VERSION"),
    )
    .description(
        "Upload offline click and call conversions and conversion adjustments to Google Ads, \
         and sync Customer Match user lists.",
    )
    .allowed_host("https://googleads.googleapis.com")
    .allowed_host("https://www.googleapis.com")
    .setting(
        Setting::string("customerId", "Customer ID")
            .description("Your Google Ads account ID (XXX-XXX-XXXX); required by every action."),
    )
    .setting(
        Setting::string("loginCustomerId", "Login Customer ID").description(
            "Your manager account ID (XXX-XXX-XXXX), when a manager account acts for this one.",
        ),
    )
    .setting(
        Setting::string("conversionTrackingId", "Conversion ID").description(
            "The conversion ID of the legacy Enhanced Conversions API (kept for compatibility).",
        ),
    )
    .setting(secret(
        "developerToken",
        "Developer Token",
        "Your Google Ads API developer token (sent as developer-token).",
    ))
    .setting(secret(
        "clientId",
        "OAuth Client ID",
        "The OAuth client the refresh token was issued to.",
    ))
    .setting(secret(
        "clientSecret",
        "OAuth Client Secret",
        "The secret of that OAuth client.",
    ))
    .setting(secret(
        "refreshToken",
        "OAuth Refresh Token",
        "A refresh token with the https://www.googleapis.com/auth/adwords scope.",
    ))
    .action(upload(
        "uploadClickConversion",
        "Upload Click Conversion",
        "Upload an offline click conversion to the Google Ads API.",
        click_fields(),
    ))
    .action(upload(
        "uploadCallConversion",
        "Upload Call Conversion",
        "Upload an offline call conversion to the Google Ads API.",
        call_fields(),
    ))
    .action(upload(
        "uploadConversionAdjustment",
        "Upload Conversion Adjustment",
        "Upload a conversion adjustment to the Google Ads API.",
        adjustment_fields(),
    ))
    .action(upload(
        "uploadClickConversion2",
        "Click Conversion V2",
        "Send an offline click conversion to the Google Ads API.",
        click_fields(),
    ))
    .action(upload(
        "uploadCallConversion2",
        "Call Conversion V2",
        "Send an offline call conversion to the Google Ads API.",
        call_fields(),
    ))
    .action(upload(
        "uploadConversionAdjustment2",
        "Conversion Adjustment V2",
        "Send a conversion adjustment to the Google Ads API.",
        adjustment_fields(),
    ))
    .action(
        with_fields(
            Action::new("userList", "Customer Match User List")
                .description("Sync users into a Google Customer Match user list.")
                .default_trigger("event = \"Audience Entered\" or event = \"Audience Exited\""),
            user_list_fields(),
        )
        .hook(actions::user_list::hook())
        .perform(actions::user_list::perform)
        .perform_batch(
            actions::user_list::MAX_BATCH,
            actions::user_list::perform_batch,
        ),
    )
}

switchyard_plugin_sdk::export!(plugin);
