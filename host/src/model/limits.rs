//! Sandbox limits for one invocation, as configured per destination (`[destinations.limits]`).
//!
//! Defaults: 64 MiB memory, 2 s of guest CPU, 10 s wall clock including HTTP, 20 outbound
//! requests, 10 MiB per response body, 1 MiB of input, 64 KiB of logs. Every one can be
//! overridden per destination; [`Limits::validate`] keeps overrides inside the hard ceilings the
//! engine is built for (`MAX_MEMORY_BYTES`, `MAX_WALL_CLOCK`). This is data only: the meters
//! that enforce the limits are in `runtime/limits.rs`.

use serde::Deserialize;
use std::time::Duration;

/// The largest memory limit a destination may ask for; the instance pool is sized for it.
pub const MAX_MEMORY_BYTES: u64 = 256 << 20;
/// The largest wall-clock limit a destination may ask for.
pub const MAX_WALL_CLOCK: Duration = Duration::from_secs(30);
/// How often the epoch ticker advances; the CPU budget is counted in these ticks.
pub const TICK: Duration = Duration::from_millis(10);

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
    pub fn cpu_ticks(&self) -> u64 {
        (self.cpu_ms / TICK.as_millis() as u64).max(1)
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
}
