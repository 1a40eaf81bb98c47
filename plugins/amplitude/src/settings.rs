//! Amplitude's settings: the API key (sent inside every body, as Amplitude's ingestion APIs
//! expect) and the data region, which picks the endpoints.

/// Amplitude's ingestion endpoints, North America first and Europe second.
pub(crate) enum Endpoint {
    HttpApi,
    Batch,
    Identify,
    GroupIdentify,
    UserMap,
}

impl Endpoint {
    pub(crate) fn url(self, region: Option<&str>) -> &'static str {
        let europe = region == Some("europe");
        match (self, europe) {
            (Endpoint::HttpApi, false) => "https://api2.amplitude.com/2/httpapi",
            (Endpoint::HttpApi, true) => "https://api.eu.amplitude.com/2/httpapi",
            (Endpoint::Batch, false) => "https://api2.amplitude.com/batch",
            (Endpoint::Batch, true) => "https://api.eu.amplitude.com/batch",
            (Endpoint::Identify, false) => "https://api2.amplitude.com/identify",
            (Endpoint::Identify, true) => "https://api.eu.amplitude.com/identify",
            (Endpoint::GroupIdentify, false) => "https://api2.amplitude.com/groupidentify",
            (Endpoint::GroupIdentify, true) => "https://api.eu.amplitude.com/groupidentify",
            (Endpoint::UserMap, false) => "https://api.amplitude.com/usermap",
            (Endpoint::UserMap, true) => "https://api.eu.amplitude.com/usermap",
        }
    }
}

/// The plugin's settings.
#[derive(Debug, serde::Deserialize)]
pub(crate) struct Settings {
    #[serde(rename = "apiKey")]
    pub(crate) api_key: String,
    pub(crate) endpoint: Option<String>,
}
