//! Customer.io's answers: the status decides, as the SDK classifies it (429 with `Retry-After`
//! is a rate limit, 5xx retries, 401/403 are auth, other 4xx final). A batch call's answer is
//! every event's answer.

use switchyard_plugin_sdk::{Error, Response};

/// Delivered, or the error Customer.io's status means.
pub(crate) fn check(response: Response) -> Result<(), Error> {
    response.error_for_status().map(drop)
}
