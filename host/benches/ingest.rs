//! Durable ingest throughput: events per second accepted through `POST /v1/batch`, 100 events a
//! batch, by the real ingest router on 127.0.0.1, each request answered only after its events
//! are appended to the event log with fsync (routing happens after the answer, in the
//! destinations' feeders, which are not running here). The load is generated in the same process over real TCP connections (keep-alive,
//! HTTP/1.1), as a Segment client library sends them.
//!
//! `cargo bench -p switchyard --bench ingest` (bounded: 3,000 batches per run, 8 connections).
//! The events carry no messageId, so the server gives each its own, as for a client that does
//! not set one; delivery is not running, so the log only grows.

use base64::Engine;
use http_body_util::{BodyExt, Full};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use switchyard::ingest::{self, Ingest};
use switchyard::queue::sqlite;

mod common;

// As in the `switchyard` binary.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const CONNECTIONS: usize = 8;
const BATCHES: usize = 3_000;
const PER_BATCH: usize = 100;

/// Every event of a batch carries this timestamp, rewritten per request (same length).
const PLACEHOLDER: &str = "2026-11-28T16:47:56.123Z";

/// The batch body with each event's timestamp set to `at` (the client's clock moves on between
/// batches, as for a real client).
fn stamped(body: &[u8], places: &[usize], at: time::OffsetDateTime) -> Vec<u8> {
    let text = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second(),
        at.millisecond()
    );
    assert_eq!(text.len(), PLACEHOLDER.len());
    let mut body = body.to_vec();
    for &p in places {
        body[p..p + PLACEHOLDER.len()].copy_from_slice(text.as_bytes());
    }
    body
}

fn batch(n: usize) -> Vec<u8> {
    let event: Value =
        serde_json::from_str(include_str!("data/track-order-completed.json")).expect("valid JSON");
    let items: Vec<Value> = (0..PER_BATCH)
        .map(|i| {
            let mut e = event.clone();
            e.as_object_mut().expect("an object").remove("messageId");
            e["timestamp"] = json!(PLACEHOLDER);
            e["properties"]["bench"] = json!(format!("{n}-{i}"));
            e
        })
        .collect();
    serde_json::to_vec(&json!({"batch": items, "sentAt": "2026-11-28T12:00:00.000Z"}))
        .expect("serialises")
}

/// Sends batches until the run's count is reached; answers `(events accepted, 503s)`. A batch
/// answered 503 (buffer full) is sent again, as Segment's clients do.
async fn client(addr: SocketAddr, body: Arc<Vec<u8>>, next: Arc<AtomicU64>) -> (u64, u64) {
    let places: Vec<usize> = body
        .windows(PLACEHOLDER.len())
        .enumerate()
        .filter(|(_, w)| *w == PLACEHOLDER.as_bytes())
        .map(|(i, _)| i)
        .collect();
    assert_eq!(places.len(), PER_BATCH, "one timestamp per event");
    let start = time::OffsetDateTime::now_utc();
    let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream.set_nodelay(true).expect("nodelay");
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .expect("handshake");
    tokio::spawn(conn);
    let auth = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("bench-key:")
    );
    let (mut sent, mut busy) = (0, 0);
    loop {
        let n = next.fetch_add(1, Ordering::Relaxed);
        if n >= BATCHES as u64 {
            break;
        }
        let body = stamped(&body, &places, start + Duration::from_millis(n));
        loop {
            let request = hyper::Request::post("/v1/batch")
                .header("host", addr.to_string())
                .header("content-type", "application/json")
                .header("authorization", &auth)
                .body(Full::new(bytes::Bytes::from(body.clone())))
                .expect("request");
            let response = sender.send_request(request).await.expect("response");
            let status = response.status();
            let _ = response.into_body().collect().await;
            if status == 503 {
                busy += 1;
                tokio::time::sleep(Duration::from_millis(1)).await;
                continue;
            }
            assert_eq!(status, 200, "the batch is accepted");
            sent += PER_BATCH as u64;
            break;
        }
    }
    (sent, busy)
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let common::Pipeline {
            config,
            intake,
            dir,
            ..
        } = common::pipeline(
            r#"
              [[destinations.subscriptions]]
              name = "All tracks"
              action = "send"
              trigger = 'type = "track"'
              mapping = { url = "https://hooks.example/in" }
            "#,
        )
        .await;
        let app = ingest::router(Arc::new(Ingest::new(&config.sources, Arc::new(intake))));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("address");
        tokio::spawn(async move {
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .await
        });
        let body = Arc::new(batch(0));
        println!(
            "ingest: {BATCHES} batches of {PER_BATCH} events ({} KB each) over {CONNECTIONS} \
             connections",
            body.len() / 1024
        );
        for run in 1..=3 {
            let next = Arc::new(AtomicU64::new(0));
            let started = Instant::now();
            let clients: Vec<_> = (0..CONNECTIONS)
                .map(|_| tokio::spawn(client(addr, body.clone(), next.clone())))
                .collect();
            let (mut accepted, mut busy) = (0, 0);
            for c in clients {
                let (a, b) = c.await.expect("client");
                accepted += a;
                busy += b;
            }
            let elapsed = started.elapsed();
            let conn = rusqlite::Connection::open(sqlite::path_in(dir.path())).expect("open");
            let stored = switchyard::queue::log::end(&conn).expect("count");
            assert_eq!(
                stored as u64,
                accepted * run,
                "every accepted event is stored"
            );
            println!(
                "run {run}: {accepted} events accepted in {:.2} s: {:.0} events/s \
                 ({busy} answers 503, resent)",
                elapsed.as_secs_f64(),
                accepted as f64 / elapsed.as_secs_f64()
            );
        }
    });
}
