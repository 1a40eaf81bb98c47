//! Plugin versions: every version loaded from the plugins folder is kept by content hash in
//! `data_dir/plugins/<id>/<hash>.wasm`, with its plugin version and when it was kept, so an
//! operator can switch back to any of them in one step (rollback), even after a restart.
//!
//! The plugins folder stays the one source of truth for what runs: installing a version
//! (upload, rollback) writes its bytes over the plugin's file there (written beside it, then
//! renamed, so no reader sees half a file), and the reload that follows swaps it in.

use crate::files::write_whole;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// The archive of kept versions.
pub struct Archive {
    pub dir: PathBuf,
}

/// One kept version.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Version {
    pub hash: String,
    pub version: String,
    pub kept_at_ms: i64,
}

impl Archive {
    fn folder(&self, id: &str) -> PathBuf {
        self.dir.join(id)
    }

    /// Keeps these bytes as a version of `id` (once per hash).
    pub fn keep(&self, id: &str, version: &str, hash: &str, bytes: &[u8]) -> std::io::Result<()> {
        let folder = self.folder(id);
        let wasm = folder.join(format!("{hash}.wasm"));
        if wasm.exists() {
            return Ok(());
        }
        std::fs::create_dir_all(&folder)?;
        write_whole(&wasm, bytes)?;
        let meta = Version {
            hash: hash.to_string(),
            version: version.to_string(),
            kept_at_ms: crate::queue::now(),
        };
        let text = serde_json::to_string(&meta).map_err(std::io::Error::other)?;
        write_whole(&folder.join(format!("{hash}.json")), text.as_bytes())
    }

    /// The kept versions of `id`, oldest first.
    pub fn list(&self, id: &str) -> Vec<Version> {
        let mut versions: Vec<Version> = std::fs::read_dir(self.folder(id))
            .into_iter()
            .flatten()
            .filter_map(Result::ok)
            .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
            .filter_map(|e| std::fs::read_to_string(e.path()).ok())
            .filter_map(|t| serde_json::from_str(&t).ok())
            .collect();
        versions.sort_by_key(|v| v.kept_at_ms);
        versions
    }

    /// The bytes of a kept version.
    pub fn bytes(&self, id: &str, hash: &str) -> std::io::Result<Vec<u8>> {
        let plain = |b: u8| b.is_ascii_alphanumeric() || b == b'-' || b == b'_';
        if id.is_empty() || !id.bytes().all(plain) {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("{id:?} is not a plugin id"),
            ));
        }
        if hash.is_empty() || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("{hash:?} is not a content hash"),
            ));
        }
        std::fs::read(self.folder(id).join(format!("{hash}.wasm")))
    }
}
