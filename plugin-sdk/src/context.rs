//! What an action gets besides its payload and settings: an HTTP client and a logger.

use crate::http::{RequestBuilder, Transport};

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
    logs: Vec<(Level, String)>,
}

impl Context {
    /// A context whose HTTP goes to `transport`; for tests use [`Context::fake`].
    pub fn with_transport(transport: Box<dyn Transport>) -> Context {
        Context {
            transport,
            logs: Vec::new(),
        }
    }

    /// A context whose HTTP goes to a [`FakeHttp`](crate::FakeHttp), for native unit tests.
    pub fn fake(http: &crate::FakeHttp) -> Context {
        Context::with_transport(Box::new(http.clone()))
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
