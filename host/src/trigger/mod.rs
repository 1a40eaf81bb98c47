//! Triggers: which events a subscription receives, written in Segment's subscription language
//! (`type = "track" and event = "Order Completed"`).
//!
//! Comparisons are Segment's (its subscription language's typed comparisons), strict and typed:
//! `=` with text compares text only (the number 123 does not equal `"123"`), `=` with a number
//! compares numbers only, `<`/`>` need a number, `contains` and `match` need text, `!=` is true
//! when the field is missing, `= null` means "missing or null", `= true` needs a real boolean.
//!
//! The parser goes beyond Segment's, which configurations written for Segment never notice:
//! `and` binds tighter than `or` (Segment lets the last keyword of a level decide for the whole
//! level), parentheses nest to any depth, `!( … )` negates a group (Segment ignores a `!` there),
//! `match` takes `*` anywhere (Segment reads only a leading or trailing one), strings may use
//! single quotes and backslash escapes, `properties.items[0]` indexes lists, `!= true` works,
//! `= null` works on every field, and an unknown field or any other mistake is an error with its
//! column instead of being dropped silently. Kept from Segment: `!contains(…)` and `!match(…)` are
//! false when the field is missing or not text, where `!( contains(…) )` is the plain negation.

mod builder;
pub use builder::{Built, Condition, OPERATORS};
mod lex;
mod segment;
mod words;

use lex::{Op, Token};
use serde_json::Value;
use std::fmt;

/// A parsed trigger.
#[derive(Debug, Clone, PartialEq)]
pub struct Trigger(Expr);

/// Why a trigger does not parse, and where: `column` counts characters from 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TriggerError {
    pub column: usize,
    pub message: String,
}

impl TriggerError {
    fn new(column: usize, message: String) -> TriggerError {
        TriggerError { column, message }
    }
}

impl fmt::Display for TriggerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at column {}: {}", self.column, self.message)
    }
}

impl std::error::Error for TriggerError {}

#[derive(Debug, Clone, PartialEq)]
enum Expr {
    Or(Vec<Expr>),
    And(Vec<Expr>),
    Not(Box<Expr>),
    Test(Field, Check),
}

/// The part of the event a test reads.
#[derive(Debug, Clone, PartialEq)]
enum Field {
    /// `type`, `event`, `name`, `userId`: a top-level key.
    Top(&'static str),
    /// `properties.…`, `traits.…`, `context.…`: a path below one of them.
    Below(&'static str, Vec<String>),
}

#[derive(Debug, Clone, PartialEq)]
enum Check {
    Equals(String),
    NotEquals(String),
    Number(Op, f64),
    Exists,
    Missing,
    IsTrue,
    IsFalse,
    Contains(String),
    NotContains(String),
    Matches(String),
    NotMatches(String),
}

impl Trigger {
    /// Parses a trigger.
    pub fn parse(text: &str) -> Result<Trigger, TriggerError> {
        let tokens = lex::tokens(text)?;
        let mut parser = Parser { tokens, next: 0 };
        if matches!(parser.peek(), Token::End) {
            return Err(TriggerError::new(1, "the trigger is empty".into()));
        }
        let expr = parser.or()?;
        match parser.peek() {
            Token::End => Ok(Trigger(expr)),
            Token::Close => Err(parser.error("this \")\" has no matching \"(\"".into())),
            other => {
                let message = format!(
                    "expected \"and\", \"or\" or the end, found {}",
                    other.shown()
                );
                Err(parser.error(message))
            }
        }
    }

    /// Whether the event matches.
    pub fn matches(&self, event: &Value) -> bool {
        eval(&self.0, event)
    }
}

/// The trigger in canonical form: what it means, with the parentheses it needs.
impl fmt::Display for Trigger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_expr(f, &self.0, 0)
    }
}

struct Parser {
    tokens: Vec<(usize, Token)>,
    next: usize,
}

impl Parser {
    fn peek(&self) -> &Token {
        &self.tokens[self.next].1
    }

