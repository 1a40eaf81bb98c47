//! A mapping as the editor's rows, one per action field, and back. A field is filled from an
//! event path, a template, a literal, a set of keys (an object built key by key), one object
//! per list item (`@arrayPath`), directive JSON, or not at all (removed).
//!
//! Invariants:
//! - [`rows`] shows every mapping: a value the plain kinds cannot show exactly is shown as its
//!   directive JSON, so reading rows back never changes a mapping the editor did not touch.
//! - [`mapping`] writes the mapping whole (each field as its row says): the editor saves with
//!   `use_defaults = false`, so what a person sees is exactly what runs.
//! - Paths are shown without `$.` and written with it; item paths are relative to the item.

use crate::model::{Action, Field, FieldType};
use serde_json::{Map, Value, json};

/// How a field is filled: (code, label).
pub(super) const KINDS: [(&str, &str); 7] = [
    ("path", "Event variable"),
    ("template", "Template"),
    ("literal", "Fixed value"),
    ("object", "Keys, each from the event"),
    ("items", "One per list item"),
    ("json", "Directive JSON (advanced)"),
    ("removed", "Not sent"),
];

/// How a key of an object or list item is filled: (code, label).
pub(super) const PART_KINDS: [(&str, &str); 3] = [
    ("path", "Event variable"),
    ("template", "Template"),
    ("literal", "Fixed value"),
];

/// One key of an object field, or of each item of a list.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct Part {
    pub(super) key: String,
    pub(super) kind: String,
    pub(super) value: String,
}

/// One action field in the editor.
#[derive(Debug, Clone)]
pub(super) struct Row {
    pub(super) key: String,
    pub(super) label: String,
    pub(super) description: String,
    pub(super) kind_shown: &'static str,
    pub(super) required: bool,
    /// One of [`KINDS`]' codes.
    pub(super) kind: String,
    /// The path, template, literal or JSON text.
    pub(super) value: String,
    /// For `items`: the path of the list.
    pub(super) array: String,
    pub(super) parts: Vec<Part>,
    /// Problems with this field: its mapping, or its value in the preview.
    pub(super) problems: Vec<String>,
    /// The value the preview mapped, as JSON text.
    pub(super) mapped: Option<String>,
}

fn shown_path(path: &str) -> String {
    path.strip_prefix("$.").unwrap_or(path).to_string()
}

fn written_path(path: &str) -> String {
    let path = path.trim();
    if path.starts_with('$') {
        path.to_string()
    } else {
        format!("$.{path}")
    }
}

/// A directive value the simple kinds can show: (kind, value).
fn simple(value: &Value) -> Option<(&'static str, String)> {
    match value {
        Value::String(text) => Some(("literal", text.clone())),
        Value::Number(n) => Some(("literal", n.to_string())),
        Value::Bool(b) => Some(("literal", b.to_string())),
        Value::Object(map) if map.len() == 1 => match map.iter().next() {
            Some((k, Value::String(p))) if k == "@path" => Some(("path", shown_path(p))),
            Some((k, Value::String(t))) if k == "@template" => Some(("template", t.clone())),
            _ => None,
        },
        _ => None,
    }
}

/// An object whose every key is simple, as parts.
fn parts_of(value: &Value) -> Option<Vec<Part>> {
    let map = value.as_object()?;
    if map.keys().any(|k| k.starts_with('@')) {
        return None;
    }
    map.iter()
        .map(|(key, v)| {
            let (kind, value) = simple(v)?;
            // Text that reads as a number would be written back as the number: show the
            // whole field as JSON instead.
            if v.is_string() && !looks_like_text(&value) {
                return None;
            }
            Some(Part {
                key: key.clone(),
                kind: kind.into(),
                value,
            })
        })
        .collect()
}

