//! What the server runs now, and replacing it without a restart.
//!
//! A [`Snapshot`] is one consistent state: the configuration, the plugins and the routing table
//! built from them. Ingest takes the current snapshot for each request and the admin API for
//! each answer. A reload ([`reload::Reloader`]) builds a whole new snapshot beside the running
//! one, checks it completely, and only then swaps it in, so a configuration is applied whole or
//! not at all. Delivery restarts its workers on the new snapshot (`server/delivery.rs`): attempts
//! in flight finish on the old one, and queued deliveries are made by the new one.
//!
//! Files: `plugins.rs` loads the bundled plugins and the plugins folder; `reload.rs` checks and
//! applies changes (file, folder, admin API); `hooks.rs` runs the actions' hooks a change needs
//! and keeps their outputs; `versions.rs` keeps every folder plugin version for rollback.

pub mod changes;
pub mod hooks;
mod plugins;
pub mod reload;
pub mod versions;

pub use plugins::load_plugins;
pub use reload::{ChangeError, Refusal, Reloaded, Reloader};

use crate::config::Config;
use crate::routes::Routes;
use crate::runtime::Plugin;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use tokio::sync::watch;

/// One consistent state of the server.
pub struct Snapshot {
    pub config: Config,
    pub plugins: HashMap<String, Arc<Plugin>>,
    pub routes: Arc<Routes>,
}

/// The current snapshot, and a signal for each replacement.
pub struct Live {
    current: RwLock<Arc<Snapshot>>,
    generation: watch::Sender<u64>,
}

impl Live {
    pub fn new(first: Snapshot) -> Live {
        Live {
            current: RwLock::new(Arc::new(first)),
            generation: watch::channel(0).0,
        }
    }

    /// The snapshot in force now.
    pub fn current(&self) -> Arc<Snapshot> {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Puts `next` in force.
    pub fn replace(&self, next: Snapshot) {
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(next);
        self.generation.send_modify(|g| *g += 1);
    }

    /// Changes whenever a snapshot is replaced.
    pub fn changes(&self) -> watch::Receiver<u64> {
        self.generation.subscribe()
    }
}
