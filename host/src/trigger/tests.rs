use super::*;
use proptest::prelude::*;
use serde_json::json;

fn matches(trigger: &str, event: Value) -> bool {
    Trigger::parse(trigger)
        .unwrap_or_else(|e| panic!("{trigger}: {e}"))
        .matches(&event)
}

fn error(trigger: &str) -> String {
    Trigger::parse(trigger).unwrap_err().to_string()
}

#[test]
fn the_reference_examples() {
    let t = "type = \"track\" or type = \"identify\"";
    assert!(matches(t, json!({"type": "track"})));
    assert!(matches(t, json!({"type": "identify"})));
    assert!(!matches(t, json!({"type": "group"})));
    let t = "event = \"Page Viewed\" and type = \"track\"";
    assert!(!matches(t, json!({"event": "Page Viewed"})));
    assert!(matches(t, json!({"event": "Page Viewed", "type": "track"})));
    let t = "event = \"Page Viewed\" and (context.ip = \"1.1.1.1\" or properties.ip = \"2.2.2.2\")";
    assert!(matches(
        t,
        json!({"event": "Page Viewed", "context": {"ip": "1.1.1.1"}})
    ));
    assert!(!matches(
        t,
        json!({"event": "Page Viewed", "context": {"ip": "2.2.2.2"}})
    ));
    assert!(!matches("properties.value = \"x\"", json!({})));
}

#[test]
fn comparisons_are_strict_and_typed() {
    assert!(!matches(
        "properties.value = \"123\"",
        json!({"properties": {"value": 123}})
    ));
    assert!(matches(
        "properties.value = \"123\"",
        json!({"properties": {"value": "123"}})
    ));
    assert!(matches(
        "properties.value = 123",
        json!({"properties": {"value": 123}})
    ));
    assert!(matches(
        "properties.value = 123",
        json!({"properties": {"value": 123.0}})
    ));
    assert!(!matches(
        "properties.value = 123",
        json!({"properties": {"value": "123"}})
    ));
    assert!(!matches(
        "properties.price > 10",
        json!({"properties": {"price": "20"}})
    ));
    assert!(matches(
        "properties.price > 10",
        json!({"properties": {"price": 20}})
    ));
    assert!(matches(
        "properties.price >= 20",
        json!({"properties": {"price": 20}})
    ));
    assert!(!matches(
        "properties.price < 20",
        json!({"properties": {"price": 20}})
    ));
    assert!(matches(
        "properties.n != 456",
        json!({"properties": {"n": 0}})
    ));
    assert!(!matches(
        "properties.n != 456",
        json!({"properties": {"n": "456"}})
    ));
    // `!=` with text is true when the field is missing.
    assert!(matches("event != \"A\"", json!({})));
    // Numbers compared with top-level fields compare as text, as Segment does.
    assert!(matches("userId = 123", json!({"userId": "123"})));
    assert!(matches(
        "traits.vip = true",
        json!({"traits": {"vip": true}})
    ));
    assert!(!matches(
        "traits.vip = true",
        json!({"traits": {"vip": "true"}})
    ));
    assert!(matches(
        "traits.vip = false",
        json!({"traits": {"vip": false}})
    ));
    assert!(matches("traits.vip != true", json!({"traits": {}})));
    assert!(matches(
        "properties.x = null",
        json!({"properties": {"x": null}})
    ));
    assert!(matches("properties.x = null", json!({})));
    assert!(!matches(
        "properties.x != null",
        json!({"properties": {"x": null}})
    ));
    assert!(matches(
        "properties.x != null",
        json!({"properties": {"x": 0}})
    ));
}

#[test]
fn contains_and_match() {
    let e = json!({"event": "Product Added", "properties": {"name": "Nike Air", "n": 5}});
    assert!(matches("contains(properties.name, \"Nike\")", e.clone()));
    assert!(!matches("contains(properties.n, \"5\")", e.clone()));
    assert!(matches("!contains(event, \"x\")", e.clone()));
    assert!(matches("match(event, \"Product*\")", e.clone()));
    assert!(matches("match(event, \"*Added\")", e.clone()));
    assert!(matches("match(event, \"P*d*d\")", e.clone()));
    assert!(!matches("match(event, \"Product\")", e.clone()));
    assert!(matches("match(event, \"Product Added\")", e.clone()));
    assert!(!matches("!match(event, \"Product*\")", e.clone()));
    // Kept from Segment: the negated call is false when the field is missing…
    assert!(!matches("!contains(properties.missing, \"x\")", e.clone()));
    // …where negating the group is the plain negation.
    assert!(matches("!(contains(properties.missing, \"x\"))", e));
}

