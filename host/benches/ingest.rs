//! Ingest throughput: events per second accepted through `POST /v1/batch`, 100 events a batch,
//! by the real ingest router on 127.0.0.1, with the load generated in the same process over
//! real TCP connections (keep-alive, HTTP/1.1), as a Segment client library sends them.
//!
//! `cargo bench -p switchyard --bench ingest` (bounded: 3,000 batches per run, 8 connections).
//! The accepted events are drained from the buffer as the delivery stage would take them.

use base64::Engine;
use http_body_util::{BodyExt, Full};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use switchyard::config::Source;
use switchyard::ingest::{self, Ingest};

// As in the `switchyard` binary.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const CONNECTIONS: usize = 8;
const BATCHES: usize = 3_000;
const PER_BATCH: usize = 100;

fn batch(n: usize) -> Vec<u8> {
    let event: Value =
        serde_json::from_str(include_str!("data/track-order-completed.json")).expect("valid JSON");
    let items: Vec<Value> = (0..PER_BATCH)
        .map(|i| {
            let mut e = event.clone();
            e["messageId"] = json!(format!("bench-{n}-{i}"));
            e
        })
        .collect();
    serde_json::to_vec(&json!({"batch": items, "sentAt": "2026-11-28T12:00:00.000Z"}))
        .expect("serialises")
}

/// Sends batches until the run's count is reached; answers `(events accepted, 503s)`. A batch
/// answered 503 (buffer full) is sent again, as Segment's clients do.
async fn client(addr: SocketAddr, body: Arc<Vec<u8>>, next: Arc<AtomicU64>) -> (u64, u64) {
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
    while next.fetch_add(1, Ordering::Relaxed) < BATCHES as u64 {
        loop {
            let request = hyper::Request::post("/v1/batch")
                .header("host", addr.to_string())
                .header("content-type", "application/json")
                .header("authorization", &auth)
                .body(Full::new(bytes::Bytes::from(body.as_ref().clone())))
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
        let (sender, mut receiver) = tokio::sync::mpsc::channel(switchyard::serve::BUFFER);
        let drained = Arc::new(AtomicU64::new(0));
        let count = drained.clone();
        tokio::spawn(async move {
            let mut taken = Vec::with_capacity(256);
            loop {
                let n = receiver.recv_many(&mut taken, 256).await;
                if n == 0 {
                    break;
                }
                taken.clear();
                count.fetch_add(n as u64, Ordering::Relaxed);
            }
        });
        let sources = [Source {
            name: "bench".into(),
            write_key: "bench-key".into(),
        }];
        let app = ingest::router(Arc::new(Ingest::new(&sources, sender)));
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
            drained.store(0, Ordering::Relaxed);
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
            while drained.load(Ordering::Relaxed) < accepted {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            println!(
                "run {run}: {accepted} events accepted in {:.2} s: {:.0} events/s \
                 ({busy} answers 503, resent)",
                elapsed.as_secs_f64(),
                accepted as f64 / elapsed.as_secs_f64()
            );
        }
    });
}