    fn column(&self) -> usize {
        self.tokens[self.next].0
    }

    fn bump(&mut self) -> Token {
        let token = self.tokens[self.next].1.clone();
        if self.next + 1 < self.tokens.len() {
            self.next += 1;
        }
        token
    }

    fn error(&self, message: String) -> TriggerError {
        TriggerError::new(self.column(), message)
    }

    fn keyword(&self, word: &str) -> bool {
        matches!(self.peek(), Token::Path(s) if s.len() == 1 && s[0].eq_ignore_ascii_case(word))
    }

    fn or(&mut self) -> Result<Expr, TriggerError> {
        self.joined("or", Parser::and, Expr::Or)
    }

    fn and(&mut self) -> Result<Expr, TriggerError> {
        self.joined("and", Parser::unary, Expr::And)
    }

    /// `item (word item)*`, one item standing for itself.
    fn joined(
        &mut self,
        word: &str,
        item: fn(&mut Parser) -> Result<Expr, TriggerError>,
        group: fn(Vec<Expr>) -> Expr,
    ) -> Result<Expr, TriggerError> {
        let mut items = vec![item(self)?];
        while self.keyword(word) {
            self.bump();
            items.push(item(self)?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            group(items)
        })
    }

    fn unary(&mut self) -> Result<Expr, TriggerError> {
        match self.peek() {
            Token::Bang => {
                self.bump();
                if self.keyword("contains") || self.keyword("match") {
                    return self.call(true);
                }
                Ok(Expr::Not(Box::new(self.unary()?)))
            }
            Token::Open => {
                let open = self.column();
                self.bump();
                let inner = self.or()?;
                match self.peek() {
                    Token::Close => {
                        self.bump();
                        Ok(inner)
                    }
                    other => {
                        let message = format!(
                            "expected \")\" to close the \"(\" at column {open}, found {}",
                            other.shown()
                        );
                        Err(self.error(message))
                    }
                }
            }
            _ if self.keyword("contains") || self.keyword("match") => self.call(false),
            _ => self.comparison(),
        }
    }

    /// `contains(field, "text")`, `match(field, "glob*")`, negated when `negated`.
    fn call(&mut self, negated: bool) -> Result<Expr, TriggerError> {
        let Token::Path(name) = self.bump() else {
            unreachable!("called on a keyword")
        };
        let contains = name[0].eq_ignore_ascii_case("contains");
        let what = if contains { "contains" } else { "match" };
        self.expect(&Token::Open, &format!("\"(\" after {what}"))?;
        let field = self.field()?;
        self.expect(&Token::Comma, "\",\" after the field")?;
        let text = match self.peek() {
            Token::Text(t) => t.clone(),
            other => {
                let message = format!("{what}() takes a quoted text, not {}", other.shown());
                return Err(self.error(message));
            }
        };
        self.bump();
        self.expect(&Token::Close, &format!("\")\" to end {what}()"))?;
        let check = match (contains, negated) {
            (true, false) => Check::Contains(text),
            (true, true) => Check::NotContains(text),
            (false, false) => Check::Matches(text),
            (false, true) => Check::NotMatches(text),
        };
        Ok(Expr::Test(field, check))
    }

    fn expect(&mut self, token: &Token, what: &str) -> Result<(), TriggerError> {
        if self.peek() == token {
            self.bump();
            Ok(())
        } else {
            let message = format!("expected {what}, found {}", self.peek().shown());
            Err(self.error(message))
        }
    }