#[test]
fn and_binds_tighter_than_or_and_groups_nest() {
    let t = "type = \"track\" and event = \"A\" or event = \"B\"";
    assert!(matches(t, json!({"type": "identify", "event": "B"})));
    // Segment's parser would match this one; we do not, as `and` binds tighter.
    assert!(!matches(t, json!({"type": "track", "event": "C"})));
    let t = "((type = \"track\") and (event = \"A\" or (event = \"B\")))";
    assert!(matches(t, json!({"type": "track", "event": "B"})));
    assert!(matches("!(type = \"track\")", json!({"type": "page"})));
    assert!(!matches("!(type = \"track\")", json!({"type": "track"})));
}

#[test]
fn paths_escapes_indexes_and_quotes() {
    let e = json!({"properties": {"a b": "x", "items": [{"sku": "s1"}]}, "type": "track"});
    assert!(matches("properties.a\\ b = \"x\"", e.clone()));
    assert!(matches("properties.items[0].sku = 's1'", e.clone()));
    assert!(matches("type=\"track\"", e.clone()));
    assert!(matches("type = \"tr\\\"ack\" or type = 'track'", e));
}

#[test]
fn errors_name_the_column() {
    assert_eq!(error(""), "at column 1: the trigger is empty");
    assert_eq!(
        error("type = \"track\" and foo = \"x\""),
        "at column 20: unknown field \"foo\"; triggers read type, event, name, userId, \
         properties.…, traits.… and context.…"
    );
    assert_eq!(
        error("type = "),
        "at column 8: expected a value after = (a quoted text, a number, true, false or \
         null), found the end of the trigger"
    );
    assert_eq!(
        error("type = \"track"),
        "at column 8: this text has no closing \""
    );
    assert_eq!(
        error("(type = \"a\""),
        "at column 12: expected \")\" to close the \"(\" at column 1, found the end of the trigger"
    );
    assert_eq!(
        error("type = \"a\")"),
        "at column 11: this \")\" has no matching \"(\""
    );
    assert_eq!(
        error("properties.price > \"10\""),
        "at column 20: > compares numbers; write a number after it"
    );
    assert_eq!(
        error("type \"track\""),
        "at column 6: expected an operator (=, !=, <, <=, >, >=) after the field, found the \
         text \"track\""
    );
    assert_eq!(
        error("type = \"a\" type = \"b\""),
        "at column 12: expected \"and\", \"or\" or the end, found \"type\""
    );
    assert_eq!(
        error("contains(event \"x\")"),
        "at column 16: expected \",\" after the field, found the text \"x\""
    );
    assert_eq!(
        error("properties = 1"),
        "at column 1: name a key inside properties, as in properties.plan"
    );
    assert_eq!(error("type = @"), "at column 8: unexpected character '@'");
    // Found by the property test: an escaped "]" is part of a name, not the end of an index.
    assert_eq!(
        error("\\] = 1"),
        "at column 1: unknown field \"]\"; triggers read type, event, name, userId, \
         properties.…, traits.… and context.…"
    );
    assert!(matches(
        "properties.a\\] = 1",
        json!({"properties": {"a]": 1}})
    ));
    assert_eq!(
        error("type = \"track\" and"),
        "at column 19: expected a field such as type, event or properties.name, found the end \
         of the trigger"
    );
    assert_eq!(
        error("contains(event, 3)"),
        "at column 17: contains() takes a quoted text, not the number 3"
    );
}

#[test]
fn canonical_text_reads_back_the_same() {
    for text in [
        "type = \"track\" and event = \"A\" or event = \"B\"",
        "type = \"track\" and (event = \"A\" or event = \"B\")",
        "!(properties.a\\ b >= 2.5) and !contains(context.ip, \"10.\")",
        "properties.x = null or traits.y != null or traits.v = true or traits.v != false",
    ] {
        let parsed = Trigger::parse(text).unwrap();
        let printed = parsed.to_string();
        assert_eq!(Trigger::parse(&printed).unwrap(), parsed, "{printed}");
    }
    assert_eq!(
        Trigger::parse("(a.b = 1)").unwrap_err().message,
        "unknown field \"a.b\"; triggers read type, event, name, userId, properties.…, traits.… \
         and context.…"
    );
}

