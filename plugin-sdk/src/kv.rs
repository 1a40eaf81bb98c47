//! A small key-value store the host keeps per destination (WIT 0.2 `kv`), for state that must
//! outlive one invocation: an OAuth access token until it expires, say.
//!
//! It is a cache: the host may forget entries (restart, reload, full store), so keep only what
//! you can rebuild. Use it through [`Context::kv_get`](crate::Context::kv_get) and friends;
//! unit tests give the context a [`FakeKv`] to preload and inspect.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::time::Duration;

/// Where a [`Context`](crate::Context)'s key-value calls go.
pub trait KeyValue {
    /// The value under `key`, unless absent or expired.
    fn get(&self, key: &str) -> Option<String>;
    /// Keeps `value` under `key` for `ttl` (zero: no expiry). `Err` says why it was refused.
    fn set(&self, key: &str, value: &str, ttl: Duration) -> Result<(), String>;
    /// Forgets `key`.
    fn delete(&self, key: &str);
}

/// An in-memory store for native unit tests. Clones share the same entries, so one `FakeKv`
/// given to several contexts shows what survives from one invocation to the next. Time does
/// not pass: entries never expire, and [`FakeKv::ttl`] tells what TTL was asked for.
#[derive(Debug, Clone, Default)]
pub struct FakeKv(Rc<RefCell<HashMap<String, (String, Duration)>>>);

impl FakeKv {
    /// An empty store.
    pub fn new() -> FakeKv {
        FakeKv::default()
    }

    /// The TTL `key` was last set with.
    pub fn ttl(&self, key: &str) -> Option<Duration> {
        self.0.borrow().get(key).map(|(_, ttl)| *ttl)
    }

    /// Every key held, sorted.
    pub fn keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self.0.borrow().keys().cloned().collect();
        keys.sort();
        keys
    }
}

impl KeyValue for FakeKv {
    fn get(&self, key: &str) -> Option<String> {
        self.0.borrow().get(key).map(|(v, _)| v.clone())
    }

    fn set(&self, key: &str, value: &str, ttl: Duration) -> Result<(), String> {
        self.0
            .borrow_mut()
            .insert(key.to_string(), (value.to_string(), ttl));
        Ok(())
    }

    fn delete(&self, key: &str) {
        self.0.borrow_mut().remove(key);
    }
}

/// The host's store, through the `kv` import.
#[cfg(target_arch = "wasm32")]
pub(crate) struct HostKv;

#[cfg(target_arch = "wasm32")]
impl KeyValue for HostKv {
    fn get(&self, key: &str) -> Option<String> {
        crate::guest::bindings::switchyard::destination::kv::get(key)
    }

    fn set(&self, key: &str, value: &str, ttl: Duration) -> Result<(), String> {
        crate::guest::bindings::switchyard::destination::kv::set(key, value, ttl.as_secs())
    }

    fn delete(&self, key: &str) {
        crate::guest::bindings::switchyard::destination::kv::delete(key)
    }
}
