//! From event to payload: an action's mapping (field defaults, overridden field by field), then
//! the checks Segment runs before `perform`.
//!
//! After mapping, empty values are removed as the reference's `removeEmptyValues` does (`null`
//! unless the field allows it, `""` in non-string fields, and `""` in any top-level field of a
//! single event), undeclared keys are dropped, and every field is checked and coerced as Ajv does
//! with `coerceTypes: "array"`: a scalar becomes a one-element list for `multiple` fields, and
//! scalars convert between string, number, integer and boolean where the conversion is exact.
//! Errors name the field and what is wrong; an invalid payload never reaches the plugin.

use crate::mapping::{Mapping, MappingError};
use crate::runtime::{Action, Field, FieldType};
use serde_json::{Map, Number, Value};

/// Builds the mapping an action runs with: each field's default mapping (unless `use_defaults`
/// is false), then `overrides` field by field. Keys that are not fields of the action are
/// refused.
pub fn action_mapping(
    action: &Action,
    overrides: Option<&Map<String, Value>>,
    use_defaults: bool,
) -> Result<Mapping, MappingError> {
    let mut combined = Map::new();
    if use_defaults {
        for field in &action.fields {
            if let Some(default) = &field.default {
                combined.insert(field.key.clone(), default.clone());
            }
        }
    }
    let mut errors = Vec::new();
    for (key, value) in overrides.into_iter().flatten() {
        if action.field(key).is_none() {
            let keys: Vec<&str> = action.fields.iter().map(|f| f.key.as_str()).collect();
            errors.push(format!(
                "/{key} is not a field of action {}; its fields are: {}",
                action.id,
                keys.join(", ")
            ));
            continue;
        }
        combined.insert(key.clone(), value.clone());
    }
    if !errors.is_empty() {
        return Err(MappingError(errors));
    }
    Mapping::parse(&Value::Object(combined))
}

/// Maps one event and validates the result against the action's fields. `single` is true for a
/// single event and false for an event inside a batch (top-level `""` in string fields is kept
/// there, as in the reference).
pub fn build(action: &Action, mapping: &Mapping, event: &Value, single: bool) -> Result<Value, String> {
    let mapped = match mapping.apply(event) {
        Some(Value::Object(map)) => map,
        Some(other) => {
            return Err(format!(
                "the mapping produced {} instead of an object",
                kind_of(&other)
            ));
        }
        None => Map::new(),
    };
    validate(action, mapped, single).map(Value::Object)
}

/// Validates and coerces a mapped payload against the action's fields.
pub fn validate(action: &Action, mut mapped: Map<String, Value>, single: bool) -> Result<Map<String, Value>, String> {
    let mut out = Map::new();
    let mut errors = Vec::new();
    for field in &action.fields {
        let value = mapped.remove(&field.key);
        let value = value.filter(|v| !is_empty(field, v, single));
        match value {
            None if field.required => {
                errors.push(format!("missing the required field '{}'", field.key));
            }
            None => {}
            Some(v) => match coerce_field(field, v) {
                Ok(v) => {
                    out.insert(field.key.clone(), v);
                }
                Err(e) => errors.push(format!("field '{}' {e}", field.key)),
            },
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors.join("; "))
    }
}

fn is_string_type(kind: FieldType) -> bool {
    matches!(kind, FieldType::String | FieldType::Text | FieldType::Datetime)
}

/// `removeEmptyValues`: what counts as no value at all for this field.
fn is_empty(field: &Field, v: &Value, single: bool) -> bool {
    match v {
        Value::Null => !field.allow_null,
        Value::String(s) if s.is_empty() => single || !is_string_type(field.kind) || field.multiple,
        _ => false,
    }
}

