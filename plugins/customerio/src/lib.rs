//! Customer.io: people, devices, objects, events and delivery metrics through Customer.io's
//! Track API (v2 entities and batches).
//!
//! Compatible with Segment's "Actions Customerio": the same fifteen action ids, the `siteId`,
//! `apiKey` and `accountRegion` settings, field keys, default mappings and presets. Every
//! request carries HTTP Basic auth of `siteId:apiKey`; the EU region uses
//! track-eu.customer.io. Batching is on by default (50 per request, 2-100), one
//! `/api/v2/batch` call whose answer is every event's answer.

mod actions;
mod response;
mod settings;

#[cfg(test)]
mod tests;

use serde_json::{Value, json};
use switchyard_plugin_sdk::mapping::{path, path_or};
use switchyard_plugin_sdk::{Action, Field, Plugin, Preset, Setting};

fn string(key: &str, label: &str, description: &str, default: Option<Value>) -> Field {
    let f = Field::string(key, label).description(description);
    match default {
        Some(d) => f.default(d),
        None => f,
    }
}

fn object(key: &str, label: &str, description: &str, default: Value) -> Field {
    Field::object(key, label)
        .description(description)
        .default(default)
}

fn person_id() -> Field {
    string(
        "person_id",
        "Person ID",
        "The ID of the person this concerns.",
        Some(path("$.userId")),
    )
    .required()
}

fn anonymous_id() -> Field {
    string(
        "anonymous_id",
        "Anonymous ID",
        "An anonymous ID for when no Person ID exists.",
        Some(path("$.anonymousId")),
    )
}

fn timestamp() -> Field {
    string(
        "timestamp",
        "Timestamp",
        "When the event happened; now when absent.",
        Some(path("$.timestamp")),
    )
}

fn data() -> Field {
    object(
        "data",
        "Event Attributes",
        "Optional data to include with the event.",
        path("$.properties"),
    )
}

fn event_id() -> Field {
    string(
        "event_id",
        "Event ID",
        "An optional identifier used to deduplicate events.",
        Some(path("$.messageId")),
    )
}

fn object_type_id(prefix: &str) -> Field {
    string(
        "object_type_id",
        "Object Type Id",
        "The ID used to uniquely identify a custom object type in Customer.io.",
        Some(path_or(
            &format!("{prefix}.object_type_id"),
            &format!("{prefix}.objectTypeId"),
        )),
    )
}

fn convert_timestamp() -> Field {
    Field::boolean("convert_timestamp", "Convert Timestamps")
        .description("Convert dates to Unix timestamps (seconds since Epoch).")
        .default(json!(true))
}

/// The batching fields, `perform` and `perform_batch` of an action.
macro_rules! finish {
    ($action:expr, $single:ident, $batch:ident) => {
        $action
            .field(
                Field::boolean("enable_batching", "Enable Batching")
                    .description("Send events to Customer.io in batches.")
                    .default(json!(true)),
            )
            .field(
                Field::number("batch_size", "Batch Size")
                    .description("Most events in one batch (2 to 100).")
                    .default(json!(50)),
            )
            .perform(actions::$single)
            .perform_batch(100, actions::$batch)
    };
}

fn action(id: &str, title: &str, description: &str, fields: Vec<Field>) -> Action {
    fields.into_iter().fold(
        Action::new(id, title).description(description),
        Action::field,
    )
}

const TRACK_CALLS: &str = "type = \"track\" and event != \"Application Installed\" and event != \
    \"Application Opened\" and event != \"Application Uninstalled\" and event != \"Device Created \
    or Updated\" and event != \"Device Deleted\" and event != \"Relationship Deleted\" and event \
    != \"User Deleted\" and event != \"User Suppressed\" and event != \"User Unsuppressed\" and \
    event != \"Object Deleted\" and event != \"Report Delivery Event\" and event != \"Report \
    Content Event\"";
const DEVICE_UPDATED: &str = "event = \"Application Installed\" or event = \"Application Opened\" or \
    event = \"Device Created or Updated\"";
const DEVICE_DELETED: &str = "event = \"Application Uninstalled\" or event = \"Device Deleted\"";

