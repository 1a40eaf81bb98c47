//! `user_data`: customer information normalised and hashed (SHA-256, hex) as Meta's
//! Conversions API specifies and the reference does it. A value that already is a SHA-256 hex
//! digest is sent as it is.

use serde_json::{Map, Value, json};
use switchyard_plugin_sdk::hash::{is_sha256_hex as is_digest, sha256_hex as sha256};

/// Without whitespace, lower case.
fn clean(v: &str) -> String {
    v.chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_lowercase()
}

/// `clean`, then `map`, then hashed; `None` when nothing is left.
fn hashed(v: &str, map: impl Fn(String) -> String) -> Option<String> {
    if is_digest(v) {
        return Some(v.to_string());
    }
    let c = clean(v);
    (!c.is_empty()).then(|| sha256(&map(c)))
}

/// US state names (without spaces) → their two-letter codes.
const STATES: &[(&str, &str)] = &[
    ("alabama", "al"),
    ("alaska", "ak"),
    ("arizona", "az"),
    ("arkansas", "ar"),
    ("california", "ca"),
    ("colorado", "co"),
    ("connecticut", "ct"),
    ("delaware", "de"),
    ("districtofcolumbia", "dc"),
    ("florida", "fl"),
    ("georgia", "ga"),
    ("hawaii", "hi"),
    ("idaho", "id"),
    ("illinois", "il"),
    ("indiana", "in"),
    ("iowa", "ia"),
    ("kansas", "ks"),
    ("kentucky", "ky"),
    ("louisiana", "la"),
    ("maine", "me"),
    ("maryland", "md"),
    ("massachusetts", "ma"),
    ("michigan", "mi"),
    ("minnesota", "mn"),
    ("mississippi", "ms"),
    ("missouri", "mo"),
    ("montana", "mt"),
    ("nebraska", "ne"),
    ("nevada", "nv"),
    ("newhampshire", "nh"),
    ("newjersey", "nj"),
    ("newmexico", "nm"),
    ("newyork", "ny"),
    ("northcarolina", "nc"),
    ("northdakota", "nd"),
    ("ohio", "oh"),
    ("oklahoma", "ok"),
    ("oregon", "or"),
    ("pennsylvania", "pa"),
    ("rhodeisland", "ri"),
    ("southcarolina", "sc"),
    ("southdakota", "sd"),
    ("tennessee", "tn"),
    ("texas", "tx"),
    ("utah", "ut"),
    ("vermont", "vt"),
    ("virginia", "va"),
    ("washington", "wa"),
    ("westvirginia", "wv"),
    ("wisconsin", "wi"),
    ("wyoming", "wy"),
];

fn state(c: String) -> String {
    STATES
        .iter()
        .find(|(name, _)| *name == c)
        .map_or(c, |(_, code)| (*code).to_string())
}

fn text<'a>(u: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    u.get(key).and_then(Value::as_str).filter(|s| !s.is_empty())
}

/// The `user_data` object from the mapped field (keys as Segment's fields name them).
pub(crate) fn build(u: &Map<String, Value>) -> Map<String, Value> {
    let mut out = Map::new();
    let mut put = |key: &str, v: Option<String>| {
        if let Some(v) = v {
            out.insert(key.into(), json!(v));
        }
    };
    let same = |c: String| c;
    put("em", text(u, "email").and_then(|v| hashed(v, same)));
    put(
        "ph",
        text(u, "phone").and_then(|v| {
            if is_digest(v) {
                return Some(v.to_string());
            }
            let digits: String = v.chars().filter(char::is_ascii_digit).collect();
            (!digits.is_empty()).then(|| sha256(&digits))
        }),
    );
    put(
        "ge",
        text(u, "gender").and_then(|v| {
            if is_digest(v) {
                return Some(v.to_string());
            }
            match clean(v).as_str() {
                "male" | "m" => Some(sha256("m")),
                "female" | "f" => Some(sha256("f")),
                _ => None,
            }
        }),
    );
    put("db", text(u, "dateOfBirth").and_then(|v| hashed(v, same)));
    put("ln", text(u, "lastName").and_then(|v| hashed(v, same)));
    put("fn", text(u, "firstName").and_then(|v| hashed(v, same)));
    put("ct", text(u, "city").and_then(|v| hashed(v, same)));
    put("st", text(u, "state").and_then(|v| hashed(v, state)));
    put("zp", text(u, "zip").and_then(|v| hashed(v, same)));
    put("country", text(u, "country").and_then(|v| hashed(v, same)));
    let ids: Vec<Value> = match u.get("externalId") {
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect::<Vec<_>>(),
        Some(Value::String(s)) => vec![s.as_str()],
        _ => Vec::new(),
    }
    .into_iter()
    .filter_map(|v| hashed(v, same))
    .map(Value::String)
    .collect();
    if !ids.is_empty() {
        out.insert("external_id".into(), Value::Array(ids));
    }
    for (from, to) in [
        ("client_ip_address", "client_ip_address"),
        ("client_user_agent", "client_user_agent"),
        ("fbc", "fbc"),
        ("fbp", "fbp"),
        ("subscriptionID", "subscription_id"),
        ("anonId", "anon_id"),
        ("madId", "madid"),
        ("partner_id", "partner_id"),
        ("partner_name", "partner_name"),
        ("ctwa_clid", "ctwa_clid"),
    ] {
        if let Some(v) = text(u, from) {
            out.insert(to.into(), json!(v));
        }
    }
    for (from, to) in [("leadID", "lead_id"), ("fbLoginID", "fb_login_id")] {
        if let Some(v) = u.get(from).filter(|v| v.is_number()) {
            out.insert(to.into(), v.clone());
        }
    }
    out
}
