//! `switchyard serve`: load plugins and configuration, open the queue, then ingest events and
//! deliver them until stopped (Ctrl-C or SIGTERM).
//!
//! Stopping: the ingest server stops accepting and finishes the requests it has (each is
//! answered only once stored), the delivery workers stop leasing, attempts in flight get
//! [`GRACE`] to finish and be recorded, and the queue writer commits what it was sent. Whatever
//! was not delivered stays in the queue for the next start.

use crate::admin::{self, Admin, TokenSource};
use crate::config::Config;
use crate::config::stored::{self, Store};
use crate::deliver;
use crate::ingest::{self, Ingest};
use crate::intake::Intake;
use crate::live::{Live, Reloader, Snapshot};
use crate::queue::sqlite::{self, Retention, SqliteQueue};
use crate::queue::{Queue, Records};
use crate::routes::Routes;
use crate::runtime::{Plugin, Runtime, RuntimeConfig};
use anyhow::Context as _;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// How long attempts in flight may take to finish when the server stops.
pub const GRACE: Duration = Duration::from_secs(10);

/// Runs the server with this configuration until it is told to stop. `path` is the
/// configuration file, read again on SIGHUP and `POST /admin/reload`.
pub async fn serve(config: Config, path: Option<PathBuf>) -> anyhow::Result<()> {
    let builtin = path.is_none();
    let data_dir = std::path::absolute(&config.data_dir)
        .with_context(|| format!("data folder {}", config.data_dir.display()))?;
    let runtime = Runtime::new(&RuntimeConfig {
        cache_dir: Some(data_dir.join("cache")),
        ..RuntimeConfig::default()
    })?;
    // Destinations made through the admin API join the file's.
    let store = Store::in_dir(&data_dir);
    let stored = store.read().map_err(|e| crate::cli::InputError(e.0))?;
    let config = stored::join(&config, &stored, &store).map_err(crate::cli::InputError)?;
    let plugins = load_plugins(&runtime, &config).await?;
    let routes = Arc::new(Routes::build(&config, &plugins).map_err(crate::cli::InputError)?);

    std::fs::create_dir_all(&data_dir)
        .with_context(|| format!("cannot create the data folder {}", data_dir.display()))?;
    let retention = Retention {
        dedup_window: config.dedup_window.as_millis() as i64,
        max_bytes: config.queue_max_mb.map(|mb| mb << 20),
        ..Retention::default()
    };
    let queue = Arc::new(
        SqliteQueue::open(&sqlite::path_in(&data_dir), retention)
            .map_err(|e| crate::cli::InputError(e.to_string()))?,
    );
    report_waiting(&data_dir, &routes);
    let live = Arc::new(Live::new(Snapshot {
        config: config.clone(),
        plugins: plugins.clone(),
        routes: routes.clone(),
    }));
    let reloader = Arc::new(Reloader {
        path,
        runtime: runtime.clone(),
        live: live.clone(),
        busy: tokio::sync::Mutex::default(),
        refusals: std::sync::Mutex::default(),
        archive: crate::versions::Archive {
            dir: data_dir.join("plugins"),
        },
        store,
    });
    reloader.keep_versions(&config, &plugins);
    let (stop, stopping) = watch::channel(false);
    let delivery = tokio::spawn(deliver_live(
        live.clone(),
        queue.clone() as Arc<dyn Queue>,
        stopping.clone(),
    ));
    let signalled = stopped();
    let hangups = tokio::spawn(reload_on_hangup(reloader.clone(), stopping.clone()));
    let watcher = tokio::spawn(watch_plugins(reloader.clone(), stopping.clone()));
    let recent = Arc::new(crate::recent::Recent::default());
    let intake = Intake {
        live: live.clone(),
        queue: queue.clone(),
        recent: recent.clone(),
    };
    let app = ingest::router(Arc::new(Ingest::new(&config.sources, Arc::new(intake))));
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {} (server.listen)", config.listen))?;
    let address = listener.local_addr()?;

    let (token, token_source) = admin::token(config.admin_token.as_deref(), &data_dir)?;
    let admin_listener = tokio::net::TcpListener::bind(config.admin_listen)
        .await
        .with_context(|| {
            format!(
                "cannot listen on {} (server.admin_listen)",
                config.admin_listen
            )
        })?;
    let admin_address = admin_listener.local_addr()?;
    let admin_app = admin::router(Arc::new(Admin {
        token,
        live: live.clone(),
        reloader: reloader.clone(),
        queue: queue.clone() as Arc<dyn Queue>,
        records: queue.clone() as Arc<dyn Records>,
        recent,
    }));
    print_summary(&config, builtin, address, &plugins, &routes);
    print_admin(admin_address, &token_source);

    let mut admin_stopping = stopping.clone();
    let admin_server = tokio::spawn(async move {
        axum::serve(admin_listener, admin_app)
            .with_graceful_shutdown(async move {
                let _ = admin_stopping.wait_for(|s| *s).await;
            })
            .await
    });

    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(signalled)
    .await?;
    tracing::info!("Stopping: finishing the deliveries in flight; the rest stay queued.");
    let _ = stop.send(true);
    if let Ok(Err(e)) = admin_server.await {
        tracing::warn!(error = %e, "The admin API stopped with an error.");
    }
    let _ = hangups.await;
    let _ = watcher.await;
    delivery.await?;
    drop((live, reloader));
    // Every other handle (ingest, workers, admin) is gone once the servers and workers are.
    match Arc::try_unwrap(queue) {
        Ok(queue) => queue.close(),
        Err(_) => tracing::warn!("The queue is still in use at exit."),
    }
    Ok(())
}