    fn field(&mut self) -> Result<Field, TriggerError> {
        let column = self.column();
        let segments = match self.peek() {
            Token::Path(s) => s.clone(),
            other => {
                let message = format!(
                    "expected a field such as type, event or properties.name, found {}",
                    other.shown()
                );
                return Err(self.error(message));
            }
        };
        self.bump();
        let (first, rest) = segments.split_first().expect("a path has a segment");
        let top = ["type", "event", "name", "userId"];
        let below = ["properties", "traits", "context"];
        if let Some(name) = top.iter().find(|t| *t == first) {
            if rest.is_empty() {
                return Ok(Field::Top(name));
            }
            return Err(TriggerError::new(
                column,
                format!(
                    "{name} has no parts below it; did you mean properties.{}?",
                    rest.join(".")
                ),
            ));
        }
        if let Some(name) = below.iter().find(|b| *b == first) {
            if rest.is_empty() {
                return Err(TriggerError::new(
                    column,
                    format!("name a key inside {name}, as in {name}.plan"),
                ));
            }
            return Ok(Field::Below(name, rest.to_vec()));
        }
        Err(TriggerError::new(
            column,
            format!(
                "unknown field \"{}\"; triggers read type, event, name, userId, properties.…, \
                 traits.… and context.…",
                segments.join(".")
            ),
        ))
    }

    fn comparison(&mut self) -> Result<Expr, TriggerError> {
        let field = self.field()?;
        let op = match self.peek() {
            Token::Op(op) => *op,
            other => {
                let message = format!(
                    "expected an operator (=, !=, <, <=, >, >=) after the field, found {}",
                    other.shown()
                );
                return Err(self.error(message));
            }
        };
        self.bump();
        let value_column = self.column();
        let value = self.bump();
        let check = match (&value, op) {
            (Token::Text(t), Op::Eq) => Check::Equals(t.clone()),
            (Token::Text(t), Op::Ne) => Check::NotEquals(t.clone()),
            // A number compared with a top-level field (always text) compares its text, as
            // Segment does.
            (Token::Number(_, text), Op::Eq) if matches!(field, Field::Top(_)) => {
                Check::Equals(text.clone())
            }
            (Token::Number(_, text), Op::Ne) if matches!(field, Field::Top(_)) => {
                Check::NotEquals(text.clone())
            }
            (Token::Number(n, _), op) => Check::Number(op, *n),
            (Token::Path(w), Op::Eq | Op::Ne) if is_word(w, "null") => {
                if op == Op::Eq {
                    Check::Missing
                } else {
                    Check::Exists
                }
            }
            (Token::Path(w), Op::Eq | Op::Ne) if is_word(w, "true") || is_word(w, "false") => {
                let check = if is_word(w, "true") {
                    Check::IsTrue
                } else {
                    Check::IsFalse
                };
                if op == Op::Ne {
                    return Ok(Expr::Not(Box::new(Expr::Test(field, check))));
                }
                check
            }
            (Token::Text(_) | Token::Path(_), _) if is_value(&value) => {
                return Err(TriggerError::new(
                    value_column,
                    format!("{} compares numbers; write a number after it", op.text()),
                ));
            }
            (other, _) => {
                return Err(TriggerError::new(
                    value_column,
                    format!(
                        "expected a value after {} (a quoted text, a number, true, false or \
                         null), found {}",
                        op.text(),
                        other.shown()
                    ),
                ));
            }
        };
        Ok(Expr::Test(field, check))
    }
}

fn is_word(segments: &[String], word: &str) -> bool {
    segments.len() == 1 && segments[0] == word
}

fn is_value(token: &Token) -> bool {
    match token {
        Token::Text(_) => true,
        Token::Path(w) => ["null", "true", "false"].iter().any(|v| is_word(w, v)),
        _ => false,
    }
}

fn eval(expr: &Expr, event: &Value) -> bool {
    match expr {
        Expr::Or(items) => items.iter().any(|e| eval(e, event)),
        Expr::And(items) => items.iter().all(|e| eval(e, event)),
        Expr::Not(inner) => !eval(inner, event),
        Expr::Test(field, check) => test(check, lookup(field, event)),
    }
}

fn lookup<'a>(field: &Field, event: &'a Value) -> Option<&'a Value> {
    match field {
        Field::Top(key) => event.get(key),
        Field::Below(root, path) => path.iter().try_fold(event.get(root)?, |v, key| match v {
            Value::Object(map) => map.get(key),
            Value::Array(items) => items.get(key.parse::<usize>().ok()?),
            _ => None,
        }),
    }
}

