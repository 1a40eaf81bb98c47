//! Where a trigger meant something else in Segment. Switchyard keeps the logical meaning of a
//! trigger, which is what people mean; Segment's own parser has bugs that change the meaning of
//! some triggers. A configuration moved from Segment that relied on one of them now behaves
//! differently, so `switchyard trigger`, configuration loading and the console warn about each.
//!
//! Invariants: each warning names the condition in this trigger's own text and says what it did
//! in Segment; a trigger none of the cases apply to gets no warning. The cases (README,
//! "Triggers"):
//! - `properties.x != false` matched every event in Segment;
//! - `properties.x != true` was false there for `true` and for the text `"true"`;
//! - `event = null` / `name = null` never matched there, `!= null` always did (they compared
//!   with the text "null");
//! - `contains(type, …)` and `match(type, …)` were parse errors there, which an `or` dropped;
//! - a `contains(…)` or `match(…)` inside parentheses joined its group to the outer level there.

use super::{Check, Expr, Field, Trigger, write_test};

impl Trigger {
    /// What this trigger did differently in Segment, one sentence per condition concerned.
    #[must_use]
    pub fn segment_differences(&self) -> Vec<String> {
        let mut out = Vec::new();
        walk(&self.0, None, false, &mut out);
        out.dedup();
        out
    }
}

/// The group an expression sits in.
#[derive(Clone, Copy, PartialEq)]
enum Group {
    And,
    Or,
}

fn text(field: &Field, check: &Check) -> String {
    Written(field, check).to_string()
}

/// Writes one test as trigger text.
struct Written<'a>(&'a Field, &'a Check);

impl std::fmt::Display for Written<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write_test(f, self.0, self.1)
    }
}

fn is_call(check: &Check) -> bool {
    matches!(
        check,
        Check::Contains(_) | Check::NotContains(_) | Check::Matches(_) | Check::NotMatches(_)
    )
}

fn walk(expr: &Expr, parent: Option<Group>, in_or: bool, out: &mut Vec<String>) {
    match expr {
        Expr::Or(items) | Expr::And(items) => {
            let mine = if matches!(expr, Expr::Or(_)) {
                Group::Or
            } else {
                Group::And
            };
            // A group inside another kind of group was written in parentheses.
            let parenthesised = parent.is_some_and(|p| p != mine);
            if parenthesised
                && let Some(Expr::Test(field, check)) = items
                    .iter()
                    .find(|e| matches!(e, Expr::Test(_, c) if is_call(c)))
            {
                out.push(format!(
                    "in Segment, `{}` inside parentheses dropped them: the group joined the \
                     level around it, which took one keyword for all its conditions (the last \
                     one written)",
                    text(field, check),
                ));
            }
            for item in items {
                walk(item, Some(mine), in_or || mine == Group::Or, out);
            }
        }
        Expr::Not(inner) => {
            if let Expr::Test(field @ Field::Below("properties", _), check) = &**inner {
                match check {
                    Check::IsFalse => out.push(format!(
                        "in Segment, `{} != false` matched every event",
                        text(field, &Check::Exists).trim_end_matches(" != null")
                    )),
                    Check::IsTrue => out.push(format!(
                        "in Segment, `{} != true` was also false for the text \"true\"",
                        text(field, &Check::Exists).trim_end_matches(" != null")
                    )),
                    _ => {}
                }
                return;
            }
            walk(inner, parent, in_or, out);
        }
        Expr::Test(Field::Top(name @ ("event" | "name")), Check::Missing) => out.push(format!(
            "in Segment, `{name} = null` compared {name} with the text \"null\", so it never \
             matched"
        )),
        Expr::Test(Field::Top(name @ ("event" | "name")), Check::Exists) => out.push(format!(
            "in Segment, `{name} != null` compared {name} with the text \"null\", so it matched \
             every event"
        )),
        Expr::Test(field @ Field::Top("type"), check) if is_call(check) => out.push(if in_or {
            format!(
                "in Segment, `{}` was a parse error that the `or` around it dropped silently",
                text(field, check)
            )
        } else {
            format!("in Segment, `{}` was a parse error", text(field, check))
        }),
        Expr::Test(..) => {}
    }
}

#[cfg(test)]
mod tests {
    use crate::trigger::Trigger;

    fn differences(text: &str) -> Vec<String> {
        Trigger::parse(text).unwrap().segment_differences()
    }

    #[test]
    fn triggers_segment_read_the_same_way_get_no_warning() {
        for text in [
            r#"type = "track" and event = "Trip Booked""#,
            r#"properties.x = false or properties.y != "a""#,
            r#"contains(properties.path, "/pricing") and type = "page""#,
            r#"traits.email != null"#,
        ] {
            assert_eq!(differences(text), Vec::<String>::new(), "{text}");
        }
    }

    #[test]
    fn each_bug_of_segments_parser_is_named() {
        assert_eq!(
            differences("properties.vip != false"),
            ["in Segment, `properties.vip != false` matched every event"]
        );
        assert_eq!(
            differences("properties.vip != true"),
            ["in Segment, `properties.vip != true` was also false for the text \"true\""]
        );
        assert_eq!(
            differences("event = null"),
            [
                "in Segment, `event = null` compared event with the text \"null\", so it never matched"
            ]
        );
        assert!(differences("name != null")[0].contains("so it matched every event"));
        assert_eq!(
            differences(r#"event = "A" or contains(type, "tr")"#),
            [
                "in Segment, `contains(type, \"tr\")` was a parse error that the `or` around it \
              dropped silently"
            ]
        );
        assert_eq!(
            differences(r#"type = "page" or (contains(properties.path, "/p") and name = "P")"#),
            [
                "in Segment, `contains(properties.path, \"/p\")` inside parentheses dropped them: \
              the group joined the level around it, which took one keyword for all its \
              conditions (the last one written)"
            ]
        );
    }
}
