//! `identifyUserV2`: user properties → `POST /v2/users`; the anonymous id goes along as the
//! `segmentAnonymousId` property.

use super::names::{Options, normalize};
use super::post;
use crate::settings::Settings;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use switchyard_plugin_sdk::{Context, Error};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Identify {
    uid: Option<String>,
    anonymous_id: Option<String>,
    display_name: Option<String>,
    email: Option<String>,
    properties: Option<Map<String, Value>>,
}

pub(crate) fn perform(ctx: &mut Context, u: Identify, s: Settings) -> Result<(), Error> {
    let mut properties = normalize(u.properties.unwrap_or_default(), Options::default());
    if let Some(anonymous) = u.anonymous_id {
        properties.insert("segmentAnonymousId".into(), json!(anonymous));
    }
    let mut body = json!({"properties": properties});
    if let Some(uid) = u.uid {
        body["uid"] = json!(uid);
    }
    if let Some(email) = u.email {
        body["email"] = json!(email);
    }
    if let Some(name) = u.display_name {
        body["display_name"] = json!(name);
    }
    post(ctx, "/v2/users", &s.api_key, &body)
}
