//! The directives that compute new values rather than pick parts of the event: `@case`,
//! `@replace`, `@json`, `@flatten`, `@merge`, `@transform`, `@excludeWhenNull` and `@liquid`.
//!
//! Semantics follow Segment's mapping-kit, quirks included (`@replace` on a missing value gives `""`, `@flatten` of a scalar gives `{"": value}`). Where
//! mapping-kit's validator lets through what its runtime then throws on (`@case` without an
//! operator, `@flatten` without a separator, `@merge` without a direction), we refuse the
//! mapping when it is loaded. `mode` and `direction` are read case-insensitively, as the
//! validator reads them (mapping-kit's runtime would silently ignore `"ENCODE"`).
//!
//! `@liquid` renders with the `liquid` crate, limited as Segment limits LiquidJS: templates of at
//! most 1,000 characters, no loops or includes (`for`, `tablerow`, `case`, `include`, `render`,
//! `cycle`), and no filters that build collections (`map`, `sort`, `reverse`, `concat`, `uniq`,
//! `where`, ...). Without loops, rendering time is bounded by the template's length.

use super::{Node, Resolved, compile, is_falsy, js_string, kind_of, resolve};
use serde_json::{Map, Value};
use std::sync::Arc;

/// Longest `@liquid` template, as in Segment.
const MAX_LIQUID: usize = 1000;
/// Longest `@replace` pattern and replacement, as in Segment.
const MAX_PATTERN: usize = 10;

#[derive(Debug, Clone)]
pub(super) enum Directive {
    Case {
        upper: bool,
        value: Node,
    },
    Replace {
        value: Option<Node>,
        /// The first pattern and its replacement, then the optional second pair.
        steps: Vec<(regex::Regex, String)>,
        global: bool,
    },
    Json {
        encode: bool,
        value: Node,
    },
    Flatten {
        value: Node,
        separator: String,
        omit_arrays: bool,
    },
    Merge {
        objects: Vec<Node>,
        /// `left`: earlier objects win.
        left: bool,
    },
    Transform {
        apply: Node,
        mapping: Node,
    },
    ExcludeWhenNull(Node),
    Liquid(Arc<Liquid>),
}

/// A parsed Liquid template and its source, which is what identifies it.
pub(super) struct Liquid {
    source: String,
    template: liquid::Template,
}

impl std::fmt::Debug for Liquid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Liquid({:?})", self.source)
    }
}

/// Compiled directives are equal when they print the same: regexes and templates have no
/// equality of their own, and their printed form holds their source.
impl PartialEq for Directive {
    fn eq(&self, other: &Self) -> bool {
        format!("{self:?}") == format!("{other:?}")
    }
}

/// The argument object of a directive, with its keys checked against `allowed`.
fn object<'v>(
    arg: &'v Value,
    at: &str,
    allowed: &[&str],
    errors: &mut Vec<String>,
) -> Option<&'v Map<String, Value>> {
    let Some(map) = arg.as_object() else {
        errors.push(format!(
            "{at} should be an object but it is {}.",
            kind_of(arg)
        ));
        return None;
    };
    for key in map.keys() {
        if !allowed.contains(&key.as_str()) {
            errors.push(format!(
                "{at} has an unknown key {key:?}; expected {}.",
                allowed.join(", ")
            ));
        }
    }
    Some(map)
}

fn required<'v>(
    map: &'v Map<String, Value>,
    key: &str,
    at: &str,
    errors: &mut Vec<String>,
) -> Option<&'v Value> {
    let value = map.get(key);
    if value.is_none() {
        errors.push(format!("{at} should have field \"{key}\" but it doesn't."));
    }
    value
}

fn text<'v>(value: &'v Value, at: &str, errors: &mut Vec<String>) -> Option<&'v str> {
    let text = value.as_str();
    if text.is_none() {
        errors.push(format!(
            "{at} should be a string but it is {}.",
            kind_of(value)
        ));
    }
    text
}