fn coerce_field(field: &Field, v: Value) -> Result<Value, String> {
    if v.is_null() && field.allow_null {
        return Ok(Value::Null);
    }
    if field.multiple {
        let items = match v {
            Value::Array(items) => items,
            scalar => vec![scalar],
        };
        return items
            .into_iter()
            .enumerate()
            .map(|(i, item)| {
                coerce(field.kind, item)
                    .and_then(|item| check_choice(field, item))
                    .map_err(|e| format!("item {i} {e}"))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array);
    }
    // A one-element list stands for its element where one value is expected.
    let v = match v {
        Value::Array(mut items) if items.len() == 1 && field.kind != FieldType::Object => {
            items.remove(0)
        }
        v => v,
    };
    coerce(field.kind, v).and_then(|v| check_choice(field, v))
}

fn check_choice(field: &Field, v: Value) -> Result<Value, String> {
    if field.choices.is_empty() {
        return Ok(v);
    }
    let text = match &v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if field.choices.iter().any(|c| c.value == text) {
        Ok(v)
    } else {
        let allowed: Vec<&str> = field.choices.iter().map(|c| c.value.as_str()).collect();
        Err(format!("must be one of {}, not {text:?}", allowed.join(", ")))
    }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// Ajv's scalar coercions, limited to the exact ones.
fn coerce(kind: FieldType, v: Value) -> Result<Value, String> {
    let wrong = |want: &str, v: &Value| Err(format!("must be {want}, not {}", kind_of(v)));
    match kind {
        FieldType::String | FieldType::Text => match v {
            Value::String(_) => Ok(v),
            Value::Number(n) => Ok(Value::String(n.to_string())),
            Value::Bool(b) => Ok(Value::String(b.to_string())),
            Value::Null => Ok(Value::String(String::new())),
            other => wrong("a string", &other),
        },
        FieldType::Datetime => {
            let text = match v {
                Value::String(s) => s,
                Value::Number(n) => n.to_string(),
                other => return wrong("a date-time string", &other),
            };
            if looks_like_date(&text) {
                Ok(Value::String(text))
            } else {
                Err(format!("must be a date-time, not {text:?}"))
            }
        }
        FieldType::Number | FieldType::Integer => {
            let integer = kind == FieldType::Integer;
            let want = if integer { "an integer" } else { "a number" };
            let n = match &v {
                Value::Number(n) => n.clone(),
                Value::String(s) => match s.trim().parse::<f64>() {
                    Ok(f) if !s.trim().is_empty() && f.is_finite() => number(f),
                    _ => return Err(format!("must be {want}, not the text {s:?}")),
                },
                Value::Bool(b) => Number::from(u8::from(*b)),
                Value::Null => Number::from(0),
                other => return wrong(want, other),
            };
            if integer && !(n.is_i64() || n.is_u64() || n.as_f64().is_some_and(|f| f.fract() == 0.0)) {
                return Err(format!("must be an integer, not {n}"));
            }
            Ok(Value::Number(n))
        }
        FieldType::Boolean => match v {
            Value::Bool(_) => Ok(v),
            Value::String(s) if s == "true" => Ok(Value::Bool(true)),
            Value::String(s) if s == "false" => Ok(Value::Bool(false)),
            Value::Number(n) if n.as_f64() == Some(1.0) => Ok(Value::Bool(true)),
            Value::Number(n) if n.as_f64() == Some(0.0) => Ok(Value::Bool(false)),
            Value::Null => Ok(Value::Bool(false)),
            other => wrong("a boolean", &other),
        },
        FieldType::Object => match v {
            Value::Object(_) => Ok(v),
            other => wrong("an object", &other),
        },
    }
}

/// An integral float stays an integer (`"5"` → 5, not 5.0).
fn number(f: f64) -> Number {
    if f.fract() == 0.0 && f.abs() < 9.0e15 {
        Number::from(f as i64)
    } else {
        Number::from_f64(f).unwrap_or_else(|| Number::from(0))
    }
}

/// What dayjs would parse, loosely: an ISO-8601 date or date-time, or a Unix timestamp in
/// seconds or milliseconds.
fn looks_like_date(s: &str) -> bool {
    let s = s.trim();
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return true;
    }
    let b = s.as_bytes();
    b.len() >= 10
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[5..7].iter().all(u8::is_ascii_digit)
        && b[7] == b'-'
        && b[8..10].iter().all(u8::is_ascii_digit)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::Choice;
    use serde_json::json;

    fn field(key: &str, kind: FieldType) -> Field {
        Field {
            key: key.into(),
            label: key.into(),
            description: String::new(),
            kind,
            required: false,
            multiple: false,
            allow_null: false,
            choices: vec![],
            default: None,
        }
    }

    fn action(fields: Vec<Field>) -> Action {
        Action {
            id: "test".into(),
            title: "Test".into(),
            description: String::new(),
            default_trigger: None,
            fields,
            max_batch_size: None,
        }
    }

    fn check(a: &Action, payload: Value, single: bool) -> Result<Value, String> {
        validate(a, payload.as_object().unwrap().clone(), single).map(Value::Object)
    }

    #[test]
    fn names_missing_required_fields() {
        let mut url = field("url", FieldType::String);
        url.required = true;
        let a = action(vec![url]);
        assert_eq!(
            check(&a, json!({}), true).unwrap_err(),
            "missing the required field 'url'"
        );
        // An empty string is no value at the top level of a single event.
        assert!(check(&a, json!({"url": ""}), true).is_err());
    }

    #[test]
    fn removes_empty_values_as_the_reference_does() {
        let mut nullable = field("n", FieldType::String);
        nullable.allow_null = true;
        let a = action(vec![field("s", FieldType::String), field("x", FieldType::Number), nullable]);
        assert_eq!(
            check(&a, json!({"s": null, "x": "", "n": null}), true).unwrap(),
            json!({"n": null})
        );
        // In a batch, a top-level "" in a string field is kept.
        assert_eq!(check(&a, json!({"s": ""}), false).unwrap(), json!({"s": ""}));
    }

    #[test]
    fn drops_undeclared_keys() {
        let a = action(vec![field("s", FieldType::String)]);
        assert_eq!(check(&a, json!({"s": "a", "t": 1}), true).unwrap(), json!({"s": "a"}));
    }

    #[test]
    fn coerces_scalars_and_wraps_multiple() {
        let mut tags = field("tags", FieldType::String);
        tags.multiple = true;
        let a = action(vec![
            field("n", FieldType::Number),
            field("i", FieldType::Integer),
            field("b", FieldType::Boolean),
            field("s", FieldType::String),
            tags,
        ]);
        assert_eq!(
            check(&a, json!({"n": "5.5", "i": "7", "b": "true", "s": 12, "tags": "one"}), true).unwrap(),
            json!({"n": 5.5, "i": 7, "b": true, "s": "12", "tags": ["one"]})
        );
    }

    #[test]
    fn refuses_what_cannot_be_coerced() {
        let a = action(vec![
            field("n", FieldType::Number),
            field("i", FieldType::Integer),
            field("o", FieldType::Object),
            field("d", FieldType::Datetime),
        ]);
        let err = check(&a, json!({"n": "abc", "i": 1.5, "o": "x", "d": "yesterday"}), true).unwrap_err();
        assert_eq!(
            err,
            "field 'n' must be a number, not the text \"abc\"; field 'i' must be an integer, \
             not 1.5; field 'o' must be an object, not a string; field 'd' must be a date-time, \
             not \"yesterday\""
        );
    }

    #[test]
    fn checks_choices() {
        let mut method = field("method", FieldType::String);
        method.choices = ["POST", "PUT"]
            .map(|v| Choice { value: v.into(), label: v.into() })
            .to_vec();
        let a = action(vec![method]);
        assert!(check(&a, json!({"method": "PUT"}), true).is_ok());
        assert_eq!(
            check(&a, json!({"method": "GET"}), true).unwrap_err(),
            "field 'method' must be one of POST, PUT, not \"GET\""
        );
    }

    #[test]
    fn overrides_replace_defaults_and_unknown_keys_are_refused() {
        let mut user = field("user_id", FieldType::String);
        user.default = Some(json!({"@path": "$.userId"}));
        let mut name = field("name", FieldType::String);
        name.default = Some(json!({"@path": "$.event"}));
        let a = action(vec![user, name]);
        let overrides = json!({"name": {"@template": "did {{event}}"}});
        let m = action_mapping(&a, overrides.as_object(), true).unwrap();
        assert_eq!(
            build(&a, &m, &json!({"userId": "u1", "event": "Signed Up"}), true).unwrap(),
            json!({"user_id": "u1", "name": "did Signed Up"})
        );
        let m = action_mapping(&a, overrides.as_object(), false).unwrap();
        assert_eq!(
            build(&a, &m, &json!({"userId": "u1", "event": "X"}), true).unwrap(),
            json!({"name": "did X"})
        );
        let err = action_mapping(&a, json!({"nope": 1}).as_object(), true).unwrap_err();
        assert_eq!(
            err.to_string(),
            "/nope is not a field of action test; its fields are: user_id, name"
        );
    }
}
