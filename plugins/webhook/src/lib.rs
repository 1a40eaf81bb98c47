//! Webhook: send events to any HTTP endpoint, as Segment's Webhook destination does.
//!
//! Action `send`: `url`, `method` (POST, PUT, PATCH), `headers`, and `data` (the body, by default
//! the whole event). With `enable_batching` (off by default, as in Segment), batches go out as
//! one JSON array per distinct url, method and headers.
//! The plugin declares no outbound hosts: the operator lists the endpoints in the destination's
//! `allowed_hosts`.

mod actions;
mod response;
mod settings;
#[cfg(test)]
mod tests;

use serde_json::json;
use switchyard_plugin_sdk::{Action, Field, Plugin};

/// The largest batch sent in one request.
pub const MAX_BATCH_SIZE: u32 = 1000;

/// The webhook plugin.
pub fn plugin() -> Plugin {
    Plugin::new("webhook", "Webhook", env!("CARGO_PKG_VERSION"))
        .description("Send events to any HTTP endpoint as JSON.")
        .action(
            Action::new("send", "Send")
                .description("Send an HTTP request with the event (or any mapped data) as JSON.")
                .field(
                    Field::string("url", "URL")
                        .description("URL to deliver data to.")
                        .required(),
                )
                .field(
                    Field::string("method", "Method")
                        .description("HTTP method to use.")
                        .required()
                        .choice("POST", "POST")
                        .choice("PUT", "PUT")
                        .choice("PATCH", "PATCH")
                        .default(json!("POST")),
                )
                .field(
                    Field::object("headers", "Headers")
                        .description("HTTP headers to send with each request."),
                )
                .field(
                    Field::object("data", "Data")
                        .description("Payload to deliver to the webhook URL (JSON-encoded).")
                        .default_with(|| json!({"@path": "$."})),
                )
                .field(
                    Field::boolean("enable_batching", "Batch data")
                        .description(
                            "Send events in batches: one request with a JSON array of the \
                             events' data.",
                        )
                        .default(json!(false)),
                )
                .field(
                    Field::integer("batch_size", "Batch size")
                        .description("Most events in one batch; 0 for the largest (1000).")
                        .default(json!(0)),
                )
                .perform(actions::send::perform)
                .perform_batch(MAX_BATCH_SIZE, actions::send::perform_batch),
        )
}

switchyard_plugin_sdk::export!(plugin);
