//! Field mappings: Segment's mapping-kit directives, compiled once and applied per event.
//!
//! A mapping is any JSON value. Objects with exactly one `@`-prefixed key (plus an optional
//! `_metadata`) are directives; everything else is copied as it is, with objects and arrays
//! resolved member by member. [`Mapping::parse`] checks the whole mapping up front and names every
//! problem by its JSON-pointer path (`/url/@template should be a string …`); [`Mapping::apply`]
//! then never fails: a value that is missing is "undefined" and its key is dropped, as in the
//! reference (Segment's mapping-kit). The quirks we keep are named where each directive is
//! compiled, and listed in README.md's differences from Segment.
//!
//! All 13 directives are supported: `@path`, `@template`, `@literal`, `@if` and `@arrayPath` here,
//! the ones that compute new values in [`computed`]. A mapping whose object has the key
//! `__segment_internal_directive` is that directive with the object's other keys as its
//! `mapping` argument, as in mapping-kit.

mod computed;
mod path;
mod reads;
mod resolved;

pub use reads::{paths_read, reads_field};
pub use resolved::Resolved;

use path::{Memo, Path, Prefixes, is_falsy};
use serde_json::Value;
use std::fmt;

/// Every problem found in a mapping, each starting with its path inside the mapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappingError(pub Vec<String>);

impl fmt::Display for MappingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join("; "))
    }
}

impl std::error::Error for MappingError {}

/// A compiled mapping.
#[derive(Debug, Clone, PartialEq)]
pub struct Mapping(Node);

/// The distinct root-path prefixes of a set of mappings (e.g. all fields of an action).
#[derive(Debug, Default)]
pub(crate) struct PathTable(Prefixes);

/// Per-event memory of prefix lookups for the mappings of one [`PathTable`].
pub(crate) struct SharedLookups<'a>(Vec<Option<Option<&'a Value>>>);

impl<'a> SharedLookups<'a> {
    /// Empty, for one event.
    pub(crate) fn new(table: &PathTable) -> SharedLookups<'a> {
        SharedLookups(vec![None; table.0.len()])
    }
}

