//! From event to payload: an action's mapping (field defaults, overridden field by field), then
//! the checks Segment runs before `perform`.
//!
//! After mapping, empty values are removed as the reference's `removeEmptyValues` does (`null`
//! unless the field allows it, `""` in non-string fields, and `""` in any top-level field of a
//! single event), undeclared keys are dropped, and every field is checked and coerced as Ajv does
//! with `coerceTypes: "array"`: a scalar becomes a one-element list for `multiple` fields, and
//! scalars convert between string, number, integer and boolean where the conversion is exact.
//! Errors name the field and what is wrong; an invalid payload never reaches the plugin.

use crate::mapping::{Mapping, MappingError, PathTable, Resolved, SharedLookups, kind_of};
use crate::model::{Action, Field, FieldType};
use serde_json::{Map, Number, Value};

/// The mapping an action runs with, one compiled mapping per field (in field order).
#[derive(Debug)]
pub struct ActionMapping {
    fields: Vec<Option<Mapping>>,
    /// The fields' root paths, numbered so common prefixes are looked up once per event.
    paths: PathTable,
}

/// Builds the mapping an action runs with: each field's default mapping (unless `use_defaults`
/// is false), then `overrides` field by field. Keys that are not fields of the action are
/// refused; errors name the path inside the mapping.
pub fn action_mapping(
    action: &Action,
    overrides: Option<&Map<String, Value>>,
    use_defaults: bool,
) -> Result<ActionMapping, MappingError> {
    let mut errors = Vec::new();
    for key in overrides.into_iter().flat_map(|o| o.keys()) {
        if action.field(key).is_none() {
            let keys: Vec<&str> = action.fields.iter().map(|f| f.key.as_str()).collect();
            errors.push(format!(
                "/{key} is not a field of action {}; its fields are: {}",
                action.id,
                keys.join(", ")
            ));
        }
    }
    let mut fields = Vec::with_capacity(action.fields.len());
    for field in &action.fields {
        let source = overrides
            .and_then(|o| o.get(&field.key))
            .or(if use_defaults {
                field.default.as_ref()
            } else {
                None
            });
        fields.push(match source {
            None => None,
            Some(value) => match Mapping::parse_at(value, &format!("/{}", field.key)) {
                Ok(m) => Some(m),
                Err(e) => {
                    errors.extend(e.0);
                    None
                }
            },
        });
    }
    if errors.is_empty() {
        let mut paths = PathTable::default();
        for m in fields.iter_mut().flatten() {
            m.share_paths(&mut paths);
        }
        Ok(ActionMapping { fields, paths })
    } else {
        Err(MappingError(errors))
    }
}

/// A mapped and validated payload, still borrowing from the event and the mapping.
#[derive(Debug, Clone, PartialEq)]
pub struct Payload<'a>(Resolved<'a>);

impl Payload<'_> {
    /// The JSON text a plugin receives.
    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.0).expect("a mapped payload always serialises")
    }

    /// The payload as an owned JSON value.
    pub fn into_value(self) -> Value {
        self.0.into_value()
    }
}

impl ActionMapping {
    /// Maps one event and validates the result against the action's fields. `single` is true
    /// for a single event and false for an event inside a batch (top-level `""` in string fields
    /// is kept there, as in the reference).
    pub fn build<'a>(
        &'a self,
        action: &'a Action,
        event: &'a Value,
        single: bool,
    ) -> Result<Payload<'a>, String> {
        let mut out: Vec<(&str, Resolved<'a>)> = Vec::with_capacity(self.fields.len());
        let mut errors = Vec::new();
        let mut lookups = SharedLookups::new(&self.paths);
        for (field, mapping) in action.fields.iter().zip(&self.fields) {
            let value = mapping
                .as_ref()
                .and_then(|m| m.resolve_shared(event, &mut lookups))
                .filter(|v| !is_empty(field, v, single));
            match value {
                None if field.required => errors.push(missing(field)),
                None => {}
                Some(v) => {
                    // Checked where it lies in the payload: moving values around costs more
                    // than the checks themselves.
                    out.push((field.key.as_str(), v));
                    let (_, slot) = out.last_mut().expect("just pushed");
                    if let Err(e) = coerce_field(field, slot) {
                        errors.push(format!("field '{}' {e}", field.key));
                        out.pop();
                    }
                }
            }
        }
        if !errors.is_empty() {
            return Err(errors.join("; "));
        }
        Ok(Payload(Resolved::Object(out)))
    }
}

/// Checks one field's mapped value: removes it when empty, refuses a missing required value,
/// coerces it to the field's type and checks its choices. `Ok(None)` means "no value".
pub fn check_field<'a>(
    field: &Field,
    value: Option<Resolved<'a>>,
    single: bool,
) -> Result<Option<Resolved<'a>>, String> {
    match value.filter(|v| !is_empty(field, v, single)) {
        None if field.required => Err(missing(field)),
        None => Ok(None),
        Some(mut v) => match coerce_field(field, &mut v) {
            Ok(()) => Ok(Some(v)),
            Err(e) => Err(format!("field '{}' {e}", field.key)),
        },
    }
}

