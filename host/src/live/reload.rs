//! Checking and applying a change: the configuration file again (SIGHUP, `POST
//! /admin/reload`), the plugins folder again (a `.wasm` added, replaced or removed), or the
//! stored destinations (the admin API). Each builds the next [`Snapshot`] beside the running
//! one and swaps it in only when every check passed; otherwise nothing changes and every
//! problem is reported. One change runs at a time.

use super::hooks::HookStore;
use super::versions::Archive;
use super::{Live, Snapshot};
use crate::config::stored::{self, DestinationSpec, Store};
use crate::config::{Config, ConfigError};
use crate::problems::Problems;
use crate::queue::EventLog;
use crate::runtime::{Plugin, Runtime};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

/// Reloads the configuration file and the plugins folder into a new snapshot.
pub struct Reloader {
    pub path: Option<PathBuf>,
    pub runtime: Arc<Runtime>,
    pub live: Arc<Live>,
    /// One reload at a time.
    pub busy: tokio::sync::Mutex<()>,
    /// The latest refusals (newest last), for the admin API.
    pub refusals: std::sync::Mutex<std::collections::VecDeque<Refusal>>,
    /// Where loaded versions of folder plugins are kept.
    pub archive: Archive,
    /// The destinations made through the admin API.
    pub store: Store,
    /// The outputs of the hooks that ran.
    pub hooks: HookStore,
    /// The event log, whose readers a destination gets before a change that adds it is
    /// answered; `None` where nothing reads a log (tests of the API alone).
    pub log: Option<Arc<dyn EventLog>>,
}

/// Why a change through the admin API was not made; nothing changed in any case.
#[derive(Debug)]
pub enum ChangeError {
    /// What it names does not exist.
    NotFound(String),
    /// It clashes with what exists (a name taken, a destination of the configuration file).
    Conflict(String),
    /// The request itself is wrong.
    BadRequest(String),
    /// The result would not run: every problem.
    Refused(Problems),
    /// The store could not be read or written.
    Store(String),
}

/// A reload that was refused: when, what asked for it, and why.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Refusal {
    pub at_ms: i64,
    pub trigger: &'static str,
    pub problems: Problems,
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
    pub async fn reload(&self, trigger: &'static str) -> Result<Reloaded, Problems> {
        let _one = self.busy.lock().await;
        let Some(path) = &self.path else {
            return Err(
                "the server runs the built-in default configuration; there is no file to \
                 reload (start it with --config FILE)"
                    .into(),
            );
        };
        let outcome = match self.with_stored(Config::load(path)) {
            Ok(config) => self.apply(config).await,
            Err(e) => Err(e),
        };
        self.note(trigger, outcome)
    }

    /// Loads the plugins folder again with the configuration in force (a `.wasm` was added,
    /// replaced or removed).
    pub async fn reload_plugins(&self) -> Result<Reloaded, Problems> {
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
        outcome: Result<Reloaded, Problems>,
    ) -> Result<Reloaded, Problems> {
        crate::metrics::reload(trigger, outcome.is_ok());
        if let Err(problems) = &outcome {
            let mut kept = self.lock_refusals();
            if kept.len() == REFUSALS_KEPT {
                kept.pop_front();
            }
            kept.push_back(Refusal {
                at_ms: crate::queue::now(),
                trigger,
                problems: problems.clone(),
            });
        }
        outcome
    }

    /// The configuration file's content joined with the stored destinations.
    pub fn with_stored(&self, file: Result<Config, ConfigError>) -> Result<Config, Problems> {
        let file = file.map_err(|e| Problems::from(e.to_string()))?;
        let stored = self
            .store
            .read()
            .map_err(|e| Problems::from(e.to_string()))?;
        stored::join(&file, &stored, &self.store)
    }

    async fn apply(&self, config: Config) -> Result<Reloaded, Problems> {
        let (next, reloaded) = self.prepare(config).await?;
        self.open_readers(&next).await?;
        self.swap(next);
        Ok(reloaded)
    }

    /// Makes the event log's reader of every destination of `next` that has none, at the
    /// log's end, before the change is answered: an event accepted after the answer reaches
    /// a destination the change added.
    async fn open_readers(&self, next: &Snapshot) -> Result<(), Problems> {
        let Some(log) = &self.log else {
            return Ok(());
        };
        for route in &next.routes.destinations {
            log.open_consumer(&route.name, route.start(), crate::queue::now())
                .await
                .map_err(|e| {
                    Problems::from(format!(
                        "destination {:?}: cannot start reading the event log: {e}",
                        route.name
                    ))
                })?;
        }
        Ok(())
    }

    /// Builds and checks the snapshot of `config` beside the running one.
    async fn prepare(&self, mut config: Config) -> Result<(Snapshot, Reloaded), Problems> {
        let running = self.live.current();
        unchanged(&running.config, &config)?;
        let plugins = super::load_plugins(&self.runtime, &config).await?;
        let routes = super::hooks::routes(&mut config, &plugins, &self.hooks).await?;
        let reloaded = Reloaded {
            destinations: routes.destinations.iter().map(|r| r.name.clone()).collect(),
            plugins: {
                let mut ids: Vec<String> = plugins.keys().cloned().collect();
                ids.sort();
                ids
            },
        };
        let next = Snapshot {
            config,
            plugins,
            routes: Arc::new(routes),
        };
        Ok((next, reloaded))
    }

    fn swap(&self, next: Snapshot) {
        self.keep_versions(&next.config, &next.plugins);
        self.live.replace(next);
    }

    /// Changes the stored destinations with `change` and applies the result: checked whole,
    /// written to the store, then put in force. On any problem nothing changes.
    pub async fn change_stored<T>(
        &self,
        change: impl FnOnce(&mut Vec<DestinationSpec>, &Snapshot) -> Result<T, ChangeError>,
    ) -> Result<T, ChangeError> {
        let _one = self.busy.lock().await;
        let running = self.live.current();
        let mut specs = self
            .store
            .read()
            .map_err(|e| ChangeError::Store(e.to_string()))?;
        let answer = change(&mut specs, &running)?;
        let config =
            stored::join(&running.config, &specs, &self.store).map_err(ChangeError::Refused)?;
        let prepared = match self.prepare(config).await {
            Ok((next, _)) => self.open_readers(&next).await.map(|()| next),
            Err(problems) => Err(problems),
        };
        let next = match prepared {
            Ok(next) => next,
            Err(problems) => {
                crate::metrics::reload("destinations API", false);
                return Err(ChangeError::Refused(problems));
            }
        };
        self.store.write(&specs).map_err(|e| {
            ChangeError::Store(format!("cannot write {}: {e}", self.store.path.display()))
        })?;
        self.swap(next);
        crate::metrics::reload("destinations API", true);
        Ok(answer)
    }
}