pub(super) fn type_name(kind: FieldType, multiple: bool) -> &'static str {
    match (kind, multiple) {
        (FieldType::String | FieldType::Text, false) => "text",
        (FieldType::String | FieldType::Text, true) => "list of texts",
        (FieldType::Number, false) => "number",
        (FieldType::Number, true) => "list of numbers",
        (FieldType::Integer, false) => "whole number",
        (FieldType::Integer, true) => "list of whole numbers",
        (FieldType::Boolean, _) => "true or false",
        (FieldType::Datetime, _) => "date and time",
        (FieldType::Object, false) => "object",
        (FieldType::Object, true) => "list of objects",
    }
}

fn row(field: &Field, value: Option<&Value>) -> Row {
    let mut row = Row {
        key: field.key.clone(),
        label: field.label.clone(),
        description: field.description.clone(),
        kind_shown: type_name(field.kind, field.multiple),
        required: field.required,
        kind: "removed".into(),
        value: String::new(),
        array: String::new(),
        parts: Vec::new(),
        problems: Vec::new(),
        mapped: None,
    };
    let Some(value) = value else {
        return row;
    };
    if let Some((kind, text)) = simple(value) {
        row.kind = kind.into();
        row.value = text;
        return row;
    }
    if let Some(parts) = parts_of(value) {
        row.kind = "object".into();
        row.parts = parts;
        return row;
    }
    if let Some(Value::Array(args)) = value.get("@arrayPath")
        && value.as_object().is_some_and(|m| m.len() == 1)
        && let [Value::String(list), item] = args.as_slice()
        && let Some(parts) = parts_of(item)
    {
        row.kind = "items".into();
        row.array = shown_path(list);
        row.parts = parts;
        return row;
    }
    row.kind = "json".into();
    row.value = serde_json::to_string_pretty(value).unwrap_or_default();
    row
}

/// The rows of `action` for `mapping` (the whole mapping each field runs with).
pub(super) fn rows(action: &Action, mapping: &Map<String, Value>) -> Vec<Row> {
    action
        .fields
        .iter()
        .map(|f| row(f, mapping.get(&f.key)))
        .collect()
}

/// The whole mapping a subscription runs with: each field's default, then `written` field by
/// field (when `use_defaults`), or `written` alone.
pub(super) fn effective(
    action: &Action,
    written: Option<&Map<String, Value>>,
    use_defaults: bool,
) -> Map<String, Value> {
    let mut out = Map::new();
    for f in &action.fields {
        let chosen = written.and_then(|w| w.get(&f.key)).or(if use_defaults {
            f.default.as_ref()
        } else {
            None
        });
        if let Some(v) = chosen {
            out.insert(f.key.clone(), v.clone());
        }
    }
    out
}

/// A literal typed as the field is: numbers, booleans and objects are parsed.
fn literal(field: &Field, text: &str) -> Result<Value, String> {
    let bad = |what: &str| format!("{text:?} is not {what}");
    if field.multiple && text.trim_start().starts_with('[') {
        return serde_json::from_str(text).map_err(|e| format!("not a JSON list: {e}"));
    }
    match field.kind {
        FieldType::Number => text
            .trim()
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number)
            .ok_or_else(|| bad("a number")),
        FieldType::Integer => text
            .trim()
            .parse::<i64>()
            .map(Value::from)
            .map_err(|_| bad("a whole number")),
        FieldType::Boolean => match text.trim() {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            _ => Err(bad("true or false")),
        },
        FieldType::Object => {
            serde_json::from_str(text).map_err(|e| format!("not a JSON object: {e}"))
        }
        _ => Ok(Value::String(text.to_string())),
    }
}

fn part_value(part: &Part, item: bool) -> Value {
    match part.kind.as_str() {
        "path" if item => {
            json!({"@path": format!("$.{}", part.value.trim().trim_start_matches("$."))})
        }
        "path" => json!({"@path": written_path(&part.value)}),
        "template" => json!({"@template": part.value}),
        // A fixed value that reads as a number or true/false is written as one.
        _ if !looks_like_text(&part.value) => {
            serde_json::from_str(part.value.trim()).unwrap_or(Value::Null)
        }
        _ => Value::String(part.value.clone()),
    }
}

