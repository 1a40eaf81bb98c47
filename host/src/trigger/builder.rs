//! The console's trigger builder: a trigger as form fields (event type, event name, conditions
//! joined by all or any) and back. The builder writes trigger text and the parser reads it, so
//! what the builder makes is always what a hand-written trigger of the same text means.
//!
//! Invariants:
//! - [`Built::text`] quotes every value it writes (`"` and `\` escaped), so no value typed into
//!   the builder can change the trigger's structure.
//! - [`Trigger::built`] returns `None` for a trigger the builder cannot show (nested groups,
//!   negations); the console then keeps it in text mode instead of rewriting it.
//! - [`Trigger::why_not`] names the first condition an event fails, in the words of
//!   `words.rs`.

use super::lex::Op;
use super::words::phrase;
use super::{Check, Expr, Field, Trigger, lookup};
use serde_json::Value;

/// A trigger in the builder's form.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Built {
    /// `track`, `page`…, or empty for any type.
    pub kind: String,
    /// The event (or page/screen) name, or empty for any.
    pub name: String,
    /// Conditions joined by `or` (true) or `and` (false).
    pub any: bool,
    pub conditions: Vec<Condition>,
}

/// One condition: a field, an operator from [`OPERATORS`] and the value it compares with.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Condition {
    pub field: String,
    pub operator: String,
    pub value: String,
}

/// The builder's operators: (code, label, whether it takes a value).
pub const OPERATORS: [(&str, &str, bool); 16] = [
    ("is", "is (text)", true),
    ("is-not", "is not (text)", true),
    ("equals", "equals (number)", true),
    ("not-equals", "does not equal (number)", true),
    ("lt", "is less than", true),
    ("le", "is at most", true),
    ("gt", "is greater than", true),
    ("ge", "is at least", true),
    ("contains", "contains", true),
    ("not-contains", "does not contain", true),
    ("matches", "matches (* for anything)", true),
    ("not-matches", "does not match", true),
    ("present", "is present", false),
    ("missing", "is missing", false),
    ("true", "is true", false),
    ("false", "is false", false),
];

fn quoted(text: &str) -> String {
    serde_json::to_string(text).expect("a string serialises")
}

impl Condition {
    /// The condition as trigger text; an unknown operator or a bad number is an error naming it.
    fn text(&self) -> Result<String, String> {
        let field = self.field.trim();
        let value = self.value.trim();
        let number = || {
            value
                .parse::<f64>()
                .map(|_| value.to_string())
                .map_err(|_| format!("{field}: {value:?} is not a number"))
        };
        Ok(match self.operator.as_str() {
            "is" => format!("{field} = {}", quoted(&self.value)),
            "is-not" => format!("{field} != {}", quoted(&self.value)),
            "equals" => format!("{field} = {}", number()?),
            "not-equals" => format!("{field} != {}", number()?),
            "lt" => format!("{field} < {}", number()?),
            "le" => format!("{field} <= {}", number()?),
            "gt" => format!("{field} > {}", number()?),
            "ge" => format!("{field} >= {}", number()?),
            "contains" => format!("contains({field}, {})", quoted(&self.value)),
            "not-contains" => format!("!contains({field}, {})", quoted(&self.value)),
            "matches" => format!("match({field}, {})", quoted(&self.value)),
            "not-matches" => format!("!match({field}, {})", quoted(&self.value)),
            "present" => format!("{field} != null"),
            "missing" => format!("{field} = null"),
            "true" => format!("{field} = true"),
            "false" => format!("{field} = false"),
            other => return Err(format!("{field}: unknown operator {other:?}")),
        })
    }
}

