//! What the queue benchmarks share: a server-side pipeline (routes for one webhook destination,
//! the SQLite queue in a temporary folder, and the intake that stores accepted events), built
//! as `switchyard serve` builds it.

#![allow(dead_code, reason = "each benchmark uses part of it")]

use std::collections::HashMap;
use std::sync::Arc;
use switchyard::config::Config;
use switchyard::intake::Intake;
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
    let text = format!(
        r#"
        [[sources]]
        name = "bench"
        write_key = "bench-key"
        [[destinations]]
        name = "hook"
        plugin = "webhook"
        allowed_hosts = ["https://hooks.example"]
        {destination}
        "#
    );
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
    let intake = Intake {
        live: Arc::new(switchyard::live::Live::new(switchyard::live::Snapshot {
            config: config.clone(),
            plugins,
            routes: routes.clone(),
        })),
        queue: queue.clone(),
    };
    Pipeline {
        config,
        routes,
        queue,
        intake,
        dir,
    }
}
