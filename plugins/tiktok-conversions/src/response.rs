//! TikTok's answers. The status is classified as the SDK does (429 with `Retry-After` is a rate
//! limit, 5xx retries, other 4xx are final). One difference from the reference: TikTok answers
//! some refusals with HTTP 200 and a non-zero `code` in the body. The reference counts those as
//! delivered; here they fail with TikTok's message, classified by code (throttling and TikTok's
//! own failures are retried), so they show in the delivery log and dead letters.

use serde::Deserialize;
use switchyard_plugin_sdk::{Error, Response};

/// Delivered, or the error TikTok's status or code means.
pub(crate) fn check(response: Response) -> Result<(), Error> {
    let response = response.error_for_status()?;
    #[derive(Deserialize)]
    struct Answer {
        code: Option<i64>,
        message: Option<String>,
    }
    if let Ok(Answer {
        code: Some(code),
        message,
    }) = serde_json::from_slice::<Answer>(&response.body)
        && code != 0
    {
        let message = format!(
            "TikTok refused the event (code {code}): {}",
            message.unwrap_or_default()
        );
        return Err(classify_code(code, message, response.status));
    }
    Ok(())
}

/// TikTok's Business API codes in a 200 answer: 40100 and 42900 are throttling (retried after
/// backoff), 40102/40104/40105 a missing, expired or wrong access token, 5xxxx TikTok's own
/// failures (retried); the rest say the event itself is wrong.
fn classify_code(code: i64, message: String, status: u16) -> Error {
    match code {
        40100 | 42900 => Error::rate_limited(message, None),
        40102 | 40104 | 40105 => Error::Auth {
            message,
            status: Some(status),
        },
        50000..=59999 => Error::Retryable {
            message,
            status: Some(status),
        },
        _ => Error::Permanent {
            message,
            status: Some(status),
        },
    }
}
