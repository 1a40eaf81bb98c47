//! Personal data as Google's matching wants it: normalised, then SHA-256 (hex). A value that
//! already is a SHA-256 digest is sent as it is. Also Google Ads' date-time format.

use switchyard_plugin_sdk::Error;
use switchyard_plugin_sdk::hash::{is_sha256_hex, sha256_hex, sha256_unless_hashed};

/// An email: trimmed and lower-cased; for gmail.com and googlemail.com addresses the first dot
/// of the name is dropped (as the reference does); then checked and hashed.
pub(crate) fn email(value: &str) -> Result<String, Error> {
    if is_sha256_hex(value) {
        return Ok(value.to_string());
    }
    let mut email = value.trim().to_lowercase();
    if let Some((name, domain)) = email.split_once('@')
        && (domain.starts_with("gmail") || domain.starts_with("googlemail"))
    {
        email = format!("{}@{domain}", name.replacen('.', "", 1));
    }
    if !is_email(&email) {
        return Err(Error::invalid_payload(
            "Email provided doesn't seem to be in a valid format.",
        ));
    }
    Ok(sha256_hex(&email))
}

/// The shape JSON Schema's `email` format accepts: an atom of allowed characters, `@`, and
/// dot-separated labels of letters, digits and inner dashes (at most 63 characters each).
fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    let local_ok = !local.is_empty()
        && local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".!#$%&'*+/=?^_`{|}~-".contains(c));
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    };
    local_ok && domain.split('.').all(label_ok)
}

/// A phone number: digits only, prefixed with the country code's digits (1 when none is
/// given) unless it starts with them already, then `+`, then hashed. A value holding a digest
/// already is sent as it is.
pub(crate) fn phone(value: &str, country_code: Option<&str>) -> String {
    let bytes = value.as_bytes();
    let has_digest = bytes
        .windows(64)
        .any(|w| w.iter().all(u8::is_ascii_hexdigit));
    if has_digest {
        return value.to_string();
    }
    let digits: String = value.chars().filter(char::is_ascii_digit).collect();
    let code: String = country_code
        .unwrap_or("+1")
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    let code = if code.is_empty() {
        "1".to_string()
    } else {
        code
    };
    let full = if digits.starts_with(&code) {
        digits
    } else {
        format!("{code}{digits}")
    };
    sha256_hex(&format!("+{full}"))
}

/// Names and street addresses: trimmed and lower-cased as Google's formatting guidelines ask,
/// then hashed.
pub(crate) fn text(value: &str) -> String {
    sha256_unless_hashed(value, |v| v.trim().to_lowercase())
}

/// Google Ads' "yyyy-mm-dd hh:mm:ss+|-hh:mm": the `T` becomes a space and a UTC `Z` (with any
/// fraction of a second before it) becomes `+00:00`; other offsets are left as they are.
pub(crate) fn google_time(value: &str) -> String {
    let mut out = value.replacen('T', " ", 1);
    if let Some(rest) = out.strip_suffix('Z') {
        let rest = match rest.rfind('.') {
            Some(dot) if rest[dot + 1..].bytes().all(|b| b.is_ascii_digit()) => &rest[..dot],
            _ => rest,
        };
        out = format!("{rest}+00:00");
    }
    out
}
