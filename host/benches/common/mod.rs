//! What the benchmarks share: new versions of the webhook plugin, and for the queue benchmarks
//! a server-side pipeline (routes for one webhook destination, the SQLite queue in a temporary
//! folder with the destination's reader of the event log, and the intake that appends accepted
//! events), built as `switchyard serve` builds it.

#![allow(dead_code, reason = "each benchmark uses part of it")]

use std::collections::HashMap;
use std::sync::Arc;
use switchyard::config::Config;
use switchyard::ingest::intake::Intake;
use switchyard::queue::EventLog;
use switchyard::queue::log::Start;
use switchyard::queue::sqlite::{self, Retention, SqliteQueue};
use switchyard::routes::Routes;

pub(crate) struct Pipeline {
    pub(crate) config: Config,
    pub(crate) routes: Arc<Routes>,
    pub(crate) queue: Arc<SqliteQueue>,
    pub(crate) intake: Intake,
    pub(crate) dir: tempfile::TempDir,
}

/// A source `bench` (write key `bench-key`) and a webhook destination `hook` whose TOML lines
/// (delivery settings, subscriptions) are `destination`.
pub(crate) async fn pipeline(destination: &str) -> Pipeline {
    pipeline_of(&[("hook", destination)]).await
}

/// [`pipeline`] with a webhook destination per `(name, TOML lines)`.
pub(crate) async fn pipeline_of(destinations: &[(&str, &str)]) -> Pipeline {
    let mut text = r#"
        [[sources]]
        name = "bench"
        write_key = "bench-key"
        "#
    .to_string();
    for (name, lines) in destinations {
        text.push_str(&format!(
            r#"
        [[destinations]]
        name = "{name}"
        plugin = "webhook"
        allowed_hosts = ["https://hooks.example"]
        {lines}
        "#
        ));
    }
    let config = Config::parse(&text, "bench", |_| Err::<String, _>("no environment"))
        .expect("a valid configuration");
    let runtime = switchyard::runtime::Runtime::new(&Default::default()).expect("runtime");
    let webhook = switchyard::bundled::find("webhook").expect("the bundled webhook plugin");
    let plugin = runtime.load(webhook, "webhook").await.expect("load");
    let plugins: HashMap<_, _> = [("webhook".to_string(), plugin)].into_iter().collect();
    let routes = Arc::new(Routes::build(&config, &plugins).expect("routes"));
    let dir = tempfile::tempdir().expect("temporary folder");
    let queue = Arc::new(
        SqliteQueue::open(&sqlite::path_in(dir.path()), Retention::default()).expect("queue"),
    );
    // The destinations read the log from before the first event, as `switchyard serve` makes
    // their readers before ingest opens.
    for route in &routes.destinations {
        queue
            .open_consumer(&route.name, Start::End, switchyard::queue::now())
            .await
            .expect("a reader of the event log");
    }
    let intake = Intake {
        log: queue.clone(),
        recent: Default::default(),
    };
    Pipeline {
        config,
        routes,
        queue,
        intake,
        dir,
    }
}

/// The bundled webhook plugin with a custom section holding `n`: the same code under a new
/// content hash, so each is a version the runtime compiles afresh.
pub(crate) fn webhook_version(n: u64) -> Vec<u8> {
    let mut bytes = switchyard::bundled::find("webhook")
        .expect("the bundled webhook plugin")
        .to_vec();
    let name = b"switchyard-bench-version";
    let mut section = vec![name.len() as u8];
    section.extend_from_slice(name);
    section.extend_from_slice(&n.to_le_bytes());
    bytes.push(0);
    bytes.push(section.len() as u8);
    bytes.extend_from_slice(&section);
    bytes
}

/// Bytes this process has had written to disk so far (`write_bytes` of `/proc/self/io`, Linux).
pub(crate) fn written_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/io")
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("write_bytes: "))
                .and_then(|n| n.trim().parse().ok())
        })
        .unwrap_or(0)
}
