//! Outbound network policy: which hosts a plugin may call, and which address classes are refused
//! after DNS resolution.
//!
//! Patterns use Spin's `allowed_outbound_hosts` syntax: `https://api.example.com`,
//! `https://*.example.com`, `http://127.0.0.1:8080`, `*://example.com:*`. A pattern without a
//! scheme (`api.example.com`) allows http and https on their default ports. Everything not matched
//! is denied.

use std::net::IpAddr;

/// One allowed-host pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPattern {
    /// `None` means any scheme.
    scheme: Option<String>,
    host: HostMatch,
    port: PortMatch,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum HostMatch {
    Any,
    Exact(String),
    /// `*.example.com`: any subdomain of `example.com` (not `example.com` itself).
    Suffix(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum PortMatch {
    Any,
    /// The scheme's default port (443 for https, 80 for http).
    Default,
    Exact(u16),
}

impl HostPattern {
    /// Parses a pattern, naming what is wrong with it.
    pub fn parse(text: &str) -> Result<HostPattern, String> {
        let bad = |why: &str| format!("allowed host {text:?} is invalid: {why}");
        let trimmed = text.trim();
        let (scheme, rest) = match trimmed.split_once("://") {
            Some((s, rest)) => {
                let s = s.to_ascii_lowercase();
                match s.as_str() {
                    "*" => (None, rest),
                    "http" | "https" => (Some(s), rest),
                    _ => return Err(bad("the scheme must be http, https or *")),
                }
            }
            None => (None, trimmed),
        };
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest.contains('/') || rest.contains('?') || rest.contains('@') {
            return Err(bad("give a scheme, a host and a port only, without a path"));
        }
        let (host, port) = split_host_port(rest).map_err(|e| bad(&e))?;
        let port = match port {
            None => PortMatch::Default,
            Some("*") => PortMatch::Any,
            Some(p) => PortMatch::Exact(p.parse().map_err(|_| bad("the port is not a number"))?),
        };
        let host = host.to_ascii_lowercase();
        let host = if host == "*" {
            HostMatch::Any
        } else if let Some(suffix) = host.strip_prefix("*.") {
            if suffix.is_empty() || suffix.contains('*') {
                return Err(bad("a wildcard may only stand first, as in *.example.com"));
            }
            HostMatch::Suffix(suffix.to_string())
        } else if host.is_empty() || host.contains('*') {
            return Err(bad("a wildcard may only stand first, as in *.example.com"));
        } else {
            HostMatch::Exact(host)
        };
        Ok(HostPattern { scheme, host, port })
    }

    /// Whether a request to `scheme://host:port` is allowed by this pattern.
    pub fn matches(&self, scheme: &str, host: &str, port: u16) -> bool {
        if let Some(s) = &self.scheme
            && s != scheme
        {
            return false;
        }
        let port_ok = match self.port {
            PortMatch::Any => true,
            PortMatch::Exact(p) => p == port,
            PortMatch::Default => default_port(scheme) == Some(port),
        };
        let host = host.to_ascii_lowercase();
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let host_ok = match &self.host {
            HostMatch::Any => true,
            HostMatch::Exact(h) => h.trim_start_matches('[').trim_end_matches(']') == host,
            HostMatch::Suffix(s) => host
                .strip_suffix(s.as_str())
                .is_some_and(|head| head.ends_with('.')),
        };
        port_ok && host_ok
    }
}

fn split_host_port(text: &str) -> Result<(&str, Option<&str>), String> {
    if let Some(rest) = text.strip_prefix('[') {
        let (ip, after) = rest
            .split_once(']')
            .ok_or_else(|| "an IPv6 address needs a closing ]".to_string())?;
        let port = match after {
            "" => None,
            p => Some(
                p.strip_prefix(':')
                    .ok_or_else(|| "expected :port after ]".to_string())?,
            ),
        };
        return Ok((&text[..ip.len() + 2], port));
    }
    Ok(match text.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (text, None),
    })
}

pub(crate) fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" => Some(80),
        "https" => Some(443),
        _ => None,
    }
}

/// A list of patterns; a request is allowed when any pattern matches.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowList(Vec<HostPattern>);

impl AllowList {
    /// Parses every pattern, stopping at the first invalid one.
    pub fn parse<S: AsRef<str>>(patterns: &[S]) -> Result<AllowList, String> {
        patterns
            .iter()
            .map(|p| HostPattern::parse(p.as_ref()))
            .collect::<Result<_, _>>()
            .map(AllowList)
    }

