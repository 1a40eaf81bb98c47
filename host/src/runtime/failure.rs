//! Why an invocation did not deliver, as one enum that the CLI, the delivery loop and (later)
//! metrics share.
//!
//! Two sources feed it: the plugin's own typed `action-error` (what happened at the vendor), and
//! the sandbox (a limit breached, a host denied, a trap). The sandbox's word wins: when a plugin
//! breaches a limit and then reports some error of its own, the breach is what is reported.

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};
use std::fmt;
use std::time::Duration;

/// A sandbox limit, with the value that was in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Limit {
    /// Guest CPU time per invocation.
    Cpu(Duration),
    /// Wall-clock time per invocation, outbound HTTP included.
    WallClock(Duration),
    /// Linear memory, in bytes.
    Memory(u64),
    /// Outbound requests per invocation.
    Requests(u32),
    /// Bytes of one outbound response body.
    ResponseBody(u64),
    /// Bytes of input (payloads plus settings) handed to the plugin.
    Input { size: u64, limit: u64 },
    /// Bytes of log output per invocation.
    Logs(u64),
}

impl Limit {
    /// A short stable name, used as `limit` in JSON answers and as a metric label.
    pub fn name(&self) -> &'static str {
        match self {
            Limit::Cpu(_) => "cpu",
            Limit::WallClock(_) => "wall-clock",
            Limit::Memory(_) => "memory",
            Limit::Requests(_) => "requests",
            Limit::ResponseBody(_) => "response-body",
            Limit::Input { .. } => "input",
            Limit::Logs(_) => "logs",
        }
    }
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Limit::Cpu(d) => write!(f, "cpu limit of {} exceeded", duration(*d)),
            Limit::WallClock(d) => write!(f, "wall-clock limit of {} exceeded", duration(*d)),
            Limit::Memory(b) => write!(f, "memory limit of {} exceeded", bytes(*b)),
            Limit::Requests(n) => {
                write!(f, "outbound request limit of {n} per invocation exceeded")
            }
            Limit::ResponseBody(b) => {
                write!(f, "response body limit of {} exceeded", bytes(*b))
            }
            Limit::Input { size, limit } => write!(
                f,
                "input limit of {} exceeded: payloads and settings are {}",
                bytes(*limit),
                bytes(*size)
            ),
            Limit::Logs(b) => write!(f, "log output limit of {} exceeded", bytes(*b)),
        }
    }
}

/// Why an invocation (or one event of a batch) did not deliver.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Failure {
    /// The payload cannot be sent as it is: refused by the host's validation or by the plugin.
    InvalidPayload(String),
    /// The destination's settings are wrong.
    InvalidSettings(String),
    /// The vendor refused the credentials.
    Auth {
        message: String,
        status: Option<u16>,
    },
    /// The vendor throttled us.
    RateLimited {
        message: String,
        retry_after: Option<Duration>,
    },
    /// A passing failure; the same request may succeed later.
    Retryable {
        message: String,
        status: Option<u16>,
    },
    /// A final failure.
    Permanent {
        message: String,
        status: Option<u16>,
    },
    /// A sandbox limit was breached.
    LimitExceeded(Limit),
    /// The plugin asked for a host the allow-list does not name.
    HostDenied { host: String },
    /// The host resolved to an address class the operator has not allowed.
    AddressDenied {
        host: String,
        address: String,
        class: &'static str,
    },
    /// The plugin trapped (a panic, an `unreachable`, a stack overflow).
    Trap { message: String },
    /// The plugin broke the contract (e.g. a batch answer of the wrong length), or the host failed.
    Internal(String),
}

impl Failure {
    /// A short stable name for the kind of failure.
    pub fn kind(&self) -> &'static str {
        match self {
            Failure::InvalidPayload(_) => "invalid-payload",
            Failure::InvalidSettings(_) => "invalid-settings",
            Failure::Auth { .. } => "auth",
            Failure::RateLimited { .. } => "rate-limited",
            Failure::Retryable { .. } => "retryable",
            Failure::Permanent { .. } => "permanent",
            Failure::LimitExceeded(_) => "limit-exceeded",
            Failure::HostDenied { .. } => "host-denied",
            Failure::AddressDenied { .. } => "address-denied",
            Failure::Trap { .. } => "trap",
            Failure::Internal(_) => "internal",
        }
    }

    /// The HTTP status the vendor answered, when the failure carries one.
    pub fn status(&self) -> Option<u16> {
        match self {
            Failure::Auth { status, .. }
            | Failure::Retryable { status, .. }
            | Failure::Permanent { status, .. } => *status,
            _ => None,
        }
    }
}

