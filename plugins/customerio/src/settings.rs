//! Customer.io's settings: the site id and API key (HTTP Basic auth of `siteId:apiKey` on every
//! request) and the account region (the EU region uses track-eu.customer.io).

use base64::Engine;
use serde::Deserialize;

#[derive(Debug, Deserialize)]
pub(crate) struct Settings {
    #[serde(rename = "siteId")]
    site_id: String,
    #[serde(rename = "apiKey")]
    api_key: String,
    #[serde(rename = "accountRegion", default)]
    account_region: Option<String>,
}

impl Settings {
    pub(crate) fn host(&self) -> &'static str {
        if self.account_region.as_deref() == Some("EU 🇪🇺") {
            "https://track-eu.customer.io"
        } else {
            "https://track.customer.io"
        }
    }

    pub(crate) fn auth(&self) -> String {
        let pair = format!("{}:{}", self.site_id, self.api_key);
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(pair)
        )
    }
}