/// Whether a fixed value is text, not a number or true/false.
fn looks_like_text(text: &str) -> bool {
    !matches!(
        serde_json::from_str::<Value>(text.trim()),
        Ok(Value::Number(_) | Value::Bool(_))
    )
}

fn parts_value(parts: &[Part], item: bool) -> Value {
    Value::Object(
        parts
            .iter()
            .filter(|p| !p.key.trim().is_empty())
            .map(|p| (p.key.trim().to_string(), part_value(p, item)))
            .collect(),
    )
}

/// The directive JSON of one row, or why it cannot be written.
fn value_of(field: &Field, row: &Row) -> Result<Option<Value>, String> {
    Ok(Some(match row.kind.as_str() {
        "removed" => return Ok(None),
        "path" if row.value.trim().is_empty() => {
            return Err("name the event variable, as in properties.total".into());
        }
        "path" => json!({"@path": written_path(&row.value)}),
        "template" => json!({"@template": row.value}),
        "literal" => literal(field, &row.value)?,
        "object" => parts_value(&row.parts, false),
        "items" if row.array.trim().is_empty() => {
            return Err("name the list to take items from, as in properties.products".into());
        }
        "items" => json!({"@arrayPath": [written_path(&row.array), parts_value(&row.parts, true)]}),
        "json" => serde_json::from_str(&row.value).map_err(|e| format!("not valid JSON: {e}"))?,
        other => return Err(format!("unknown kind of value {other:?}")),
    }))
}

/// The mapping the rows write; problems are put on the rows they concern.
pub(super) fn mapping(action: &Action, rows: &mut [Row]) -> Map<String, Value> {
    let mut out = Map::new();
    for (field, row) in action.fields.iter().zip(rows.iter_mut()) {
        match value_of(field, row) {
            Ok(Some(v)) => {
                out.insert(field.key.clone(), v);
            }
            Ok(None) => {}
            Err(problem) => row.problems.push(problem),
        }
    }
    out
}