impl std::error::Error for Failure {}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::InvalidPayload(m) => write!(f, "invalid payload: {m}"),
            Failure::InvalidSettings(m) => write!(f, "invalid settings: {m}"),
            Failure::Auth { message, .. } => write!(f, "authentication failed: {message}"),
            Failure::RateLimited {
                message,
                retry_after,
            } => {
                write!(f, "rate limited: {message}")?;
                if let Some(after) = retry_after {
                    write!(f, " (retry after {})", duration(*after))?;
                }
                Ok(())
            }
            Failure::Retryable { message, .. } | Failure::Permanent { message, .. } => {
                f.write_str(message)
            }
            Failure::LimitExceeded(limit) => limit.fmt(f),
            Failure::HostDenied { host } => write!(f, "host {host} is not in the allow-list"),
            Failure::AddressDenied {
                host,
                address,
                class,
            } => write!(
                f,
                "host {host} resolves to {address}, a {class} address, which is refused unless \
                 the operator allows private addresses"
            ),
            Failure::Trap { message } => write!(f, "plugin trapped: {message}"),
            Failure::Internal(m) => f.write_str(m),
        }
    }
}

/// `{"kind": …, "message": …}` plus the fields a caller may act on (`status`, `retry_after_ms`,
/// `limit`).
impl Serialize for Failure {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("kind", self.kind())?;
        map.serialize_entry("message", &self.to_string())?;
        if let Some(status) = self.status() {
            map.serialize_entry("status", &status)?;
        }
        match self {
            Failure::RateLimited {
                retry_after: Some(after),
                ..
            } => {
                let ms = u64::try_from(after.as_millis()).unwrap_or(u64::MAX);
                map.serialize_entry("retry_after_ms", &ms)?;
            }
            Failure::LimitExceeded(limit) => map.serialize_entry("limit", limit.name())?,
            Failure::HostDenied { host } | Failure::AddressDenied { host, .. } => {
                map.serialize_entry("host", host)?;
            }
            _ => {}
        }
        map.end()
    }
}

/// `2s`, `500ms`, `1.5s`.
pub(crate) fn duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else if ms < 1000 {
        format!("{ms}ms")
    } else {
        format!("{}s", d.as_secs_f64())
    }
}

/// `64 MiB`, `10 KiB`, `100 bytes`.
pub(crate) fn bytes(n: u64) -> String {
    const KIB: u64 = 1024;
    const MIB: u64 = 1024 * 1024;
    if n >= MIB && n.is_multiple_of(MIB) {
        format!("{} MiB", n / MIB)
    } else if n >= KIB && n.is_multiple_of(KIB) {
        format!("{} KiB", n / KIB)
    } else {
        format!("{n} bytes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_messages_name_the_limit_and_its_value() {
        assert_eq!(
            Failure::LimitExceeded(Limit::Cpu(Duration::from_secs(2))).to_string(),
            "cpu limit of 2s exceeded"
        );
        assert_eq!(
            Failure::LimitExceeded(Limit::Memory(64 << 20)).to_string(),
            "memory limit of 64 MiB exceeded"
        );
        assert_eq!(
            Failure::HostDenied {
                host: "evil.example".into()
            }
            .to_string(),
            "host evil.example is not in the allow-list"
        );
    }

    #[test]
    fn serialises_kind_message_and_actionable_fields() {
        let json = serde_json::to_value(Failure::RateLimited {
            message: "slow down".into(),
            retry_after: Some(Duration::from_millis(1500)),
        })
        .unwrap();
        assert_eq!(json["kind"], "rate-limited");
        assert_eq!(json["retry_after_ms"], 1500);
        assert_eq!(
            json["message"],
            "rate limited: slow down (retry after 1.5s)"
        );
    }
}
