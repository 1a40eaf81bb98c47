//! Slack's answers. An incoming webhook answers `200 ok`, or a status with a short text reason
//! (`invalid_payload`, `no_service`, `channel_not_found`): the status alone decides, as the SDK
//! classifies it (429 with `Retry-After` is a rate limit, 5xx retries, other 4xx are final).

use switchyard_plugin_sdk::{Error, Response};

/// Delivered, or the error Slack's status means.
pub(crate) fn check(response: Response) -> Result<(), Error> {
    response.error_for_status().map(drop)
}
