//! Google Ads' settings: the customer (and manager) account ids, the developer token, and the
//! OAuth client and refresh token from which access tokens are made (`actions/auth.rs`).

/// The Google Ads API this plugin speaks.
pub(crate) const API: &str = "https://googleads.googleapis.com/v22";

/// The plugin's settings.
#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Settings {
    pub(crate) customer_id: Option<String>,
    pub(crate) login_customer_id: Option<String>,
    pub(crate) developer_token: String,
    pub(crate) client_id: String,
    pub(crate) client_secret: String,
    pub(crate) refresh_token: String,
}
