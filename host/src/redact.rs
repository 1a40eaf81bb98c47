//! Masks secret setting values wherever they would be shown: recorded requests (URL, headers,
//! body) and plugin logs. Secrets are the values of settings the plugin marks `secret`.

use serde_json::Value;

/// What stands in for a secret.
pub(crate) const MASK: &str = "***";

/// The secret values to mask.
#[derive(Debug, Clone, Default)]
pub struct Secrets(Vec<String>);

impl Secrets {
    /// Collects the values of the `secret_keys` settings. Very short values (under 4 characters)
    /// are not masked: masking them would garble unrelated text.
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
            .filter(|s| s.len() >= 4)
            .collect();
        // Longest first, so a secret containing another is masked whole.
        values.sort_by_key(|s| std::cmp::Reverse(s.len()));
        Secrets(values)
    }

    /// The text with every secret masked.
    pub fn mask(&self, text: &str) -> String {
        let mut out = text.to_string();
        for s in &self.0 {
            if out.contains(s.as_str()) {
                out = out.replace(s.as_str(), MASK);
            }
        }
        out
    }

    /// Masks every string inside a JSON value.
    pub fn mask_json(&self, value: &mut Value) {
        if self.0.is_empty() {
            return;
        }
        match value {
            Value::String(s) => *s = self.mask(s),
            Value::Array(items) => items.iter_mut().for_each(|v| self.mask_json(v)),
            Value::Object(map) => map.values_mut().for_each(|v| self.mask_json(v)),
            _ => {}
        }
    }
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
        // Short values are left alone.
        assert_eq!(secrets.mask("eu-west"), "eu-west");
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