/// Delivery on the snapshot in force: when a reload replaces it, the workers stop as they do
/// at shutdown (attempts in flight finish, leases in hand go back) and start again on the new
/// one. Nothing is lost in between: deliveries wait in the queue.
pub async fn deliver_live(live: Arc<Live>, queue: Arc<dyn Queue>, mut stop: watch::Receiver<bool>) {
    let mut changes = live.changes();
    loop {
        // Marked first, then read: a replacement in between restarts the round once more
        // rather than being missed.
        changes.mark_unchanged();
        let routes = live.current().routes.clone();
        // The workers watch both signals themselves: the server's stop and a replacement.
        let mut workers = tokio::spawn(deliver::run(
            routes,
            queue.clone(),
            stop.clone(),
            Some(changes.clone()),
            GRACE,
        ));
        let mut next = tokio::select! {
            () = until_true(&mut stop) => Next::Stop,
            changed = changes.changed() => Next::after(changed),
            _ = &mut workers => Next::Idle,
        };
        if next == Next::Idle {
            // The workers ended on their own (no destinations): wait for a change or the stop.
            next = tokio::select! {
                () = until_true(&mut stop) => Next::Stop,
                changed = changes.changed() => Next::after(changed),
            };
        } else {
            let _ = workers.await;
        }
        if next == Next::Stop {
            return;
        }
        tracing::info!("Configuration reloaded: delivery continues on the new routes.");
    }
}

/// What ends one round of delivery workers.
#[derive(PartialEq)]
enum Next {
    Stop,
    Reload,
    Idle,
}

impl Next {
    fn after(changed: Result<(), watch::error::RecvError>) -> Next {
        if changed.is_ok() {
            Next::Reload
        } else {
            Next::Stop
        }
    }
}

/// Resolves once the flag is true (or its sender is gone).
async fn until_true(flag: &mut watch::Receiver<bool>) {
    let _ = flag.wait_for(|s| *s).await;
}

/// How often the plugins folder is looked at.
const PLUGIN_POLL: Duration = Duration::from_millis(500);

