//! GA4's settings: a web stream's measurement id or an app stream's Firebase app id, and the
//! Measurement Protocol API secret (sent as the `api_secret` query parameter).

use serde::Deserialize;

#[derive(Debug, Deserialize)]
pub(crate) struct Settings {
    #[serde(rename = "measurementId")]
    pub(crate) measurement_id: Option<String>,
    #[serde(rename = "firebaseAppId")]
    pub(crate) firebase_app_id: Option<String>,
    #[serde(rename = "apiSecret")]
    pub(crate) api_secret: String,
}