fn flag(
    map: &Map<String, Value>,
    key: &str,
    default: bool,
    at: &str,
    errors: &mut Vec<String>,
) -> bool {
    match map.get(key) {
        None => default,
        Some(Value::Bool(b)) => *b,
        Some(other) => {
            errors.push(format!(
                "{at}/{key} should be a boolean but it is {}.",
                kind_of(other)
            ));
            default
        }
    }
}

/// One of two words, compared case-insensitively.
fn choice(
    map: &Map<String, Value>,
    key: &str,
    words: [&str; 2],
    at: &str,
    errors: &mut Vec<String>,
) -> bool {
    let Some(value) = required(map, key, at, errors) else {
        return false;
    };
    let Some(word) = text(value, &format!("{at}/{key}"), errors) else {
        return false;
    };
    match words.iter().position(|w| w.eq_ignore_ascii_case(word)) {
        Some(i) => i == 0,
        None => {
            errors.push(format!(
                "{at}/{key} should be \"{}\" or \"{}\" but it is {word:?}.",
                words[0], words[1]
            ));
            false
        }
    }
}

/// Compiles one of this module's directives (`NAMES`); errors go to `errors`.
pub(super) fn compile_directive(
    name: &str,
    arg: &Value,
    at: &str,
    errors: &mut Vec<String>,
) -> Node {
    match build(name, arg, at, errors) {
        Some(directive) => Node::Computed(Box::new(directive)),
        None => Node::Raw(Value::Null),
    }
}

/// The directives this module implements.
pub(super) const NAMES: [&str; 8] = [
    "@case",
    "@replace",
    "@json",
    "@flatten",
    "@merge",
    "@transform",
    "@excludeWhenNull",
    "@liquid",
];

