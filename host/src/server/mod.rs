//! `switchyard serve`: load plugins and configuration, open the queue, then ingest events and
//! deliver them until stopped (Ctrl-C or SIGTERM).
//!
//! Stopping: the ingest server stops accepting and finishes the requests it has (each is
//! answered only once stored), the delivery workers stop leasing, attempts in flight get
//! [`GRACE`] to finish and be recorded, and the queue writer commits what it was sent. Whatever
//! was not delivered stays in the queue for the next start.
//!
//! This module only composes; each piece it starts is in a file of its own: the live snapshot
//! and reloads are `live/`, delivery on the snapshot in force is `delivery.rs`, the plugins
//! folder's watcher is `watch.rs`, signals are `signals.rs`, the startup summary `summary.rs`.
//! Dependencies run one way: `cli` calls this module, and nothing below it calls back up.

mod delivery;
mod hotload;
mod signals;
mod summary;

pub use delivery::deliver_live;

use crate::admin::{self, Admin};
use crate::config::Config;
use crate::config::stored::{self, Store};
use crate::console::{self, Console, Sessions, Throttle};
use crate::deliver::state::DestinationStates;
use crate::ingest::intake::Intake;
use crate::ingest::{self, Ingest};
use crate::live::hooks::HookStore;
use crate::live::versions::Archive;
use crate::live::{Live, Reloader, Snapshot, load_plugins};
use crate::problems::Problems;
use crate::queue::sqlite::{self, Retention, SqliteQueue};
use crate::queue::{EventLog, Queue, Records};
use crate::runtime::{Runtime, RuntimeConfig};
use anyhow::Context as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// Why the server did not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The configuration, the stored destinations or the plugins are refused: every problem.
    #[error(transparent)]
    Refused(#[from] Problems),
    /// The queue in the data folder cannot be opened.
    #[error("{0}")]
    Queue(String),
    /// Anything else: the data folder, a listening address, the plugin runtime.
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

/// How long attempts in flight may take to finish when the server stops.
pub const GRACE: Duration = Duration::from_secs(10);

/// Runs the server with this configuration until it is told to stop. `path` is the
/// configuration file, read again on SIGHUP and `POST /admin/reload`.
pub async fn serve(config: Config, path: Option<PathBuf>) -> Result<(), StartError> {
    let builtin = path.is_none();
    let data_dir = std::path::absolute(&config.data_dir)
        .with_context(|| format!("data folder {}", config.data_dir.display()))?;
    let runtime = Runtime::new(&RuntimeConfig {
        cache_dir: Some(data_dir.join("cache")),
        ..RuntimeConfig::default()
    })?;
    // Destinations made through the admin API join the file's.
    let store = Store::in_dir(&data_dir);
    let stored = store.read().map_err(|e| Problems::from(e.0))?;
    let mut config = stored::join(&config, &stored, &store)?;
    let plugins = load_plugins(&runtime, &config).await?;
    let hooks = HookStore::in_dir(&data_dir);
    let routes = Arc::new(crate::live::hooks::routes(&mut config, &plugins, &hooks).await?);

    std::fs::create_dir_all(&data_dir)
        .with_context(|| format!("cannot create the data folder {}", data_dir.display()))?;
    let retention = Retention {
        dedup_window: config.dedup_window.as_millis() as i64,
        max_bytes: config.queue_max_mb.map(|mb| mb << 20),
        log: crate::queue::log::LogRetention {
            max_age: config.log_retention.as_millis() as i64,
            max_bytes: config.log_max_mb.map(|mb| (mb << 20) as i64),
        },
        ..Retention::default()
    };
    let queue = Arc::new(
        SqliteQueue::open(&sqlite::path_in(&data_dir), retention)
            .map_err(|e| StartError::Queue(e.to_string()))?,
    );
    summary::report_waiting(&data_dir, &routes);
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
        archive: Archive {
            dir: data_dir.join("plugins"),
        },
        store,
        hooks,
        log: Some(queue.clone() as Arc<dyn EventLog>),
    });
    reloader.keep_versions(&config, &plugins);
    let (stop, stopping) = watch::channel(false);
    let states = Arc::new(DestinationStates::default());
    // The 24-hour counts start from the delivery log, read once.
    let day_ago = crate::queue::now() - 24 * 3_600_000;
    match queue.outcome_counts(day_ago).await {
        Ok(rows) => {
            for (destination, outcome, hour, n) in rows {
                states.counts.add(&destination, &outcome, hour, n);
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, "Cannot read the last day's deliveries; the console's counts start from zero.")
        }
    }
    // Every configured destination reads the log from here on, before ingest opens: none
    // skips an event accepted at start.
    for route in &routes.destinations {
        queue
            .open_consumer(&route.name, route.start(), crate::queue::now())
            .await
            .map_err(|e| StartError::Queue(e.to_string()))?;
    }
    let delivery = tokio::spawn(deliver_live(
        live.clone(),
        states.clone(),
        queue.clone() as Arc<dyn Queue>,
        queue.clone() as Arc<dyn EventLog>,
        stopping.clone(),
    ));
    let signalled = signals::stopped();
    let hangups = tokio::spawn(signals::reload_on_hangup(
        reloader.clone(),
        stopping.clone(),
    ));
    let watcher = tokio::spawn(hotload::watch_plugins(reloader.clone(), stopping.clone()));
    let recent = Arc::new(crate::recent::Recent::default());
    let intake = Intake {
        log: queue.clone(),
        recent: recent.clone(),
    };
    let app = ingest::router(Arc::new(Ingest::new(&config.sources, Arc::new(intake))));
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {} (server.listen)", config.listen))?;
    let address = listener.local_addr().context("server.listen")?;

    let (token, token_source) = admin::token(config.admin_token.as_deref(), &data_dir)?;
    let admin_listener = tokio::net::TcpListener::bind(config.admin_listen)
        .await
        .with_context(|| {
            format!(
                "cannot listen on {} (server.admin_listen)",
                config.admin_listen
            )
        })?;
    let admin_address = admin_listener.local_addr().context("server.admin_listen")?;
    let console = Arc::new(Console {
        token: token.clone(),
        live: live.clone(),
        reloader: reloader.clone(),
        states: states.clone(),
        recent: recent.clone(),
        records: queue.clone() as Arc<dyn Records>,
        sessions: Sessions::new(config.console_idle),
        throttle: Throttle::default(),
    });
    let admin_app = admin::router(Arc::new(Admin {
        token,
        live: live.clone(),
        reloader: reloader.clone(),
        states,
        queue: queue.clone() as Arc<dyn Queue>,
        records: queue.clone() as Arc<dyn Records>,
        recent,
    }))
    .merge(console::router(console));
    summary::print_summary(&config, builtin, address, &plugins, &routes);
    summary::print_admin(admin_address, &token_source);

    let mut admin_stopping = stopping.clone();
    let admin_server = tokio::spawn(async move {
        axum::serve(
            admin_listener,
            admin_app.into_make_service_with_connect_info::<SocketAddr>(),
        )
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
    .await
    .context("the ingest server failed")?;
    tracing::info!("Stopping: finishing the deliveries in flight; the rest stay queued.");
    let _ = stop.send(true);
    if let Ok(Err(e)) = admin_server.await {
        tracing::warn!(error = %e, "The admin API stopped with an error.");
    }
    let _ = hangups.await;
    let _ = watcher.await;
    delivery.await.context("the delivery task failed")?;
    drop((live, reloader));
    // Every other handle (ingest, workers, admin) is gone once the servers and workers are.
    match Arc::try_unwrap(queue) {
        Ok(queue) => queue.close(),
        Err(_) => tracing::warn!("The queue is still in use at exit."),
    }
    Ok(())
}

/// Resolves once the flag is true (or its sender is gone).
pub(super) async fn until_true(flag: &mut watch::Receiver<bool>) {
    let _ = flag.wait_for(|s| *s).await;
}
