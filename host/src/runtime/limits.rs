//! The store-side meters that enforce the per-invocation limits (the limits themselves, as
//! configured, are `model::Limits`): the first breach recorded, and the memory limiter.

use super::failure::{Failure, Limit};
use std::sync::{Arc, Mutex};

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
    fn first_breach_wins() {
        let b = Breach::default();
        b.record(Failure::LimitExceeded(Limit::Requests(20)));
        b.record(Failure::LimitExceeded(Limit::Logs(1)));
        assert_eq!(b.take(), Some(Failure::LimitExceeded(Limit::Requests(20))));
        assert_eq!(b.take(), None);
    }
}
