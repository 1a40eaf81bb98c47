//! How a destination is delivered to (`[destinations.delivery]`), and the one function that
//! decides what happens after an attempt: delivered, retry (when), or dead letter (why).
//!
//! The rules, in the order they apply:
//! - an HTTP status, when the failure carries one, decides: 408, 423, 429 and 5xx except 501
//!   retry; every other status is final (so a plugin cannot make a 400 retry forever, nor a 503
//!   final by labelling it);
//! - `rate-limited` and `retryable` retry; `Retry-After` is a floor under the backoff;
//! - a limit breach, trap or host-side failure retries `max_breach_attempts` times in all: a
//!   plugin bug should not burn four hours of attempts, but a one-off timeout deserves another go;
//! - everything else (invalid payload or settings, auth, permanent, denied host) is final;
//! - a retry that would fall after the retry window ends is final too.
//!
//! Backoff is exponential with full jitter (a random time between zero and
//! `initial_backoff × 2^attempts`, capped), which spreads a thundering herd of retries.

use crate::config::Delivery;
use crate::runtime::Failure;
use std::time::Duration;

/// What to do with a delivery after an attempt.
#[derive(Debug, Clone, PartialEq)]
pub enum Next {
    Delivered,
    /// Retry after at least this long.
    Retry(Duration),
    /// Give up; the reason is a short stable name (the failure's kind, or `retry-window`).
    DeadLetter(String),
}

/// Whether an HTTP status is worth retrying.
pub fn status_retries(status: u16) -> bool {
    matches!(status, 408 | 423 | 429) || (500..600).contains(&status) && status != 501
}

/// Decides after one attempt. `attempts` counts the attempts made so far, this one included;
/// `age` is how long ago the event was accepted; `random` is uniform in [0, 1).
pub fn classify(
    result: &Result<(), Failure>,
    attempts: u32,
    age: Duration,
    policy: &Delivery,
    random: f64,
) -> Next {
    let failure = match result {
        Ok(()) => return Next::Delivered,
        Err(f) => f,
    };
    let retry = |floor: Option<Duration>| {
        let wait = backoff(attempts, policy, random).max(floor.unwrap_or_default());
        if age + wait > policy.retry_window() {
            Next::DeadLetter("retry-window".into())
        } else {
            Next::Retry(wait)
        }
    };
    let give_up = || Next::DeadLetter(failure.kind().to_string());
    if let Some(status) = failure.status() {
        return if status_retries(status) {
            retry(None)
        } else {
            give_up()
        };
    }
    match failure {
        Failure::RateLimited { retry_after, .. } => retry(*retry_after),
        Failure::Retryable { .. } => retry(None),
        Failure::LimitExceeded(_) | Failure::Trap { .. } | Failure::Internal(_) => {
            if attempts < policy.max_breach_attempts {
                retry(None)
            } else {
                give_up()
            }
        }
        _ => give_up(),
    }
}

/// Full jitter: uniform in [0, min(max, initial × 2^(attempts − 1))].
pub fn backoff(attempts: u32, policy: &Delivery, random: f64) -> Duration {
    let exp = attempts.saturating_sub(1).min(30);
    let ceiling = policy
        .initial_backoff_ms
        .saturating_mul(1 << exp)
        .min(policy.max_backoff_ms);
    Duration::from_millis((ceiling as f64 * random.clamp(0.0, 1.0)) as u64)
}

/// A uniform random number in [0, 1) from the operating system.
pub fn random() -> f64 {
    let bits = getrandom::u64().unwrap_or(0x9e37_79b9_7f4a_7c15);
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(status: u16) -> Result<(), Failure> {
        Err(Failure::Permanent {
            message: "x".into(),
            status: Some(status),
        })
    }

    #[test]
    fn statuses_retry_as_segment_does() {
        let p = Delivery::default();
        for s in [408, 423, 429, 500, 502, 503, 504, 599] {
            assert!(
                matches!(
                    classify(&failure(s), 1, Duration::ZERO, &p, 0.5),
                    Next::Retry(_)
                ),
                "{s}"
            );
        }
        for s in [400, 401, 403, 404, 413, 422, 501] {
            assert_eq!(
                classify(&failure(s), 1, Duration::ZERO, &p, 0.5),
                Next::DeadLetter("permanent".into()),
                "{s}"
            );
        }
    }

    #[test]
    fn retry_after_is_a_floor_and_the_window_ends_retries() {
        let p = Delivery::default();
        let limited = Err(Failure::RateLimited {
            message: "slow down".into(),
            retry_after: Some(Duration::from_secs(30)),
        });
        assert_eq!(
            classify(&limited, 1, Duration::ZERO, &p, 0.0),
            Next::Retry(Duration::from_secs(30))
        );
        let late = Duration::from_secs(p.retry_window_s) - Duration::from_secs(10);
        assert_eq!(
            classify(&limited, 1, late, &p, 0.0),
            Next::DeadLetter("retry-window".into())
        );
    }

    #[test]
    fn breaches_retry_a_bounded_number_of_times() {
        let p = Delivery::default();
        let trap = Err(Failure::Trap {
            message: "boom".into(),
        });
        assert!(matches!(
            classify(&trap, 2, Duration::ZERO, &p, 0.1),
            Next::Retry(_)
        ));
        assert_eq!(
            classify(&trap, 3, Duration::ZERO, &p, 0.1),
            Next::DeadLetter("trap".into())
        );
        let auth = Err(Failure::Auth {
            message: "bad key".into(),
            status: None,
        });
        assert_eq!(
            classify(&auth, 1, Duration::ZERO, &p, 0.1),
            Next::DeadLetter("auth".into())
        );
    }

    #[test]
    fn backoff_doubles_up_to_the_cap_with_full_jitter() {
        let p = Delivery::default();
        assert_eq!(backoff(1, &p, 0.999_999), Duration::from_millis(999));
        assert_eq!(backoff(3, &p, 0.5), Duration::from_millis(2_000));
        assert_eq!(
            backoff(40, &p, 1.0),
            Duration::from_millis(p.max_backoff_ms)
        );
        assert_eq!(backoff(5, &p, 0.0), Duration::ZERO);
        let r = random();
        assert!((0.0..1.0).contains(&r));
    }
}
