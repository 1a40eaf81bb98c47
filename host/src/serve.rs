//! `switchyard serve`: load plugins and configuration, open the queue, then ingest events and
//! deliver them until stopped (Ctrl-C or SIGTERM).
//!
//! Stopping: the ingest server stops accepting and finishes the requests it has (each is
//! answered only once stored), the delivery workers stop leasing, attempts in flight get
//! [`GRACE`] to finish and be recorded, and the queue writer commits what it was sent. Whatever
//! was not delivered stays in the queue for the next start.

use crate::admin::{self, Admin, TokenSource};
use crate::config::Config;
use crate::deliver;
use crate::ingest::{self, Ingest};
use crate::intake::Intake;
use crate::queue::Queue;
use crate::queue::sqlite::{self, Retention, SqliteQueue};
use crate::routes::Routes;
use crate::runtime::{Plugin, Runtime, RuntimeConfig};
use anyhow::Context as _;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// How long attempts in flight may take to finish when the server stops.
pub const GRACE: Duration = Duration::from_secs(10);

/// Runs the server with this configuration until it is told to stop.
pub async fn serve(config: Config, builtin: bool) -> anyhow::Result<()> {
    let data_dir = std::path::absolute(&config.data_dir)
        .with_context(|| format!("data folder {}", config.data_dir.display()))?;
    let runtime = Runtime::new(&RuntimeConfig {
        cache_dir: Some(data_dir.join("cache")),
        ..RuntimeConfig::default()
    })?;
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
    let (stop, stopping) = watch::channel(false);
    let delivery = tokio::spawn(deliver::run(
        routes.clone(),
        queue.clone() as Arc<dyn Queue>,
        stopping,
        GRACE,
    ));
    let intake = Intake {
        routes: routes.clone(),
        queue: queue.clone(),
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
        plugins: plugins.clone(),
        routes: routes.clone(),
        queue: queue.clone() as Arc<dyn Queue>,
        queue_path: sqlite::path_in(&data_dir),
    }));
    print_summary(&config, builtin, address, &plugins, &routes);
    print_admin(admin_address, &token_source);

    let (admin_stop, admin_stopping) = watch::channel(false);
    let admin_server = tokio::spawn(async move {
        let mut stopping = admin_stopping;
        axum::serve(admin_listener, admin_app)
            .with_graceful_shutdown(async move {
                let _ = stopping.wait_for(|s| *s).await;
            })
            .await
    });

    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(stopped())
    .await?;
    let _ = admin_stop.send(true);
    if let Ok(Err(e)) = admin_server.await {
        tracing::warn!(error = %e, "The admin API stopped with an error.");
    }
    tracing::info!("Stopping: finishing the deliveries in flight; the rest stay queued.");
    let _ = stop.send(true);
    delivery.await?;
    // Every other handle (ingest, workers) is gone once the server and workers are.
    match Arc::try_unwrap(queue) {
        Ok(queue) => queue.close(),
        Err(_) => tracing::warn!("The queue is still in use at exit."),
    }
    Ok(())
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
async fn load_plugins(
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
    for path in files {
        let plugin = runtime
            .load_file(&path)
            .await
            .map_err(|e| crate::cli::InputError(e.to_string()))?;
        let id = plugin.manifest().id.clone();
        if let Some(other) = plugins.get(&id) {
            return Err(crate::cli::InputError(format!(
                "{} declares the plugin id {id:?}, which {} already has",
                path.display(),
                other.origin()
            ))
            .into());
        }
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
            "  destinations  none: events are accepted and go nowhere; add destinations in a config file (see README)"
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

/// Resolves on Ctrl-C or SIGTERM.
async fn stopped() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                .expect("installing the SIGTERM handler");
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
}