/// Numbers the root paths of a node (not those inside `@arrayPath` shapes, which are relative
/// to each item).
fn number(node: &mut Node, prefixes: &mut Prefixes) {
    let arg = |arg: &mut Arg<Path>, prefixes: &mut Prefixes| match arg {
        Arg::Fixed(path) => path.number(prefixes),
        Arg::Computed(node) => number(node, prefixes),
    };
    match node {
        Node::Raw(_) => {}
        Node::Object(fields) => fields.iter_mut().for_each(|(_, n)| number(n, prefixes)),
        Node::Array(items) => items.iter_mut().for_each(|n| number(n, prefixes)),
        Node::Path(a) => arg(a, prefixes),
        Node::Template(Arg::Fixed(pieces)) => {
            for piece in pieces {
                if let Piece::Value(path) = piece {
                    path.number(prefixes);
                }
            }
        }
        Node::Template(Arg::Computed(n)) | Node::Literal(n) => number(n, prefixes),
        Node::If {
            condition,
            then,
            otherwise,
        } => {
            if let Condition::Exists(n) | Condition::Blank(n) = condition {
                number(n, prefixes);
            }
            for n in [then, otherwise].into_iter().flatten() {
                number(n, prefixes);
            }
        }
        Node::ArrayPath { root, .. } => arg(root, prefixes),
        // Their paths are looked up on their own (some read other values than the event).
        Node::Computed(_) => {}
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Node {
    /// A value with no directive anywhere inside.
    Raw(Value),
    Object(Vec<(String, Node)>),
    Array(Vec<Node>),
    Path(Arg<Path>),
    Template(Arg<Vec<Piece>>),
    Literal(Box<Node>),
    If {
        condition: Condition,
        then: Option<Box<Node>>,
        /// Only kept when the raw `else` is truthy, as the reference decides.
        otherwise: Option<Box<Node>>,
    },
    ArrayPath {
        root: Arg<Path>,
        shape: Option<Box<Node>>,
    },
    Computed(Box<computed::Directive>),
}

/// A directive argument: fixed when written as a string, or computed by a nested directive.
#[derive(Debug, Clone, PartialEq)]
enum Arg<T> {
    Fixed(T),
    Computed(Box<Node>),
}

#[derive(Debug, Clone, PartialEq)]
enum Condition {
    Always,
    Exists(Box<Node>),
    Blank(Box<Node>),
}

#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Text(String),
    Value(Path),
}

impl Mapping {
    /// Compiles a mapping, or lists everything wrong with it.
    pub fn parse(value: &Value) -> Result<Mapping, MappingError> {
        Mapping::parse_at(value, "")
    }

    /// Compiles a mapping that sits at `at` (a JSON pointer such as `/text`) inside a larger
    /// one, so errors name the full path.
    pub fn parse_at(value: &Value, at: &str) -> Result<Mapping, MappingError> {
        let mut errors = Vec::new();
        let node = compile(value, at, &mut errors);
        if errors.is_empty() {
            Ok(Mapping(node))
        } else {
            Err(MappingError(errors))
        }
    }

    /// Resolves the mapping against an event; `None` when the result is undefined.
    pub fn apply(&self, event: &Value) -> Option<Value> {
        self.resolve(event).map(Resolved::into_value)
    }

    /// Resolves the mapping against an event without copying what it takes from the event.
    pub fn resolve<'a>(&'a self, event: &'a Value) -> Option<Resolved<'a>> {
        resolve(&self.0, event, &mut [])
    }

    /// Like [`Mapping::resolve`], sharing prefix lookups with the other mappings numbered by
    /// the same [`PathTable`].
    pub(crate) fn resolve_shared<'a>(
        &'a self,
        event: &'a Value,
        lookups: &mut SharedLookups<'a>,
    ) -> Option<Resolved<'a>> {
        resolve(&self.0, event, &mut lookups.0)
    }

    /// Numbers this mapping's root paths in `table`, so mappings numbered by one table share
    /// the lookups of common prefixes per event.
    pub(crate) fn share_paths(&mut self, table: &mut PathTable) {
        number(&mut self.0, &mut table.0);
    }
}

fn compile(value: &Value, at: &str, errors: &mut Vec<String>) -> Node {
    match value {
        Value::Object(map) if map.contains_key(ROOT_DIRECTIVE) => root_directive(map, at, errors),
        Value::Object(map) => {
            let directives: Vec<&String> = map.keys().filter(|k| k.starts_with('@')).collect();
            if directives.is_empty() {
                let fields: Vec<(String, Node)> = map
                    .iter()
                    .map(|(k, v)| (k.clone(), compile(v, &format!("{at}/{k}"), errors)))
                    .collect();
                if fields.iter().all(|(_, n)| matches!(n, Node::Raw(_))) {
                    return Node::Raw(value.clone());
                }
                return Node::Object(fields);
            }
            let extra = map.keys().filter(|k| *k != "_metadata").count();
            if directives.len() > 1 || extra > 1 {
                errors.push(format!(
                    "{} should only have one @-prefixed key but it has {} keys.",
                    shown(at),
                    extra
                ));
                return Node::Raw(Value::Null);
            }
            let name = directives[0].as_str();
            directive_node(name, &map[name], &format!("{at}/{name}"), errors)
        }
        Value::Array(items) => {
            let nodes: Vec<Node> = items
                .iter()
                .enumerate()
                .map(|(i, v)| compile(v, &format!("{at}/{i}"), errors))
                .collect();
            if nodes.iter().all(|n| matches!(n, Node::Raw(_))) {
                return Node::Raw(value.clone());
            }
            Node::Array(nodes)
        }
        other => Node::Raw(other.clone()),
    }
}

/// The key under which a mapping names a directive that takes the rest of the mapping.
const ROOT_DIRECTIVE: &str = "__segment_internal_directive";

