//! Amplitude's answers: the status decides, as the SDK classifies it (429 with `Retry-After` is
//! a rate limit, 5xx retries, other 4xx, such as 400 for an invalid event, are final).

use switchyard_plugin_sdk::{Error, Response};

/// Delivered, or the error Amplitude's status means.
pub(crate) fn check(response: Response) -> Result<(), Error> {
    response.error_for_status().map(drop)
}