    pub fn extend(&mut self, other: AllowList) {
        self.0.extend(other.0);
    }

    pub fn allows(&self, scheme: &str, host: &str, port: u16) -> bool {
        self.0.iter().any(|p| p.matches(scheme, host, port))
    }
}

/// The class of an address that is refused unless the operator allows private addresses, or
/// `None` for a public unicast address.
pub(crate) fn restricted_class(ip: IpAddr) -> Option<&'static str> {
    let ip = match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        },
        v4 => v4,
    };
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            if v4.is_loopback() {
                Some("loopback")
            } else if v4.is_private() || (a == 100 && (64..128).contains(&b)) {
                Some("private")
            } else if v4.is_link_local() {
                Some("link-local")
            } else if v4.is_unspecified() || v4.is_broadcast() || v4.is_multicast() || a == 0 {
                Some("non-unicast")
            } else {
                None
            }
        }
        IpAddr::V6(v6) => {
            let first = v6.segments()[0];
            if v6.is_loopback() {
                Some("loopback")
            } else if first & 0xfe00 == 0xfc00 {
                Some("private")
            } else if first & 0xffc0 == 0xfe80 {
                Some("link-local")
            } else if v6.is_unspecified() || v6.is_multicast() {
                Some("non-unicast")
            } else {
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allows(pattern: &str, scheme: &str, host: &str, port: u16) -> bool {
        HostPattern::parse(pattern)
            .unwrap()
            .matches(scheme, host, port)
    }

    #[test]
    fn exact_host_on_default_port() {
        assert!(allows(
            "https://hooks.slack.com",
            "https",
            "hooks.slack.com",
            443
        ));
        assert!(!allows(
            "https://hooks.slack.com",
            "https",
            "hooks.slack.com",
            8443
        ));
        assert!(!allows(
            "https://hooks.slack.com",
            "http",
            "hooks.slack.com",
            80
        ));
        assert!(!allows(
            "https://hooks.slack.com",
            "https",
            "evil.example",
            443
        ));
    }

    #[test]
    fn wildcard_subdomains_do_not_match_the_bare_domain_or_lookalikes() {
        assert!(allows(
            "https://*.braze.com",
            "https",
            "rest.iad-01.braze.com",
            443
        ));
        assert!(!allows("https://*.braze.com", "https", "braze.com", 443));
        assert!(!allows(
            "https://*.braze.com",
            "https",
            "evilbraze.com",
            443
        ));
    }

    #[test]
    fn scheme_less_patterns_allow_both_schemes_and_ports_can_be_wild() {
        assert!(allows("example.com", "http", "example.com", 80));
        assert!(allows("example.com", "https", "EXAMPLE.com", 443));
        assert!(allows("http://127.0.0.1:*", "http", "127.0.0.1", 39_123));
        assert!(allows("http://[::1]:8080", "http", "[::1]", 8080));
    }

    #[test]
    fn invalid_patterns_are_named() {
        let err = HostPattern::parse("ftp://x.com").unwrap_err();
        assert!(err.contains("\"ftp://x.com\""), "{err}");
        assert!(HostPattern::parse("https://x.com/path").is_err());
        assert!(HostPattern::parse("https://ex*.com").is_err());
        assert!(HostPattern::parse("https://x.com:http").is_err());
    }

    #[test]
    fn classifies_restricted_addresses() {
        let class = |s: &str| restricted_class(s.parse().unwrap());
        assert_eq!(class("127.0.0.1"), Some("loopback"));
        assert_eq!(class("::1"), Some("loopback"));
        assert_eq!(class("::ffff:127.0.0.1"), Some("loopback"));
        assert_eq!(class("10.1.2.3"), Some("private"));
        assert_eq!(class("172.16.0.1"), Some("private"));
        assert_eq!(class("192.168.1.1"), Some("private"));
        assert_eq!(class("169.254.169.254"), Some("link-local"));
        assert_eq!(class("fe80::1"), Some("link-local"));
        assert_eq!(class("fd00::1"), Some("private"));
        assert_eq!(class("0.0.0.0"), Some("non-unicast"));
        assert_eq!(class("93.184.216.34"), None);
        assert_eq!(class("2606:4700::1111"), None);
    }
}
