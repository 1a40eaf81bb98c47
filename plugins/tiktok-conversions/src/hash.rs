//! PII normalisation and SHA-256 hashing as TikTok's Events API expects it (and as the
//! reference does it): a value that is already a SHA-256 hex digest is passed through.

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

#[cfg(test)]
mod tests {
    use super::*;
    use switchyard_plugin_sdk::hash::sha256_hex as sha256;

    #[test]
    fn values_are_cleaned_then_hashed_and_digests_pass_through() {
        // The SHA-256 test vector for "abc" (FIPS 180-2).
        let abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        assert_eq!(lower("ABC"), abc);
        assert_eq!(lower(abc), abc, "a digest is not hashed again");
        assert_eq!(lower("Ann@Example.com"), sha256("ann@example.com"));
        assert_eq!(phone("+1 (415) 555-0100"), sha256("+14155550100"));
        assert_eq!(phone("0044 1234 5678 9012 345"), sha256("+004412345678901"));
        assert_eq!(compact(" Mary Ann "), sha256("maryann"));
        assert_eq!(plain("São Paulo-SP"), "sopaulosp");
    }
}
