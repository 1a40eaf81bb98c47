//! Per-invocation overhead of a fresh, isolated plugin instance: a new store and instance from
//! the pre-instantiated bundled Slack plugin for every call, as in production.
//!
//! - `slack_refused_payload`: the plugin refuses the payload before any HTTP (store + instance +
//!   call + JSON in and out: the fixed cost of isolation);
//! - `slack_dry_run`: the full action with one captured outbound request (wasi:http included);
//! - `instantiate_and_drop`: a fresh store and instance, created and dropped without a call;
//! - `…_same_instance`: the same calls on one long-lived instance (each with a fresh request
//!   budget, so every call really sends; a call the sandbox stops fails the benchmark); the
//!   difference is the per-invocation cost of isolation (new store, instance, memory reset).
//! - `interleaved` (printed first, outside criterion): fresh calls, warm calls, bare
//!   instantiations, and warm calls each followed by an unrelated instantiation, measured in
//!   turn, round after round, so both sides of the difference see the same machine. On this
//!   shared machine criterion's rows, each measured in its own few seconds, moved the
//!   difference between 36 and 58 µs from one run to the next.
//!
//! `cargo bench -p switchyard --bench invocation [-- interleaved | FILTER]`

use criterion::{Criterion, criterion_group};
use serde_json::json;
use std::sync::Arc;
use switchyard::runtime::{
    InvokeOptions, Mode, NetPolicy, Plugin, Responder, Runtime, RuntimeConfig,
};

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
    let (good, refused) = payloads();
    let dry_run = dry_run();
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
                false,
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
                false,
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
        b.iter_custom(|n| fresh_calls(&rt, &plugin, &refused, &dry_run, n))
    });
    group.bench_function("slack_dry_run", |b| {
        b.iter_custom(|n| fresh_calls(&rt, &plugin, &good, &dry_run, n))
    });
    // The pool's keep-resident setting, compared in the same run (the default is above).
    for keep in [0, 4 << 20] {
        let plugin = load(keep);
        group.bench_function(
            format!("slack_dry_run_keep_resident_{}k", keep >> 10),
            |b| b.iter_custom(|n| fresh_calls(&rt, &plugin, &good, &dry_run, n)),
        );
    }
    group.finish();
}

/// Fresh and warm calls measured in turn, round by round, so that both see the same machine: the
/// per-round difference is the cost of isolation with the noise of a shared machine mostly
/// cancelled out. Criterion's rows above measure each benchmark in its own stretch of time.
/// Each kind of measurement runs its calls inside one `block_on`, as a delivery worker makes
/// them inside one task (entering the runtime for every call would add 2–3 µs to one side).
///
/// The fourth kind, warm calls each followed by an unrelated instantiation, shows where the
/// overhead goes: if it costs about the fresh calls, an instantiation slows the work after it
/// beyond its own time, and the fresh instance's call is no slower for being fresh.
fn interleaved() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let bytes = switchyard::bundled::find("slack").expect("bundled slack");
    let runtime = Runtime::new(&RuntimeConfig::default()).expect("runtime");
    let plugin = rt.block_on(runtime.load(bytes, "slack")).expect("load");
    let (good, _) = payloads();
    let options = dry_run();
    let done = rt.block_on(plugin.perform("postToChannel", &good, "{}", &options));
    assert!(done.results[0].is_ok(), "{done:?}");
    let per_call = |d: std::time::Duration, n: u64| d.as_secs_f64() * 1e6 / n as f64;
    let (rounds, n) = (30, 1000u64);
    let warm_calls = |between| {
        let took = rt.block_on(plugin.time_calls_on_one_instance(
            "postToChannel",
            &good,
            "{}",
            &options,
            n,
            between,
        ));
        per_call(took.expect("calls"), n)
    };
    let mut rows = [(); 5].map(|()| Vec::with_capacity(rounds));
    for _ in 0..rounds {
        let fresh = per_call(fresh_calls(&rt, &plugin, &good, &options, n), n);
        let warm = warm_calls(false);
        let instances = per_call(
            rt.block_on(plugin.time_instantiations(&options, n))
                .expect("instances"),
            n,
        );
        let warm_after_instance = warm_calls(true);
        for (row, value) in
            rows.iter_mut()
                .zip([fresh, warm, instances, warm_after_instance, fresh - warm])
        {
            row.push(value);
        }
    }
    let [fresh, warm, instances, warm_after_instance, overhead] = rows.map(|mut v| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    });
    println!(
        "interleaved ({rounds} rounds of {n} calls each, medians of the round means): \
         slack_dry_run {fresh:.1} µs, slack_dry_run_same_instance {warm:.1} µs, \
         instantiate_and_drop {instances:.1} µs, same instance with an unrelated instance \
         created and dropped after each call {warm_after_instance:.1} µs; isolation overhead \
         (fresh - warm, per round) {overhead:.1} µs"
    );
}

/// The time of `n` calls, each in a fresh store and instance, made inside one `block_on` as a
/// delivery worker makes them from one task (entering the runtime per call would add 2-3 µs
/// to the fresh side of every comparison).
fn fresh_calls(
    rt: &tokio::runtime::Runtime,
    plugin: &Plugin,
    payload: &str,
    options: &InvokeOptions,
    n: u64,
) -> std::time::Duration {
    rt.block_on(async {
        let started = std::time::Instant::now();
        for _ in 0..n {
            std::hint::black_box(
                plugin
                    .perform("postToChannel", payload, "{}", options)
                    .await,
            );
        }
        started.elapsed()
    })
}

/// The Slack payload the action accepts, and one it refuses before any HTTP (not a Slack URL).
fn payloads() -> (String, String) {
    let good = json!({"url": "https://hooks.slack.com/services/T1/B2/C3", "text": "Trip booked",
        "channel": "bookings", "username": "Segment", "icon_url": "https://logo.clearbit.com/segment.com"})
    .to_string();
    let refused = json!({"url": "https://not-slack.example/x", "text": "Trip booked"}).to_string();
    (good, refused)
}

/// Requests are captured and answered `200 {}` instead of sent.
fn dry_run() -> InvokeOptions {
    InvokeOptions {
        net: Arc::new(NetPolicy {
            allowed: switchyard::runtime::AllowList::parse(&["https://*.slack.com"])
                .expect("pattern"),
            mode: Mode::DryRun(Responder::default()),
            ..NetPolicy::default()
        }),
        ..InvokeOptions::default()
    }
}

criterion_group!(benches, bench);

fn main() {
    let filter = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    if filter.as_deref().is_none_or(|f| "interleaved".contains(f)) {
        interleaved();
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
