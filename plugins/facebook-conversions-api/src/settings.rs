//! Meta's settings: the pixel (or dataset) id events are sent to, the access token (a secret;
//! Segment uses its own system-user token), and an optional test event code.

use serde::Deserialize;
use switchyard_plugin_sdk::Error;

#[derive(Debug, Deserialize)]
pub(crate) struct Settings {
    #[serde(rename = "pixelId")]
    pub(crate) pixel_id: String,
    #[serde(rename = "testEventCode", default)]
    pub(crate) test_event_code: Option<String>,
    #[serde(rename = "accessToken")]
    pub(crate) access_token: String,
}

impl Settings {
    /// The pixel id, checked: a Pixel or dataset ID is letters and digits only (it is a path
    /// segment of the request).
    pub(crate) fn checked_pixel_id(&self) -> Result<&str, Error> {
        if self.pixel_id.is_empty() || !self.pixel_id.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(Error::invalid_settings(format!(
                "pixelId {:?} must be a Pixel or dataset ID (letters and digits)",
                self.pixel_id
            )));
        }
        Ok(&self.pixel_id)
    }
}
