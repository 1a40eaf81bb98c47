//! End-to-end delivery through the durable queue, the delivery workers and the bundled webhook
//! plugin (a fresh sandboxed instance per invocation) to a real HTTP server on 127.0.0.1, all in
//! this process (the load, the server and the mock share the machine's 2 cores).
//!
//! - throughput: N events are stored first, then the workers are started and the time until the
//!   mock has received every event is measured; unbatched (one request per event) and batched
//!   (`enable_batching`, 1,000 per request);
//! - latency: the workers run while events are accepted at a steady 1,000 per second for 5 s;
//!   each event carries the time it was handed to ingest, and the mock records when it arrived.
//!
//! - hot swaps: unbatched throughput again, while a new version of the webhook plugin is
//!   compiled and swapped in every 500 ms, as a hot load does (the delivery workers restart on
//!   each new snapshot; attempts in flight finish on the old version). Compared with the plain
//!   unbatched figure of the same run; every event must arrive exactly once.
//!
//! - sustained: ingest and delivery at once for 60 s (`SWITCHYARD_BENCH_SECONDS`), as fast as
//!   each goes: realistic 1.6 KB events appended in batches of 100 by 4 tasks (the server's
//!   intake, without HTTP: `ingest` and `BENCHMARKS.md`'s external run cover that), one batched
//!   webhook subscription delivering to the mock. Prints events accepted and delivered per
//!   second, what was still behind at the end, and the bytes this process wrote to disk per
//!   accepted event (`/proc/self/io`) against the event's size;
//! - fanout: the same with five batched webhook destinations, for 30 s; each one's delivered
//!   rate against the ingest rate.
//!
//! `cargo bench -p switchyard --bench delivery [-- unbatched|batched|latency|swaps|sustained|fanout]`
//! (bounded: 20,000 + 100,000 + 5,000 + 20,000 events, then 60 s and 30 s).

use axum::body::Bytes;
use serde_json::{Value, json};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};
use switchyard::ingest::Sink;
use switchyard::ingest::message::Accepted;
use switchyard::queue::{EventLog, Queue};

mod common;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The clock events carry: microseconds since the benchmark started.
fn micros() -> u64 {
    static START: OnceLock<Instant> = OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_micros() as u64
}

/// The mock destination: counts events and records each one's latency.
#[derive(Default)]
struct Received {
    events: AtomicU64,
    latencies: Mutex<Vec<u64>>,
}

