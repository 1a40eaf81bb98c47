//! Slack: post a message to a channel through an incoming-webhook URL.
//!
//! Compatible with Segment's Slack destination (`postToChannel`): same action id, field keys and
//! default mappings, and the same URL check before anything is sent.

mod actions;
mod response;
mod settings;
#[cfg(test)]
mod tests;

use serde_json::json;
use switchyard_plugin_sdk::{Action, Field, Plugin};

/// The Slack plugin.
pub fn plugin() -> Plugin {
    Plugin::new("slack", "Slack", env!("CARGO_PKG_VERSION"))
        .description("Post messages to a Slack workspace through incoming webhooks.")
        .allowed_host("https://*.slack.com")
        .action(
            Action::new("postToChannel", "Post Message")
                .description(
                    "Post a message to the specified Slack workspace and channel when the \
                     associated trigger criteria are met.",
                )
                .field(
                    Field::string("url", "Webhook URL")
                        .description(
                            "The webhook provided by Slack to connect with the desired Slack \
                             workspace.",
                        )
                        .required(),
                )
                .field(
                    Field::text("text", "Message")
                        .description(
                            "The text message to post to Slack. You can use Slack's formatting \
                             syntax.",
                        )
                        .required(),
                )
                .field(Field::string("channel", "Channel").description(
                    "The channel within the Slack workspace. Do not include the # character.",
                ))
                .field(
                    Field::string("username", "User")
                        .description("The sender of the posted message.")
                        .default(json!("Segment")),
                )
                .field(
                    Field::string("icon_url", "Icon URL")
                        .description("The URL of the image that appears next to the User.")
                        .default(json!("https://logo.clearbit.com/segment.com")),
                )
                .perform(actions::post_to_channel::perform),
        )
}

switchyard_plugin_sdk::export!(plugin);