fn build(name: &str, arg: &Value, at: &str, errors: &mut Vec<String>) -> Option<Directive> {
    let node =
        |v: &Value, key: &str, errors: &mut Vec<String>| compile(v, &format!("{at}/{key}"), errors);
    let directive = match name {
        "@case" => {
            let map = object(arg, at, &["operator", "value"], errors)?;
            let upper = choice(map, "operator", ["upper", "lower"], at, errors);
            let value = map
                .get("value")
                .map_or(Node::Raw(Value::Null), |v| node(v, "value", errors));
            Directive::Case { upper, value }
        }
        "@replace" => {
            let allowed = [
                "value",
                "pattern",
                "replacement",
                "pattern2",
                "replacement2",
                "ignorecase",
                "global",
            ];
            let map = object(arg, at, &allowed, errors)?;
            let value = required(map, "value", at, errors)
                .filter(|v| !is_falsy(v))
                .map(|v| node(v, "value", errors));
            let ignore_case = flag(map, "ignorecase", false, at, errors);
            let global = flag(map, "global", true, at, errors);
            let mut steps = Vec::new();
            for (pattern, replacement, needed) in [
                ("pattern", "replacement", true),
                ("pattern2", "replacement2", false),
            ] {
                let Some(p) = (if needed {
                    required(map, pattern, at, errors)
                } else {
                    map.get(pattern)
                }) else {
                    continue;
                };
                let Some(p) = text(p, &format!("{at}/{pattern}"), errors) else {
                    continue;
                };
                if p.is_empty() || p.chars().count() > MAX_PATTERN {
                    errors.push(format!(
                        "{at}/{pattern} should be a string of length {MAX_PATTERN} or less."
                    ));
                }
                let r = match map.get(replacement) {
                    None => "",
                    Some(r) => text(r, &format!("{at}/{replacement}"), errors).unwrap_or(""),
                };
                if r.chars().count() > MAX_PATTERN {
                    errors.push(format!(
                        "{at}/{replacement} should be a string of length {MAX_PATTERN} or less."
                    ));
                }
                let regex = regex::RegexBuilder::new(&regex::escape(p))
                    .case_insensitive(ignore_case)
                    .build()
                    .expect("an escaped pattern is a valid regex");
                steps.push((regex, r.to_string()));
            }
            Directive::Replace {
                value,
                steps,
                global,
            }
        }
        "@json" => {
            let map = object(arg, at, &["mode", "value"], errors)?;
            let encode = choice(map, "mode", ["encode", "decode"], at, errors);
            let value = required(map, "value", at, errors)
                .map_or(Node::Raw(Value::Null), |v| node(v, "value", errors));
            Directive::Json { encode, value }
        }
        "@flatten" => {
            let map = object(arg, at, &["value", "separator", "omitArrays"], errors)?;
            let value = required(map, "value", at, errors)
                .map_or(Node::Raw(Value::Null), |v| node(v, "value", errors));
            let separator = required(map, "separator", at, errors)
                .and_then(|s| text(s, &format!("{at}/separator"), errors))
                .unwrap_or(".")
                .to_string();
            let omit_arrays = flag(map, "omitArrays", false, at, errors);
            Directive::Flatten {
                value,
                separator,
                omit_arrays,
            }
        }
        "@merge" => {
            let map = object(arg, at, &["objects", "direction"], errors)?;
            let left = choice(map, "direction", ["left", "right"], at, errors);
            let objects = match required(map, "objects", at, errors) {
                Some(Value::Array(items)) => items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| {
                        if !item.is_object() {
                            errors.push(format!(
                                "{at}/objects/{i} should be an object or a mapping directive but it is {}.",
                                kind_of(item)
                            ));
                        }
                        node(item, &format!("objects/{i}"), errors)
                    })
                    .collect(),
                Some(other) => {
                    errors.push(format!("{at}/objects should be an array but it is {}.", kind_of(other)));
                    Vec::new()
                }
                None => Vec::new(),
            };
            Directive::Merge { objects, left }
        }
        "@transform" => {
            let map = object(arg, at, &["apply", "mapping"], errors)?;
            let mut part = |key: &str| match required(map, key, at, errors) {
                Some(v) if v.is_object() => node(v, key, errors),
                Some(v) => {
                    errors.push(format!(
                        "{at}/{key} should be an object or a mapping directive but it is {}.",
                        kind_of(v)
                    ));
                    Node::Raw(Value::Null)
                }
                None => Node::Raw(Value::Null),
            };
            let apply = part("apply");
            let mapping = part("mapping");
            Directive::Transform { apply, mapping }
        }
        "@excludeWhenNull" => Directive::ExcludeWhenNull(compile(arg, at, errors)),
        "@liquid" => {
            let source = text(arg, at, errors)?;
            if source.chars().count() > MAX_LIQUID {
                errors.push(format!(
                    "{at} should be a template of {MAX_LIQUID} characters or less."
                ));
                return None;
            }
            match liquid_parser().parse(source) {
                Ok(template) => Directive::Liquid(Arc::new(Liquid {
                    source: source.to_string(),
                    template,
                })),
                Err(e) => {
                    let message = e.to_string().replace('\n', " ");
                    errors.push(format!(
                        "{at} is not a valid Liquid template: {}",
                        message.trim()
                    ));
                    return None;
                }
            }
        }
        other => unreachable!("{other} is not in NAMES"),
    };
    Some(directive)
}

