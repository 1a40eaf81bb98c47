//! FullStory's one setting: the API key, sent as `Authorization: Basic <apiKey>` (the key
//! itself, as FullStory's API keys are sent).

use serde::Deserialize;

#[derive(Debug, Deserialize)]
pub(crate) struct Settings {
    #[serde(rename = "apiKey")]
    pub(crate) api_key: String,
}
