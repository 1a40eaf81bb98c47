//! FullStory's answers: 200 for success, and a JSON error otherwise; the status decides, as the
//! SDK classifies it (429 with `Retry-After` is a rate limit, 5xx retries, 401/403 and other 4xx
//! are final).

use switchyard_plugin_sdk::{Error, Response};

/// Delivered, or the error FullStory's status means.
pub(crate) fn check(response: Response) -> Result<(), Error> {
    response.error_for_status().map(drop)
}
