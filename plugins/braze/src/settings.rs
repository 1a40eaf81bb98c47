//! Braze's settings: the REST API key (sent as a bearer token), the app id some requests carry,
//! and the account's REST endpoint, which must be an https URL.

use serde::Deserialize;
use serde_json::{Value, json};
use switchyard_plugin_sdk::Error;

#[derive(Debug, Deserialize)]
pub(crate) struct Settings {
    pub(crate) api_key: String,
    #[serde(default)]
    app_id: Option<String>,
    endpoint: String,
}

impl Settings {
    pub(crate) fn api_key(&self) -> &str {
        &self.api_key
    }

    /// The endpoint with `path`, after checking the endpoint is an https URL.
    pub(crate) fn url(&self, path: &str) -> Result<String, Error> {
        let base = self.endpoint.trim_end_matches('/');
        if !base.starts_with("https://") {
            return Err(Error::invalid_settings(format!(
                "endpoint {base:?} must be an https:// Braze REST endpoint"
            )));
        }
        Ok(format!("{base}{path}"))
    }

    pub(crate) fn app_id(&self) -> Option<Value> {
        self.app_id
            .as_deref()
            .filter(|a| !a.is_empty())
            .map(|a| json!(a))
    }
}
