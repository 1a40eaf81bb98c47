//! SHA-256 for personal data: vendors' matching APIs (Google, Meta, TikTok) want identifiers
//! normalised and hashed, and take a value that already is a hex digest as it is.

use sha2::{Digest, Sha256};

/// The SHA-256 of `text`, as 64 lowercase hex digits.
///
/// ```
/// use switchyard_plugin_sdk::hash::sha256_hex;
/// assert_eq!(
///     sha256_hex("abc"),
///     "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
/// );
/// ```
pub fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// Whether `text` already is a SHA-256 hex digest (64 hex digits, either case).
pub fn is_sha256_hex(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit())
}

/// `text` hashed after `normalise`, unless it already is a digest (then as it is).
pub fn sha256_unless_hashed(text: &str, normalise: impl FnOnce(&str) -> String) -> String {
    if is_sha256_hex(text) {
        text.to_string()
    } else {
        sha256_hex(&normalise(text))
    }
}
