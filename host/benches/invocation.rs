//! Per-invocation overhead of a fresh, isolated plugin instance: a new store and instance from
//! the pre-instantiated bundled Slack plugin for every call, as in production.
//!
//! - `slack_refused_payload`: the plugin refuses the payload before any HTTP (store + instance +
//!   call + JSON in and out: the fixed cost of isolation);
//! - `slack_dry_run`: the full action with one captured outbound request (wasi:http included).
//!
//! `cargo bench -p switchyard --bench invocation`

use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::json;
use std::sync::Arc;
use switchyard::runtime::{InvokeOptions, Mode, NetPolicy, Responder, Runtime, RuntimeConfig};

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let runtime = Runtime::new(&RuntimeConfig::default()).expect("runtime");
    let bytes = switchyard::bundled::find("slack").expect("bundled slack");
    let plugin = rt.block_on(runtime.load(bytes, "slack")).expect("load");
    let settings = json!({});
    let good = json!({"url": "https://hooks.slack.com/services/T1/B2/C3", "text": "Trip booked",
        "channel": "bookings", "username": "Segment", "icon_url": "https://logo.clearbit.com/segment.com"});
    let refused = json!({"url": "https://not-slack.example/x", "text": "Trip booked"});
    let dry_run = InvokeOptions {
        net: Arc::new(NetPolicy {
            allowed: switchyard::runtime::AllowList::parse(&["https://*.slack.com"]).expect("pattern"),
            mode: Mode::DryRun(Responder::default()),
            ..NetPolicy::default()
        }),
        ..InvokeOptions::default()
    };
    // Both paths really do what they are named for.
    let done = rt.block_on(plugin.perform("postToChannel", &good, &settings, &dry_run));
    assert!(done.results[0].is_ok() && done.exchanges.len() == 1, "{done:?}");
    let done = rt.block_on(plugin.perform("postToChannel", &refused, &settings, &dry_run));
    assert!(done.results[0].is_err() && done.exchanges.is_empty());

    let mut group = c.benchmark_group("invocation");
    group.bench_function("slack_refused_payload", |b| {
        b.iter(|| rt.block_on(plugin.perform("postToChannel", &refused, &settings, &dry_run)))
    });
    group.bench_function("slack_dry_run", |b| {
        b.iter(|| rt.block_on(plugin.perform("postToChannel", &good, &settings, &dry_run)))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
