//! TikTok's one action, and the normalisation of personal data its request applies: values are
//! cleaned and hashed with SHA-256 as TikTok's Events API expects (and as the reference does);
//! a value that already is a SHA-256 hex digest is passed through.

pub(crate) mod report_web_event;

use switchyard_plugin_sdk::hash::sha256_unless_hashed as hashed;

/// Emails and external ids: lower case (not trimmed, as in the reference).
pub(crate) fn lower(value: &str) -> String {
    hashed(value, str::to_lowercase)
}

/// Phone numbers: `+` and the first 15 digits (E.164 has at most 15).
pub(crate) fn phone(value: &str) -> String {
    hashed(value, |v| {
        let digits: String = v.chars().filter(char::is_ascii_digit).take(15).collect();
        format!("+{digits}")
    })
}

/// Names and zip codes: lower case without whitespace.
pub(crate) fn compact(value: &str) -> String {
    hashed(value, |v| {
        v.chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_lowercase()
    })
}

/// City, state and country are not hashed: lower case letters and digits only.
pub(crate) fn plain(value: &str) -> String {
    value
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect::<String>()
        .to_lowercase()
}
