//! `triggerCampaign` and `triggerCanvas`: start an API-triggered campaign or canvas for the
//! event's user (or everyone in its segment), one request per event.
//!
//! The body is the payload as mapped, as in the reference: when there are recipients, a
//! top-level `prioritization` ({first_priority, second_priority}) becomes the list Braze expects
//! and is copied into every recipient (without recipients it stays where it is). A recipient keeps
//! only the keys the reference declares for it, and a canvas recipient's `user_alias` only
//! `alias_name` and `alias_label` (the reference's schema drops the others). Braze's `message`
//! in an error answer becomes the error text.

use crate::response;
use crate::settings::Settings;
use serde_json::{Map, Value, json};
use switchyard_plugin_sdk::{Action, Context, Error, Field, Response};

const PRIORITIES: &[(&str, &str)] = &[
    ("identified", "Identified"),
    ("unidentified", "Unidentified"),
    ("most_recently_updated", "Most recently updated"),
    ("least_recently_updated", "Least recently updated"),
];

fn common(action: Action, what: &str) -> Action {
    action
        .field(
            Field::boolean("broadcast", "Broadcast").description(&format!(
                "If true, the {what} is sent to all the users in the segment it targets. It cannot \
             be used with recipients."
            )),
        )
        .field(
            Field::object("recipients", "Recipients")
                .description(
                    "User identifiers to send to (external_user_id, user_alias or email, with \
                     optional per-user properties). It cannot be used with broadcast.",
                )
                .multiple(),
        )
        .field(
            Field::object("prioritization", "Prioritization").description(
                "first_priority and second_priority (identified, unidentified, \
             most_recently_updated, least_recently_updated); required when recipients are \
             identified by email.",
            ),
        )
        .field(Field::object("audience", "Audience").description(
            "A standard audience object: only users in the audience receive the message.",
        ))
}

pub(crate) fn trigger_campaign() -> Action {
    let action = Action::new("triggerCampaign", "Trigger Campaign")
        .description("Trigger a Braze Campaign via API-triggered delivery")
        .default_trigger("type = \"track\"")
        .field(
            Field::string("campaign_id", "Campaign ID")
                .description(
                    "The ID of the Braze campaign to trigger. The campaign must be an \
                     API-triggered campaign created in Braze.",
                )
                .required(),
        )
        .field(Field::string("send_id", "Send ID").description(
            "Optional string to identify the send, for send-level analytics or to cancel it.",
        ))
        .field(
            Field::object("trigger_properties", "Trigger Properties")
                .description("Personalization key-value pairs for all users in this request.")
                .default_with(|| json!({"@path": "$.properties"})),
        )
        .field(
            Field::object("attachments", "Attachments")
                .description("Files (file_name and url) to send with the campaign; 2 MB each.")
                .multiple(),
        );
    common(action, "campaign").perform(campaign)
}

pub(crate) fn trigger_canvas() -> Action {
    let action = Action::new("triggerCanvas", "Trigger Canvas")
        .description(
            "Trigger a Braze Canvas to deliver a cross-channel message to the specified user.",
        )
        .default_trigger("type = \"track\"")
        .field(
            Field::string("canvas_id", "Canvas ID")
                .description(
                    "The ID of the canvas to trigger. The canvas must be API-triggered and the \
                     status must be \"Draft\" or \"Active\".",
                )
                .required(),
        )
        .field(
            Field::object("canvas_entry_properties", "Canvas Entry Properties")
                .description("Personalization key-value pairs for all users in this request.")
                .default_with(|| json!({"@path": "$.properties"})),
        );
    common(action, "canvas").perform(canvas)
}

fn campaign(ctx: &mut Context, p: Map<String, Value>, s: Settings) -> Result<(), Error> {
    send(ctx, "/campaigns/trigger/send", p, &s)
}

/// The keys a recipient may have, as the reference declares them; the others are dropped.
const CAMPAIGN_RECIPIENT: &[&str] = &[
    "external_user_id",
    "user_alias",
    "email",
    "trigger_properties",
    "send_to_existing_only",
    "attributes",
];
const CANVAS_RECIPIENT: &[&str] = &[
    "external_user_id",
    "user_alias",
    "email",
    "canvas_entry_properties",
    "send_to_existing_only",
    "attributes",
];

fn canvas(ctx: &mut Context, p: Map<String, Value>, s: Settings) -> Result<(), Error> {
    send(ctx, "/canvas/trigger/send", p, &s)
}

/// The request body: the payload, checked, its recipients keeping their declared keys, and
/// with prioritization moved into the recipients when there are any.
pub(crate) fn body(mut p: Map<String, Value>, canvas: bool) -> Result<Value, Error> {
    let broadcast = p.get("broadcast") == Some(&Value::Bool(true));
    let recipients = p
        .get("recipients")
        .and_then(Value::as_array)
        .is_some_and(|r| !r.is_empty());
    if !broadcast && !recipients {
        return Err(Error::invalid_payload(
            "Either \"broadcast\" must be true or \"recipients\" list must be provided.",
        ));
    }
    if broadcast && recipients {
        return Err(Error::invalid_payload(
            "When \"broadcast\" is true, \"recipients\" list cannot be included.",
        ));
    }
    if let Some(Value::Object(order)) = p.get("prioritization") {
        for key in ["first_priority", "second_priority"] {
            if let Some(v) = order.get(key).and_then(Value::as_str)
                && !PRIORITIES.iter().any(|(p, _)| *p == v)
            {
                return Err(Error::invalid_payload(format!(
                    "prioritization.{key} is {v:?}; it must be one of identified, \
                     unidentified, most_recently_updated, least_recently_updated"
                )));
            }
        }
    }
    let declared = if canvas {
        CANVAS_RECIPIENT
    } else {
        CAMPAIGN_RECIPIENT
    };
    if let Some(Value::Array(list)) = p.get_mut("recipients") {
        for r in list.iter_mut().filter_map(Value::as_object_mut) {
            r.retain(|k, _| declared.contains(&k.as_str()));
            if canvas && let Some(Value::Object(alias)) = r.get_mut("user_alias") {
                alias.retain(|k, _| k == "alias_name" || k == "alias_label");
            }
        }
    }
    if recipients && let Some(Value::Object(order)) = p.remove("prioritization") {
        let list: Vec<Value> = ["first_priority", "second_priority"]
            .iter()
            .filter_map(|k| order.get(*k).filter(|v| v.is_string()).cloned())
            .collect();
        if !list.is_empty()
            && let Some(Value::Array(recipients)) = p.get_mut("recipients")
        {
            for r in recipients.iter_mut().filter_map(Value::as_object_mut) {
                r.insert("prioritization".into(), Value::Array(list.clone()));
            }
        }
    }
    Ok(Value::Object(p))
}

fn send(ctx: &mut Context, path: &str, p: Map<String, Value>, s: &Settings) -> Result<(), Error> {
    let body = body(p, path.starts_with("/canvas"))?;
    post(ctx, path, &body, s)?;
    Ok(())
}

/// POSTs `body` to `path`; a refusal carries Braze's own `message` when it gives one.
pub(crate) fn post(
    ctx: &mut Context,
    path: &str,
    body: &Value,
    s: &Settings,
) -> Result<Response, Error> {
    let url = s.url(path)?;
    response::with_braze_message(ctx.post(&url).bearer(s.api_key()).json(body).send()?)
}