/// `{"__segment_internal_directive": {"@transform": {"apply": …}}, "a": …}` is the directive
/// with `mapping` set to the other keys (`{"a": …}`).
fn root_directive(
    map: &serde_json::Map<String, Value>,
    at: &str,
    errors: &mut Vec<String>,
) -> Node {
    let inner_at = format!("{at}/{ROOT_DIRECTIVE}");
    let directive = map[ROOT_DIRECTIVE]
        .as_object()
        .filter(|d| d.len() == 1 && d.keys().all(|k| k.starts_with('@')));
    let Some(directive) = directive else {
        errors.push(format!(
            "{inner_at} should be an object with exactly one @-prefixed key."
        ));
        return Node::Raw(Value::Null);
    };
    let (name, arg) = directive.iter().next().expect("one key");
    let mut arg = arg.clone();
    let rest: serde_json::Map<String, Value> = map
        .iter()
        .filter(|(k, _)| *k != ROOT_DIRECTIVE)
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    match arg.as_object_mut() {
        Some(fields) => {
            fields.insert("mapping".into(), Value::Object(rest));
        }
        None => {
            errors.push(format!(
                "{inner_at}/{name} should be an object but it is {}.",
                kind_of(&arg)
            ));
            return Node::Raw(Value::Null);
        }
    }
    directive_node(name, &arg, &format!("{inner_at}/{name}"), errors)
}

fn shown(at: &str) -> &str {
    if at.is_empty() { "/" } else { at }
}

/// "a string", "an object", …: a JSON value's kind, for error messages.
pub(crate) fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn is_directive(v: &Value) -> bool {
    v.as_object()
        .is_some_and(|m| m.keys().any(|k| k.starts_with('@')))
}

/// A string argument, or a directive that computes one.
fn string_arg<T>(
    name: &str,
    arg: &Value,
    at: &str,
    errors: &mut Vec<String>,
    fixed: impl FnOnce(&str) -> T,
) -> Arg<T> {
    match arg {
        Value::String(s) => Arg::Fixed(fixed(s)),
        v if is_directive(v) => Arg::Computed(Box::new(compile(v, at, errors))),
        v => {
            errors.push(format!(
                "{at} should be a string or a mapping directive but it is {}.",
                kind_of(v)
            ));
            let _ = name;
            Arg::Computed(Box::new(Node::Raw(Value::Null)))
        }
    }
}

fn directive_node(name: &str, arg: &Value, at: &str, errors: &mut Vec<String>) -> Node {
    match name {
        "@path" => Node::Path(string_arg(name, arg, at, errors, Path::parse)),
        "@template" => Node::Template(string_arg(name, arg, at, errors, template)),
        "@literal" => Node::Literal(Box::new(compile(arg, at, errors))),
        "@if" => compile_if(arg, at, errors),
        "@arrayPath" => {
            let Some(items) = arg.as_array() else {
                errors.push(format!(
                    "{at} should be an array but it is {}.",
                    kind_of(arg)
                ));
                return Node::Raw(Value::Null);
            };
            let Some(first) = items.first() else {
                errors.push(format!("{at} should have a path as its first element."));
                return Node::Raw(Value::Null);
            };
            let root = string_arg(name, first, &format!("{at}/0"), errors, Path::parse);
            let shape = items
                .get(1)
                .filter(|s| s.as_object().is_some_and(|m| !m.is_empty()))
                .map(|s| Box::new(compile(s, &format!("{at}/1"), errors)));
            Node::ArrayPath { root, shape }
        }
        name if computed::NAMES.contains(&name) => {
            computed::compile_directive(name, arg, at, errors)
        }
        other => {
            let parent = at.rsplit_once('/').map_or("", |(p, _)| p);
            errors.push(format!(
                "{} has an invalid directive: {other}.",
                shown(parent)
            ));
            Node::Raw(Value::Null)
        }
    }
}

