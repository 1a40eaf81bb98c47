//! The two v2 actions, and what their requests share: FullStory's address, the headers, and
//! property-name normalisation (FullStory property names may only hold letters, digits and
//! underscores: other characters are removed from every key, down to five levels of nested
//! objects, as the reference does).

pub(crate) mod identify_user;
pub(crate) mod track_event;

use crate::response;
use serde_json::{Map, Value};
use switchyard_plugin_sdk::{Context, Error};

const API: &str = "https://api.fullstory.com";

/// How deep into nested objects property names are normalised.
pub(crate) const DEPTH: usize = 5;

/// Keys with only letters, digits and underscores, in objects down to [`DEPTH`] levels.
pub(crate) fn normalize(object: Map<String, Value>, depth: usize) -> Map<String, Value> {
    object
        .into_iter()
        .map(|(key, value)| {
            let key: String = key
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            let value = match value {
                Value::Object(inner) if depth > 1 => Value::Object(normalize(inner, depth - 1)),
                other => other,
            };
            (key, value)
        })
        .collect()
}

/// Posts `body` to FullStory's `path` with the key and the integration header Segment sends.
pub(crate) fn post(ctx: &mut Context, path: &str, key: &str, body: &Value) -> Result<(), Error> {
    let sent = ctx
        .post(&format!("{API}{path}"))
        .header("Authorization", &format!("Basic {key}"))
        .header("Integration-Source", "segment")
        .json(body)
        .send()?;
    response::check(sent)
}
