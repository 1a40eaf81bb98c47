//! The error a plugin returns: it says *what happened*; the host decides whether and when to
//! retry.

use std::fmt;
use std::time::Duration;

/// Why an action did not deliver.
///
/// There is deliberately no blanket conversion from other error types: the author decides, case
/// by case, whether a failure is worth retrying.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The payload cannot be sent as it is; retrying will not help.
    InvalidPayload(String),
    /// The destination's settings are wrong; an operator must fix them.
    InvalidSettings(String),
    /// The vendor refused the credentials.
    Auth {
        /// What happened, for people.
        message: String,
        /// The HTTP status the vendor answered, when there was one.
        status: Option<u16>,
    },
    /// The vendor throttled us.
    RateLimited {
        /// What happened, for people.
        message: String,
        /// How long the vendor asked us to wait.
        retry_after: Option<Duration>,
    },
    /// A passing failure; the same request may succeed later.
    Retryable {
        /// What happened, for people.
        message: String,
        /// The HTTP status the vendor answered, when there was one.
        status: Option<u16>,
    },
    /// A final failure.
    Permanent {
        /// What happened, for people.
        message: String,
        /// The HTTP status the vendor answered, when there was one.
        status: Option<u16>,
    },
}

impl Error {
    /// The payload cannot be sent as it is.
    pub fn invalid_payload(message: impl Into<String>) -> Error {
        Error::InvalidPayload(message.into())
    }

    /// The settings are wrong.
    pub fn invalid_settings(message: impl Into<String>) -> Error {
        Error::InvalidSettings(message.into())
    }

    /// The vendor refused the credentials.
    pub fn auth(message: impl Into<String>) -> Error {
        Error::Auth {
            message: message.into(),
            status: None,
        }
    }

    /// The vendor throttled us; `retry_after` is how long it asked us to wait.
    pub fn rate_limited(message: impl Into<String>, retry_after: Option<Duration>) -> Error {
        Error::RateLimited {
            message: message.into(),
            retry_after,
        }
    }

    /// A passing failure worth retrying.
    pub fn retryable(message: impl Into<String>) -> Error {
        Error::Retryable {
            message: message.into(),
            status: None,
        }
    }

    /// A final failure, not worth retrying.
    pub fn permanent(message: impl Into<String>) -> Error {
        Error::Permanent {
            message: message.into(),
            status: None,
        }
    }

    /// Classifies a non-2xx HTTP status the way Segment does: 401 and 403 are auth failures,
    /// 429 is a rate limit, 408, 423 and 5xx except 501 are retryable, everything else is final.
    pub fn from_status(
        status: u16,
        message: impl Into<String>,
        retry_after: Option<Duration>,
    ) -> Error {
        let message = message.into();
        match status {
            401 | 403 => Error::Auth {
                message,
                status: Some(status),
            },
            429 => Error::RateLimited {
                message,
                retry_after,
            },
            408 | 423 | 500 | 502..=599 => Error::Retryable {
                message,
                status: Some(status),
            },
            _ => Error::Permanent {
                message,
                status: Some(status),
            },
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InvalidPayload(m) => write!(f, "invalid payload: {m}"),
            Error::InvalidSettings(m) => write!(f, "invalid settings: {m}"),
            Error::Auth { message, .. } => write!(f, "authentication failed: {message}"),
            Error::RateLimited { message, .. } => write!(f, "rate limited: {message}"),
            Error::Retryable { message, .. } | Error::Permanent { message, .. } => {
                f.write_str(message)
            }
        }
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_statuses_like_segment() {
        assert!(matches!(
            Error::from_status(401, "", None),
            Error::Auth { .. }
        ));
        assert!(matches!(
            Error::from_status(429, "", None),
            Error::RateLimited { .. }
        ));
        for s in [408, 423, 500, 502, 503, 599] {
            assert!(
                matches!(Error::from_status(s, "", None), Error::Retryable { .. }),
                "{s}"
            );
        }
        for s in [400, 404, 422, 501] {
            assert!(
                matches!(Error::from_status(s, "", None), Error::Permanent { .. }),
                "{s}"
            );
        }
    }
}
