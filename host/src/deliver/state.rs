//! What a destination keeps between invocations: its circuit breaker and its key-value store
//! (a cached OAuth token, say). The routing table is plain configuration; this is the state
//! delivery owns beside it.
//!
//! State is keyed by destination name, plugin hash and checked settings, so it survives a
//! reload that leaves the destination as it was, and a destination whose plugin version or
//! settings changed starts afresh (new credentials deserve a new chance, and a new plugin
//! version may store other keys). The admin API reads the same entries to show the breaker.

use super::breaker::Breaker;
use super::counts::DeliveryCounts;
use crate::routes::{Route, Routes};
use crate::runtime::Kv;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// One destination's state.
#[derive(Debug, Default)]
pub struct DestinationState {
    /// Pauses the destination when its invocations keep failing.
    pub breaker: Breaker,
    /// The destination's key-value store (WIT 0.2 `kv`), shared by its invocations.
    pub kv: Arc<Kv>,
}

/// Which destination, as configured now: a change of plugin version or settings is another.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    destination: String,
    plugin_hash: String,
    settings: String,
}

impl Key {
    fn of(route: &Route) -> Key {
        Key {
            destination: route.name.clone(),
            plugin_hash: route.plugin.hash().to_string(),
            settings: route.settings.clone(),
        }
    }
}

/// The state of every destination, shared by the delivery workers and the admin API.
#[derive(Debug, Default)]
pub struct DestinationStates {
    by_key: Mutex<HashMap<Key, Arc<DestinationState>>>,
    /// Each destination's deliveries of the last 24 hours, by name (they outlast a change of
    /// plugin version or settings).
    pub counts: DeliveryCounts,
}

impl DestinationStates {
    /// The state of `route`'s destination as configured now, made on first use.
    pub fn of(&self, route: &Route) -> Arc<DestinationState> {
        self.lock().entry(Key::of(route)).or_default().clone()
    }

    /// Forgets the state of destinations that `routes` no longer has as they were.
    pub fn keep_only(&self, routes: &Routes) {
        let keys: Vec<Key> = routes.destinations.iter().map(Key::of).collect();
        self.lock().retain(|key, _| keys.contains(key));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Arc<DestinationState>>> {
        self.by_key.lock().unwrap_or_else(|e| e.into_inner())
    }
}