// ---- Property tests: no panics, and agreement with a plain reference evaluator. ----

/// A trigger as the test generates it, with its own evaluator written from the rules in the
/// reference (segment-framework.md §3.3), independent of the parser's AST.
#[derive(Debug, Clone)]
enum Model {
    And(Vec<Model>),
    Or(Vec<Model>),
    Not(Box<Model>),
    Compare(&'static str, &'static str, Literal),
    Call {
        contains: bool,
        negated: bool,
        field: &'static str,
        text: String,
    },
}

#[derive(Debug, Clone)]
enum Literal {
    Text(String),
    Number(i64),
    Bool(bool),
    Null,
}

const FIELDS: [&str; 7] = [
    "type",
    "event",
    "userId",
    "properties.a",
    "properties.b.c",
    "traits.a",
    "context.a",
];

fn render(m: &Model) -> String {
    match m {
        Model::And(items) | Model::Or(items) => {
            let word = if matches!(m, Model::And(_)) {
                " and "
            } else {
                " or "
            };
            let parts: Vec<String> = items.iter().map(|i| format!("({})", render(i))).collect();
            parts.join(word)
        }
        Model::Not(inner) => format!("!({})", render(inner)),
        Model::Compare(field, op, lit) => {
            let value = match lit {
                Literal::Text(t) => serde_json::to_string(t).unwrap(),
                Literal::Number(n) => n.to_string(),
                Literal::Bool(b) => b.to_string(),
                Literal::Null => "null".into(),
            };
            format!("{field} {op} {value}")
        }
        Model::Call {
            contains,
            negated,
            field,
            text,
        } => format!(
            "{}{}({field}, {})",
            if *negated { "!" } else { "" },
            if *contains { "contains" } else { "match" },
            serde_json::to_string(text).unwrap()
        ),
    }
}

fn get<'a>(event: &'a Value, field: &str) -> Option<&'a Value> {
    field.split('.').try_fold(event, |v, k| v.get(k))
}

fn reference(m: &Model, event: &Value) -> bool {
    match m {
        Model::And(items) => items.iter().all(|i| reference(i, event)),
        Model::Or(items) => items.iter().any(|i| reference(i, event)),
        Model::Not(inner) => !reference(inner, event),
        Model::Compare(field, op, lit) => {
            let actual = get(event, field);
            let top = !field.contains('.');
            match lit {
                Literal::Null if *op == "=" => actual.is_none_or(Value::is_null),
                Literal::Null => actual.is_some_and(|v| !v.is_null()),
                Literal::Bool(b) if *op == "=" => actual == Some(&Value::Bool(*b)),
                Literal::Bool(b) => actual != Some(&Value::Bool(*b)),
                Literal::Text(t) if *op == "=" => actual.and_then(Value::as_str) == Some(t),
                Literal::Text(t) => actual.and_then(Value::as_str) != Some(t),
                Literal::Number(n) if top => {
                    let same = actual.and_then(Value::as_str) == Some(n.to_string().as_str());
                    if *op == "=" { same } else { !same }
                }
                Literal::Number(n) => {
                    let Some(a) = actual.filter(|v| v.is_number()).and_then(Value::as_f64) else {
                        return false;
                    };
                    let n = *n as f64;
                    match *op {
                        "=" => a == n,
                        "!=" => a != n,
                        "<" => a < n,
                        "<=" => a <= n,
                        ">" => a > n,
                        _ => a >= n,
                    }
                }
            }
        }
        Model::Call {
            contains,
            negated,
            field,
            text,
        } => {
            let Some(actual) = get(event, field).and_then(Value::as_str) else {
                return false;
            };
            let hit = if *contains {
                actual.contains(text.as_str())
            } else {
                match (text.strip_prefix('*'), text.strip_suffix('*')) {
                    _ if text.matches('*').count() > 1 => unreachable!("one star at most"),
                    (Some(rest), _) => actual.ends_with(rest),
                    (_, Some(rest)) => actual.starts_with(rest),
                    _ => actual == text,
                }
            };
            hit != *negated
        }
    }
}

fn word() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("a".to_string()),
        Just("ab".to_string()),
        Just("b a".to_string()),
        Just(String::new())
    ]
}

