//! FullStory's actions: the v2 `trackEventV2` (`track_event.rs`) and `identifyUserV2`
//! (`identify_user.rs`), the V1 `trackEvent` and `identifyUser` (`v1.rs`, FullStory's v1
//! users API), and what their requests share: FullStory's address, the headers, and
//! property-name normalisation (`names.rs`).

pub(crate) mod identify_user;
pub(crate) mod names;
pub(crate) mod track_event;
pub(crate) mod v1;

use crate::response;
use serde_json::Value;
use switchyard_plugin_sdk::{Context, Error};

const API: &str = "https://api.fullstory.com";

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
