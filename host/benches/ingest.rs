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

/// How many different batch bodies the clients cycle through.
const BODIES: usize = 32;

/// A small deterministic generator (xorshift), so every run sends the same varied events.
struct Draw(u64);

impl Draw {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn hex(&mut self, len: usize) -> String {
        let mut out = String::new();
        while out.len() < len {
            out.push_str(&format!("{:016x}", self.next()));
        }
        out.truncate(len);
        out
    }
    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[(self.next() % from.len() as u64) as usize]
    }
}

/// Batch `n`: 100 realistic events that differ as a shop's events do: users, devices, orders,
/// products, amounts, pages and campaigns vary (random ids do not compress), so the log's
/// compression is measured on realistic text rather than on 100 copies of one event.
fn batch(n: usize) -> Vec<u8> {
    let event: Value =
        serde_json::from_str(include_str!("data/track-order-completed.json")).expect("valid JSON");
    let mut draw = Draw(0x9e37_79b9_7f4a_7c15 ^ (n as u64 + 1).wrapping_mul(0x2545_f491_4f6c_dd1d));
    let names = [
        "Order Completed",
        "Product Viewed",
        "Checkout Started",
        "Cart Viewed",
        "Product Added",
        "Coupon Applied",
        "Trip Booked",
        "Viewed Pricing",
    ];
    let products = [
        "Monopoly: 3rd Edition",
        "Uno Card Game",
        "Catan",
        "Ticket to Ride",
        "Carcassonne",
        "Pandemic",
        "Azul",
        "Dixit",
        "Codenames",
        "Splendor",
    ];
    let paths = [
        "/checkout",
        "/cart",
        "/products/catan",
        "/pricing",
        "/",
        "/search?q=games",
    ];
    let agents = [
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0",
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Mobile Safari/537.36",
    ];
    let items: Vec<Value> = (0..PER_BATCH)
        .map(|i| {
            let mut e = event.clone();
            e.as_object_mut().expect("an object").remove("messageId");
            e["timestamp"] = json!(PLACEHOLDER);
            e["event"] = json!(draw.pick(&names));
            e["userId"] = json!(format!("user-{}", draw.hex(10)));
            e["anonymousId"] = json!(format!("{}-{}-{}", draw.hex(8), draw.hex(4), draw.hex(12)));
            let p = &mut e["properties"];
            p["order_id"] = json!(draw.hex(24));
            p["total"] = json!((draw.next() % 50_000) as f64 / 100.0);
            p["revenue"] = json!((draw.next() % 45_000) as f64 / 100.0);
            p["quantity"] = json!(draw.next() % 5 + 1);
            p["coupon"] = json!(draw.pick(&["", "hasbros", "WINTER10", "FREESHIP"]));
            p["bench"] = json!(format!("{n}-{i}"));
            for product in p["products"].as_array_mut().expect("products") {
                product["productId"] = json!(draw.hex(24));
                product["sku"] = json!(format!("{}-{}", draw.next() % 99_999, draw.next() % 99));
                product["name"] = json!(draw.pick(&products));
                product["price"] = json!((draw.next() % 9_000) as f64 / 100.0);
            }
            let c = &mut e["context"];
            c["ip"] = json!(format!(
                "{}.{}.{}.{}",
                draw.next() % 223 + 1,
                draw.next() % 256,
                draw.next() % 256,
                draw.next() % 256
            ));
            c["userAgent"] = json!(draw.pick(&agents));
            c["page"]["path"] = json!(draw.pick(&paths));
            c["device"]["id"] = json!(draw.hex(32).to_uppercase());
            c["campaign"]["name"] =
                json!(draw.pick(&["winter-sale", "black-friday", "newsletter"]));
            e
        })
        .collect();
    serde_json::to_vec(&json!({"batch": items, "sentAt": "2026-11-28T12:00:00.000Z"}))
        .expect("serialises")
}

/// Sends batches until the run's count is reached; answers `(events accepted, 503s)`. A batch
/// answered 503 (buffer full) is sent again, as Segment's clients do.
async fn client(addr: SocketAddr, bodies: Arc<Vec<Vec<u8>>>, next: Arc<AtomicU64>) -> (u64, u64) {
    let places: Vec<Vec<usize>> = bodies
        .iter()
        .map(|body| {
            let places: Vec<usize> = body
                .windows(PLACEHOLDER.len())
                .enumerate()
                .filter(|(_, w)| *w == PLACEHOLDER.as_bytes())
                .map(|(i, _)| i)
                .collect();
            assert_eq!(places.len(), PER_BATCH, "one timestamp per event");
            places
        })
        .collect();
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
        let which = n as usize % BODIES;
        let body = stamped(
            &bodies[which],
            &places[which],
            start + Duration::from_millis(n),
        );
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
        let bodies = Arc::new((0..BODIES).map(batch).collect::<Vec<_>>());
        let sent_bytes: usize = bodies.iter().map(Vec::len).sum();
        let event_size = sent_bytes / (BODIES * PER_BATCH);
        println!(
            "ingest: {BATCHES} batches of {PER_BATCH} varied events ({} KB each, {event_size} \
             bytes an event as sent) over {CONNECTIONS} connections",
            sent_bytes / BODIES / 1024
        );
        for run in 1..=3 {
            let next = Arc::new(AtomicU64::new(0));
            let written_before = common::written_bytes();
            let started = Instant::now();
            let clients: Vec<_> = (0..CONNECTIONS)
                .map(|_| tokio::spawn(client(addr, bodies.clone(), next.clone())))
                .collect();
            let (mut accepted, mut busy) = (0, 0);
            for c in clients {
                let (a, b) = c.await.expect("client");
                accepted += a;
                busy += b;
            }
            let elapsed = started.elapsed();
            let written = common::written_bytes() - written_before;
            let conn = rusqlite::Connection::open(sqlite::path_in(dir.path())).expect("open");
            let stored = switchyard::queue::log::end(&conn).expect("count");
            assert_eq!(
                stored as u64,
                accepted * run,
                "every accepted event is stored"
            );
            let per_event = written as f64 / accepted as f64;
            println!(
                "run {run}: {accepted} events accepted in {:.2} s: {:.0} events/s \
                 ({busy} answers 503, resent); {per_event:.0} bytes written an event, {:.2}x \
                 its size",
                elapsed.as_secs_f64(),
                accepted as f64 / elapsed.as_secs_f64(),
                per_event / event_size as f64
            );
        }
    });
}