fn missing(field: &Field) -> String {
    format!("missing the required field '{}'", field.key)
}

fn is_string_type(kind: FieldType) -> bool {
    matches!(
        kind,
        FieldType::String | FieldType::Text | FieldType::Datetime
    )
}

/// `removeEmptyValues`: what counts as no value at all for this field.
fn is_empty(field: &Field, v: &Resolved<'_>, single: bool) -> bool {
    match v.as_value() {
        Some(Value::Null) => !field.allow_null,
        Some(Value::String(s)) if s.is_empty() => {
            single || !is_string_type(field.kind) || field.multiple
        }
        _ => false,
    }
}

/// Coerces a field's value in place and checks its choices.
fn coerce_field(field: &Field, v: &mut Resolved<'_>) -> Result<(), String> {
    if v.is_null() && field.allow_null {
        return Ok(());
    }
    let check = |item: &mut Resolved<'_>| {
        coerce(field.kind, item)?;
        check_choice(field, item)
    };
    if field.multiple {
        match &*v {
            Resolved::Array(_) => {}
            Resolved::Ref(Value::Array(items)) => {
                *v = Resolved::Array(items.iter().map(Resolved::Ref).collect());
            }
            _ => *v = Resolved::Array(vec![std::mem::replace(v, NULL)]),
        }
        let Resolved::Array(items) = v else {
            unreachable!("made a list just above")
        };
        for (i, item) in items.iter_mut().enumerate() {
            check(item).map_err(|e| format!("item {i} {e}"))?;
        }
        return Ok(());
    }
    // A one-element list stands for its element where one value is expected.
    if field.kind != FieldType::Object {
        match v {
            Resolved::Array(items) if items.len() == 1 => {
                *v = items.pop().expect("one element");
            }
            Resolved::Ref(Value::Array(items)) if items.len() == 1 => {
                *v = Resolved::Ref(&items[0]);
            }
            _ => {}
        }
    }
    check(v)
}

const NULL: Resolved<'static> = Resolved::Ref(&Value::Null);

fn check_choice(field: &Field, v: &Resolved<'_>) -> Result<(), String> {
    if field.choices.is_empty() {
        return Ok(());
    }
    let text = match v.as_value() {
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => return Err("must be one of the listed choices, not a structure".into()),
    };
    if field.choices.iter().any(|c| c.value == text) {
        Ok(())
    } else {
        let allowed: Vec<&str> = field.choices.iter().map(|c| c.value.as_str()).collect();
        Err(format!(
            "must be one of {}, not {text:?}",
            allowed.join(", ")
        ))
    }
}

/// Ajv's coercions for one value, limited to the exact ones.
fn coerce(kind: FieldType, v: &mut Resolved<'_>) -> Result<(), String> {
    let want = want(kind);
    match v {
        Resolved::Object(_) if kind == FieldType::Object => Ok(()),
        Resolved::Object(_) => Err(format!("must be {want}, not an object")),
        Resolved::Array(_) => Err(format!("must be {want}, not an array")),
        Resolved::Ref(value) => {
            if let Some(changed) = coerce_value(kind, value)? {
                *v = Resolved::Owned(changed);
            }
            Ok(())
        }
        Resolved::Owned(value) => {
            if let Some(changed) = coerce_value(kind, value)? {
                *value = changed;
            }
            Ok(())
        }
    }
}

fn want(kind: FieldType) -> &'static str {
    match kind {
        FieldType::String | FieldType::Text => "a string",
        FieldType::Datetime => "a date-time string",
        FieldType::Number => "a number",
        FieldType::Integer => "an integer",
        FieldType::Boolean => "a boolean",
        FieldType::Object => "an object",
    }
}