/// What identifies the folder's plugins: each .wasm file's name, size and modification time.
fn folder_state(
    dir: &std::path::Path,
) -> Vec<(std::ffi::OsString, u64, Option<std::time::SystemTime>)> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "wasm"))
        .map(|e| {
            let meta = e.metadata().ok();
            (
                e.file_name(),
                meta.as_ref().map_or(0, std::fs::Metadata::len),
                meta.and_then(|m| m.modified().ok()),
            )
        })
        .collect();
    files.sort();
    files
}

/// Hot loading: when a .wasm file in `[plugins] dir` appears, changes or goes, the plugins are
/// loaded again and the routes rebuilt. A plugin that fails to load (or leaves a subscription
/// without its action) is refused, the reason logged and kept for the admin API, and the
/// version in force keeps serving. Polling (rather than inotify) works the same on every
/// filesystem, network ones included, at the cost of noticing within half a second.
async fn watch_plugins(reloader: Arc<Reloader>, mut stop: watch::Receiver<bool>) {
    let dir = |r: &Reloader| r.live.current().config.plugin_dir.clone();
    let mut last = dir(&reloader).map(|d| folder_state(&d));
    loop {
        tokio::select! {
            () = until_true(&mut stop) => return,
            () = tokio::time::sleep(PLUGIN_POLL) => {}
        }
        let Some(folder) = dir(&reloader) else {
            continue;
        };
        let now = Some(folder_state(&folder));
        if now == last {
            continue;
        }
        last = now;
        match reloader.reload_plugins().await {
            Ok(r) => {
                tracing::info!(plugins = ?r.plugins, "Plugins folder changed: plugins loaded.")
            }
            Err(e) => tracing::error!(
                "Plugins folder changed, but the change is refused; the plugins in force keep \
                 serving:\n{e}"
            ),
        }
    }
}

/// Reloads the configuration on SIGHUP, logging the outcome.
///
/// The handler is installed when this is called, not when the task first runs: until then a
/// SIGHUP would end the process (the signal's default action), and the server may already be
/// answering by the time a busy runtime gets to the task.
fn reload_on_hangup(
    reloader: Arc<Reloader>,
    mut stop: watch::Receiver<bool>,
) -> impl Future<Output = ()> + Send {
    #[cfg(unix)]
    let hangups = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup());
    async move {
        #[cfg(unix)]
        {
            let Ok(mut hangups) = hangups else {
                tracing::warn!("Cannot listen for SIGHUP; reload with POST /admin/reload.");
                return;
            };
            loop {
                tokio::select! {
                    () = until_true(&mut stop) => return,
                    Some(()) = hangups.recv() => match reloader.reload("SIGHUP").await {
                        Ok(r) => tracing::info!(
                            destinations = ?r.destinations,
                            "SIGHUP: configuration reloaded."
                        ),
                        Err(e) => tracing::error!(
                            "SIGHUP: configuration refused, the running one stays:\n{e}"
                        ),
                    },
                }
            }
        }
        #[cfg(not(unix))]
        {
            let _ = reloader;
            until_true(&mut stop).await;
        }
    }
}

/// Logs what waits in the queue from before, and for destinations no longer configured.
fn report_waiting(data_dir: &std::path::Path, routes: &Routes) {
    let Ok(conn) = rusqlite::Connection::open(sqlite::path_in(data_dir)) else {
        return;
    };
    for (destination, count) in sqlite::pending(&conn).unwrap_or_default() {
        if routes.destinations.iter().any(|r| r.name == destination) {
            tracing::info!(destination = %destination, count, "Deliveries waiting from before.");
        } else {
            tracing::warn!(
                destination = %destination,
                count,
                "Deliveries are waiting for a destination that is not configured; they stay \
                 queued until it is configured again."
            );
        }
    }
}