fn compile_if(arg: &Value, at: &str, errors: &mut Vec<String>) -> Node {
    let Some(map) = arg.as_object() else {
        errors.push(format!(
            "{at} should be an object but it is {}.",
            kind_of(arg)
        ));
        return Node::Raw(Value::Null);
    };
    for key in map.keys() {
        if !["exists", "blank", "then", "else"].contains(&key.as_str()) {
            errors.push(format!(
                "{at} has an unknown key {key:?}; expected exists or blank, then, else."
            ));
        }
    }
    let condition = match (map.get("exists"), map.get("blank")) {
        (Some(v), _) if is_directive(v) => {
            Condition::Exists(Box::new(compile(v, &format!("{at}/exists"), errors)))
        }
        (None, Some(v)) if is_directive(v) => {
            Condition::Blank(Box::new(compile(v, &format!("{at}/blank"), errors)))
        }
        (Some(v), _) | (None, Some(v)) if !is_falsy(v) => Condition::Always,
        _ => {
            errors.push(format!(
                "{at} requires an \"exists\" key or a \"blank\" key."
            ));
            Condition::Always
        }
    };
    let then = map
        .get("then")
        .map(|v| Box::new(compile(v, &format!("{at}/then"), errors)));
    let otherwise = map
        .get("else")
        .filter(|v| !is_falsy(v))
        .map(|v| Box::new(compile(v, &format!("{at}/else"), errors)));
    Node::If {
        condition,
        then,
        otherwise,
    }
}

/// Splits `Hello {{traits.name}}!` into text and paths. `{{{x}}}` reads the same as `{{x}}`.
fn template(text: &str) -> Vec<Piece> {
    let mut pieces = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find("{{") {
        let after = &rest[open + 2..];
        let (inner_start, triple) = match after.strip_prefix('{') {
            Some(a) => (a, true),
            None => (after, false),
        };
        let Some(close) = inner_start.find("}}") else {
            break;
        };
        if open > 0 {
            pieces.push(Piece::Text(rest[..open].to_string()));
        }
        let path = inner_start[..close].trim();
        pieces.push(Piece::Value(Path::parse(path)));
        let mut next = &inner_start[close + 2..];
        if triple {
            next = next.strip_prefix('}').unwrap_or(next);
        }
        rest = next;
    }
    if !rest.is_empty() {
        pieces.push(Piece::Text(rest.to_string()));
    }
    pieces
}

fn resolve<'a>(node: &'a Node, event: &'a Value, memo: &mut Memo<'a>) -> Option<Resolved<'a>> {
    match node {
        Node::Raw(v) => Some(Resolved::Ref(v)),
        Node::Object(fields) => {
            let mut out = Vec::with_capacity(fields.len());
            for (key, node) in fields {
                if let Some(v) = resolve(node, event, memo) {
                    out.push((key.as_str(), v));
                }
            }
            Some(Resolved::Object(out))
        }
        Node::Array(items) => Some(Resolved::Array(
            items
                .iter()
                .map(|n| resolve(n, event, memo).unwrap_or(Resolved::Ref(&Value::Null)))
                .collect(),
        )),
        Node::Path(arg) => lookup(arg, event, memo).map(Resolved::Ref),
        Node::Template(Arg::Fixed(pieces)) => {
            Some(Resolved::Owned(Value::String(render(pieces, event, memo))))
        }
        Node::Template(Arg::Computed(node)) => match resolve(node, event, memo)?.as_value() {
            Some(Value::String(s)) => Some(Resolved::Owned(Value::String(render(
                &template(s),
                event,
                &mut [],
            )))),
            _ => None,
        },
        Node::Literal(inner) => resolve(inner, event, memo),
        Node::If {
            condition,
            then,
            otherwise,
        } => {
            let holds = match condition {
                Condition::Always => true,
                Condition::Exists(n) => resolve(n, event, memo).is_some_and(|v| !v.is_null()),
                Condition::Blank(n) => resolve(n, event, memo)
                    .is_some_and(|v| !v.is_null() && !v.as_value().is_some_and(loosely_empty)),
            };
            match (holds, then, otherwise) {
                (true, Some(then), _) => resolve(then, event, memo),
                (false, _, Some(otherwise)) => resolve(otherwise, event, memo),
                _ => None,
            }
        }
        Node::ArrayPath { root, shape } => {
            let root = lookup(root, event, memo)?;
            match (shape, root) {
                (Some(shape), Value::Array(items)) => Some(Resolved::Array(
                    items
                        .iter()
                        .map(|item| {
                            resolve(shape, item, &mut []).unwrap_or(Resolved::Ref(&Value::Null))
                        })
                        .collect(),
                )),
                (Some(shape), Value::Object(_)) => Some(Resolved::Array(vec![
                    resolve(shape, root, &mut []).unwrap_or(Resolved::Ref(&Value::Null)),
                ])),
                _ => Some(Resolved::Ref(root)),
            }
        }
        Node::Computed(directive) => directive.resolve(event, memo),
    }
}

