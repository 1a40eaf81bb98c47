//! A real HTTP server standing in for a vendor API: binds 127.0.0.1:0, records every request,
//! and answers from a script (status, headers, body, delay), then the fallback (`200 {}`
//! unless set).
//!
//! Shared with the `switchyard-tests` crate through `#[path]`.

#![allow(dead_code, reason = "each test binary uses part of it")]

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A scripted answer.
#[derive(Debug, Clone)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
    pub(crate) delay: Duration,
}

impl Reply {
    pub(crate) fn new(status: u16, body: impl Into<Vec<u8>>) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: body.into(),
            delay: Duration::ZERO,
        }
    }

    pub(crate) fn header(mut self, name: &str, value: &str) -> Reply {
        self.headers.push((name.into(), value.into()));
        self
    }
}

/// A request the mock received.
#[derive(Debug, Clone)]
pub(crate) struct Received {
    pub(crate) method: String,
    /// Path and query.
    pub(crate) path: String,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
    /// The status the mock answered it with.
    pub(crate) answered: u16,
}

impl Received {
    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("the request body is JSON")
    }

    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

#[derive(Default)]
struct State {
    script: VecDeque<Reply>,
    /// The answer when the script is empty; `None` for `200 {}`.
    fallback: Option<Reply>,
    received: Vec<Received>,
}

/// The running mock server; it stops when the test's runtime ends.
#[derive(Clone)]
pub(crate) struct Mock {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
}

impl Mock {
    pub(crate) async fn start() -> Mock {
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        let app = axum::Router::new().fallback(
            move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                let state = shared.clone();
                async move {
                    let reply = {
                        let mut s = state.lock().unwrap();
                        let reply = s
                            .script
                            .pop_front()
                            .or_else(|| s.fallback.clone())
                            .unwrap_or_else(|| Reply::new(200, "{}"));
                        s.received.push(Received {
                            method: method.to_string(),
                            path: uri.to_string(),
                            headers,
                            body,
                            answered: reply.status,
                        });
                        reply
                    };
                    tokio::time::sleep(reply.delay).await;
                    let mut response =
                        axum::response::Response::new(axum::body::Body::from(reply.body));
                    *response.status_mut() = StatusCode::from_u16(reply.status).unwrap();
                    for (k, v) in reply.headers {
                        response.headers_mut().insert(
                            axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                            v.parse().unwrap(),
                        );
                    }
                    response
                }
            },
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Mock { addr, state }
    }

    /// `http://127.0.0.1:PORT` followed by `path`.
    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The allow-list pattern for this server.
    pub(crate) fn pattern(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub(crate) fn push(&self, reply: Reply) {
        self.state.lock().unwrap().script.push_back(reply);
    }

    /// Answers `reply` (or, with `None`, `200 {}`) once the script is used up.
    pub(crate) fn set_fallback(&self, reply: Option<Reply>) {
        self.state.lock().unwrap().fallback = reply;
    }

    pub(crate) fn received(&self) -> Vec<Received> {
        self.state.lock().unwrap().received.clone()
    }

    /// Waits until `n` requests have arrived (30 s at most), and answers them all.
    pub(crate) async fn wait_for(&self, n: usize) -> Vec<Received> {
        let started = std::time::Instant::now();
        while self.received().len() < n {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "{} of {n} requests arrived: {:?}",
                self.received().len(),
                self.received()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.received()
    }
}
