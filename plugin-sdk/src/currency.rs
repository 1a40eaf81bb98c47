//! ISO 4217 currency codes, for the vendors that refuse (or silently drop) events with a
//! currency they do not know: Meta's Conversions API and GA4 check the code before sending, as
//! Segment's destinations do, so a typo is a clear invalid-payload error here instead of a
//! lost event there.

/// The active ISO 4217 codes, in upper case and sorted (the list Segment's destinations check).
const CODES: &[&str] = &[
    "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT",
    "BGN", "BHD", "BIF", "BMD", "BND", "BOB", "BOV", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD",
    "CAD", "CDF", "CHE", "CHF", "CHW", "CLF", "CLP", "CNY", "COP", "COU", "CRC", "CUC", "CUP",
    "CVE", "CZK", "DJF", "DKK", "DOP", "DZD", "EGP", "ERN", "ETB", "EUR", "FJD", "FKP", "GBP",
    "GEL", "GHS", "GIP", "GMD", "GNF", "GTQ", "GYD", "HKD", "HNL", "HRK", "HTG", "HUF", "IDR",
    "ILS", "INR", "IQD", "IRR", "ISK", "JMD", "JOD", "JPY", "KES", "KGS", "KHR", "KMF", "KPW",
    "KRW", "KWD", "KYD", "KZT", "LAK", "LBP", "LKR", "LRD", "LSL", "LYD", "MAD", "MDL", "MGA",
    "MKD", "MMK", "MNT", "MOP", "MRU", "MUR", "MVR", "MWK", "MXN", "MXV", "MYR", "MZN", "NAD",
    "NGN", "NIO", "NOK", "NPR", "NZD", "OMR", "PAB", "PEN", "PGK", "PHP", "PKR", "PLN", "PYG",
    "QAR", "RON", "RSD", "RUB", "RWF", "SAR", "SBD", "SCR", "SDG", "SEK", "SGD", "SHP", "SLL",
    "SOS", "SRD", "SSP", "STN", "SVC", "SYP", "SZL", "THB", "TJS", "TMT", "TND", "TOP", "TRY",
    "TTD", "TWD", "TZS", "UAH", "UGX", "USD", "USN", "UYI", "UYU", "UYW", "UZS", "VES", "VND",
    "VUV", "WST", "XAF", "XAG", "XAU", "XBA", "XBB", "XBC", "XBD", "XCD", "XDR", "XOF", "XPD",
    "XPF", "XPT", "XSU", "XTS", "XUA", "XXX", "YER", "ZAR", "ZMW", "ZWC",
];

/// Codes ISO 4217 added after that list was made (Sierra Leone's new leone, Venezuela's digital
/// bolívar, the Arab Accounting Dinar, the Caribbean guilder, the Zimbabwe Gold), which the
/// destinations that follow the current standard accept (Braze's ecommerce currency list).
const ADDED_SINCE: &[&str] = &["SLE", "VED", "XAD", "XCG", "ZWG"];

/// Whether `code` is an ISO 4217 currency code, exactly as written (upper case), on the list
/// Segment's destinations share.
pub fn is_iso_4217(code: &str) -> bool {
    CODES.binary_search(&code).is_ok()
}

/// Whether `code` is on the current ISO 4217 list: [`is_iso_4217`], and the codes added since.
pub fn is_current_iso_4217(code: &str) -> bool {
    is_iso_4217(code) || ADDED_SINCE.contains(&code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_codes_pass_and_others_do_not() {
        assert!(
            CODES.windows(2).all(|w| w[0] < w[1]),
            "sorted for the search"
        );
        for code in ["EUR", "USD", "JPY", "AED", "ZAR"] {
            assert!(is_iso_4217(code), "{code}");
        }
        for code in ["eur", "EURO", "XYZ", "", "US"] {
            assert!(!is_iso_4217(code), "{code}");
            assert!(!is_current_iso_4217(code), "{code}");
        }
        assert!(!is_iso_4217("XAD") && is_current_iso_4217("XAD"));
        assert!(is_current_iso_4217("EUR"));
    }
}