/// The bundled plugins, and every .wasm file of `[plugins] dir`.
pub(crate) async fn load_plugins(
    runtime: &Runtime,
    config: &Config,
) -> anyhow::Result<HashMap<String, Arc<Plugin>>> {
    let mut plugins = HashMap::new();
    for id in crate::bundled::ids() {
        let bytes = crate::bundled::find(id).expect("listed");
        let plugin = runtime.load(bytes, &format!("bundled plugin {id}")).await?;
        plugins.insert(id.to_string(), plugin);
    }
    let Some(dir) = &config.plugin_dir else {
        return Ok(plugins);
    };
    let entries = std::fs::read_dir(dir).map_err(|e| {
        crate::cli::InputError(format!(
            "{}: plugins.dir {}: {e}",
            config.origin,
            dir.display()
        ))
    })?;
    let mut files: Vec<_> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "wasm"))
        .collect();
    files.sort();
    let mut from_dir: HashMap<String, PathBuf> = HashMap::new();
    for path in files {
        let plugin = runtime
            .load_file(&path)
            .await
            .map_err(|e| crate::cli::InputError(e.to_string()))?;
        let id = plugin.manifest().id.clone();
        if let Some(other) = from_dir.get(&id) {
            return Err(crate::cli::InputError(format!(
                "{} declares the plugin id {id:?}, which {} already has",
                path.display(),
                other.display()
            ))
            .into());
        }
        // A file in the folder may bring a newer (or older) version of a bundled plugin.
        if plugins.contains_key(&id) {
            tracing::info!(plugin = %id, file = %path.display(), "Replaces the bundled plugin.");
        }
        from_dir.insert(id.clone(), path);
        plugins.insert(id, plugin);
    }
    Ok(plugins)
}

fn print_summary(
    config: &Config,
    builtin: bool,
    address: SocketAddr,
    plugins: &HashMap<String, Arc<Plugin>>,
    routes: &Routes,
) {
    let mut ids: Vec<&str> = plugins.keys().map(String::as_str).collect();
    ids.sort_unstable();
    println!(
        "Switchyard {} ({})",
        env!("CARGO_PKG_VERSION"),
        config.origin
    );
    println!(
        "  ingest API    http://{address}  (Segment-compatible: POST /v1/track, /v1/identify, /v1/page, /v1/screen, /v1/group, /v1/alias, /v1/batch)"
    );
    println!("  data          {}", config.data_dir.display());
    println!("  plugins       {}", ids.join(", "));
    for source in &config.sources {
        if builtin {
            println!(
                "  source        {} (write key {}, kept in {})",
                source.name,
                source.write_key,
                config.data_dir.join("default-write-key").display()
            );
        } else {
            println!("  source        {}", source.name);
        }
    }
    if routes.destinations.is_empty() {
        println!(
            "  destinations  none: events are accepted and go nowhere; add destinations in a config file or through the admin API (see README)"
        );
    }
    for route in &routes.destinations {
        println!(
            "  destination   {} ({}, from {}): {}",
            route.name,
            route.plugin.manifest().id,
            route.sources.join(", "),
            route
                .subscriptions
                .iter()
                .map(|s| format!("{} → {}", s.trigger, s.action.id))
                .collect::<Vec<_>>()
                .join("; ")
        );
    }
}

fn print_admin(address: SocketAddr, token: &TokenSource) {
    let token = match token {
        TokenSource::Config => "bearer token from server.admin_token".to_string(),
        TokenSource::File(path) => format!("bearer token in {}", path.display()),
    };
    println!("  admin API     http://{address}  ({token}; /healthz, /readyz, /admin/openapi.json)");
}

/// Resolves on Ctrl-C or SIGTERM. As with SIGHUP, the handlers are installed when this is
/// called, so a SIGTERM that comes as soon as the server answers still stops it gracefully.
fn stopped() -> impl Future<Output = ()> + Send {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut interrupt = signal(SignalKind::interrupt()).expect("installing the SIGINT handler");
        let mut terminate =
            signal(SignalKind::terminate()).expect("installing the SIGTERM handler");
        async move {
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = terminate.recv() => {}
            }
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}
