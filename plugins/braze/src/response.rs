//! Braze's answers. A refusal's status is classified as the SDK does (429 with `Retry-After` is
//! a rate limit, 5xx retries, 401/403 are auth, other 4xx final), with Braze's own `message`
//! as the error text where the reference shows it. A `/users/track` call answers 2xx with an
//! `errors` list naming the objects it refused, by index: those events fail with the error's
//! type, the rest are delivered.

use serde::Deserialize;
use serde_json::Value;
use switchyard_plugin_sdk::{Error, Response};

/// The answer, or the error its status means with Braze's own `message` when it gives one.
pub(crate) fn with_braze_message(response: Response) -> Result<Response, Error> {
    if response.is_success() {
        return Ok(response);
    }
    let message = serde_json::from_slice::<Value>(&response.body)
        .ok()
        .and_then(|b| b.get("message").and_then(Value::as_str).map(String::from));
    match (response.error_for_status(), message) {
        (Err(e), Some(message)) => Err(with_message(e, message)),
        (result, _) => result,
    }
}

/// The same error, with Braze's own words.
fn with_message(e: Error, message: String) -> Error {
    match e {
        Error::Retryable { status, .. } => Error::Retryable { message, status },
        Error::Permanent { status, .. } => Error::Permanent { message, status },
        Error::Auth { status, .. } => Error::Auth { message, status },
        Error::RateLimited { retry_after, .. } => Error::RateLimited {
            message,
            retry_after,
        },
        other => other,
    }
}

/// One result per member of a `/users/track` call that Braze answered 2xx: `owners` maps each
/// object sent to its member.
pub(crate) fn track_results(
    response: &Response,
    owners: &[usize],
    members: usize,
) -> Vec<Result<(), Error>> {
    let mut results = vec![Ok(()); members];
    #[derive(Deserialize)]
    struct Refusal {
        #[serde(rename = "type")]
        kind: Option<String>,
        index: Option<usize>,
    }
    #[derive(Deserialize)]
    struct Answer {
        #[serde(default)]
        errors: Vec<Refusal>,
    }
    if let Ok(answer) = serde_json::from_slice::<Answer>(&response.body) {
        for refusal in answer.errors {
            let message = refusal.kind.unwrap_or_else(|| "refused by Braze".into());
            let owner = match refusal.index {
                Some(i) => owners.get(i).copied(),
                // An error without an index concerns the whole request.
                None => None,
            };
            let error = Error::Permanent {
                message: message.clone(),
                status: Some(400),
            };
            match owner {
                Some(o) => results[o] = Err(error),
                None if members == 1 => results[0] = Err(error),
                None => {}
            }
        }
    }
    results
}
