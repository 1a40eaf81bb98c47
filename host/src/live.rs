//! What the server runs now, and replacing it without a restart.
//!
//! A [`Snapshot`] is one consistent state: the routing table and the plugins it was built
//! from. Ingest takes the current snapshot for each request and the admin API for each answer;
//! a reload builds a whole new snapshot beside the running one, checks it completely, and only
//! then swaps it in, so a configuration is applied whole or not at all. Delivery restarts its
//! workers on the new snapshot (see `serve`): attempts in flight finish on the old one, and
//! queued deliveries are made by the new one.

use crate::config::Config;
use crate::routes::Routes;
use crate::runtime::{Plugin, Runtime};
use std::collections::HashMap;
use std::path::PathBuf;
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

/// Reloads the configuration file and the plugins folder into a new snapshot.
pub struct Reloader {
    pub path: Option<PathBuf>,
    pub runtime: Arc<Runtime>,
    pub live: Arc<Live>,
    /// One reload at a time.
    pub busy: tokio::sync::Mutex<()>,
    /// The latest refusals (newest last), for the admin API.
    pub refusals: std::sync::Mutex<std::collections::VecDeque<Refusal>>,
}

/// A reload that was refused: when, what asked for it, and why.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Refusal {
    pub at_ms: i64,
    pub trigger: &'static str,
    pub problems: Vec<String>,
}

/// How many refusals are kept.
const REFUSALS_KEPT: usize = 20;

/// What a successful reload changed.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Reloaded {
    pub destinations: Vec<String>,
    pub plugins: Vec<String>,
}

impl Reloader {
    /// Reads, checks and applies the configuration. On any problem nothing changes and the
    /// error lists every problem.
    pub async fn reload(&self, trigger: &'static str) -> Result<Reloaded, String> {
        let _one = self.busy.lock().await;
        let Some(path) = &self.path else {
            return Err(
                "the server runs the built-in default configuration; there is no file to \
                 reload (start it with --config FILE)"
                    .into(),
            );
        };
        let outcome = match Config::load(path) {
            Ok(config) => self.apply(config).await,
            Err(e) => Err(e.to_string()),
        };
        self.note(trigger, outcome)
    }

    /// Loads the plugins folder again with the configuration in force (a `.wasm` was added,
    /// replaced or removed).
    pub async fn reload_plugins(&self) -> Result<Reloaded, String> {
        let _one = self.busy.lock().await;
        let config = self.live.current().config.clone();
        let outcome = self.apply(config).await;
        self.note("plugins folder", outcome)
    }

    /// The refusals kept, oldest first.
    pub fn refusals(&self) -> Vec<Refusal> {
        self.lock_refusals().iter().cloned().collect()
    }

    fn lock_refusals(&self) -> std::sync::MutexGuard<'_, std::collections::VecDeque<Refusal>> {
        self.refusals.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn note(
        &self,
        trigger: &'static str,
        outcome: Result<Reloaded, String>,
    ) -> Result<Reloaded, String> {
        if let Err(problems) = &outcome {
            let mut kept = self.lock_refusals();
            if kept.len() == REFUSALS_KEPT {
                kept.pop_front();
            }
            kept.push_back(Refusal {
                at_ms: crate::queue::now(),
                trigger,
                problems: problems.lines().map(str::to_owned).collect(),
            });
        }
        outcome
    }

    async fn apply(&self, config: Config) -> Result<Reloaded, String> {
        let running = self.live.current();
        unchanged(&running.config, &config)?;
        let plugins = crate::serve::load_plugins(&self.runtime, &config)
            .await
            .map_err(|e| format!("{e:#}"))?;
        let routes = Routes::build(&config, &plugins)?;
        let reloaded = Reloaded {
            destinations: routes.destinations.iter().map(|r| r.name.clone()).collect(),
            plugins: {
                let mut ids: Vec<String> = plugins.keys().cloned().collect();
                ids.sort();
                ids
            },
        };
        self.live.replace(Snapshot {
            config,
            plugins,
            routes: Arc::new(routes),
        });
        Ok(reloaded)
    }
}

/// What a reload cannot change in a running server: where it listens and keeps its data, and
/// the sources (write keys), which the ingest listener holds.
fn unchanged(old: &Config, new: &Config) -> Result<(), String> {
    let mut problems = Vec::new();
    let mut differs = |what: &str, same: bool| {
        if !same {
            problems.push(format!(
                "{}: {what} changed; that takes a restart (nothing was reloaded)",
                new.origin
            ));
        }
    };
    differs("server.listen", old.listen == new.listen);
    differs("server.admin_listen", old.admin_listen == new.admin_listen);
    differs("server.admin_token", old.admin_token == new.admin_token);
    differs("server.data_dir", old.data_dir == new.data_dir);
    differs("server.queue_max_mb", old.queue_max_mb == new.queue_max_mb);
    differs(
        "server.dedup_window_s",
        old.dedup_window == new.dedup_window,
    );
    let keys = |c: &Config| {
        c.sources
            .iter()
            .map(|s| (s.name.clone(), s.write_key.clone()))
            .collect::<Vec<_>>()
    };
    differs("sources", keys(old) == keys(new));
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n"))
    }
}