impl Reloader {
    /// Keeps every plugin loaded from the plugins folder in the archive.
    pub fn keep_versions(&self, config: &Config, plugins: &HashMap<String, Arc<Plugin>>) {
        let Some(folder) = &config.plugin_dir else {
            return;
        };
        for plugin in plugins.values() {
            let path = std::path::Path::new(plugin.origin());
            if !path.starts_with(folder) {
                continue;
            }
            let kept = std::fs::read(path).and_then(|bytes| {
                let m = plugin.manifest();
                self.archive.keep(&m.id, &m.version, plugin.hash(), &bytes)
            });
            if let Err(e) = kept {
                tracing::warn!(plugin = %plugin.manifest().id, error = %e, "Cannot keep this plugin version for rollback.");
            }
        }
    }

    /// Installs `bytes` as plugin `id` in the plugins folder and applies it; on refusal the
    /// folder is put back as it was, so the running version and the folder agree.
    pub async fn install(&self, id: &str, bytes: &[u8]) -> Result<Reloaded, Problems> {
        let snapshot = self.live.current();
        let folder = snapshot.config.plugin_dir.clone().ok_or_else(|| {
            "no plugins folder is configured ([plugins] dir); plugins cannot be installed"
                .to_string()
        })?;
        let path = self.file_of(&snapshot, &folder, id);
        let before = std::fs::read(&path).ok();
        crate::files::write_whole(&path, bytes)
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        let outcome = self.reload_plugins().await;
        if outcome.is_err() {
            let restored = match &before {
                Some(old) => crate::files::write_whole(&path, old),
                None => std::fs::remove_file(&path),
            };
            if let Err(e) = restored {
                tracing::error!(file = %path.display(), error = %e, "Cannot put the previous plugin file back.");
            }
        }
        outcome
    }

    /// Removes plugin `id`'s file from the plugins folder and applies that; refused (and the
    /// file put back) when a destination still uses it.
    pub async fn remove(&self, id: &str) -> Result<Reloaded, Problems> {
        let snapshot = self.live.current();
        let Some(plugin) = snapshot.plugins.get(id) else {
            return Err(format!("no plugin {id:?} is loaded").into());
        };
        let path = PathBuf::from(plugin.origin());
        let in_folder = snapshot
            .config
            .plugin_dir
            .as_ref()
            .is_some_and(|f| path.starts_with(f));
        if !in_folder {
            return Err(format!(
                "plugin {id:?} is bundled with the server ({}); only plugins from the plugins folder can be removed",
                plugin.origin()
            )
            .into());
        }
        let before =
            std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        std::fs::remove_file(&path)
            .map_err(|e| format!("cannot remove {}: {e}", path.display()))?;
        let outcome = self.reload_plugins().await;
        if outcome.is_err()
            && let Err(e) = crate::files::write_whole(&path, &before)
        {
            tracing::error!(file = %path.display(), error = %e, "Cannot put the plugin file back.");
        }
        outcome
    }

    /// The folder file that provides `id` now, or `<id>.wasm` in the folder.
    fn file_of(&self, snapshot: &Snapshot, folder: &std::path::Path, id: &str) -> PathBuf {
        snapshot
            .plugins
            .get(id)
            .map(|p| PathBuf::from(p.origin()))
            .filter(|p| p.starts_with(folder))
            .unwrap_or_else(|| folder.join(format!("{id}.wasm")))
    }
}

/// What a reload cannot change in a running server: where it listens and keeps its data, and
/// the sources (write keys), which the ingest listener holds.
fn unchanged(old: &Config, new: &Config) -> Result<(), Problems> {
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
    differs(
        "server.console_idle_s",
        old.console_idle == new.console_idle,
    );
    let keys = |c: &Config| {
        c.sources
            .iter()
            .map(|s| (s.name.clone(), s.write_key.clone()))
            .collect::<Vec<_>>()
    };
    differs("sources", keys(old) == keys(new));
    match Problems::from_list(problems) {
        None => Ok(()),
        Some(problems) => Err(problems),
    }
}
