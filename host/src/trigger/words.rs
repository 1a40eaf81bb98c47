//! A trigger in plain words, for people who do not read the trigger language: `type = "track"
//! and event = "Trip Booked"` reads "Track events named "Trip Booked"". The console shows it
//! beside the trigger text. The words say what the trigger means as this host evaluates it
//! (`and` binds tighter than `or`); they are not parsed back.

use super::lex::Op;
use super::{Check, Expr, Field, Trigger};

impl Trigger {
    /// The trigger in plain English.
    pub fn in_words(&self) -> String {
        match &self.0 {
            Expr::And(parts) => {
                let kind = parts.iter().find_map(event_type);
                let rest: Vec<&Expr> = parts
                    .iter()
                    .filter(|p| kind.is_none() || event_type(p).is_none())
                    .collect();
                sentence(kind, &rest)
            }
            single => match event_type(single) {
                Some(kind) => kind.to_string(),
                None => sentence(None, &[single]),
            },
        }
    }
}

/// "Track events" for `type = "track"`.
fn event_type(expr: &Expr) -> Option<&'static str> {
    match expr {
        Expr::Test(Field::Top("type"), Check::Equals(t)) => Some(match t.as_str() {
            "track" => "Track events",
            "identify" => "Identify calls",
            "page" => "Page views",
            "screen" => "Screen views",
            "group" => "Group calls",
            "alias" => "Alias calls",
            _ => return None,
        }),
        _ => None,
    }
}

fn sentence(kind: Option<&str>, rest: &[&Expr]) -> String {
    let mut out = kind.unwrap_or("Events").to_string();
    let mut named = Vec::new();
    let mut conditions = Vec::new();
    for part in rest {
        match part {
            Expr::Test(Field::Top("event" | "name"), Check::Equals(v)) => {
                named.push(format!("named {}", quoted(v)));
            }
            Expr::Test(Field::Top("event" | "name"), Check::NotEquals(v)) => {
                named.push(format!("not named {}", quoted(v)));
            }
            other => conditions.push(phrase(other)),
        }
    }
    for n in named {
        out.push(' ');
        out.push_str(&n);
    }
    if !conditions.is_empty() {
        out.push_str(" where ");
        out.push_str(&conditions.join(" and "));
    }
    out
}

fn quoted(text: &str) -> String {
    format!("\u{201c}{text}\u{201d}")
}

fn field(f: &Field) -> String {
    match f {
        Field::Top(name) => (*name).to_string(),
        Field::Below(root, path) => format!("{root}.{}", path.join(".")),
    }
}

/// One condition, or a group in parentheses.
pub(super) fn phrase(expr: &Expr) -> String {
    match expr {
        Expr::Or(parts) => {
            let parts: Vec<String> = parts.iter().map(group).collect();
            format!("either {}", parts.join(" or "))
        }
        Expr::And(parts) => parts.iter().map(phrase).collect::<Vec<_>>().join(" and "),
        Expr::Not(inner) => format!("not ({})", phrase(inner)),
        Expr::Test(f, check) => {
            let name = field(f);
            match check {
                Check::Equals(v) => format!("{name} is {}", quoted(v)),
                Check::NotEquals(v) => format!("{name} is not {}", quoted(v)),
                Check::Number(op, n) => {
                    let relation = match op {
                        Op::Eq => "equals",
                        Op::Ne => "does not equal",
                        Op::Lt => "is less than",
                        Op::Le => "is at most",
                        Op::Gt => "is greater than",
                        Op::Ge => "is at least",
                    };
                    format!("{name} {relation} {n}")
                }
                Check::Exists => format!("{name} is present"),
                Check::Missing => format!("{name} is missing"),
                Check::IsTrue => format!("{name} is true"),
                Check::IsFalse => format!("{name} is false"),
                Check::Contains(v) => format!("{name} contains {}", quoted(v)),
                Check::NotContains(v) => format!("{name} does not contain {}", quoted(v)),
                Check::Matches(v) => format!("{name} matches {}", quoted(v)),
                Check::NotMatches(v) => format!("{name} does not match {}", quoted(v)),
            }
        }
    }
}

/// A part of an `or`: an event type reads as one ("it is a track event").
fn group(expr: &Expr) -> String {
    match event_type(expr) {
        Some(kind) => format!("it is one of the {}", kind.to_lowercase()),
        None => match expr {
            Expr::And(_) => format!("({})", phrase(expr)),
            _ => phrase(expr),
        },
    }
}

#[cfg(test)]
mod tests {
    use crate::trigger::Trigger;

    fn words(text: &str) -> String {
        Trigger::parse(text).unwrap().in_words()
    }

    #[test]
    fn event_types_and_names_read_as_a_noun_phrase() {
        assert_eq!(words(r#"type = "track""#), "Track events");
        assert_eq!(
            words(r#"type = "track" and event = "Trip Booked""#),
            "Track events named \u{201c}Trip Booked\u{201d}"
        );
        assert_eq!(
            words(r#"type = "page" and name = "Pricing""#),
            "Page views named \u{201c}Pricing\u{201d}"
        );
        assert_eq!(words(r#"type = "identify""#), "Identify calls");
    }

    #[test]
    fn conditions_follow_where() {
        assert_eq!(
            words(r#"type = "track" and event = "Order Completed" and properties.total > 100"#),
            "Track events named \u{201c}Order Completed\u{201d} where properties.total is \
             greater than 100"
        );
        assert_eq!(
            words(r#"event != "Order Completed" and type = "track""#),
            "Track events not named \u{201c}Order Completed\u{201d}"
        );
        assert_eq!(
            words(r#"traits.email != null"#),
            "Events where traits.email is present"
        );
        assert_eq!(
            words(r#"type = "track" and (event = "A" or event = "B")"#),
            "Track events where either event is \u{201c}A\u{201d} or event is \u{201c}B\u{201d}"
        );
        assert_eq!(
            words(r#"type = "page" or type = "screen""#),
            "Events where either it is one of the page views or it is one of the screen views"
        );
    }
}
