//! TikTok's settings: the Events API access token (sent as `Access-Token`) and the pixel code
//! every event is reported to.

use serde::Deserialize;

#[derive(Debug, Deserialize)]
pub(crate) struct Settings {
    #[serde(rename = "accessToken")]
    pub(crate) access_token: String,
    #[serde(rename = "pixelCode")]
    pub(crate) pixel_code: String,
}