impl Built {
    /// The trigger text the builder writes; conditions with no field are left out. An empty
    /// builder (any type, any name, no conditions) is an error: a trigger must pick something.
    pub fn text(&self) -> Result<String, String> {
        let mut parts = Vec::new();
        if !self.kind.is_empty() {
            parts.push(format!("type = {}", quoted(&self.kind)));
        }
        if !self.name.trim().is_empty() {
            // Page and screen calls are named by `name`, the others by `event`.
            let key = if matches!(self.kind.as_str(), "page" | "screen") {
                "name"
            } else {
                "event"
            };
            parts.push(format!("{key} = {}", quoted(self.name.trim())));
        }
        let conditions = self
            .conditions
            .iter()
            .filter(|c| !c.field.trim().is_empty())
            .map(Condition::text)
            .collect::<Result<Vec<_>, _>>()?;
        match conditions.len() {
            0 => {}
            1 => parts.extend(conditions),
            _ if !self.any => parts.extend(conditions),
            _ if parts.is_empty() => parts.push(conditions.join(" or ")),
            _ => parts.push(format!("({})", conditions.join(" or "))),
        }
        if parts.is_empty() {
            return Err(
                "the trigger picks nothing: choose an event type, a name or a condition".into(),
            );
        }
        Ok(parts.join(" and "))
    }
}

impl Trigger {
    /// The trigger in the builder's form, when the builder can show it.
    pub fn built(&self) -> Option<Built> {
        let parts: Vec<&Expr> = match &self.0 {
            Expr::And(items) => items.iter().collect(),
            single => vec![single],
        };
        let mut built = Built::default();
        for part in parts {
            match part {
                Expr::Test(Field::Top("type"), Check::Equals(kind)) if built.kind.is_empty() => {
                    built.kind.clone_from(kind);
                }
                Expr::Test(Field::Top("event" | "name"), Check::Equals(name))
                    if built.name.is_empty() =>
                {
                    built.name.clone_from(name);
                }
                Expr::Or(items) if built.conditions.is_empty() => {
                    built.any = true;
                    for item in items {
                        built.conditions.push(condition(item)?);
                    }
                }
                other if !built.any => built.conditions.push(condition(other)?),
                _ => return None,
            }
        }
        // Written back, it must mean the same: `name` and `event` are not interchangeable.
        let again = Trigger::parse(&built.text().ok()?).ok()?;
        (again == *self || again.to_string() == self.to_string()).then_some(built)
    }

    /// The first condition `event` fails, in words; `None` when it matches.
    pub fn why_not(&self, event: &Value) -> Option<String> {
        if self.matches(event) {
            return None;
        }
        let failed = match &self.0 {
            Expr::And(items) => items
                .iter()
                .find(|e| !super::eval(e, event))
                .unwrap_or(&self.0),
            single => single,
        };
        let actual = match failed {
            Expr::Test(field, _) => match lookup(field, event) {
                None => " (the event has no such field)".to_string(),
                Some(v) => format!(" (the event has {})", shown(v)),
            },
            _ => String::new(),
        };
        Some(format!("{}{actual}", phrase(failed)))
    }
}

fn shown(v: &Value) -> String {
    let text = v.to_string();
    if text.chars().count() > 60 {
        format!("{}…", text.chars().take(60).collect::<String>())
    } else {
        text
    }
}

/// One test as a builder condition.
fn condition(expr: &Expr) -> Option<Condition> {
    let Expr::Test(field, check) = expr else {
        return None;
    };
    let field = match field {
        Field::Top(name) => (*name).to_string(),
        Field::Below(root, path) => {
            // A key the builder could not write back as a plain path stays in text mode.
            if path.iter().any(|s| s.is_empty() || !s.chars().all(plain)) {
                return None;
            }
            format!("{root}.{}", path.join("."))
        }
    };
    let (operator, value) = match check {
        Check::Equals(v) => ("is", v.clone()),
        Check::NotEquals(v) => ("is-not", v.clone()),
        Check::Number(op, n) => (
            match op {
                Op::Eq => "equals",
                Op::Ne => "not-equals",
                Op::Lt => "lt",
                Op::Le => "le",
                Op::Gt => "gt",
                Op::Ge => "ge",
            },
            n.to_string(),
        ),
        Check::Contains(v) => ("contains", v.clone()),
        Check::NotContains(v) => ("not-contains", v.clone()),
        Check::Matches(v) => ("matches", v.clone()),
        Check::NotMatches(v) => ("not-matches", v.clone()),
        Check::Exists => ("present", String::new()),
        Check::Missing => ("missing", String::new()),
        Check::IsTrue => ("true", String::new()),
        Check::IsFalse => ("false", String::new()),
    };
    Some(Condition {
        field,
        operator: operator.into(),
        value,
    })
}

