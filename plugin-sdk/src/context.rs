//! What an action gets besides its payload and settings: an HTTP client, a logger and the
//! destination's key-value store.

use crate::Error;
use crate::http::{RequestBuilder, Transport};
use crate::kv::{FakeKv, KeyValue};
use std::time::Duration;

/// A log level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Level {
    /// Very detailed tracing.
    Trace,
    /// Debugging detail.
    Debug,
    /// Normal operation.
    Info,
    /// Something unexpected but handled.
    Warn,
    /// A failure.
    Error,
}

/// The context of one invocation.
pub struct Context {
    transport: Box<dyn Transport>,
    kv: Box<dyn KeyValue>,
    logs: Vec<(Level, String)>,
}

impl Context {
    /// A context whose HTTP goes to `transport` and whose key-value calls go to `kv`; for
    /// tests use [`Context::fake`] or [`Context::fake_with_kv`].
    pub fn new(transport: Box<dyn Transport>, kv: Box<dyn KeyValue>) -> Context {
        Context {
            transport,
            kv,
            logs: Vec::new(),
        }
    }

    /// A context whose HTTP goes to `transport`, with an empty in-memory key-value store.
    pub fn with_transport(transport: Box<dyn Transport>) -> Context {
        Context::new(transport, Box::new(FakeKv::new()))
    }

    /// A context whose HTTP goes to a [`FakeHttp`](crate::FakeHttp), for native unit tests.
    pub fn fake(http: &crate::FakeHttp) -> Context {
        Context::with_transport(Box::new(http.clone()))
    }

    /// Like [`Context::fake`], with a [`FakeKv`] the test keeps to preload or inspect (and to
    /// share between invocations, as the host's store is).
    pub fn fake_with_kv(http: &crate::FakeHttp, kv: &FakeKv) -> Context {
        Context::new(Box::new(http.clone()), Box::new(kv.clone()))
    }

    /// The value kept under `key` for this destination, unless absent or expired.
    pub fn kv_get(&mut self, key: &str) -> Option<String> {
        self.kv.get(key)
    }

    /// Keeps `value` under `key` for this destination, for `ttl` (zero: until replaced). The
    /// host bounds the store (64 keys, 16 KiB values); a refusal is a permanent error naming
    /// the limit. Entries may be forgotten at any time: keep only what you can rebuild.
    pub fn kv_set(&mut self, key: &str, value: &str, ttl: Duration) -> Result<(), Error> {
        self.kv.set(key, value, ttl).map_err(Error::permanent)
    }

    /// Forgets `key`.
    pub fn kv_delete(&mut self, key: &str) {
        self.kv.delete(key);
    }

    /// Starts a request with any method.
    pub fn request(&mut self, method: &str, url: &str) -> RequestBuilder<'_> {
        RequestBuilder::new(self.transport.as_mut(), method, url)
    }

    /// Starts a GET request.
    pub fn get(&mut self, url: &str) -> RequestBuilder<'_> {
        self.request("GET", url)
    }

    /// Starts a POST request.
    pub fn post(&mut self, url: &str) -> RequestBuilder<'_> {
        self.request("POST", url)
    }

    /// Starts a PUT request.
    pub fn put(&mut self, url: &str) -> RequestBuilder<'_> {
        self.request("PUT", url)
    }

    /// Starts a PATCH request.
    pub fn patch(&mut self, url: &str) -> RequestBuilder<'_> {
        self.request("PATCH", url)
    }

    /// Starts a DELETE request.
    pub fn delete(&mut self, url: &str) -> RequestBuilder<'_> {
        self.request("DELETE", url)
    }

    /// Writes a log line. In a component it goes to the host's per-invocation log (bounded);
    /// natively it is kept for [`Context::logs`].
    pub fn log(&mut self, level: Level, message: &str) {
        #[cfg(target_arch = "wasm32")]
        crate::guest::log(level, message);
        self.logs.push((level, message.to_string()));
    }

    /// Logs at info level.
    pub fn info(&mut self, message: &str) {
        self.log(Level::Info, message);
    }

    /// Logs at warn level.
    pub fn warn(&mut self, message: &str) {
        self.log(Level::Warn, message);
    }

    /// Logs at debug level.
    pub fn debug(&mut self, message: &str) {
        self.log(Level::Debug, message);
    }

    /// The lines logged so far.
    pub fn logs(&self) -> &[(Level, String)] {
        &self.logs
    }
}