/// The Customer.io plugin.
pub fn plugin() -> Plugin {
    let presets = [
        (
            "Create or Update Person",
            "createUpdatePerson",
            "type = \"identify\"",
        ),
        (
            "Create or Update Device",
            "createUpdateDevice",
            DEVICE_UPDATED,
        ),
        ("Delete Device", "deleteDevice", DEVICE_DELETED),
        (
            "Delete Relationship",
            "deleteRelationship",
            "event = \"Relationship Deleted\"",
        ),
        ("Delete Person", "deletePerson", "event = \"User Deleted\""),
        (
            "Delete Object",
            "deleteObject",
            "event = \"Object Deleted\"",
        ),
        ("Track Event", "trackEvent", TRACK_CALLS),
        ("Track Page View", "trackPageView", "type = \"page\""),
        ("Track Screen View", "trackScreenView", "type = \"screen\""),
        (
            "Create or Update Object",
            "createUpdateObject",
            "type = \"group\"",
        ),
        ("Merge People", "mergePeople", "type = \"alias\""),
        (
            "Suppress Person",
            "suppressPerson",
            "event = \"User Suppressed\"",
        ),
        (
            "Unsuppress Person",
            "unsuppressPerson",
            "event = \"User Unsuppressed\"",
        ),
        (
            "Report Delivery Event",
            "reportDeliveryEvent",
            "event = \"Report Delivery Event\"",
        ),
        (
            "Report Content Event",
            "reportContentEvent",
            "event = \"Report Content Event\"",
        ),
    ];
    let mut plugin = Plugin::new("customerio", "Customer.io", env!("CARGO_PKG_VERSION"))
        .description("Send people, devices, objects, events and delivery metrics to Customer.io.")
        .allowed_host("https://track.customer.io")
        .allowed_host("https://track-eu.customer.io")
        .setting(
            Setting::string("siteId", "Site ID")
                .description("Customer.io site ID (API Credentials page).")
                .required()
                .secret(),
        )
        .setting(
            Setting::string("apiKey", "API Key")
                .description("Customer.io API key (API Credentials page).")
                .required()
                .secret(),
        )
        .setting(
            Setting::string("accountRegion", "Account Region")
                .description("The data centre of the account.")
                .choice("US 🇺🇸", "US")
                .choice("EU 🇪🇺", "EU")
                .default(json!("US 🇺🇸")),
        );
    for (name, action, trigger) in presets {
        plugin = plugin.preset(Preset::new(name, action, trigger));
    }
    plugin
        .action(finish!(
            action(
                "createUpdatePerson",
                "Create or Update Person",
                "Update a person in Customer.io or create them if they don't exist.",
                vec![
                    string(
                        "id",
                        "Person ID",
                        "The ID used to uniquely identify a person in Customer.io.",
                        Some(path_or("$.userId", "$.traits.email"))
                    ),
                    anonymous_id(),
                    string(
                        "email",
                        "Email Address",
                        "The person's email address.",
                        Some(json!({"@template": "{{traits.email}}"}))
                    ),
                    string(
                        "created_at",
                        "Created At",
                        "A timestamp of when the person was created.",
                        Some(path_or("$.traits.created_at", "$.traits.createdAt"))
                    ),
                    string(
                        "group_id",
                        "Object ID",
                        "The ID of an object to relate the person to.",
                        Some(path("$.traits.objectId"))
                    ),
                    object(
                        "custom_attributes",
                        "Person Attributes",
                        "Optional attributes for the person.",
                        path("$.traits")
                    ),
                    object(
                        "relationship_attributes",
                        "Relationship Attributes",
                        "Optional attributes for the relationship to the object.",
                        path("$.traits.relationshipAttributes")
                    ),
                    timestamp(),
                    convert_timestamp(),
                    object_type_id("$.traits"),
                ]
            )
            .default_trigger("type = \"identify\""),
            create_update_person,
            create_update_person_batch
        ))
        .action(finish!(
            action(
                "trackEvent",
                "Track Event",
                "Track an event for a known or anonymous person.",
                vec![
                    string(
                        "id",
                        "Person ID",
                        "The ID of the person who triggered this event.",
                        Some(path("$.userId"))
                    ),
                    anonymous_id(),
                    string(
                        "name",
                        "Event Name",
                        "The name of the event.",
                        Some(path("$.event"))
                    )
                    .required(),
                    event_id(),
                    timestamp(),
                    data(),
                    convert_timestamp(),
                ]
            )
            .default_trigger(TRACK_CALLS),
            track_event,
            track_event_batch
        ))
        .action(finish!(
            action(
                "trackPageView",
                "Track Page View",
                "Track a page view for a known or anonymous person.",
                vec![
                    string(
                        "id",
                        "Person ID",
                        "The ID of the person who viewed the page.",
                        Some(path("$.userId"))
                    ),
                    anonymous_id(),
                    event_id(),
                    string(
                        "url",
                        "Page URL",
                        "The URL of the page visited.",
                        Some(path("$.properties.url"))
                    )
                    .required(),
                    timestamp(),
                    data(),
                    convert_timestamp(),
                ]
            )
            .default_trigger("type = \"page\""),
            track_page_view,
            track_page_view_batch
        ))
        .action(finish!(
            action(
                "trackScreenView",
                "Track Screen View",
                "Track a mobile app screen view for a known or anonymous person.",
                vec![
                    string(
                        "id",
                        "Person ID",
                        "The ID of the person who viewed the screen.",
                        Some(path("$.userId"))
                    ),
                    anonymous_id(),
                    event_id(),
                    string(
                        "name",
                        "Screen name",
                        "The name of the screen visited.",
                        Some(path("$.name"))
                    )
                    .required(),
                    timestamp(),
                    data(),
                    convert_timestamp(),
                ]
            )
            .default_trigger("type = \"screen\""),
            track_screen_view,
            track_screen_view_batch
        ))
        .action(finish!(
            action(
                "createUpdateDevice",
                "Create or Update Device",
                "Create or update a person's device.",
                vec![
                    person_id(),
                    string(
                        "device_id",
                        "Device ID",
                        "The device token.",
                        Some(path("$.context.device.token"))
                    )
                    .required(),
                    string(
                        "app_version",
                        "App Version",
                        "The version of the App",
                        Some(path("$.context.app.version"))
                    ),
                    string(
                        "platform",
                        "Platform",
                        "The device platform.",
                        Some(path("$.context.device.type"))
                    )
                    .required(),
                    string(
                        "last_used",
                        "Last Used",
                        "The timestamp for when the mobile device was last used.",
                        Some(path("$.timestamp"))
                    ),
                    object(
                        "attributes",
                        "Event Attributes",
                        "Optional attributes for the device.",
                        path("$.properties")
                    ),
                    convert_timestamp(),
                ]
            )
            .default_trigger(DEVICE_UPDATED),
            create_update_device,
            create_update_device_batch
        ))
        .action(finish!(
            action(
                "deleteDevice",
                "Delete Device",
                "Delete a person's device.",
                vec![
                    person_id(),
                    string(
                        "device_id",
                        "Device ID",
                        "The device token.",
                        Some(path("$.context.device.token"))
                    )
                    .required(),
                ]
            )
            .default_trigger(DEVICE_DELETED),
            delete_device,
            delete_device_batch
        ))
        .action(finish!(
            action(
                "deletePerson",
                "Delete Person",
                "Delete a person.",
                vec![person_id()]
            )
            .default_trigger("event = \"User Deleted\""),
            delete_person,
            delete_person_batch
        ))
        .action(finish!(
            action(
                "suppressPerson",
                "Suppress Person",
                "Suppress a person.",
                vec![person_id()]
            )
            .default_trigger("event = \"User Suppressed\""),
            suppress_person,
            suppress_person_batch
        ))
        .action(finish!(
            action(
                "unsuppressPerson",
                "Unsuppress Person",
                "Unsuppress a person.",
                vec![person_id()]
            )
            .default_trigger("event = \"User Unsuppressed\""),
            unsuppress_person,
            unsuppress_person_batch
        ))
        .action(finish!(
            action(
                "mergePeople",
                "Merge People",
                "Merge two people into one.",
                vec![
                    string(
                        "primary",
                        "Primary Person",
                        "The person that will remain.",
                        Some(path("$.userId"))
                    )
                    .required(),
                    string(
                        "secondary",
                        "Secondary Person",
                        "The person merged into the primary one and then deleted.",
                        Some(path("$.previousId"))
                    )
                    .required(),
                ]
            )
            .default_trigger("type = \"alias\""),
            merge_people,
            merge_people_batch
        ))
        .action(finish!(
            action(
                "createUpdateObject",
                "Create or Update Object",
                "Create an object in Customer.io or update it if it exists.",
                vec![
                    string(
                        "id",
                        "Object ID",
                        "An object ID used to identify an object.",
                        Some(path("$.groupId"))
                    )
                    .required(),
                    string(
                        "created_at",
                        "Created At",
                        "A timestamp of when the object was created.",
                        Some(path_or("$.traits.created_at", "$.traits.createdAt"))
                    ),
                    object(
                        "custom_attributes",
                        "Object Attributes",
                        "Optional attributes for the object.",
                        path("$.traits.objectAttributes")
                    ),
                    object(
                        "relationship_attributes",
                        "Relationship Attributes",
                        "Optional attributes for the relationship between the object and the user.",
                        path("$.traits.relationshipAttributes")
                    ),
                    string(
                        "user_id",
                        "User ID",
                        "The ID used to relate a user to the object.",
                        Some(path("$.userId"))
                    ),
                    anonymous_id(),
                    object_type_id("$.traits"),
                    convert_timestamp(),
                ]
            )
            .default_trigger("type = \"group\""),
            create_update_object,
            create_update_object_batch
        ))
        .action(finish!(
            action(
                "deleteObject",
                "Delete Object",
                "Delete an object.",
                vec![
                    string(
                        "object_id",
                        "Object ID",
                        "An identifier for the object.",
                        Some(path("$.properties.objectId"))
                    ),
                    object_type_id("$.properties"),
                ]
            )
            .default_trigger("event = \"Object Deleted\""),
            delete_object,
            delete_object_batch
        ))
        .action(finish!(
            action(
                "deleteRelationship",
                "Delete Relationship",
                "Delete a relationship between a person and an object.",
                vec![
                    person_id(),
                    anonymous_id(),
                    string(
                        "object_id",
                        "Object ID",
                        "An object ID used to identify an object.",
                        Some(path("$.properties.objectId"))
                    )
                    .required(),
                    object_type_id("$.properties"),
                ]
            )
            .default_trigger("event = \"Relationship Deleted\""),
            delete_relationship,
            delete_relationship_batch
        ))
        .action(finish!(
            action(
                "reportContentEvent",
                "Report Content Event",
                "Report a Viewed or Clicked Content event.",
                vec![
                    anonymous_id(),
                    string(
                        "actionType",
                        "Action Type",
                        "The type of content event.",
                        Some(path("$.properties.actionType"))
                    )
                    .required()
                    .choice("viewed_content", "Viewed content")
                    .choice("clicked_content", "Clicked content"),
                    timestamp(),
                    data(),
                    convert_timestamp(),
                ]
            )
            .default_trigger("event = \"Report Content Event\""),
            report_content_event,
            report_content_event_batch
        ))
        .action({
            let mut metric = string(
                "metric",
                "Metric",
                "The metric to report back to Customer.io.",
                Some(path("$.properties.metric")),
            )
            .required();
            for m in [
                "delivered",
                "opened",
                "clicked",
                "converted",
                "spammed",
                "bounced",
                "dropped",
                "deferred",
            ] {
                metric = metric.choice(m, m);
            }
            action(
                "reportDeliveryEvent",
                "Report Delivery Event",
                "Report delivery metrics for a message sent from the Customer.io Journeys product.",
                vec![
                    string(
                        "delivery_id",
                        "Delivery ID",
                        "The CIO-Delivery-ID of the message.",
                        Some(path("$.properties.deliveryId")),
                    )
                    .required(),
                    metric,
                    string(
                        "recipient",
                        "Recipient",
                        "Who the message was delivered to.",
                        Some(path("$.properties.recipient")),
                    ),
                    string(
                        "reason",
                        "Reason",
                        "For failure metrics, why.",
                        Some(path("$.properties.reason")),
                    ),
                    string(
                        "href",
                        "Href",
                        "For click metrics, the link that was clicked.",
                        Some(path("$.properties.href")),
                    ),
                    string(
                        "action_name",
                        "Action Name",
                        "For In-App messages, the name of the action.",
                        Some(path("$.properties.actionName")),
                    ),
                    string(
                        "action_value",
                        "Action Value",
                        "For In-App messages, the value of the action.",
                        Some(path("$.properties.actionValue")),
                    ),
                    Field::datetime("timestamp", "Timestamp")
                        .description("When the metric happened; now when absent.")
                        .default(path("$.timestamp")),
                    // Declared as the reference declares them, so mappings carry over; this
                    // action is never batched (Customer.io's metrics endpoint takes one).
                    Field::boolean("enable_batching", "Enable Batching")
                        .description("Kept for compatibility; metrics are sent one by one.")
                        .default(json!(true)),
                    Field::number("batch_size", "Batch Size")
                        .description("Kept for compatibility; metrics are sent one by one.")
                        .default(json!(50)),
                ],
            )
            .default_trigger("event = \"Report Delivery Event\"")
            .perform(actions::report_delivery_event::perform)
        })
}

switchyard_plugin_sdk::export!(plugin);
