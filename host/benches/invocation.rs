//! Per-invocation overhead of a fresh, isolated plugin instance: a new store and instance from
//! the pre-instantiated bundled Slack plugin for every call, as in production.
//!
//! - `slack_refused_payload`: the plugin refuses the payload before any HTTP (store + instance +
//!   call + JSON in and out: the fixed cost of isolation);
//! - `slack_dry_run`: the full action with one captured outbound request (wasi:http included);
//! - `instantiate_and_drop`: a fresh store and instance, created and dropped without a call;
//! - `…_same_instance`: the same calls on one long-lived instance (each with a fresh request
//!   budget, so every call really sends; a call the sandbox stops fails the benchmark); the
//!   difference is the
//!   per-invocation cost of isolation (new store, instance, memory reset).
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
    let bytes = switchyard::bundled::find("slack").expect("bundled slack");
    let load = |keep_resident_bytes| {
        let runtime = Runtime::new(&RuntimeConfig {
            keep_resident_bytes,
            ..RuntimeConfig::default()
        })
        .expect("runtime");
        rt.block_on(runtime.load(bytes, "slack")).expect("load")
    };
    let plugin = load(RuntimeConfig::default().keep_resident_bytes);
    let settings = "{}";
    let good = json!({"url": "https://hooks.slack.com/services/T1/B2/C3", "text": "Trip booked",
        "channel": "bookings", "username": "Segment", "icon_url": "https://logo.clearbit.com/segment.com"})
    .to_string();
    let refused = json!({"url": "https://not-slack.example/x", "text": "Trip booked"}).to_string();
    let dry_run = InvokeOptions {
        net: Arc::new(NetPolicy {
            allowed: switchyard::runtime::AllowList::parse(&["https://*.slack.com"])
                .expect("pattern"),
            mode: Mode::DryRun(Responder::default()),
            ..NetPolicy::default()
        }),
        ..InvokeOptions::default()
    };
    // Both paths really do what they are named for.
    let done = rt.block_on(plugin.perform("postToChannel", &good, settings, &dry_run));
    assert!(
        done.results[0].is_ok() && done.exchanges.len() == 1,
        "{done:?}"
    );
    let done = rt.block_on(plugin.perform("postToChannel", &refused, settings, &dry_run));
    assert!(done.results[0].is_err() && done.exchanges.is_empty());

    let mut group = c.benchmark_group("invocation");
    // The same calls on one long-lived instance: the difference to the fresh-instance numbers
    // is what isolation costs per invocation.
    group.bench_function("slack_refused_payload_same_instance", |b| {
        b.iter_custom(|n| {
            rt.block_on(plugin.time_calls_on_one_instance(
                "postToChannel",
                &refused,
                settings,
                &dry_run,
                n,
            ))
            .expect("calls")
        })
    });
    group.bench_function("slack_dry_run_same_instance", |b| {
        b.iter_custom(|n| {
            rt.block_on(plugin.time_calls_on_one_instance(
                "postToChannel",
                &good,
                settings,
                &dry_run,
                n,
            ))
            .expect("calls")
        })
    });
    group.bench_function("instantiate_and_drop", |b| {
        b.iter_custom(|n| {
            rt.block_on(plugin.time_instantiations(&dry_run, n))
                .expect("instances")
        })
    });
    group.bench_function("slack_refused_payload", |b| {
        b.iter(|| rt.block_on(plugin.perform("postToChannel", &refused, settings, &dry_run)))
    });
    group.bench_function("slack_dry_run", |b| {
        b.iter(|| rt.block_on(plugin.perform("postToChannel", &good, settings, &dry_run)))
    });
    // The pool's keep-resident setting, compared in the same run (the default is above).
    for keep in [0, 4 << 20] {
        let plugin = load(keep);
        group.bench_function(
            format!("slack_dry_run_keep_resident_{}k", keep >> 10),
            |b| b.iter(|| rt.block_on(plugin.perform("postToChannel", &good, settings, &dry_run))),
        );
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
