//! FullStory: custom events and user properties through FullStory's server API (v2).
//!
//! Compatible with Segment's "Fullstory Cloud Mode (Actions)": `trackEventV2` and
//! `identifyUserV2` (its presets) and the V1 `trackEvent` and `identifyUser`, with the same
//! action ids, the `apiKey` setting, field keys and default mappings. Requests carry `Authorization: Basic <apiKey>` (the key itself, as FullStory's
//! API keys are sent) and `Integration-Source: segment`.
//!
//! FullStory property names may only hold letters, digits and underscores: other characters
//! are removed from every key, down to five levels of nested objects, as the reference does
//! (`actions/names.rs`, which also gives V1 names their type suffixes).

mod actions;
mod response;
mod settings;
#[cfg(test)]
mod tests;

use serde_json::json;
use switchyard_plugin_sdk::{Action, Field, Plugin, Preset, Setting};

/// The FullStory plugin.
pub fn plugin() -> Plugin {
    Plugin::new("fullstory", "FullStory", env!("CARGO_PKG_VERSION"))
        .description("Send custom events and user properties to FullStory.")
        .allowed_host("https://api.fullstory.com")
        .setting(
            Setting::string("apiKey", "API Key")
                .description(
                    "FullStory API key: https://help.fullstory.com/hc/en-us/articles/360052021773",
                )
                .required()
                .secret(),
        )
        .preset(Preset::new(
            "Track Event",
            "trackEventV2",
            "type = \"track\"",
        ))
        .preset(Preset::new(
            "Identify User",
            "identifyUserV2",
            "type = \"identify\"",
        ))
        .action(
            event_fields(
                Action::new("trackEventV2", "Track Event V2").description("Track events V2."),
                false,
            )
            .perform(actions::track_event::perform),
        )
        .action(
            identify_fields(
                Action::new("identifyUserV2", "Identify User V2").description(
                    "Sets user identity variables. Creates a new FullStory user if no user \
                     matching the given uid is found.",
                ),
                ("uid", false),
                "properties",
            )
            .perform(actions::identify_user::perform),
        )
        .action(
            event_fields(
                Action::new("trackEvent", "Track Event").description("Track events"),
                true,
            )
            .perform(actions::v1::track_event),
        )
        .action(
            identify_fields(
                Action::new("identifyUser", "Identify User")
                    .description("Sets user identity variables"),
                ("userId", true),
                "traits",
            )
            .perform(actions::v1::identify_user),
        )
}

fn path(p: &str) -> serde_json::Value {
    json!({"@path": p})
}

/// The fields of the track actions (V1 requires the user id, V2 does not).
fn event_fields(action: Action, user_required: bool) -> Action {
    let user = Field::string("userId", "User ID")
        .description("The user's id")
        .default(path("$.userId"));
    action
        .default_trigger("type = \"track\"")
        .field(if user_required { user.required() } else { user })
        .field(
            Field::string("name", "Name")
                .description("The name of the event.")
                .required()
                .default(path("$.event")),
        )
        .field(
            Field::object("properties", "Properties")
                .description(
                    "A JSON object containing additional information about the event that will \
                     be indexed by FullStory.",
                )
                .default(path("$.properties")),
        )
        .field(
            Field::datetime("timestamp", "Timestamp")
                .description(
                    "The date and time when the event occurred. If not provided, the current \
                     FullStory server time will be used.",
                )
                .default(path("$.timestamp")),
        )
        .field(
            Field::boolean("useRecentSession", "Use Recent Session").description(
                "Set to true if the custom event should be attached to the user's most recent \
                 session (active within the past 30 minutes).",
            ),
        )
        .field(Field::string("sessionUrl", "Session URL").description(
            "If known, the FullStory session playback URL to which the event should be attached, \
             as returned by the FS.getCurrentSessionURL() client API.",
        ))
}

/// The fields of the identify actions: the user id's key (and whether it is required) and the
/// traits' key differ between V1 and V2.
fn identify_fields(
    action: Action,
    (user_key, user_required): (&str, bool),
    traits: &str,
) -> Action {
    let user = Field::string(user_key, "User ID")
        .description("The user's id")
        .default(path("$.userId"));
    action
        .default_trigger("type = \"identify\"")
        .field(if user_required { user.required() } else { user })
        .field(
            Field::string("anonymousId", "Anonymous ID")
                .description("The user's anonymous id")
                .default(path("$.anonymousId")),
        )
        .field(
            Field::string("displayName", "Display Name")
                .description("The user's display name")
                .default(path("$.traits.name")),
        )
        .field(
            Field::string("email", "Email")
                .description("The user's email")
                .default(path("$.traits.email")),
        )
        .field(
            Field::object(traits, "Traits")
                .description("The Segment traits to be forwarded to FullStory")
                .default(path("$.traits")),
        )
}

switchyard_plugin_sdk::export!(plugin);
