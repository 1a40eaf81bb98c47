//! Paths into an event, as mapping-kit's `get` reads them: `$.properties.items[0].name`,
//! `items.1.name`, `$.integrations.Actions Amplitude.session_id` (keys may hold spaces).
//!
//! Parsed once, when the mapping is loaded. Looking up keeps the reference's quirk: a falsy value
//! (`0`, `false`, `""`, `null`) met partway down the path is returned instead of "missing".

use serde_json::Value;

/// A parsed path; no segments means the whole event.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Path {
    segments: Vec<String>,
    /// For paths from the event's root inside an action's mapping: the id of each prefix
    /// (`context`, `context.device`, …) in the action's [`Prefixes`], so paths that share a
    /// prefix look it up once per event.
    ids: Vec<usize>,
}

/// The distinct root-path prefixes of one action's mapping, numbered.
#[derive(Debug, Default)]
pub(crate) struct Prefixes(std::collections::HashMap<(usize, String), usize>);

impl Prefixes {
    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }
}

/// Per event: what each numbered prefix resolved to (`Some(None)`: missing).
pub(crate) type Memo<'a> = [Option<Option<&'a Value>>];

impl Path {
    pub(crate) fn parse(text: &str) -> Path {
        // The first `$.` is removed wherever it stands, as the reference does. `$` alone is not
        // the root there but a key named `$` (so `{"@path": "$"}` finds nothing in an event or
        // an item); `$.` and `` are the root.
        let text = match text.find("$.") {
            Some(at) => format!("{}{}", &text[..at], &text[at + 2..]),
            None => text.to_string(),
        };
        let mut segments = Vec::new();
        let mut current = String::new();
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '.' => segments.push(std::mem::take(&mut current)),
                '[' => {
                    segments.push(std::mem::take(&mut current));
                    for d in chars.by_ref() {
                        if d == ']' {
                            break;
                        }
                        current.push(d);
                    }
                    segments.push(std::mem::take(&mut current));
                    // `a[0].b`: the dot after `]` only separates.
                    if chars.peek() == Some(&'.') {
                        chars.next();
                    }
                }
                c => current.push(c),
            }
        }
        segments.push(current);
        segments.retain(|s| !s.is_empty());
        Path {
            segments,
            ids: Vec::new(),
        }
    }

    /// Numbers this path's prefixes in `prefixes` (a root path of an action's mapping).
    pub(crate) fn number(&mut self, prefixes: &mut Prefixes) {
        let mut parent = usize::MAX;
        self.ids = self
            .segments
            .iter()
            .map(|s| {
                let next = prefixes.0.len();
                parent = *prefixes.0.entry((parent, s.clone())).or_insert(next);
                parent
            })
            .collect();
    }

    /// Like [`Path::get`], reusing and recording prefix results in `memo` when the path is
    /// numbered.
    pub(crate) fn get_memo<'a>(&self, root: &'a Value, memo: &mut Memo<'a>) -> Option<&'a Value> {
        if self.ids.is_empty() || memo.is_empty() {
            return self.get(root);
        }
        let mut start = 0;
        let mut current = root;
        for (i, id) in self.ids.iter().enumerate().rev() {
            if let Some(known) = memo[*id] {
                current = known?;
                start = i + 1;
                break;
            }
        }
        for (i, key) in self.segments.iter().enumerate().skip(start) {
            if is_falsy(current) {
                return Some(current);
            }
            let next = match current {
                Value::Object(map) => map.get(key),
                Value::Array(items) => key.parse::<usize>().ok().and_then(|n| items.get(n)),
                _ => None,
            };
            memo[self.ids[i]] = Some(next);
            current = next?;
        }
        Some(current)
    }

    /// The value at this path, or `None` when it is missing.
    pub(crate) fn get<'a>(&self, root: &'a Value) -> Option<&'a Value> {
        let mut current = root;
        for key in &self.segments {
            if is_falsy(current) {
                return Some(current);
            }
            current = match current {
                Value::Object(map) => map.get(key)?,
                Value::Array(items) => items.get(key.parse::<usize>().ok()?)?,
                _ => return None,
            };
        }
        Some(current)
    }
}

/// JavaScript's idea of falsy, for the JSON values that exist.
pub(crate) fn is_falsy(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Array(_) | Value::Object(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn get(path: &str, event: &Value) -> Option<Value> {
        Path::parse(path).get(event).cloned()
    }

    #[test]
    fn reads_dots_brackets_and_spaces() {
        let e = json!({"foo": {"baz": [{"num": 7}]}, "items": [{"name": "a"}, {"name": "b"}],
            "integrations": {"Actions Amplitude": {"session_id": 12}}});
        assert_eq!(get("$.foo.baz[0].num", &e), Some(json!(7)));
        assert_eq!(get("items.1.name", &e), Some(json!("b")));
        assert_eq!(get("$.items[1].name", &e), Some(json!("b")));
        assert_eq!(
            get("$.integrations.Actions Amplitude.session_id", &e),
            Some(json!(12))
        );
        assert_eq!(get("$.nope.deeper", &e), None);
    }

    #[test]
    fn root_paths_mean_the_whole_event() {
        let e = json!({"a": 1});
        assert_eq!(get("$.", &e), Some(e.clone()));
        assert_eq!(get("", &e), Some(e.clone()));
        assert_eq!(get(".", &e), Some(e.clone()));
    }

    #[test]
    fn falsy_values_partway_are_returned_as_the_reference_does() {
        assert_eq!(get("$.x.y", &json!({"x": 0})), Some(json!(0)));
        assert_eq!(get("$.x.y", &json!({"x": null})), Some(Value::Null));
        assert_eq!(get("$.x.y", &json!({"x": ""})), Some(json!("")));
        assert_eq!(get("$.x.y", &json!({"x": 5})), None);
    }

    #[test]
    fn memoised_lookups_agree_with_plain_ones() {
        let e = json!({"context": {"device": {"id": "d", "type": "ios"}, "ip": "1.2.3.4", "z": 0},
            "properties": {"items": [{"a": 1}]}});
        let mut prefixes = Prefixes::default();
        let mut paths: Vec<Path> = [
            "$.context.device.id",
            "$.context.device.type",
            "$.context.ip",
            "$.context.nope.deeper",
            "$.context.z.y",
            "$.properties.items[0].a",
            "$.context.device",
        ]
        .iter()
        .map(|p| Path::parse(p))
        .collect();
        for p in &mut paths {
            p.number(&mut prefixes);
        }
        let mut memo = vec![None; prefixes.len()];
        for _ in 0..2 {
            for p in &paths {
                assert_eq!(p.get_memo(&e, &mut memo), p.get(&e), "{p:?}");
            }
        }
    }

    #[test]
    fn quoted_brackets_do_not_protect_a_dot() {
        let e = json!({"o": {"k.j": 1}});
        assert_eq!(get("o['k.j']", &e), None);
    }
}
