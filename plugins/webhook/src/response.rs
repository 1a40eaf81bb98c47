//! The endpoint's answers: only the status counts (the body is not read), as the SDK classifies
//! it (429 with `Retry-After` is a rate limit, 408 and 5xx retry, other 4xx are final).

use switchyard_plugin_sdk::{Error, Response};

/// Delivered, or the error the status means.
pub(crate) fn check(response: Response) -> Result<(), Error> {
    response.error_for_status().map(drop)
}