/// The Liquid parser with Segment's limits: no loops, includes or collection filters.
fn liquid_parser() -> &'static liquid::Parser {
    use liquid_lib::stdlib as s;
    static PARSER: std::sync::OnceLock<liquid::Parser> = std::sync::OnceLock::new();
    PARSER.get_or_init(|| {
        liquid::ParserBuilder::new()
            .tag(s::AssignTag)
            .tag(s::IncrementTag)
            .tag(s::DecrementTag)
            .block(s::RawBlock)
            .block(s::IfBlock)
            .block(s::UnlessBlock)
            .block(s::CommentBlock)
            .block(s::CaptureBlock)
            .filter(s::Abs)
            .filter(s::Append)
            .filter(s::AtLeast)
            .filter(s::AtMost)
            .filter(s::Capitalize)
            .filter(s::Ceil)
            .filter(s::Date)
            .filter(s::Default)
            .filter(s::DividedBy)
            .filter(s::Downcase)
            .filter(s::Escape)
            .filter(s::EscapeOnce)
            .filter(s::First)
            .filter(s::Floor)
            .filter(s::Join)
            .filter(s::Last)
            .filter(s::Lstrip)
            .filter(s::Minus)
            .filter(s::Modulo)
            .filter(s::NewlineToBr)
            .filter(s::Plus)
            .filter(s::Prepend)
            .filter(s::Remove)
            .filter(s::RemoveFirst)
            .filter(s::Replace)
            .filter(s::ReplaceFirst)
            .filter(s::Round)
            .filter(s::Rstrip)
            .filter(s::Size)
            .filter(s::Slice)
            .filter(s::Split)
            .filter(s::Strip)
            .filter(s::StripHtml)
            .filter(s::StripNewlines)
            .filter(s::Times)
            .filter(s::Truncate)
            .filter(s::TruncateWords)
            .filter(s::Upcase)
            .filter(s::UrlDecode)
            .filter(s::UrlEncode)
            .build()
            .expect("the standard tags and filters register")
    })
}

impl Directive {
    pub(super) fn resolve<'a>(
        &'a self,
        event: &'a Value,
        memo: &mut super::path::Memo<'a>,
    ) -> Option<Resolved<'a>> {
        match self {
            Directive::Case { upper, value } => {
                let v = resolve(value, event, memo)?;
                match v.as_value() {
                    Some(v) if is_falsy(v) => None,
                    Some(Value::String(s)) => Some(Resolved::Owned(Value::String(if *upper {
                        s.to_uppercase()
                    } else {
                        s.to_lowercase()
                    }))),
                    _ => Some(v),
                }
            }
            Directive::Replace {
                value,
                steps,
                global,
            } => {
                let value = value.as_ref()?;
                let mut text = String::new();
                if let Some(v) = resolve(value, event, memo) {
                    js_string(&v.into_value(), &mut text);
                }
                for (pattern, replacement) in steps {
                    let with = regex::NoExpand(replacement);
                    text = if *global {
                        pattern.replace_all(&text, with).into_owned()
                    } else {
                        pattern.replace(&text, with).into_owned()
                    };
                }
                Some(Resolved::Owned(Value::String(text)))
            }
            Directive::Json { encode, value } => {
                let v = resolve(value, event, memo)?;
                if *encode {
                    let text = serde_json::to_string(&v).expect("a mapped value serialises");
                    return Some(Resolved::Owned(Value::String(text)));
                }
                match v.as_value() {
                    Some(Value::String(s)) => match serde_json::from_str(s) {
                        Ok(decoded) => Some(Resolved::Owned(decoded)),
                        Err(_) => Some(v),
                    },
                    _ => Some(v),
                }
            }
            Directive::Flatten {
                value,
                separator,
                omit_arrays,
            } => {
                // A missing value flattens to `{}`, as in the reference (whose `{"": undefined}`
                // is `{}` once sent).
                let mut out = Map::new();
                if let Some(v) = resolve(value, event, memo).map(Resolved::into_value) {
                    flatten(&v, String::new(), separator, *omit_arrays, &mut out);
                }
                Some(Resolved::Owned(Value::Object(out)))
            }
            Directive::Merge { objects, left } => {
                let mut out = Map::new();
                let resolved: Vec<Value> = objects
                    .iter()
                    .filter_map(|o| resolve(o, event, memo))
                    .map(Resolved::into_value)
                    .collect();
                for object in resolved {
                    if let Value::Object(fields) = object {
                        for (k, v) in fields {
                            if *left {
                                out.entry(k).or_insert(v);
                            } else {
                                out.insert(k, v);
                            }
                        }
                    }
                }
                Some(Resolved::Owned(Value::Object(out)))
            }
            Directive::Transform { apply, mapping } => {
                let applied = resolve(apply, event, memo)?.into_value();
                resolve(mapping, &applied, &mut [])
                    .map(Resolved::into_value)
                    .map(Resolved::Owned)
            }
            Directive::ExcludeWhenNull(inner) => {
                let v = resolve(inner, event, memo)?;
                if v.is_null() {
                    return None;
                }
                if !v.is_object() {
                    return Some(v);
                }
                let mut value = v.into_value();
                drop_nulls(&mut value);
                Some(Resolved::Owned(value))
            }
            Directive::Liquid(liquid) => {
                let globals = liquid::to_object(event).ok()?;
                liquid
                    .template
                    .render(&globals)
                    .ok()
                    .map(|text| Resolved::Owned(Value::String(text)))
            }
        }
    }
}

