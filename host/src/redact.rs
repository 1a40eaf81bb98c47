//! Masks secret setting values wherever they would be shown: recorded requests (URL, headers,
//! body), plugin logs, errors, and the console's preview. Secrets are the values of settings the
//! plugin marks `secret`.
//!
//! Invariants (so that what is shown is never corrupted):
//! - A secret is masked where it is placed: a whole value equal to it (a JSON string or number,
//!   a header value), or a query or form parameter's value (`key=SECRET`).
//! - A secret of at least [`LONG`] characters is also masked wherever it appears as a whole
//!   word: not inside a longer run of letters, digits, `_` or `-`.
//! - Never a substring of another value: with a site id `12345` as a secret, an id `123456`
//!   is shown as it is. A shorter secret is masked only where it is placed.
//! - Credential headers (`Authorization`, `*api-key*`, `*token*`…) are masked by name, as a
//!   basic-auth header carries its secret base64-encoded.

use serde_json::Value;

/// What stands in for a secret.
pub(crate) const MASK: &str = "***";

/// Secrets this long or longer are masked wherever they appear as a whole word.
pub(crate) const LONG: usize = 8;

/// The secret values to mask.
#[derive(Debug, Clone, Default)]
pub struct Secrets(Vec<String>);

impl Secrets {
    /// Collects the values of the `secret_keys` settings.
    pub fn from_settings<'a>(
        settings: &Value,
        secret_keys: impl IntoIterator<Item = &'a str>,
    ) -> Secrets {
        let mut values: Vec<String> = secret_keys
            .into_iter()
            .filter_map(|k| settings.get(k))
            .filter_map(|v| match v {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
            .filter(|s| !s.is_empty())
            .collect();
        // Longest first, so a secret containing another is masked whole.
        values.sort_by_key(|s| std::cmp::Reverse(s.len()));
        Secrets(values)
    }

    /// The text with every secret masked where it is placed (and long ones as whole words).
    pub fn mask(&self, text: &str) -> String {
        let mut out = text.to_string();
        for s in &self.0 {
            if out.contains(s.as_str()) {
                out = mask_one(&out, s);
            }
        }
        out
    }

    /// Masks every string inside a JSON value, and numbers equal to a secret.
    pub fn mask_json(&self, value: &mut Value) {
        if self.0.is_empty() {
            return;
        }
        match value {
            Value::String(s) => *s = self.mask(s),
            Value::Number(n) if self.0.iter().any(|s| *s == n.to_string()) => {
                *value = Value::String(MASK.into());
            }
            Value::Array(items) => items.iter_mut().for_each(|v| self.mask_json(v)),
            Value::Object(map) => map.values_mut().for_each(|v| self.mask_json(v)),
            _ => {}
        }
    }
}

/// Whether `c` continues a word (an id, a key, a token).
fn in_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '-'
}

/// `text` with `secret` masked where it is a whole value, a parameter's value, or (when long) a
/// whole word.
fn mask_one(text: &str, secret: &str) -> String {
    if text == secret {
        return MASK.to_string();
    }
    let long = secret.chars().count() >= LONG;
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    for (at, _) in text.match_indices(secret) {
        if at < copied {
            continue;
        }
        let end = at + secret.len();
        let before = text[..at].chars().next_back();
        let after = text[end..].chars().next();
        let whole_word = !before.is_some_and(in_word) && !after.is_some_and(in_word);
        let parameter = before == Some('=') && matches!(after, None | Some('&' | '#' | ';'));
        if parameter || (long && whole_word) {
            out.push_str(&text[copied..at]);
            out.push_str(MASK);
            copied = end;
        }
    }
    out.push_str(&text[copied..]);
    out
}

/// Headers whose values are credentials whatever the settings say (a basic-auth header carries
/// a secret base64-encoded, which substring masking cannot find).
pub(crate) fn is_credential_header(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    name == "authorization"
        || name == "proxy-authorization"
        || name == "cookie"
        || name.contains("api-key")
        || name.contains("apikey")
        || name.contains("token")
        || name.contains("secret")
}

/// `Bearer abc` → `Bearer ***`; anything else → `***`.
pub(crate) fn mask_credential(value: &str) -> String {
    match value.split_once(' ') {
        Some((scheme, _)) if !scheme.is_empty() => format!("{scheme} {MASK}"),
        _ => MASK.to_string(),
    }
}

/// A recorded request as printed: secrets masked, credential headers masked by name.
pub(crate) fn exchange(
    x: &crate::runtime::Exchange,
    secrets: &Secrets,
    mask_credentials: bool,
) -> Value {
    let mut value = serde_json::to_value(x).unwrap_or(Value::Null);
    if let Some(headers) = value.get_mut("headers").and_then(Value::as_object_mut) {
        for (name, v) in headers.iter_mut() {
            if mask_credentials
                && is_credential_header(name)
                && let Some(text) = v.as_str()
            {
                *v = Value::String(mask_credential(text));
            }
        }
    }
    secrets.mask_json(&mut value);
    value
}

/// Whether two secrets (tokens) are equal, compared in time that does not depend on where they
/// differ, so timing tells an attacker nothing about how much of a guess was right.
pub(crate) fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn masks_secret_values_everywhere_in_json() {
        let secrets = Secrets::from_settings(
            &json!({"api_key": "sk_live_123", "region": "eu"}),
            ["api_key", "region"],
        );
        let mut body =
            json!({"url": "https://x.test/?key=sk_live_123", "n": [{"k": "sk_live_123"}]});
        secrets.mask_json(&mut body);
        assert_eq!(
            body,
            json!({"url": "https://x.test/?key=***", "n": [{"k": "***"}]})
        );
        // A short one is masked only where it is placed: not inside another value.
        assert_eq!(secrets.mask("eu-west"), "eu-west");
        assert_eq!(secrets.mask("eu"), "***");
    }

    #[test]
    fn never_a_substring_of_another_value() {
        // A Customer.io site id is short: an id that contains it is shown as it is.
        let secrets = Secrets::from_settings(
            &json!({"siteId": "12345", "apiKey": "k3y-abcdef-9876"}),
            ["siteId", "apiKey"],
        );
        let mut body = json!({"id": "123456", "n": 123456, "site": "12345", "s": 12345,
            "url": "https://track.example/api/v1/customers/123456?site=12345&x=1",
            "note": "user 12345 bought"});
        secrets.mask_json(&mut body);
        assert_eq!(
            body,
            json!({"id": "123456", "n": 123456, "site": "***", "s": "***",
                "url": "https://track.example/api/v1/customers/123456?site=***&x=1",
                "note": "user 12345 bought"})
        );
        // A long one is masked wherever it is a whole word, never inside a longer one.
        assert_eq!(
            secrets.mask("refused key k3y-abcdef-9876: check it"),
            "refused key ***: check it"
        );
        assert_eq!(
            secrets.mask("xk3y-abcdef-9876 k3y-abcdef-98765"),
            "xk3y-abcdef-9876 k3y-abcdef-98765"
        );
    }

    #[test]
    fn credential_headers_keep_their_scheme() {
        assert!(is_credential_header("Authorization"));
        assert!(is_credential_header("x-api-key"));
        assert!(!is_credential_header("content-type"));
        assert_eq!(mask_credential("Bearer abc"), "Bearer ***");
        assert_eq!(mask_credential("abc"), "***");
    }
}
