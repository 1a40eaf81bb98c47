//! The `kv` import (WIT 0.2): a small key-value store per destination, for state a plugin
//! keeps between invocations (an OAuth access token until it expires).
//!
//! It lives in memory only. What plugins keep here is mostly credentials, which should not
//! sit on disk, and everything in it can be rebuilt (a token is fetched again), so losing it
//! on restart costs one extra request. Bounds keep a plugin from growing the host: a few keys,
//! short values.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Keys one destination may hold.
pub(crate) const MAX_KEYS: usize = 64;
/// The longest key, in bytes.
pub(crate) const MAX_KEY_BYTES: usize = 256;
/// The longest value, in bytes.
pub(crate) const MAX_VALUE_BYTES: usize = 16 << 10;

/// One destination's store, shared by all its invocations.
#[derive(Debug, Default)]
pub struct Kv {
    entries: Mutex<HashMap<String, Entry>>,
}

#[derive(Debug)]
struct Entry {
    value: String,
    expires: Option<Instant>,
}

impl Entry {
    fn live(&self, now: Instant) -> bool {
        self.expires.is_none_or(|t| t > now)
    }
}

impl Kv {
    /// The value under `key` unless it is absent or expired.
    pub fn get(&self, key: &str) -> Option<String> {
        let now = Instant::now();
        let mut entries = self.lock();
        match entries.get(key) {
            Some(e) if e.live(now) => Some(e.value.clone()),
            Some(_) => {
                entries.remove(key);
                None
            }
            None => None,
        }
    }

    /// Keeps `value` under `key` for `ttl` (`None`: no expiry).
    pub fn set(&self, key: &str, value: &str, ttl: Option<Duration>) -> Result<(), String> {
        if key.is_empty() || key.len() > MAX_KEY_BYTES {
            return Err(format!(
                "kv key must be 1 to {MAX_KEY_BYTES} bytes, not {}",
                key.len()
            ));
        }
        if value.len() > MAX_VALUE_BYTES {
            return Err(format!(
                "kv value under {key:?} is {} bytes, more than the limit of {MAX_VALUE_BYTES}",
                value.len()
            ));
        }
        let now = Instant::now();
        let mut entries = self.lock();
        if !entries.contains_key(key) && entries.len() >= MAX_KEYS {
            entries.retain(|_, e| e.live(now));
            if entries.len() >= MAX_KEYS {
                return Err(format!(
                    "kv store is full ({MAX_KEYS} keys); delete a key before adding {key:?}"
                ));
            }
        }
        let expires = ttl.and_then(|d| now.checked_add(d));
        entries.insert(
            key.to_string(),
            Entry {
                value: value.to_string(),
                expires,
            },
        );
        Ok(())
    }

    /// Forgets `key`.
    pub fn delete(&self, key: &str) {
        self.lock().remove(key);
    }

    /// How many keys are held (expired ones included until they are next looked at).
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_expire_after_their_ttl() {
        let kv = Kv::default();
        kv.set("token", "abc", Some(Duration::from_millis(30)))
            .unwrap();
        kv.set("forever", "x", None).unwrap();
        assert_eq!(kv.get("token").as_deref(), Some("abc"));
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(kv.get("token"), None);
        assert_eq!(kv.get("forever").as_deref(), Some("x"));
        kv.delete("forever");
        assert_eq!(kv.get("forever"), None);
        assert!(kv.is_empty());
    }

    #[test]
    fn bounds_are_enforced_with_reasons() {
        let kv = Kv::default();
        let big = "v".repeat(MAX_VALUE_BYTES + 1);
        assert!(
            kv.set("k", &big, None)
                .unwrap_err()
                .contains("limit of 16384")
        );
        assert!(
            kv.set("", "v", None)
                .unwrap_err()
                .contains("1 to 256 bytes")
        );
        for i in 0..MAX_KEYS {
            kv.set(&format!("k{i}"), "v", None).unwrap();
        }
        let full = kv.set("one-more", "v", None).unwrap_err();
        assert!(full.contains("full (64 keys)"), "{full}");
        // Replacing an existing key is always allowed.
        kv.set("k0", "w", None).unwrap();
        // Expired entries make room.
        let kv = Kv::default();
        for i in 0..MAX_KEYS {
            kv.set(&format!("k{i}"), "v", Some(Duration::from_millis(1)))
                .unwrap();
        }
        std::thread::sleep(Duration::from_millis(10));
        kv.set("fresh", "v", None).unwrap();
        assert_eq!(kv.len(), 1);
    }
}
