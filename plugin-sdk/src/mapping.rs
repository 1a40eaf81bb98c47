//! Builders for the mapping directives plugins use most in default mappings, so a field's
//! default reads as what it means.

use serde_json::{Value, json};

/// `{"@path": p}`: the value at `p` in the event (`$.userId`, `$.properties.total`).
pub fn path(p: &str) -> Value {
    if crate::plugin::lean() {
        return Value::Null;
    }
    json!({"@path": p})
}

/// The value at `first` when the event has it, else the value at `second` (an `@if` with
/// `exists`, as Segment writes such defaults).
///
/// ```
/// use switchyard_plugin_sdk::mapping::path_or;
/// let written: serde_json::Value = serde_json::from_str(
///     r#"{"@if":{"exists":{"@path":"$.properties.email"},"then":{"@path":"$.properties.email"},"else":{"@path":"$.traits.email"}}}"#,
/// )
/// .unwrap();
/// assert_eq!(path_or("$.properties.email", "$.traits.email"), written);
/// ```
pub fn path_or(first: &str, second: &str) -> Value {
    if crate::plugin::lean() {
        return Value::Null;
    }
    json!({"@if": {"exists": {"@path": first}, "then": {"@path": first}, "else": {"@path": second}}})
}