/// `Ok(None)` when the value already has the right type, `Ok(Some(new))` when it converts.
fn coerce_value(kind: FieldType, v: &Value) -> Result<Option<Value>, String> {
    let wrong = |v: &Value| Err(format!("must be {}, not {}", want(kind), kind_of(v)));
    match kind {
        FieldType::String | FieldType::Text => match v {
            Value::String(_) => Ok(None),
            Value::Number(n) => Ok(Some(Value::String(n.to_string()))),
            Value::Bool(b) => Ok(Some(Value::String(b.to_string()))),
            Value::Null => Ok(Some(Value::String(String::new()))),
            other => wrong(other),
        },
        FieldType::Datetime => match v {
            Value::String(s) if looks_like_date(s) => Ok(None),
            Value::Number(n) if looks_like_date(&n.to_string()) => {
                Ok(Some(Value::String(n.to_string())))
            }
            Value::String(_) | Value::Number(_) => Err(format!("must be a date-time, not {v}")),
            other => wrong(other),
        },
        FieldType::Number | FieldType::Integer => {
            let integer = kind == FieldType::Integer;
            let (n, changed) = match v {
                Value::Number(n) => (n.clone(), false),
                Value::String(s) => match s.trim().parse::<f64>() {
                    Ok(f) if !s.trim().is_empty() && f.is_finite() => (number(f), true),
                    _ => return Err(format!("must be {}, not the text {s:?}", want(kind))),
                },
                Value::Bool(b) => (Number::from(u8::from(*b)), true),
                Value::Null => (Number::from(0), true),
                other => return wrong(other),
            };
            if integer
                && !(n.is_i64() || n.is_u64() || n.as_f64().is_some_and(|f| f.fract() == 0.0))
            {
                return Err(format!("must be an integer, not {n}"));
            }
            Ok(changed.then_some(Value::Number(n)))
        }
        FieldType::Boolean => match v {
            Value::Bool(_) => Ok(None),
            Value::String(s) if s == "true" => Ok(Some(Value::Bool(true))),
            Value::String(s) if s == "false" => Ok(Some(Value::Bool(false))),
            Value::Number(n) if n.as_f64() == Some(1.0) => Ok(Some(Value::Bool(true))),
            Value::Number(n) if n.as_f64() == Some(0.0) => Ok(Some(Value::Bool(false))),
            Value::Null => Ok(Some(Value::Bool(false))),
            other => wrong(other),
        },
        FieldType::Object => match v {
            Value::Object(_) => Ok(None),
            other => wrong(other),
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
    use crate::model::Choice;
    use serde::Deserialize;
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
            hooks: Vec::new(),
        }
    }

    /// Validates a payload as it stands: every field mapped from the key of the same name.
    fn check(a: &Action, payload: Value, single: bool) -> Result<Value, String> {
        let identity: Map<String, Value> = a
            .fields
            .iter()
            .map(|f| (f.key.clone(), json!({"@path": format!("$.{}", f.key)})))
            .collect();
        let m = action_mapping(a, Some(&identity), false).unwrap();
        parse(m.build(a, &payload, single))
    }

    fn parse(built: Result<Payload<'_>, String>) -> Result<Value, String> {
        built.map(|p| serde_json::from_str(&p.to_json()).unwrap())
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
        let a = action(vec![
            field("s", FieldType::String),
            field("x", FieldType::Number),
            nullable,
        ]);
        assert_eq!(
            check(&a, json!({"s": null, "x": "", "n": null}), true).unwrap(),
            json!({"n": null})
        );
        // In a batch, a top-level "" in a string field is kept.
        assert_eq!(
            check(&a, json!({"s": ""}), false).unwrap(),
            json!({"s": ""})
        );
    }

    #[test]
    fn drops_undeclared_keys() {
        let a = action(vec![field("s", FieldType::String)]);
        assert_eq!(
            check(&a, json!({"s": "a", "t": 1}), true).unwrap(),
            json!({"s": "a"})
        );
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
            check(
                &a,
                json!({"n": "5.5", "i": "7", "b": "true", "s": 12, "tags": "one"}),
                true
            )
            .unwrap(),
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
        let err = check(
            &a,
            json!({"n": "abc", "i": 1.5, "o": "x", "d": "yesterday"}),
            true,
        )
        .unwrap_err();
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
            .map(|v| Choice {
                value: v.into(),
                label: v.into(),
            })
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
            parse(m.build(&a, &json!({"userId": "u1", "event": "Signed Up"}), true)).unwrap(),
            json!({"user_id": "u1", "name": "did Signed Up"})
        );
        let m = action_mapping(&a, overrides.as_object(), false).unwrap();
        assert_eq!(
            parse(m.build(&a, &json!({"userId": "u1", "event": "X"}), true)).unwrap(),
            json!({"name": "did X"})
        );
        let err = action_mapping(&a, json!({"nope": 1}).as_object(), true).unwrap_err();
        assert_eq!(
            err.to_string(),
            "/nope is not a field of action test; its fields are: user_id, name"
        );
    }

    #[test]
    fn shared_prefix_lookups_give_the_same_payload_as_separate_mappings() {
        let spec: Value =
            serde_json::from_str(include_str!("../benches/data/amplitude-logEventV2.json"))
                .unwrap();
        let event: Value =
            serde_json::from_str(include_str!("../benches/data/track-order-completed.json"))
                .unwrap();
        let fields: Vec<Field> = spec["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| Field {
                multiple: f["multiple"].as_bool().unwrap_or(false),
                allow_null: f["allow_null"].as_bool().unwrap_or(false),
                default: f.get("default").cloned(),
                ..field(
                    f["key"].as_str().unwrap(),
                    FieldType::deserialize(&f["type"]).unwrap(),
                )
            })
            .collect();
        let a = action(fields);
        let shared = action_mapping(&a, None, true)
            .unwrap()
            .build(&a, &event, true)
            .unwrap()
            .into_value();
        let mut separate = Map::new();
        for f in &a.fields {
            let Some(default) = &f.default else { continue };
            let m = Mapping::parse(default).unwrap();
            if let Some(v) = check_field(f, m.resolve(&event), true).unwrap() {
                separate.insert(f.key.clone(), v.into_value());
            }
        }
        assert_eq!(shared, Value::Object(separate));
        assert_eq!(shared["device_id"], "B5372DB0-C21E-11E4-8DFC-AA07A5B093DB");
        assert_eq!(shared["setAlways"]["utm_campaign"], "winter-sale");
    }
}