fn plain(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '$' | '-')
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn built(text: &str) -> Option<Built> {
        Trigger::parse(text).unwrap().built()
    }

    #[test]
    fn a_type_a_name_and_conditions_round_trip() {
        let b = built(r#"type = "track" and event = "Trip Booked" and properties.total > 100"#)
            .unwrap();
        assert_eq!(b.kind, "track");
        assert_eq!(b.name, "Trip Booked");
        assert!(!b.any);
        assert_eq!(
            b.conditions,
            vec![Condition {
                field: "properties.total".into(),
                operator: "gt".into(),
                value: "100".into()
            }]
        );
        assert_eq!(
            b.text().unwrap(),
            r#"type = "track" and event = "Trip Booked" and properties.total > 100"#
        );
    }

    #[test]
    fn any_of_several_conditions_is_a_group() {
        let b = built(r#"type = "page" and (name = "Pricing" or properties.path = "/pricing")"#);
        // `name = "Pricing"` inside the group is a condition, not the page's name.
        let b = b.unwrap();
        assert_eq!(b.kind, "page");
        assert_eq!(b.name, "");
        assert!(b.any);
        assert_eq!(b.conditions.len(), 2);
        assert_eq!(
            b.text().unwrap(),
            r#"type = "page" and (name = "Pricing" or properties.path = "/pricing")"#
        );
    }

    #[test]
    fn values_are_quoted_so_they_cannot_change_the_trigger() {
        let b = Built {
            kind: "track".into(),
            name: r#"A" or type = "identify"#.into(),
            ..Built::default()
        };
        let t = Trigger::parse(&b.text().unwrap()).unwrap();
        assert!(t.matches(&json!({"type": "track", "event": r#"A" or type = "identify"#})));
        assert!(!t.matches(&json!({"type": "identify"})));
    }

    #[test]
    fn what_the_builder_cannot_show_stays_text() {
        assert_eq!(built(r#"!(type = "track")"#), None);
        assert_eq!(
            built(r#"(type = "track" and event = "A") or type = "page""#),
            None
        );
        assert!(built(r#"type = "track""#).is_some());
    }

    #[test]
    fn an_empty_builder_and_a_bad_number_are_errors() {
        assert!(Built::default().text().is_err());
        let b = Built {
            conditions: vec![Condition {
                field: "properties.total".into(),
                operator: "gt".into(),
                value: "lots".into(),
            }],
            ..Built::default()
        };
        assert_eq!(
            b.text().unwrap_err(),
            "properties.total: \"lots\" is not a number"
        );
    }

    #[test]
    fn why_not_names_the_failing_condition_and_what_the_event_has() {
        let t = Trigger::parse(r#"type = "track" and event = "Trip Booked""#).unwrap();
        assert_eq!(
            t.why_not(&json!({"type": "track", "event": "Searched"})),
            Some("event is \u{201c}Trip Booked\u{201d} (the event has \"Searched\")".into())
        );
        assert_eq!(
            t.why_not(&json!({"type": "identify"})),
            Some("type is \u{201c}track\u{201d} (the event has \"identify\")".into())
        );
        assert_eq!(
            t.why_not(&json!({"type": "track", "event": "Trip Booked"})),
            None
        );
    }
}