fn literal() -> impl Strategy<Value = Literal> {
    prop_oneof![
        word().prop_map(Literal::Text),
        (-2i64..3).prop_map(Literal::Number),
        any::<bool>().prop_map(Literal::Bool),
        Just(Literal::Null),
    ]
}

fn model() -> impl Strategy<Value = Model> {
    let field = proptest::sample::select(&FIELDS[..]);
    let compare = (
        field.clone(),
        proptest::sample::select(&["=", "!=", "<", "<=", ">", ">="][..]),
        literal(),
    )
        .prop_map(|(f, op, lit)| match (&lit, op) {
            (Literal::Number(_), _) if !f.contains('.') && !matches!(op, "=" | "!=") => {
                Model::Compare(f, "=", lit)
            }
            (Literal::Number(_), _) => Model::Compare(f, op, lit),
            _ => Model::Compare(f, if op == "!=" { "!=" } else { "=" }, lit),
        });
    let call = (any::<bool>(), any::<bool>(), field, word(), 0..3u8).prop_map(
        |(contains, negated, field, text, star)| {
            let text = match (contains, star) {
                (false, 1) => format!("*{text}"),
                (false, 2) => format!("{text}*"),
                _ => text,
            };
            Model::Call {
                contains,
                negated,
                field,
                text,
            }
        },
    );
    let leaf = prop_oneof![compare, call];
    leaf.prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 1..4).prop_map(Model::And),
            proptest::collection::vec(inner.clone(), 1..4).prop_map(Model::Or),
            inner.prop_map(|m| Model::Not(Box::new(m))),
        ]
    })
}

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        word().prop_map(Value::from),
        (-2i64..3).prop_map(Value::from),
        Just(json!(1.5)),
        Just(json!("1")),
        any::<bool>().prop_map(Value::from),
        Just(Value::Null),
    ]
}

fn event() -> impl Strategy<Value = Value> {
    let maybe = || proptest::option::of(scalar());
    (
        maybe(),
        maybe(),
        maybe(),
        maybe(),
        maybe(),
        maybe(),
        maybe(),
    )
        .prop_map(|(t, e, u, pa, pbc, ta, ca)| {
            let mut event = json!({"properties": {"b": {}}, "traits": {}, "context": {}});
            let mut put = |path: &str, v: Option<Value>| {
                if let Some(v) = v {
                    let (parent, key) = path.rsplit_once('.').unwrap_or(("", path));
                    let target = if parent.is_empty() {
                        &mut event
                    } else {
                        parent.split('.').fold(&mut event, |v, k| &mut v[k])
                    };
                    target[key] = v;
                }
            };
            put("type", t);
            put("event", e);
            put("userId", u);
            put("properties.a", pa);
            put("properties.b.c", pbc);
            put("traits.a", ta);
            put("context.a", ca);
            event
        })
}

proptest! {
    #[test]
    fn never_panics_on_any_text(text in "\\PC{0,60}") {
        let _ = Trigger::parse(&text).map(|t| t.matches(&json!({})));
    }

    #[test]
    fn never_panics_on_trigger_like_text(
        parts in proptest::collection::vec(prop_oneof![
            Just("type"), Just("properties.a"), Just("="), Just("!="), Just(">"), Just("("),
            Just(")"), Just("!"), Just("and"), Just("or"), Just("\"x\""), Just("1"),
            Just("contains("), Just(","), Just("null"), Just("["), Just("]"), Just("\\"),
        ], 0..12)
    ) {
        let _ = Trigger::parse(&parts.join(" "));
        let _ = Trigger::parse(&parts.concat());
    }

    #[test]
    fn agrees_with_the_reference_evaluator(m in model(), events in proptest::collection::vec(event(), 1..6)) {
        let text = render(&m);
        let trigger = Trigger::parse(&text).map_err(|e| TestCaseError::fail(format!("{text}: {e}")))?;
        let printed = trigger.to_string();
        let again = Trigger::parse(&printed).map_err(|e| TestCaseError::fail(format!("{printed}: {e}")))?;
        for event in &events {
            let want = reference(&m, event);
            prop_assert_eq!(trigger.matches(event), want, "{} on {}", text, event);
            prop_assert_eq!(again.matches(event), want, "{} on {}", printed, event);
        }
    }
}
