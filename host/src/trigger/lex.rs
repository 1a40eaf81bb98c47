//! Tokens of the trigger language, each with the column it starts at (1-based, in characters).

use super::TriggerError;

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Token {
    /// A field path, already split into segments: `properties.a\ b[0]` → `properties`, `a b`, `0`.
    Path(Vec<String>),
    Text(String),
    /// A number and the text it was written as.
    Number(f64, String),
    Op(Op),
    Open,
    Close,
    Comma,
    Bang,
    End,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Op {
    pub(super) fn text(self) -> &'static str {
        match self {
            Op::Eq => "=",
            Op::Ne => "!=",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
        }
    }
}

impl Token {
    /// How the token reads in an error message.
    pub(super) fn shown(&self) -> String {
        match self {
            Token::Path(segments) => format!("\"{}\"", segments.join(".")),
            Token::Text(s) => format!("the text {s:?}"),
            Token::Number(_, text) => format!("the number {text}"),
            Token::Op(op) => format!("\"{}\"", op.text()),
            Token::Open => "\"(\"".into(),
            Token::Close => "\")\"".into(),
            Token::Comma => "\",\"".into(),
            Token::Bang => "\"!\"".into(),
            Token::End => "the end of the trigger".into(),
        }
    }
}

/// Splits a trigger into tokens; the last one is always [`Token::End`].
pub(super) fn tokens(text: &str) -> Result<Vec<(usize, Token)>, TriggerError> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let at = i + 1;
        let two = |next: char| chars.get(i + 1) == Some(&next);
        let (token, len) = match c {
            c if c.is_whitespace() => {
                i += 1;
                continue;
            }
            '(' => (Token::Open, 1),
            ')' => (Token::Close, 1),
            ',' => (Token::Comma, 1),
            '!' if two('=') => (Token::Op(Op::Ne), 2),
            '!' => (Token::Bang, 1),
            '=' if two('=') => (Token::Op(Op::Eq), 2),
            '=' => (Token::Op(Op::Eq), 1),
            '<' if two('=') => (Token::Op(Op::Le), 2),
            '<' => (Token::Op(Op::Lt), 1),
            '>' if two('=') => (Token::Op(Op::Ge), 2),
            '>' => (Token::Op(Op::Gt), 1),
            '"' | '\'' => string(&chars, i)?,
            c if c.is_ascii_digit()
                || (c == '-' && chars.get(i + 1).is_some_and(char::is_ascii_digit)) =>
            {
                number(&chars, i)?
            }
            c if starts_path(c) => path(&chars, i)?,
            other => {
                return Err(TriggerError::new(
                    at,
                    format!("unexpected character {other:?}"),
                ));
            }
        };
        out.push((at, token));
        i += len;
    }
    out.push((chars.len() + 1, Token::End));
    Ok(out)
}

fn starts_path(c: char) -> bool {
    c.is_alphabetic() || c == '_' || c == '$' || c == '\\'
}

fn in_path(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '$' | '-')
}

/// A double- or single-quoted string with backslash escapes.
fn string(chars: &[char], start: usize) -> Result<(Token, usize), TriggerError> {
    let quote = chars[start];
    let mut text = String::new();
    let mut i = start + 1;
    loop {
        match chars.get(i) {
            None => {
                return Err(TriggerError::new(
                    start + 1,
                    format!("this text has no closing {quote}"),
                ));
            }
            Some('\\') => {
                let escaped = match chars.get(i + 1) {
                    Some('n') => '\n',
                    Some('t') => '\t',
                    Some('r') => '\r',
                    Some(c) => *c,
                    None => {
                        return Err(TriggerError::new(
                            i + 1,
                            "a backslash ends the trigger".into(),
                        ));
                    }
                };
                text.push(escaped);
                i += 2;
            }
            Some(c) if *c == quote => return Ok((Token::Text(text), i + 1 - start)),
            Some(c) => {
                text.push(*c);
                i += 1;
            }
        }
    }
}

fn number(chars: &[char], start: usize) -> Result<(Token, usize), TriggerError> {
    let mut end = start + 1;
    while end < chars.len()
        && (chars[end].is_ascii_alphanumeric()
            || chars[end] == '.'
            || (matches!(chars[end], '+' | '-') && matches!(chars[end - 1], 'e' | 'E')))
    {
        end += 1;
    }
    let text: String = chars[start..end].iter().collect();
    match text.parse::<f64>() {
        Ok(n) if n.is_finite() => Ok((Token::Number(n, text), end - start)),
        _ => Err(TriggerError::new(
            start + 1,
            format!("{text:?} is not a number"),
        )),
    }
}

/// `properties.order.total`, `traits.a\ b`, `properties.items[0].sku`.
fn path(chars: &[char], start: usize) -> Result<(Token, usize), TriggerError> {
    let mut segments = vec![String::new()];
    // Just after `[n]`, where the next segment starts empty.
    let mut after_index = false;
    let mut i = start;
    loop {
        let was_after_index = std::mem::take(&mut after_index);
        match chars.get(i) {
            Some('\\') => match chars.get(i + 1) {
                Some(c) => {
                    segments.last_mut().expect("one segment").push(*c);
                    i += 2;
                }
                None => {
                    return Err(TriggerError::new(
                        i + 1,
                        "a backslash ends the trigger".into(),
                    ));
                }
            },
            Some('.') => {
                segments.push(String::new());
                i += 1;
            }
            Some('[') => {
                let close = chars[i..]
                    .iter()
                    .position(|c| *c == ']')
                    .map(|p| i + p)
                    .ok_or_else(|| TriggerError::new(i + 1, "this \"[\" is never closed".into()))?;
                let index: String = chars[i + 1..close].iter().collect();
                if index.is_empty() || !index.chars().all(|c| c.is_ascii_digit()) {
                    return Err(TriggerError::new(
                        i + 2,
                        format!("a list index is a whole number, not {index:?}"),
                    ));
                }
                if segments.last().is_some_and(String::is_empty) {
                    segments.pop();
                }
                segments.push(index);
                segments.push(String::new());
                i = close + 1;
                after_index = true;
                if chars.get(i) == Some(&'.') {
                    i += 1;
                }
            }
            Some(c) if in_path(*c) => {
                segments.last_mut().expect("one segment").push(*c);
                i += 1;
            }
            _ => {
                after_index = was_after_index;
                break;
            }
        }
    }
    if after_index {
        segments.pop();
    }
    if segments.iter().any(String::is_empty) {
        return Err(TriggerError::new(
            start + 1,
            format!(
                "the field {:?} has an empty part",
                chars[start..i].iter().collect::<String>()
            ),
        ));
    }
    Ok((Token::Path(segments), i - start))
}