fn test(check: &Check, actual: Option<&Value>) -> bool {
    let text = actual.and_then(Value::as_str);
    let number = actual.filter(|v| v.is_number()).and_then(Value::as_f64);
    match check {
        Check::Equals(want) => text == Some(want),
        Check::NotEquals(want) => text != Some(want),
        Check::Number(op, want) => number.is_some_and(|n| match op {
            Op::Eq => n == *want,
            Op::Ne => n != *want,
            Op::Lt => n < *want,
            Op::Le => n <= *want,
            Op::Gt => n > *want,
            Op::Ge => n >= *want,
        }),
        Check::Exists => actual.is_some_and(|v| !v.is_null()),
        Check::Missing => actual.is_none_or(Value::is_null),
        Check::IsTrue => actual == Some(&Value::Bool(true)),
        Check::IsFalse => actual == Some(&Value::Bool(false)),
        Check::Contains(part) => text.is_some_and(|t| t.contains(part.as_str())),
        Check::NotContains(part) => text.is_some_and(|t| !t.contains(part.as_str())),
        Check::Matches(glob) => text.is_some_and(|t| glob_matches(glob, t)),
        Check::NotMatches(glob) => text.is_some_and(|t| !glob_matches(glob, t)),
    }
}

/// `*` stands for any run of characters; everything else matches itself.
fn glob_matches(glob: &str, text: &str) -> bool {
    let mut parts = glob.split('*');
    let first = parts.next().unwrap_or("");
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

/// Precedence: 0 inside `or`, 1 inside `and`, 2 under `!`.
fn write_expr(f: &mut fmt::Formatter<'_>, expr: &Expr, level: u8) -> fmt::Result {
    let group = |f: &mut fmt::Formatter<'_>, items: &[Expr], word: &str, mine: u8| {
        if level > mine {
            f.write_str("(")?;
        }
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                write!(f, " {word} ")?;
            }
            write_expr(f, item, mine + 1)?;
        }
        if level > mine {
            f.write_str(")")?;
        }
        Ok(())
    };
    match expr {
        Expr::Or(items) => group(f, items, "or", 0),
        Expr::And(items) => group(f, items, "and", 1),
        Expr::Not(inner) => {
            f.write_str("!(")?;
            write_expr(f, inner, 0)?;
            f.write_str(")")
        }
        Expr::Test(field, check) => write_test(f, field, check),
    }
}

fn write_test(f: &mut fmt::Formatter<'_>, field: &Field, check: &Check) -> fmt::Result {
    let name = match field {
        Field::Top(key) => (*key).to_string(),
        Field::Below(root, path) => {
            let mut out = (*root).to_string();
            for segment in path {
                out.push('.');
                for c in segment.chars() {
                    if !(c.is_alphanumeric() || matches!(c, '_' | '$' | '-')) {
                        out.push('\\');
                    }
                    out.push(c);
                }
            }
            out
        }
    };
    let quoted = |s: &str| serde_json::to_string(s).expect("a string serialises");
    match check {
        Check::Equals(s) => write!(f, "{name} = {}", quoted(s)),
        Check::NotEquals(s) => write!(f, "{name} != {}", quoted(s)),
        Check::Number(op, n) => write!(f, "{name} {} {n}", op.text()),
        Check::Exists => write!(f, "{name} != null"),
        Check::Missing => write!(f, "{name} = null"),
        Check::IsTrue => write!(f, "{name} = true"),
        Check::IsFalse => write!(f, "{name} = false"),
        Check::Contains(s) => write!(f, "contains({name}, {})", quoted(s)),
        Check::NotContains(s) => write!(f, "!contains({name}, {})", quoted(s)),
        Check::Matches(s) => write!(f, "match({name}, {})", quoted(s)),
        Check::NotMatches(s) => write!(f, "!match({name}, {})", quoted(s)),
    }
}

#[cfg(test)]
mod tests;
