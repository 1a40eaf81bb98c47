//! Keep-alive connections for outbound requests, shared by every invocation of one runtime.
//!
//! A fresh TCP (and TLS) connection per event costs more than the rest of a delivery; vendors
//! also rate-limit connection churn. A connection goes back to the pool once its response body
//! has been read to the end (hyper's `ready`); one whose body was dropped half-read is closed.
//! The key holds everything the connect-time checks depended on (scheme, host, port, whether
//! private addresses were allowed), so a pooled connection is only ever reused under the same
//! checks. Idle connections are dropped after [`IDLE`], and at most [`PER_KEY`] are kept per key.

use bytes::Bytes;
use http_body_util::Full;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The sending half of an HTTP/1.1 connection.
pub(crate) type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

/// How long an unused connection is kept.
pub(crate) const IDLE: Duration = Duration::from_secs(30);

/// Idle connections kept per key.
pub(crate) const PER_KEY: usize = 64;

/// What a connection was made for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Key {
    pub(crate) https: bool,
    pub(crate) host: String,
    pub(crate) port: u16,
    pub(crate) allow_private: bool,
}

type Idle = HashMap<Key, Vec<(Sender, Instant)>>;

/// The idle connections of one [`Runtime`](super::Runtime), shared by its plugins' invocations.
#[derive(Debug, Clone, Default)]
pub(crate) struct Pool(Arc<Mutex<Idle>>);

impl Pool {
    fn idle(&self) -> std::sync::MutexGuard<'_, Idle> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// An idle connection for `key` that is still open, if there is one.
    pub(crate) fn take(&self, key: &Key) -> Option<Sender> {
        let mut map = self.idle();
        let list = map.get_mut(key)?;
        while let Some((sender, since)) = list.pop() {
            if since.elapsed() < IDLE && sender.is_ready() {
                return Some(sender);
            }
        }
        None
    }

    /// Puts the connection back once its current response has been read.
    pub(crate) fn keep(&self, key: Key, mut sender: Sender) {
        let pool = self.clone();
        tokio::spawn(async move {
            if sender.ready().await.is_err() {
                return;
            }
            let mut map = pool.idle();
            let list = map.entry(key).or_default();
            list.retain(|(s, since)| since.elapsed() < IDLE && !s.is_closed());
            if list.len() < PER_KEY {
                list.push((sender, Instant::now()));
            }
        });
    }

    /// Idle connections kept now, for tests.
    #[cfg(test)]
    pub(crate) fn idle_count(&self, key: &Key) -> usize {
        self.idle().get(key).map_or(0, Vec::len)
    }
}