/// mapping-kit's `flattenObject`: nested keys joined by the separator; empty objects and lists
/// vanish; a scalar at the top is `{"": value}`.
fn flatten(
    v: &Value,
    prefix: String,
    separator: &str,
    omit_arrays: bool,
    out: &mut Map<String, Value>,
) {
    let key = |k: &str| {
        if prefix.is_empty() {
            k.to_string()
        } else {
            format!("{prefix}{separator}{k}")
        }
    };
    match v {
        Value::Object(fields) => {
            for (k, item) in fields {
                flatten(item, key(k), separator, omit_arrays, out);
            }
        }
        Value::Array(items) if !omit_arrays => {
            for (i, item) in items.iter().enumerate() {
                flatten(item, key(&i.to_string()), separator, omit_arrays, out);
            }
        }
        other => {
            out.insert(prefix, other.clone());
        }
    }
}

/// Removes `null` members from objects, recursively; lists keep theirs.
fn drop_nulls(v: &mut Value) {
    if let Value::Object(fields) = v {
        fields.retain(|_, item| !item.is_null());
        for item in fields.values_mut() {
            drop_nulls(item);
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::mapping::Mapping;
    use serde_json::{Value, json};

    fn map(mapping: Value, event: Value) -> Option<Value> {
        Mapping::parse(&mapping)
            .unwrap_or_else(|e| panic!("{mapping}: {e}"))
            .apply(&event)
    }

    fn errors(mapping: Value) -> Vec<String> {
        Mapping::parse(&mapping).unwrap_err().0
    }

    #[test]
    fn case() {
        let m = |op: &str, v: Value| json!({"@case": {"operator": op, "value": v}});
        assert_eq!(map(m("upper", json!("abc")), json!({})), Some(json!("ABC")));
        assert_eq!(
            map(m("lower", json!({"@path": "$.a"})), json!({"a": "MiXed"})),
            Some(json!("mixed"))
        );
        // Non-strings come back unchanged; falsy or missing values give nothing.
        assert_eq!(map(m("upper", json!(1)), json!({})), Some(json!(1)));
        assert_eq!(
            map(m("upper", json!({"@path": "$.o"})), json!({"o": {"k": 1}})),
            Some(json!({"k": 1}))
        );
        assert_eq!(map(m("upper", json!("")), json!({})), None);
        assert_eq!(
            map(m("upper", json!({"@path": "$.missing"})), json!({})),
            None
        );
        assert_eq!(
            errors(json!({"@case": {"value": "x"}})),
            ["/@case should have field \"operator\" but it doesn't."]
        );
        assert_eq!(
            errors(m("title", json!("x"))),
            ["/@case/operator should be \"upper\" or \"lower\" but it is \"title\"."]
        );
    }

    #[test]
    fn replace() {
        let r = |v: Value, extra: Value| {
            let mut arg = json!({"value": v});
            arg.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            json!({"@replace": arg})
        };
        assert_eq!(
            map(
                r(json!("a.b.c"), json!({"pattern": ".", "replacement": "-"})),
                json!({})
            ),
            Some(json!("a-b-c"))
        );
        assert_eq!(
            map(
                r(
                    json!(true),
                    json!({"pattern": "true", "replacement": "granted"})
                ),
                json!({})
            ),
            Some(json!("granted"))
        );
        assert_eq!(
            map(
                r(
                    json!("something-great!"),
                    json!({"pattern": "-", "replacement": " ",
                    "pattern2": "great", "replacement2": "awesome"})
                ),
                json!({})
            ),
            Some(json!("something awesome!"))
        );
        assert_eq!(
            map(
                r(
                    json!("just-the-first"),
                    json!({"pattern": "-", "replacement": "@", "global": false})
                ),
                json!({})
            ),
            Some(json!("just@the-first"))
        );
        assert_eq!(
            map(
                r(
                    json!("AbAb"),
                    json!({"pattern": "ab", "replacement": "x", "ignorecase": true})
                ),
                json!({})
            ),
            Some(json!("xx"))
        );
        assert_eq!(
            map(
                r(json!("AbAb"), json!({"pattern": "ab", "replacement": "x"})),
                json!({})
            ),
            Some(json!("AbAb"))
        );
        // A missing or null value gives "", a falsy raw value gives nothing.
        assert_eq!(
            map(
                r(json!({"@path": "$.missing"}), json!({"pattern": "a"})),
                json!({})
            ),
            Some(json!(""))
        );
        assert_eq!(
            map(
                json!({"x": r(json!(""), json!({"pattern": "a"}))}),
                json!({})
            ),
            Some(json!({}))
        );
        // `$1` in a replacement is text, not a capture group.
        assert_eq!(
            map(
                r(json!("a"), json!({"pattern": "a", "replacement": "$1"})),
                json!({})
            ),
            Some(json!("$1"))
        );
        assert_eq!(
            errors(json!({"@replace": {"value": "x"}})),
            ["/@replace should have field \"pattern\" but it doesn't."]
        );
        assert_eq!(
            errors(r(json!("x"), json!({"pattern": "12345678901"}))),
            ["/@replace/pattern should be a string of length 10 or less."]
        );
    }

    #[test]
    fn json_encode_and_decode() {
        let j = |mode: &str, v: Value| json!({"@json": {"mode": mode, "value": v}});
        assert_eq!(
            map(j("encode", json!("bar")), json!({})),
            Some(json!("\"bar\""))
        );
        assert_eq!(
            map(
                j("encode", json!({"@path": "$.foo"})),
                json!({"foo": {"bar": "baz"}})
            ),
            Some(json!("{\"bar\":\"baz\"}"))
        );
        assert_eq!(map(j("ENCODE", json!(5)), json!({})), Some(json!("5")));
        assert_eq!(
            map(
                json!({"x": j("encode", json!({"@path": "$.no"}))}),
                json!({})
            ),
            Some(json!({}))
        );
        assert_eq!(
            map(
                j("decode", json!({"@path": "$.s"})),
                json!({"s": "{\"a\":[1]}"})
            ),
            Some(json!({"a": [1]}))
        );
        assert_eq!(
            map(j("decode", json!("Hello World")), json!({})),
            Some(json!("Hello World"))
        );
        assert_eq!(map(j("decode", json!(7)), json!({})), Some(json!(7)));
        assert_eq!(
            errors(json!({"@json": {"mode": "zip", "value": 1}})),
            ["/@json/mode should be \"encode\" or \"decode\" but it is \"zip\"."]
        );
    }

    #[test]
    fn flatten() {
        let f = |v: Value, extra: Value| {
            let mut arg = json!({"value": v, "separator": "."});
            arg.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            json!({"@flatten": arg})
        };
        let e = json!({"p": {"bar": "baz", "aces": {"a": 1, "b": 2}, "list": [{"fazz": "bar"}], "none": {}}});
        assert_eq!(
            map(f(json!({"@path": "$.p"}), json!({})), e.clone()),
            Some(json!({"bar": "baz", "aces.a": 1, "aces.b": 2, "list.0.fazz": "bar"}))
        );
        assert_eq!(
            map(f(json!({"@path": "$.p"}), json!({"omitArrays": true})), e),
            Some(json!({"bar": "baz", "aces.a": 1, "aces.b": 2, "list": [{"fazz": "bar"}]}))
        );
        assert_eq!(
            map(f(json!("x"), json!({})), json!({})),
            Some(json!({"": "x"}))
        );
        assert_eq!(
            errors(json!({"@flatten": {"value": 1}})),
            ["/@flatten should have field \"separator\" but it doesn't."]
        );
    }

    #[test]
    fn merge() {
        let m = |dir: &str| {
            json!({"@merge": {"direction": dir, "objects": [{"cool": true, "hey": "there"},
                {"@path": "$.foo"}, {"@path": "$.missing"}]}})
        };
        let e = json!({"foo": {"bar": "baz", "hey": "you"}});
        assert_eq!(
            map(m("right"), e.clone()),
            Some(json!({"cool": true, "hey": "you", "bar": "baz"}))
        );
        assert_eq!(
            map(m("LEFT"), e),
            Some(json!({"cool": true, "hey": "there", "bar": "baz"}))
        );
        assert_eq!(
            errors(json!({"@merge": {"objects": [1]}})),
            [
                "/@merge should have field \"direction\" but it doesn't.",
                "/@merge/objects/0 should be an object or a mapping directive but it is a number."
            ]
        );
    }

    #[test]
    fn transform_chains_mappings() {
        let m = json!({"@transform": {"apply": {"foo": {"@path": "$.a"}},
            "mapping": {"newValue": {"@path": "$.foo"}}}});
        assert_eq!(map(m, json!({"a": 1})), Some(json!({"newValue": 1})));
        assert_eq!(
            errors(json!({"@transform": {"apply": "x"}})),
            [
                "/@transform/apply should be an object or a mapping directive but it is a string.",
                "/@transform should have field \"mapping\" but it doesn't."
            ]
        );
    }

    #[test]
    fn exclude_when_null() {
        let m = json!({"x": {"@excludeWhenNull": {"@path": "$.v"}}});
        assert_eq!(map(m.clone(), json!({"v": null})), Some(json!({})));
        assert_eq!(
            map(
                m.clone(),
                json!({"v": {"bar": null, "aces": {"a": 1, "c": null, "d": {"a": null}}, "l": [null]}})
            ),
            Some(json!({"x": {"aces": {"a": 1, "d": {}}, "l": [null]}}))
        );
        assert_eq!(map(m, json!({"v": 0})), Some(json!({"x": 0})));
        // No effect on directives that never give null.
        assert_eq!(
            map(
                json!({"@excludeWhenNull": {"@template": "{{v}}"}}),
                json!({"v": null})
            ),
            Some(json!(""))
        );
    }

    #[test]
    fn liquid() {
        assert_eq!(
            map(
                json!({"@liquid": "{{ properties.n | plus: 1 }}"}),
                json!({"properties": {"n": 2}})
            ),
            Some(json!("3"))
        );
        let m = json!({"@liquid": "{% if properties.world == \"Bikini Bottom\" %}Under the sea{% endif %}"});
        assert_eq!(
            map(m.clone(), json!({"properties": {"world": "Bikini Bottom"}})),
            Some(json!("Under the sea"))
        );
        assert_eq!(
            map(m, json!({"properties": {"world": "Land"}})),
            Some(json!(""))
        );
        let loops = errors(json!({"@liquid": "{% for p in properties.items %}{{p}}{% endfor %}"}));
        assert!(
            loops[0].starts_with("/@liquid is not a valid Liquid template:"),
            "{loops:?}"
        );
        let sorted = errors(json!({"@liquid": "{{ properties.items | sort }}"}));
        assert!(
            sorted[0].starts_with("/@liquid is not a valid Liquid template:"),
            "{sorted:?}"
        );
        assert_eq!(
            errors(json!({"@liquid": "x".repeat(1001)})),
            ["/@liquid should be a template of 1000 characters or less."]
        );
        assert_eq!(
            errors(json!({"@liquid": 3})),
            ["/@liquid should be a string but it is a number."]
        );
    }
}
