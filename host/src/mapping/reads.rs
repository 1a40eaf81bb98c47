//! Which parts of the event a mapping reads, found in the mapping as written (objects in their
//! keys' order, which is sorted): the console
//! answers "who receives this field?" with it, so an analyst can check that a destination gets
//! only the name and email, not all user data.
//!
//! Paths are written without `$.` (`traits.email`); `""` is the whole event. Items of an
//! `@arrayPath` read as `root[].field` (`properties.products[].price`). Templates (`@template`,
//! `@liquid`) read the paths of their placeholders.

use serde_json::Value;

/// Every path `mapping` reads, without repeats.
pub fn paths_read(mapping: &Value) -> Vec<String> {
    let mut out = Vec::new();
    collect(mapping, "", &mut out);
    out
}

/// Whether a mapping that reads `path` passes on (part of) `field`: the same path, a parent of
/// it (`traits` holds `traits.email`), or a part of it.
pub fn reads_field(path: &str, field: &str) -> bool {
    let field = field.trim().trim_start_matches("$.");
    path.is_empty()
        || path == field
        || field
            .strip_prefix(path)
            .is_some_and(|rest| rest.starts_with('.') || rest.starts_with("[]"))
        || path
            .strip_prefix(field)
            .is_some_and(|rest| rest.starts_with('.') || rest.starts_with("[]"))
}

fn push(out: &mut Vec<String>, prefix: &str, path: &str) {
    let path = path.trim();
    let path = path
        .strip_prefix("$.")
        .or_else(|| path.strip_prefix('$'))
        .unwrap_or(path);
    let full = match (prefix.is_empty(), path.is_empty()) {
        (true, _) => path.to_string(),
        (false, true) => prefix.trim_end_matches('.').to_string(),
        (false, false) => format!("{prefix}{path}"),
    };
    if !out.contains(&full) {
        out.push(full);
    }
}

/// The placeholders of a template: `{{ a.b }}`, `{{{a}}}`, `{{ a | filter }}`.
fn placeholders(template: &str, prefix: &str, out: &mut Vec<String>) {
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        let after = rest[start + 2..].trim_start_matches('{');
        let Some(end) = after.find("}}") else { break };
        let inner = after[..end].split('|').next().unwrap_or_default().trim();
        let is_path = !inner.is_empty()
            && inner
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '_' | '.' | '$' | '-'));
        if is_path {
            push(out, prefix, inner);
        }
        rest = &after[end + 2..];
    }
}

fn collect(value: &Value, prefix: &str, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(arg) = map.get("@path") {
                match arg {
                    Value::String(p) => push(out, prefix, p),
                    other => collect(other, prefix, out),
                }
                return;
            }
            for key in ["@template", "@liquid"] {
                if let Some(arg) = map.get(key) {
                    match arg {
                        Value::String(t) => placeholders(t, prefix, out),
                        other => collect(other, prefix, out),
                    }
                    return;
                }
            }
            if map.contains_key("@literal") {
                return;
            }
            if let Some(Value::Array(args)) = map.get("@arrayPath") {
                if let Some(Value::String(root)) = args.first() {
                    push(out, prefix, root);
                    let mut items = Vec::new();
                    push(&mut items, prefix, root);
                    let item_prefix = format!("{}[].", items[0]);
                    if let Some(shape) = args.get(1) {
                        collect(shape, &item_prefix, out);
                    }
                } else {
                    args.iter().for_each(|a| collect(a, prefix, out));
                }
                return;
            }
            map.values().for_each(|v| collect(v, prefix, out));
        }
        Value::Array(items) => items.iter().for_each(|v| collect(v, prefix, out)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths_templates_and_array_items_are_found() {
        let mapping = json!({
            "email": {"@path": "$.traits.email"},
            "name": {"@template": "{{traits.first_name}} {{{ traits.last_name }}}"},
            "greeting": {"@liquid": "Hi {{ traits.nickname | upcase }}"},
            "fixed": "Segment",
            "raw": {"@literal": {"@path": "$.not.read"}},
            "products": {"@arrayPath": ["$.properties.products",
                {"id": {"@path": "$.product_id"}, "price": {"@path": "$.price"}}]},
            "when": {"@if": {"exists": {"@path": "$.userId"}, "then": {"@path": "$.userId"},
                "else": {"@path": "$.anonymousId"}}},
        });
        let mut read = paths_read(&mapping);
        read.sort();
        assert_eq!(
            read,
            [
                "anonymousId",
                "properties.products",
                "properties.products[].price",
                "properties.products[].product_id",
                "traits.email",
                "traits.first_name",
                "traits.last_name",
                "traits.nickname",
                "userId",
            ]
        );
    }

    #[test]
    fn the_whole_event_or_object_passes_on_every_field_in_it() {
        assert_eq!(paths_read(&json!({"@path": "$."})), [""]);
        assert!(reads_field("", "traits.email"));
        assert!(reads_field("traits", "traits.email"));
        assert!(reads_field("traits.email", "traits.email"));
        assert!(reads_field("traits.email.domain", "traits.email"));
        assert!(reads_field("properties.trips", "properties.trips[].route"));
        assert!(!reads_field("traits.emailVerified", "traits.email"));
        assert!(!reads_field("traits.name", "traits.email"));
    }
}
