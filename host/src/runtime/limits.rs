//! Per-invocation sandbox limits and the store-side meters that enforce them.
//!
//! Defaults follow `sandboxing.md`: 64 MiB memory, 2 s of guest CPU, 10 s wall clock including
//! HTTP, 20 outbound requests, 10 MiB per response body, 1 MiB of input, 64 KiB of logs. Every
//! one can be overridden per destination; `validate` keeps overrides inside the hard ceilings the
//! engine was built for.

use super::failure::{Failure, Limit};
use serde::Deserialize;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The largest memory limit a destination may ask for; the instance pool is sized for it.
pub(crate) const MAX_MEMORY_BYTES: u64 = 256 << 20;
/// The largest wall-clock limit a destination may ask for.
pub(crate) const MAX_WALL_CLOCK: Duration = Duration::from_secs(30);
/// How often the epoch ticker advances; the CPU budget is counted in these ticks.
pub(crate) const TICK: Duration = Duration::from_millis(10);

/// Sandbox limits for one invocation (one event or one batch).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Linear memory, in MiB.
    pub memory_mib: u64,
    /// Guest CPU time, in milliseconds.
    pub cpu_ms: u64,
    /// Wall-clock time including outbound HTTP, in milliseconds.
    pub wall_clock_ms: u64,
    /// Outbound HTTP requests.
    pub max_requests: u32,
    /// Bytes of one outbound response body.
    pub max_response_bytes: u64,
    /// Bytes of payloads plus settings handed to the plugin.
    pub max_input_bytes: u64,
    /// Bytes of log output (the log interface, stdout and stderr together).
    pub max_log_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory_mib: 64,
            cpu_ms: 2_000,
            wall_clock_ms: 10_000,
            max_requests: 20,
            max_response_bytes: 10 << 20,
            max_input_bytes: 1 << 20,
            max_log_bytes: 64 << 10,
        }
    }
}

impl Limits {
    /// Checks that every limit is positive and within the engine's ceilings.
    pub fn validate(&self) -> Result<(), String> {
        let max_mib = MAX_MEMORY_BYTES >> 20;
        if self.memory_mib == 0 || self.memory_mib > max_mib {
            return Err(format!(
                "memory_mib must be between 1 and {max_mib}, not {}",
                self.memory_mib
            ));
        }
        let max_wall = MAX_WALL_CLOCK.as_millis() as u64;
        if self.wall_clock_ms == 0 || self.wall_clock_ms > max_wall {
            return Err(format!(
                "wall_clock_ms must be between 1 and {max_wall}, not {}",
                self.wall_clock_ms
            ));
        }
        if self.cpu_ms < TICK.as_millis() as u64 {
            return Err(format!("cpu_ms must be at least 10, not {}", self.cpu_ms));
        }
        for (name, value) in [
            ("max_response_bytes", self.max_response_bytes),
            ("max_input_bytes", self.max_input_bytes),
            ("max_log_bytes", self.max_log_bytes),
        ] {
            if value == 0 {
                return Err(format!("{name} must be greater than 0"));
            }
        }
        Ok(())
    }

    pub fn memory_bytes(&self) -> u64 {
        self.memory_mib << 20
    }

    pub fn cpu(&self) -> Duration {
        Duration::from_millis(self.cpu_ms)
    }

    pub fn wall_clock(&self) -> Duration {
        Duration::from_millis(self.wall_clock_ms)
    }

    /// The CPU budget in epoch ticks.
    pub(crate) fn cpu_ticks(&self) -> u64 {
        (self.cpu_ms / TICK.as_millis() as u64).max(1)
    }
}

/// The first limit breach or denial of an invocation, shared between the store and the outbound
/// HTTP tasks (which run outside the store). The first one recorded wins.
#[derive(Debug, Clone, Default)]
pub(crate) struct Breach(Arc<Mutex<Option<Failure>>>);

impl Breach {
    pub(crate) fn record(&self, failure: Failure) {
        let mut slot = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if slot.is_none() {
            *slot = Some(failure);
        }
    }

    pub(crate) fn take(&self) -> Option<Failure> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).take()
    }
}

/// Enforces the memory limit from inside the store. Growing past it traps at once and records
/// the breach, so the caller reports "memory limit of 64 MiB exceeded" instead of whatever
/// allocation failure the guest would otherwise hit.
pub(crate) struct MemoryLimiter {
    pub(crate) limit: u64,
    pub(crate) breach: Breach,
}

impl wasmtime::ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired as u64 > self.limit {
            self.breach
                .record(Failure::LimitExceeded(Limit::Memory(self.limit)));
            wasmtime::bail!("memory limit exceeded");
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 100_000)
    }

    fn instances(&self) -> usize {
        16
    }

    fn tables(&self) -> usize {
        16
    }

    fn memories(&self) -> usize {
        4
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_documented_values() {
        let l = Limits::default();
        assert_eq!(l.memory_bytes(), 64 << 20);
        assert_eq!(l.cpu(), Duration::from_secs(2));
        assert_eq!(l.wall_clock(), Duration::from_secs(10));
        assert_eq!(l.cpu_ticks(), 200);
        assert!(l.validate().is_ok());
    }

    #[test]
    fn rejects_memory_above_the_pool_ceiling() {
        let l = Limits {
            memory_mib: 512,
            ..Limits::default()
        };
        assert_eq!(
            l.validate().unwrap_err(),
            "memory_mib must be between 1 and 256, not 512"
        );
    }

    #[test]
    fn first_breach_wins() {
        let b = Breach::default();
        b.record(Failure::LimitExceeded(Limit::Requests(20)));
        b.record(Failure::LimitExceeded(Limit::Logs(1)));
        assert_eq!(b.take(), Some(Failure::LimitExceeded(Limit::Requests(20))));
        assert_eq!(b.take(), None);
    }
}
