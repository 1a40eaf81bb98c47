//! GA4's answers. The Measurement Protocol answers 2xx to every event it receives, dropped or
//! not (which is why the actions check events before sending); other statuses are classified
//! as the SDK does (429 with `Retry-After` is a rate limit, 5xx retries, other 4xx are final).

use switchyard_plugin_sdk::{Error, Response};

/// Delivered, or the error the status means.
pub(crate) fn check(response: Response) -> Result<(), Error> {
    response.error_for_status().map(drop)
}
