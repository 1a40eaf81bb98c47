//! `switchyard serve`: load plugins and configuration, then ingest events and deliver them until
//! stopped (Ctrl-C or SIGTERM), draining what was accepted before exiting.

use crate::config::Config;
use crate::deliver;
use crate::ingest::{self, Ingest};
use crate::routes::Routes;
use crate::runtime::{Plugin, Runtime, RuntimeConfig};
use anyhow::Context as _;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::sync::mpsc;

/// Events accepted and not yet routed, at most.
pub const BUFFER: usize = 10_000;

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

    let (sender, receiver) = mpsc::channel(BUFFER);
    let delivery = tokio::spawn(deliver::run(routes.clone(), receiver));
    let app = ingest::router(Arc::new(Ingest::new(&config.sources, sender)));
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {} (server.listen)", config.listen))?;
    let address = listener.local_addr()?;
    print_summary(&config, builtin, address, &plugins, &routes);

    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(stopped())
    .await?;
    // The router (and with it the buffer's sender) is gone: deliver what was accepted.
    tracing::info!("Stopping: delivering the events already accepted.");
    delivery.await?;
    Ok(())
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
