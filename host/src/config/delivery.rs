//! How a destination is delivered to (`[destinations.delivery]`): concurrency, rate, retries,
//! ordering, batching and the circuit breaker, with the checks on their values. The decisions
//! made with these settings are in `deliver/policy.rs` and `deliver/breaker.rs`.

use serde::Deserialize;
use std::time::Duration;

/// Per-destination delivery settings.
#[derive(Debug, Clone, PartialEq, serde::Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Delivery {
    /// Invocations of this destination's plugin running at once.
    pub concurrency: u32,
    /// Invocations per second at most; 0 for no limit.
    pub rate_limit: u32,
    /// How long after acceptance an event is retried before it goes to dead letters, seconds.
    pub retry_window_s: u64,
    /// The first retry waits up to this long; each later one up to twice as long.
    pub initial_backoff_ms: u64,
    /// No retry waits longer than this (before `Retry-After`).
    pub max_backoff_ms: u64,
    /// Attempts in all when the plugin breaches a limit, traps or the host fails.
    pub max_breach_attempts: u32,
    /// Deliver each user's events (by userId, else anonymousId) one at a time, in order.
    pub ordered: bool,
    /// How long a batch may wait to fill up, milliseconds.
    pub batch_wait_ms: u64,
    /// Invocations failing in a row that pause the destination (see `breaker.rs`); 0: never.
    pub breaker_failures: u32,
    /// The first pause, milliseconds; each pause in a row doubles it, up to `max_backoff_ms`.
    pub breaker_pause_ms: u64,
}

impl Default for Delivery {
    fn default() -> Self {
        Delivery {
            concurrency: 16,
            rate_limit: 0,
            retry_window_s: 4 * 3600,
            initial_backoff_ms: 1_000,
            max_backoff_ms: 10 * 60 * 1000,
            max_breach_attempts: 3,
            ordered: false,
            batch_wait_ms: 1_000,
            breaker_failures: 20,
            breaker_pause_ms: 5_000,
        }
    }
}

impl Delivery {
    /// Checks the values; the message names the key.
    pub fn validate(&self) -> Result<(), String> {
        if self.concurrency == 0 || self.concurrency > 1000 {
            return Err(format!(
                "concurrency must be between 1 and 1000, not {}",
                self.concurrency
            ));
        }
        if self.retry_window_s == 0 {
            return Err("retry_window_s must be greater than 0".into());
        }
        if self.initial_backoff_ms == 0 || self.initial_backoff_ms > self.max_backoff_ms {
            return Err(format!(
                "initial_backoff_ms must be between 1 and max_backoff_ms ({}), not {}",
                self.max_backoff_ms, self.initial_backoff_ms
            ));
        }
        if self.max_breach_attempts == 0 {
            return Err("max_breach_attempts must be at least 1".into());
        }
        if self.breaker_failures > 0 && self.breaker_pause_ms == 0 {
            return Err("breaker_pause_ms must be greater than 0".into());
        }
        if self.batch_wait_ms > 60_000 {
            return Err(format!(
                "batch_wait_ms must be at most 60000, not {}",
                self.batch_wait_ms
            ));
        }
        Ok(())
    }

    pub fn retry_window(&self) -> Duration {
        Duration::from_secs(self.retry_window_s)
    }
}