async fn mock(received: Arc<Received>) -> String {
    let app = axum::Router::new().fallback(move |body: Bytes| {
        let received = received.clone();
        async move {
            let now = micros();
            let value: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            let items = match value {
                Value::Array(items) => items,
                one => vec![one],
            };
            let mut latencies = received.latencies.lock().unwrap();
            for item in &items {
                if let Some(t) = item["t"].as_u64() {
                    latencies.push(now.saturating_sub(t));
                }
            }
            received
                .events
                .fetch_add(items.len() as u64, Ordering::Relaxed);
            "{}"
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

/// A webhook destination's TOML lines: to `target`, every track event's properties to
/// `https://hooks.example{path}`, batched (up to 1,000) or not.
fn webhook(target: &str, path: &str, batched: bool) -> String {
    let batching = if batched {
        "enable_batching = true\n    batch_size = 1000"
    } else {
        ""
    };
    format!(
        r#"
        redirect_outbound = "{target}"
          [destinations.delivery]
          concurrency = 16
          batch_wait_ms = 50
          [[destinations.subscriptions]]
          name = "All tracks"
          action = "send"
          trigger = 'type = "track"'
            [destinations.subscriptions.mapping]
            url = "https://hooks.example{path}"
            data = {{ "@path" = "$.properties" }}
            {batching}
        "#
    )
}

async fn setup(target: &str, batched: bool) -> common::Pipeline {
    common::pipeline(&webhook(target, "/in", batched)).await
}

/// Starts the pipeline's delivery workers; they run until `true` is sent on the answer's
/// sender.
fn start_workers(
    s: &common::Pipeline,
) -> (
    tokio::sync::watch::Sender<bool>,
    tokio::task::JoinHandle<()>,
) {
    let (stop, stopping) = tokio::sync::watch::channel(false);
    let workers = tokio::spawn(switchyard::deliver::run(
        s.routes.clone(),
        Arc::default(),
        s.queue.clone() as Arc<dyn Queue>,
        s.queue.clone() as Arc<dyn EventLog>,
        stopping,
        None,
        Duration::from_secs(10),
    ));
    (stop, workers)
}

fn event(n: u64) -> Accepted {
    Accepted::of(
        &json!({"type": "track", "event": "Order Completed", "userId": format!("user-{}", n % 500),
        "messageId": format!("m-{n}"), "properties": {"n": n, "t": micros(), "total": 99.5,
        "currency": "EUR", "products": [{"sku": "A-1", "price": 49.75, "quantity": 2}]}}),
    )
}

/// Stores `n` events, then starts the workers and times the delivery of all of them; returns
/// events per second.
async fn throughput(n: u64, batched: bool) -> f64 {
    let received = Arc::new(Received::default());
    let target = mock(received.clone()).await;
    let s = setup(&target, batched).await;
    for chunk in (0..n).collect::<Vec<_>>().chunks(100) {
        let events = chunk.iter().map(|&i| event(i)).collect();
        s.intake.take("bench".into(), events).await.unwrap();
    }
    let started = Instant::now();
    let (stop, workers) = start_workers(&s);
    while received.events.load(Ordering::Relaxed) < n {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let elapsed = started.elapsed();
    let _ = stop.send(true);
    workers.await.unwrap();
    println!(
        "delivery {}: {n} events in {:.2} s: {:.0} events/s",
        if batched {
            "batched (1,000 per request)"
        } else {
            "unbatched"
        },
        elapsed.as_secs_f64(),
        n as f64 / elapsed.as_secs_f64()
    );
    n as f64 / elapsed.as_secs_f64()
}

/// Stores `n` events, then delivers them (unbatched) while a new plugin version is swapped in
/// every 500 ms; returns events per second. With `compiled`, the versions are compiled before
/// the clock starts, which leaves the swap itself (new routes, workers restarted).
async fn throughput_while_swapping(n: u64, compiled: bool) -> f64 {
    let received = Arc::new(Received::default());
    let target = mock(received.clone()).await;
    let s = setup(&target, false).await;
    for chunk in (0..n).collect::<Vec<_>>().chunks(100) {
        let events = chunk.iter().map(|&i| event(i)).collect();
        s.intake.take("bench".into(), events).await.unwrap();
    }
    let live = Arc::new(switchyard::live::Live::new(switchyard::live::Snapshot {
        config: s.config.clone(),
        plugins: Default::default(),
        routes: s.routes.clone(),
    }));
    let runtime = switchyard::runtime::Runtime::new(&Default::default()).unwrap();
    if compiled {
        for v in 1..=40 {
            let bytes = common::webhook_version(v);
            runtime.load(&bytes, "webhook (new version)").await.unwrap();
        }
    }
    let (stop, stopping) = tokio::sync::watch::channel(false);
    let started = Instant::now();
    let workers = tokio::spawn(switchyard::server::deliver_live(
        live.clone(),
        Arc::default(),
        s.queue.clone() as Arc<dyn Queue>,
        s.queue.clone() as Arc<dyn EventLog>,
        stopping,
    ));
    let mut swaps = 0u64;
    let mut next = Instant::now() + Duration::from_millis(500);
    while received.events.load(Ordering::Relaxed) < n {
        if Instant::now() >= next {
            let bytes = common::webhook_version(swaps + 1);
            let plugin = runtime.load(&bytes, "webhook (new version)").await.unwrap();
            let plugins: std::collections::HashMap<_, _> =
                [("webhook".to_string(), plugin)].into_iter().collect();
            let routes = switchyard::routes::Routes::build(&s.config, &plugins).unwrap();
            live.replace(switchyard::live::Snapshot {
                config: s.config.clone(),
                plugins,
                routes: Arc::new(routes),
            });
            swaps += 1;
            next += Duration::from_millis(500);
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let elapsed = started.elapsed();
    // Anything more would be an event delivered twice.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let got = received.events.load(Ordering::Relaxed);
    let _ = stop.send(true);
    workers.await.unwrap();
    let rate = n as f64 / elapsed.as_secs_f64();
    println!(
        "delivery unbatched with a hot swap every 500 ms ({}): {n} events in {:.2} s: \
         {rate:.0} events/s, {swaps} swaps, {got} events received",
        if compiled {
            "versions compiled before"
        } else {
            "each version compiled as it comes"
        },
        elapsed.as_secs_f64()
    );
    assert_eq!(got, n, "every event exactly once");
    rate
}

/// Events accepted at 1,000 per second for 5 s while the workers deliver them.
async fn latency() {
    const RATE: u64 = 1_000;
    const SECONDS: u64 = 5;
    let received = Arc::new(Received::default());
    let target = mock(received.clone()).await;
    let s = Arc::new(setup(&target, false).await);
    let (stop, workers) = start_workers(&s);
    let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / RATE));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let total = RATE * SECONDS;
    for n in 0..total {
        tick.tick().await;
        let s = s.clone();
        tokio::spawn(async move { s.intake.take("bench".into(), vec![event(n)]).await });
    }
    while received.events.load(Ordering::Relaxed) < total {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let _ = stop.send(true);
    workers.await.unwrap();
    let mut l = received.latencies.lock().unwrap().clone();
    l.sort_unstable();
    let at = |q: f64| l[((l.len() as f64 * q) as usize).min(l.len() - 1)] as f64 / 1000.0;
    println!(
        "latency at {RATE} events/s for {SECONDS} s ({} events): p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        l.len(),
        at(0.5),
        at(0.99),
        at(1.0)
    );
}

/// The mock for the sustained runs: counts the events of each path (a JSON array per request),
/// reading only the array's outline.
async fn counting_mock(paths: usize) -> (String, Arc<Vec<AtomicU64>>) {
    let counts: Arc<Vec<AtomicU64>> = Arc::new((0..paths).map(|_| AtomicU64::new(0)).collect());
    let shared = counts.clone();
    let app = axum::Router::new().fallback(move |uri: axum::http::Uri, body: Bytes| {
        let counts = shared.clone();
        async move {
            let items: Vec<&serde_json::value::RawValue> =
                serde_json::from_slice(&body).unwrap_or_default();
            let which: usize = uri.path().trim_start_matches("/d").parse().unwrap_or(0);
            counts[which.min(counts.len() - 1)].fetch_add(items.len() as u64, Ordering::Relaxed);
            "{}"
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}"), counts)
}

/// The realistic 1.6 KB event, as a client sends it (with a fresh messageId per copy).
fn order_completed() -> Value {
    serde_json::from_str(include_str!("data/track-order-completed.json")).unwrap()
}

/// Ingest (4 tasks appending batches of 100 as fast as they can) and delivery at once, for
/// `seconds`, to `destinations` batched webhook destinations; prints the rates.
async fn sustained(destinations: usize, seconds: u64) {
    let (target, counts) = counting_mock(destinations).await;
    let lines: Vec<(String, String)> = (0..destinations)
        .map(|d| (format!("d{d}"), webhook(&target, &format!("/d{d}"), true)))
        .collect();
    let named: Vec<(&str, &str)> = lines
        .iter()
        .map(|(n, l)| (n.as_str(), l.as_str()))
        .collect();
    let s = Arc::new(common::pipeline_of(&named).await);
    let (stop, workers) = start_workers(&s);
    let template = order_completed();
    let event_size = template.to_string().len();
    let accepted = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let until = started + Duration::from_secs(seconds);
    let written_before = common::written_bytes();
    let mut senders = Vec::new();
    for task in 0..4u64 {
        let (s, accepted, template) = (s.clone(), accepted.clone(), template.clone());
        senders.push(tokio::spawn(async move {
            let mut n = 0u64;
            while Instant::now() < until {
                // As ingest completes them: the client's clock as `originalTimestamp`.
                let stamp = time::OffsetDateTime::now_utc()
                    .format(&time::format_description::well_known::Rfc3339)
                    .unwrap();
                let events: Vec<Accepted> = (0..100)
                    .map(|_| {
                        let mut e = template.clone();
                        e["originalTimestamp"] = json!(stamp);
                        e["messageId"] = json!(format!("m-{task}-{n}"));
                        n += 1;
                        Accepted::of(&e)
                    })
                    .collect();
                if s.intake.take("bench".into(), events).await.is_ok() {
                    accepted.fetch_add(100, Ordering::Relaxed);
                }
            }
        }));
    }
    for t in senders {
        t.await.unwrap();
    }
    let elapsed = started.elapsed().as_secs_f64();
    let total = accepted.load(Ordering::Relaxed);
    let delivered: Vec<u64> = counts.iter().map(|c| c.load(Ordering::Relaxed)).collect();
    // What was still to deliver, then the time to catch up.
    let catch_up = Instant::now();
    while counts.iter().any(|c| c.load(Ordering::Relaxed) < total)
        && catch_up.elapsed() < Duration::from_secs(300)
    {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let caught_up = catch_up.elapsed().as_secs_f64();
    let written = common::written_bytes().saturating_sub(written_before);
    let _ = stop.send(true);
    workers.await.unwrap();
    println!(
        "{} for {seconds} s: ingest {:.0} events/s ({total} events of {event_size} bytes)",
        if destinations == 1 {
            "sustained, one batched webhook".to_string()
        } else {
            format!("fan-out to {destinations} batched webhooks")
        },
        total as f64 / elapsed
    );
    for (d, got) in delivered.iter().enumerate() {
        println!(
            "  d{d}: delivered {:.0} events/s during the run ({:.0} % of ingest), {} behind at \
             its end, caught up {caught_up:.1} s later",
            *got as f64 / elapsed,
            100.0 * *got as f64 / total.max(1) as f64,
            total - got
        );
    }
    println!(
        "  disk writes: {:.0} bytes per accepted event, {:.2} times the event's size",
        written as f64 / total.max(1) as f64,
        written as f64 / total.max(1) as f64 / event_size as f64
    );
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    // `cargo bench --bench delivery -- NAME` runs only the parts whose name contains NAME.
    let only: Option<String> = std::env::args().skip(1).find(|a| !a.starts_with("--"));
    let wanted = |name: &str| only.as_deref().is_none_or(|o| name.contains(o));
    rt.block_on(async {
        // Latency first: after the throughput runs, the kernel is still writing back their
        // hundreds of MB, and fsyncs queue behind it (p99 then reached 250 ms in some runs).
        if wanted("latency") {
            latency().await;
        }
        let mut plain = None;
        if wanted("unbatched") {
            plain = Some(throughput(20_000, false).await);
        }
        // Right after the plain figure, under the same conditions.
        if wanted("swaps") {
            for compiled in [false, true] {
                let swapping = throughput_while_swapping(20_000, compiled).await;
                if let Some(plain) = plain {
                    println!(
                        "  that is {:.0} % of unbatched throughput without swaps",
                        100.0 * swapping / plain
                    );
                }
            }
        }
        if wanted("batched") {
            throughput(100_000, true).await;
        }
        let seconds = std::env::var("SWITCHYARD_BENCH_SECONDS")
            .ok()
            .and_then(|s| s.parse().ok());
        if wanted("sustained") {
            sustained(1, seconds.unwrap_or(60)).await;
        }
        if wanted("fanout") {
            sustained(5, seconds.unwrap_or(30)).await;
        }
    });
}
