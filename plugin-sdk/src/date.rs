//! ISO 8601 dates as vendors' APIs want them: epoch seconds or milliseconds.
//!
//! Segment's events carry ISO 8601 strings, and most vendor APIs want epoch numbers. Each
//! plugin used to parse them its own way; this is the one lenient parser they share. It takes
//! what JavaScript's date libraries take in practice: a bare date, or a date and time with
//! optional seconds and fraction, and `Z`, `±hh:mm` or `±hhmm` (no zone means UTC, where a
//! JavaScript host would use its own zone).

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime, PrimitiveDateTime, UtcOffset};

/// `YYYY-MM-DD`, optionally with `Thh:mm[:ss][.fraction][Z|±hh[:]mm]`, as Unix milliseconds.
/// `None` for anything else.
///
/// ```
/// use switchyard_plugin_sdk::date::iso_millis;
/// assert_eq!(iso_millis("2026-11-29T09:00:00.250+01:00"), Some(1_795_939_200_250));
/// assert_eq!(iso_millis("2026-11-29"), Some(1_795_910_400_000));
/// assert_eq!(iso_millis("29/11/2026"), None);
/// ```
pub fn iso_millis(s: &str) -> Option<i64> {
    let t = parse(s)?;
    i64::try_from(t.unix_timestamp_nanos().div_euclid(1_000_000)).ok()
}

/// Like [`iso_millis`], in whole Unix seconds (rounded down).
pub fn iso_seconds(s: &str) -> Option<i64> {
    parse(s).map(OffsetDateTime::unix_timestamp)
}

/// The instant `s` names, read as [`iso_millis`] reads it; for plugins that write it out again.
///
/// ```
/// use switchyard_plugin_sdk::date::{parse, to_iso_string};
/// let t = parse("2026-11-29T09:00+01:00").unwrap();
/// assert_eq!(to_iso_string(t), "2026-11-29T08:00:00.000Z");
/// ```
pub fn parse(s: &str) -> Option<OffsetDateTime> {
    let b = s.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| b.get(r).is_some_and(|d| d.iter().all(u8::is_ascii_digit));
    if !(digits(0..4)
        && b.get(4) == Some(&b'-')
        && digits(5..7)
        && b.get(7) == Some(&b'-')
        && digits(8..10))
    {
        return None;
    }
    if b.len() == 10 {
        let d = Date::parse(s, format_description!("[year]-[month]-[day]")).ok()?;
        return Some(d.midnight().assume_offset(UtcOffset::UTC));
    }
    if b.get(10) != Some(&b'T') || !digits(11..13) || b.get(13) != Some(&b':') || !digits(14..16) {
        return None;
    }
    // Normalise to RFC 3339: seconds, and a zone with a colon.
    let mut rest = &s[16..];
    let mut out = s[..16].to_string();
    if rest.starts_with(':') {
        out.push_str(rest.get(..3)?);
        rest = &rest[3..];
    } else {
        out.push_str(":00");
    }
    if let Some(frac) = rest.strip_prefix('.') {
        let n = frac.bytes().take_while(u8::is_ascii_digit).count();
        if !(1..=9).contains(&n) {
            return None;
        }
        out.push('.');
        out.push_str(&frac[..n]);
        rest = &frac[n..];
    }
    match rest {
        "" => {
            let t = PrimitiveDateTime::parse(
                &out,
                format_description!(
                    "[year]-[month]-[day]T[hour]:[minute]:[second][optional [.[subsecond]]]"
                ),
            )
            .ok()?;
            return Some(t.assume_offset(UtcOffset::UTC));
        }
        "Z" | "z" => out.push('Z'),
        zone if zone.len() == 5 && !zone.contains(':') => {
            out.push_str(&zone[..3]);
            out.push(':');
            out.push_str(&zone[3..]);
        }
        zone if zone.len() == 3 => {
            out.push_str(zone);
            out.push_str(":00");
        }
        zone => out.push_str(zone),
    }
    OffsetDateTime::parse(&out, &Rfc3339).ok()
}

/// The instant in UTC with milliseconds, `2026-11-29T08:00:00.000Z`, as JavaScript's
/// `Date.prototype.toISOString()` writes it (what Segment's actions send where a vendor wants
/// ISO text).
pub fn to_iso_string(t: OffsetDateTime) -> String {
    let t = t.to_offset(UtcOffset::UTC);
    let format =
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
    // Every date the parser accepts has a four-digit year, so formatting cannot fail.
    t.format(format).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_forms_events_carry() {
        assert_eq!(iso_seconds("2026-11-29"), Some(1795910400));
        assert_eq!(iso_seconds("2026-11-29T08:00:00Z"), Some(1795939200));
        assert_eq!(iso_seconds("2026-11-29T09:00+01:00"), Some(1795939200));
        assert_eq!(iso_seconds("2026-11-29T09:00+01"), Some(1795939200));
        assert_eq!(
            iso_millis("2026-11-29T10:00:00.123456+0200"),
            Some(1795939200123)
        );
        assert_eq!(iso_seconds("2026-11-29T08:00:00"), Some(1795939200));
        assert_eq!(iso_millis("1969-12-31T23:59:59.999Z"), Some(-1));
    }

    #[test]
    fn instants_are_written_as_javascript_writes_them() {
        let iso = |s: &str| parse(s).map(to_iso_string);
        assert_eq!(
            iso("2024-03-01T12:30:00+02:00").as_deref(),
            Some("2024-03-01T10:30:00.000Z")
        );
        assert_eq!(
            iso("2024-03-01T10:30:00.123456Z").as_deref(),
            Some("2024-03-01T10:30:00.123Z")
        );
        assert_eq!(
            iso("2024-03-01").as_deref(),
            Some("2024-03-01T00:00:00.000Z")
        );
        assert_eq!(iso("next tuesday"), None);
    }

    #[test]
    fn what_is_not_a_date() {
        assert_eq!(iso_seconds("29/11/2026"), None);
        assert_eq!(iso_seconds("2026-11-29 08:00"), None);
        assert_eq!(iso_seconds("2026-13-01"), None);
        assert_eq!(iso_seconds("2026-11-29T08:00:00.Z"), None);
        assert_eq!(iso_seconds("1795939200"), None);
        assert_eq!(iso_seconds(""), None);
    }
}
