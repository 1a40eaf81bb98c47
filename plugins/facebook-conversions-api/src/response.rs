//! Meta's answers: the Graph API explains a refusal in `error.message`, which replaces the
//! SDK's generic message; the status decides the kind (429 with `Retry-After` is a rate limit,
//! 5xx retries, 401/403 are auth, other 4xx final).

use serde_json::Value;
use switchyard_plugin_sdk::{Error, Response};

/// Delivered, or the error Meta's answer means.
pub(crate) fn check(response: Response) -> Result<(), Error> {
    if response.is_success() {
        return Ok(());
    }
    // The Graph API explains refusals in error.message.
    let message = serde_json::from_slice::<Value>(&response.body)
        .ok()
        .and_then(|b| b["error"]["message"].as_str().map(String::from));
    match (response.error_for_status(), message) {
        (Err(Error::Permanent { status, .. }), Some(message)) => {
            Err(Error::Permanent { message, status })
        }
        (Err(Error::Auth { status, .. }), Some(message)) => Err(Error::Auth { message, status }),
        (Err(e), _) => Err(e),
        (Ok(_), _) => Ok(()),
    }
}
