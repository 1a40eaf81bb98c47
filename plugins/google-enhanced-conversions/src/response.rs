//! Google Ads' answers. A refused request's status is classified as the SDK does (429 with
//! `Retry-After` is a rate limit, 5xx retries, 401 refreshes the token once, other 4xx are
//! final). Uploads and user-data jobs are sent with partial failure on: Google answers 200 and
//! lists the objects it refused, by index, so each event gets its own result.

use serde_json::Value;
use switchyard_plugin_sdk::Error;

/// Each uploaded object's failure from a 2xx answer's `partialFailureError`, found by the
/// index in its error locations (`fieldPathElements: [{fieldName: "conversions", index}]`).
/// A partial failure that names no index fails every object with its message.
/// Each failure has `status` (Google's partial failures carry one code for all of them).
pub(crate) fn partial_failures(
    body: &Value,
    list: &str,
    count: usize,
    status: u16,
) -> Vec<Option<Error>> {
    let failure = &body["partialFailureError"];
    if failure.is_null() || failure["code"].as_i64() == Some(0) {
        return vec![None; count];
    }
    let mut out: Vec<Option<Error>> = vec![None; count];
    let mut placed = false;
    let errors = failure["details"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|d| d["errors"].as_array().into_iter().flatten());
    for error in errors {
        let index = error["location"]["fieldPathElements"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|e| e["fieldName"] == list)
            .and_then(|e| e["index"].as_u64())
            .and_then(|i| usize::try_from(i).ok())
            .filter(|i| *i < count);
        let Some(index) = index else { continue };
        let message = error["message"]
            .as_str()
            .unwrap_or("refused by Google")
            .to_string();
        let message = match out[index].take() {
            Some(earlier) => format!("{earlier}; {message}"),
            None => message,
        };
        out[index] = Some(Error::from_status(status, message, None));
        placed = true;
    }
    if !placed {
        let message = failure["message"]
            .as_str()
            .unwrap_or("Google refused the upload")
            .to_string();
        return vec![Some(Error::from_status(status, message, None)); count];
    }
    out
}