fn lookup<'a>(arg: &'a Arg<Path>, event: &'a Value, memo: &mut Memo<'a>) -> Option<&'a Value> {
    match arg {
        Arg::Fixed(path) => path.get_memo(event, memo),
        Arg::Computed(node) => match resolve(node, event, memo)?.as_value()? {
            Value::String(s) => Path::parse(s).get(event),
            _ => None,
        },
    }
}

/// `value == ''` in JavaScript.
fn loosely_empty(v: &Value) -> bool {
    match v {
        Value::String(s) => s.is_empty(),
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

fn render<'a>(pieces: &'a [Piece], event: &'a Value, memo: &mut Memo<'a>) -> String {
    let mut out = String::new();
    for piece in pieces {
        match piece {
            Piece::Text(t) => out.push_str(t),
            Piece::Value(path) => {
                if let Some(v) = path.get_memo(event, memo) {
                    js_string(v, &mut out);
                }
            }
        }
    }
    out
}

/// `String(value)` in JavaScript; `null` renders as nothing, as in templates.
fn js_string(v: &Value, out: &mut String) {
    match v {
        Value::Null => {}
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => out.push_str(s),
        Value::Object(_) => out.push_str("[object Object]"),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                js_string(item, out);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(mapping: Value, event: Value) -> Option<Value> {
        Mapping::parse(&mapping).unwrap().apply(&event)
    }

    /// Directive edge cases, each checked against Segment's mapping-kit (3.170.0).
    #[test]
    fn flatten_of_a_missing_or_empty_object_is_an_empty_object() {
        let mapping = json!({"f": {"@flatten": {"value": {"@path": "$.properties.nested"},
            "separator": "."}}});
        assert_eq!(map(mapping.clone(), json!({})), Some(json!({"f": {}})));
        assert_eq!(
            map(mapping.clone(), json!({"properties": {"nested": {}}})),
            Some(json!({"f": {}}))
        );
        assert_eq!(
            map(mapping, json!({"properties": {"nested": {"a": {"b": 1}}}})),
            Some(json!({"f": {"a.b": 1}}))
        );
    }

    #[test]
    fn objects_from_the_event_keep_the_clients_key_order() {
        // As the client sent it: not sorted.
        let event: Value =
            serde_json::from_str(r#"{"properties": {"zeta": 1, "alpha": {"y": 2, "b": 3}}}"#)
                .unwrap();
        let json = map(
            json!({"@json": {"mode": "encode", "value": {"@path": "$.properties"}}}),
            event.clone(),
        );
        assert_eq!(json, Some(json!(r#"{"zeta":1,"alpha":{"y":2,"b":3}}"#)));
        let flat = map(
            json!({"@flatten": {"value": {"@path": "$.properties"}, "separator": "_"}}),
            event,
        )
        .unwrap();
        let keys: Vec<&String> = flat.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["zeta", "alpha_y", "alpha_b"]);
    }

    #[test]
    fn array_path_items_read_with_a_bare_dollar_find_nothing() {
        let tags = json!({"properties": {"tags": ["a", "b"]}});
        // `$` alone is a key named "$" in Segment's `get`, not the item.
        assert_eq!(
            map(
                json!({"@arrayPath": ["$.properties.tags", {"@path": "$"}]}),
                tags.clone()
            ),
            Some(json!([null, null]))
        );
        // `$.` is the item itself.
        assert_eq!(
            map(
                json!({"@arrayPath": ["$.properties.tags", {"@path": "$."}]}),
                tags
            ),
            Some(json!(["a", "b"]))
        );
        assert_eq!(map(json!({"@path": "$"}), json!({"a": 1})), None);
    }

    #[test]
    fn path_and_nested_path_argument() {
        assert_eq!(
            map(json!({"@path": "$.a"}), json!({"a": 3})),
            Some(json!(3))
        );
        assert_eq!(
            map(
                json!({"@path": {"@path": "$.foo"}}),
                json!({"foo": "bar", "bar": "baz"})
            ),
            Some(json!("baz"))
        );
        assert_eq!(
            map(json!({"x": {"@path": "$.missing"}}), json!({})),
            Some(json!({}))
        );
    }

    #[test]
    fn template_renders_like_javascript() {
        let e = json!({"a": "<b>Hi</b>", "n": 3, "f": false, "o": {"k": 1}, "nul": null});
        assert_eq!(
            map(
                json!({"@template": "<blink>{{a}} {{{a}}}</blink>"}),
                e.clone()
            ),
            Some(json!("<blink><b>Hi</b> <b>Hi</b></blink>"))
        );
        assert_eq!(
            map(
                json!({"@template": "{{ n }}/{{f}}/{{o}}/{{nul}}/{{oops.yo}}"}),
                e
            ),
            Some(json!("3/false/[object Object]//"))
        );
    }

    #[test]
    fn literal_protects_templates_but_resolves_nested_directives() {
        assert_eq!(
            map(json!({"@literal": "{{x}}"}), json!({"x": 1})),
            Some(json!("{{x}}"))
        );
        assert_eq!(
            map(
                json!({"@literal": {"a": {"@path": "$.a"}, "b": {"@path": "$.b"}}}),
                json!({"a": "some value"})
            ),
            Some(json!({"a": "some value"}))
        );
    }

    #[test]
    fn if_exists_and_blank() {
        let m = json!({"@if": {"exists": {"@path": "$.e"}, "then": "yes", "else": "no"}});
        assert_eq!(map(m.clone(), json!({"e": ""})), Some(json!("yes")));
        assert_eq!(map(m.clone(), json!({"e": null})), Some(json!("no")));
        assert_eq!(map(m, json!({})), Some(json!("no")));
        let b = json!({"@if": {"blank": {"@path": "$.z"}, "then": "yes", "else": "no"}});
        assert_eq!(map(b.clone(), json!({"z": 0})), Some(json!("no")));
        assert_eq!(map(b, json!({"z": "x"})), Some(json!("yes")));
    }

    #[test]
    fn if_with_a_falsy_else_drops_the_field() {
        for falsy in [json!(false), json!(0), json!("")] {
            let m = json!({"k": {"@if": {"exists": {"@path": "$.no"}, "then": 1, "else": falsy}}});
            assert_eq!(map(m, json!({})), Some(json!({})));
        }
    }

    #[test]
    fn if_first_of_several_paths() {
        let m = json!({"@if": {"exists": {"@path": "$.userId"}, "then": {"@path": "$.userId"},
            "else": {"@path": "$.anonymousId"}}});
        assert_eq!(map(m, json!({"anonymousId": "anon"})), Some(json!("anon")));
    }

    #[test]
    fn array_path_maps_each_item_and_wraps_a_single_object() {
        let m = json!({"@arrayPath": ["$.properties.products",
            {"product_id": {"@path": "$.productId"}, "monies": {"@path": "$.price"}}]});
        assert_eq!(
            map(
                m.clone(),
                json!({"properties": {"products": [{"productId": "1", "price": 2}]}})
            ),
            Some(json!([{"product_id": "1", "monies": 2}]))
        );
        assert_eq!(
            map(
                m.clone(),
                json!({"properties": {"products": {"productId": "123", "price": 0.5}}})
            ),
            Some(json!([{"product_id": "123", "monies": 0.5}]))
        );
        assert_eq!(map(m.clone(), json!({"properties": {}})), None);
        assert_eq!(
            map(m, json!({"properties": {"products": "str"}})),
            Some(json!("str"))
        );
        assert_eq!(
            map(
                json!({"@arrayPath": ["$.p", {"a": {"@path": "$.x"}}]}),
                json!({"p": {"notAnArray": true}})
            ),
            Some(json!([{}]))
        );
    }

    #[test]
    fn undefined_array_elements_become_null() {
        assert_eq!(
            map(
                json!({"a": [{"@path": "$.x"}, "lit", {"@path": "$.missing"}]}),
                json!({"x": 1})
            ),
            Some(json!({"a": [1, "lit", null]}))
        );
    }

    #[test]
    fn errors_name_their_path() {
        let err = Mapping::parse(&json!({"a": {"@path": true}, "b": {"c": {"@oops": 1}},
            "d": {"@path": "x", "@template": "y"}, "e": {"@if": {"exists": false}}}))
        .unwrap_err();
        assert_eq!(
            err.0,
            [
                "/a/@path should be a string or a mapping directive but it is a boolean.",
                "/b/c has an invalid directive: @oops.",
                "/d should only have one @-prefixed key but it has 2 keys.",
                "/e/@if requires an \"exists\" key or a \"blank\" key.",
            ]
        );
    }

    #[test]
    fn root_directive_takes_the_other_keys_as_its_mapping() {
        let m = json!({
            "__segment_internal_directive": {"@transform": {"apply": {"flat": {"@flatten": {
                "value": {"@path": "$.properties"}, "separator": "_"}}}}},
            "total": {"@path": "$.flat.order_total"},
        });
        assert_eq!(
            map(m, json!({"properties": {"order": {"total": 5}}})),
            Some(json!({"total": 5}))
        );
        let err = Mapping::parse(&json!({"__segment_internal_directive": 1})).unwrap_err();
        assert_eq!(
            err.0,
            ["/__segment_internal_directive should be an object with exactly one @-prefixed key."]
        );
    }
}

/// The engine never panics, whatever the mapping and the event.
#[cfg(test)]
mod never_panics {
    use super::*;
    use proptest::prelude::*;

    const KEYS: [&str; 28] = [
        "@path",
        "@template",
        "@literal",
        "@if",
        "@case",
        "@replace",
        "@arrayPath",
        "@json",
        "@flatten",
        "@merge",
        "@transform",
        "@excludeWhenNull",
        "@liquid",
        "@oops",
        "_metadata",
        "__segment_internal_directive",
        "exists",
        "blank",
        "then",
        "else",
        "operator",
        "value",
        "pattern",
        "mode",
        "separator",
        "objects",
        "direction",
        "apply",
    ];
    const TEXTS: [&str; 14] = [
        "$.a",
        "$.a.b",
        "a[0]",
        "$.",
        "{{a}}",
        "{{{a.b}}}",
        "{{",
        "upper",
        "encode",
        "decode",
        "left",
        "right",
        "{% if a %}x{% endif %}",
        "{{ a | plus: 1 }}",
    ];

    fn json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            (-3i64..3).prop_map(Value::from),
            proptest::sample::select(&TEXTS[..]).prop_map(Value::from),
            "\\PC{0,8}".prop_map(Value::from),
        ];
        leaf.prop_recursive(5, 64, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                proptest::collection::vec(
                    (
                        proptest::sample::select(&KEYS[..]).prop_map(String::from),
                        inner
                    ),
                    0..4
                )
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn on_any_mapping_and_event(mapping in json(), event in json()) {
            if let Ok(m) = Mapping::parse(&mapping) {
                let _ = m.apply(&event);
                let mut table = PathTable::default();
                let mut shared = m;
                shared.share_paths(&mut table);
                let mut lookups = SharedLookups::new(&table);
                let _ = shared.resolve_shared(&event, &mut lookups);
            }
        }
    }
}
