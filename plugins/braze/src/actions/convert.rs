//! Value conversions Braze's reference applies before sending: times as ISO 8601 in UTC with
//! milliseconds (`dayjs(x).toISOString()`), dates of birth as `YYYY-MM-DD`, and gender words
//! as Braze's one-letter codes.

use serde_json::Value;
use switchyard_plugin_sdk::date;
use time::macros::format_description;
use time::{OffsetDateTime, UtcOffset};

/// Parses what dayjs parses in practice: an ISO 8601 text (the SDK's reading: a bare date, or a
/// date and time, without a zone taken as UTC where the reference takes the server's zone), or
/// epoch milliseconds.
pub(crate) fn parse_time(value: &Value) -> Option<OffsetDateTime> {
    match value {
        Value::Number(n) => {
            let ms = n.as_f64()? as i128;
            OffsetDateTime::from_unix_timestamp_nanos(ms * 1_000_000).ok()
        }
        Value::String(s) => date::parse(s.trim()),
        _ => None,
    }
}

/// `2024-03-01T10:00:00.000Z`; `None` for a value that is not a time (the field is then left
/// out, as the reference does); `null` stays `null`.
pub(crate) fn iso(value: &Value) -> Option<Value> {
    if value.is_null() {
        return Some(Value::Null);
    }
    parse_time(value).map(|t| Value::String(date::to_iso_string(t)))
}

/// `YYYY-MM-DD` in UTC.
pub(crate) fn dob(value: &Value) -> Option<Value> {
    if value.is_null() {
        return Some(Value::Null);
    }
    let t = parse_time(value)?.to_offset(UtcOffset::UTC);
    t.format(format_description!("[year]-[month]-[day]"))
        .ok()
        .map(Value::String)
}

/// Braze's gender codes; anything else is passed through.
pub(crate) fn gender(value: &Value) -> Value {
    let Some(text) = value.as_str() else {
        return value.clone();
    };
    let code = match text.to_lowercase().as_str() {
        "man" | "male" | "m" => "M",
        "woman" | "female" | "w" | "f" => "F",
        "other" | "o" => "O",
        "not applicable" | "n" => "N",
        "prefer not to say" | "p" => "P",
        _ => return value.clone(),
    };
    Value::String(code.into())
}