/// The rows a submitted form holds, in the action's field order. `field.KEY.kind`,
/// `field.KEY.value`, `field.KEY.array` and `field.KEY.part.N.{key,kind,value}`.
pub(super) fn from_form(action: &Action, form: &[(String, String)]) -> Vec<Row> {
    action
        .fields
        .iter()
        .map(|f| {
            let prefix = format!("field.{}.", f.key);
            let mut row = row(f, None);
            let mut parts: Vec<(usize, Part)> = Vec::new();
            for (name, value) in form {
                let Some(rest) = name.strip_prefix(&prefix) else {
                    continue;
                };
                match rest {
                    "kind" => row.kind.clone_from(value),
                    "value" => row.value.clone_from(value),
                    "array" => row.array.clone_from(value),
                    _ => {
                        let Some((n, what)) = rest
                            .strip_prefix("part.")
                            .and_then(|r| r.split_once('.'))
                            .and_then(|(n, w)| Some((n.parse::<usize>().ok()?, w)))
                        else {
                            continue;
                        };
                        let at = match parts.iter().position(|(i, _)| *i == n) {
                            Some(at) => at,
                            None => {
                                parts.push((n, Part::default()));
                                parts.len() - 1
                            }
                        };
                        let part = &mut parts[at].1;
                        match what {
                            "key" => part.key.clone_from(value),
                            "kind" => part.kind.clone_from(value),
                            "value" => part.value.clone_from(value),
                            _ => {}
                        }
                    }
                }
            }
            parts.sort_by_key(|(n, _)| *n);
            row.parts = parts
                .into_iter()
                .map(|(_, p)| p)
                .filter(|p| !(p.key.is_empty() && p.value.is_empty()))
                .collect();
            row
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(key: &str, kind: FieldType, multiple: bool) -> Field {
        Field {
            key: key.into(),
            label: key.into(),
            description: String::new(),
            kind,
            required: false,
            multiple,
            allow_null: false,
            choices: Vec::new(),
            default: None,
        }
    }

    fn action() -> Action {
        Action {
            id: "trackPurchase".into(),
            title: "Track Purchase".into(),
            description: String::new(),
            default_trigger: None,
            fields: vec![
                field("external_id", FieldType::String, false),
                field("price", FieldType::Number, false),
                field("properties", FieldType::Object, false),
                field("products", FieldType::Object, true),
                field("time", FieldType::Datetime, false),
                field("email", FieldType::String, false),
            ],
            max_batch_size: None,
            hooks: Vec::new(),
        }
    }

    #[test]
    fn every_mapping_reads_back_unchanged() {
        let mapping = json!({
            "external_id": {"@path": "$.userId"},
            "price": 12.5,
            "properties": {"booking_id": {"@path": "$.properties.booking_id"}, "via": "app"},
            "products": {"@arrayPath": ["$.properties.trips", {"product_id": {"@path": "$.route"}, "currency": "EUR", "quantity": 1}]},
            "time": {"@if": {"exists": {"@path": "$.timestamp"}, "then": {"@path": "$.timestamp"}, "else": {"@path": "$.receivedAt"}}},
        });
        let action = action();
        let mut rows = rows(&action, mapping.as_object().unwrap());
        let kinds: Vec<&str> = rows.iter().map(|r| r.kind.as_str()).collect();
        assert_eq!(
            kinds,
            ["path", "literal", "object", "items", "json", "removed"]
        );
        assert_eq!(rows[0].value, "userId");
        assert_eq!(rows[3].array, "properties.trips");
        let route = rows[3]
            .parts
            .iter()
            .find(|p| p.key == "product_id")
            .unwrap();
        assert_eq!(route.value, "route");
        assert_eq!(Value::Object(super::mapping(&action, &mut rows)), mapping);
        assert!(rows.iter().all(|r| r.problems.is_empty()));
    }

    #[test]
    fn a_form_becomes_rows_and_bad_values_are_put_on_their_row() {
        let form: Vec<(String, String)> = [
            ("field.external_id.kind", "template"),
            ("field.external_id.value", "user-{{userId}}"),
            ("field.price.kind", "literal"),
            ("field.price.value", "twelve"),
            ("field.products.kind", "items"),
            ("field.products.array", ""),
            ("field.products.part.1.key", "price"),
            ("field.products.part.1.kind", "path"),
            ("field.products.part.1.value", "fare"),
            ("field.products.part.0.key", "product_id"),
            ("field.products.part.0.kind", "path"),
            ("field.products.part.0.value", "route"),
            ("field.properties.kind", "removed"),
            ("field.time.kind", "json"),
            ("field.time.value", "{oops"),
            ("field.email.kind", "path"),
            ("field.email.value", "traits.email"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
        .collect();
        let action = action();
        let mut rows = from_form(&action, &form);
        assert_eq!(
            rows[3].parts[0].key, "product_id",
            "parts keep their numbers' order"
        );
        let written = super::mapping(&action, &mut rows);
        assert_eq!(
            Value::Object(written),
            json!({
                "external_id": {"@template": "user-{{userId}}"},
                "email": {"@path": "$.traits.email"},
            })
        );
        assert_eq!(rows[1].problems, ["\"twelve\" is not a number"]);
        assert!(
            rows[3].problems[0].contains("name the list"),
            "{:?}",
            rows[3].problems
        );
        assert!(
            rows[4].problems[0].starts_with("not valid JSON"),
            "{:?}",
            rows[4].problems
        );
    }

    #[test]
    fn effective_is_the_defaults_overridden_field_by_field() {
        let mut action = action();
        action.fields[0].default = Some(json!({"@path": "$.userId"}));
        action.fields[4].default = Some(json!({"@path": "$.timestamp"}));
        let written = json!({"time": {"@path": "$.receivedAt"}});
        let all = effective(&action, written.as_object(), true);
        assert_eq!(
            Value::Object(all),
            json!({"external_id": {"@path": "$.userId"}, "time": {"@path": "$.receivedAt"}})
        );
        let only = effective(&action, written.as_object(), false);
        assert_eq!(Value::Object(only), written);
    }
}
