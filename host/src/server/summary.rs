//! What `serve` prints when it starts (where it listens, its plugins, sources and destinations,
//! how to reach the admin API), and what it logs about deliveries waiting from before.

use crate::admin::TokenSource;
use crate::config::Config;
use crate::queue::sqlite;
use crate::routes::Routes;
use crate::runtime::Plugin;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

/// Logs what waits in the queue from before, and for destinations no longer configured.
pub(super) fn report_waiting(data_dir: &std::path::Path, routes: &Routes) {
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
    for lag in crate::queue::log::lag(&conn).unwrap_or_default() {
        if lag.events > 0 && routes.destinations.iter().any(|r| r.name == lag.consumer) {
            tracing::info!(destination = %lag.consumer, events = lag.events, "Events accepted before are still to be routed.");
        }
    }
}

pub(super) fn print_summary(
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

pub(super) fn print_admin(address: SocketAddr, token: &TokenSource) {
    let token = match token {
        TokenSource::Config => "bearer token from server.admin_token".to_string(),
        TokenSource::File(path) => format!("bearer token in {}", path.display()),
    };
    println!("  console       http://{address}/  (sign in with the admin token)");
    println!("  admin API     http://{address}  ({token}; /healthz, /readyz, /admin/openapi.json)");
}
