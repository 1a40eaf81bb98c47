//! Hot loading: the plugins folder is polled, and a change reloads the plugins.

use super::until_true;
use crate::live::Reloader;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// How often the plugins folder is looked at.
const PLUGIN_POLL: Duration = Duration::from_millis(500);

/// What identifies the folder's plugins: each .wasm file's name, size and modification time.
fn folder_state(
    dir: &std::path::Path,
) -> Vec<(std::ffi::OsString, u64, Option<std::time::SystemTime>)> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "wasm"))
        .map(|e| {
            let meta = e.metadata().ok();
            (
                e.file_name(),
                meta.as_ref().map_or(0, std::fs::Metadata::len),
                meta.and_then(|m| m.modified().ok()),
            )
        })
        .collect();
    files.sort();
    files
}

/// Hot loading: when a .wasm file in `[plugins] dir` appears, changes or goes, the plugins are
/// loaded again and the routes rebuilt. A plugin that fails to load (or leaves a subscription
/// without its action) is refused, the reason logged and kept for the admin API, and the
/// version in force keeps serving. Polling (rather than inotify) works the same on every
/// filesystem, network ones included, at the cost of noticing within half a second.
pub(super) async fn watch_plugins(reloader: Arc<Reloader>, mut stop: watch::Receiver<bool>) {
    let dir = |r: &Reloader| r.live.current().config.plugin_dir.clone();
    let mut last = dir(&reloader).map(|d| folder_state(&d));
    loop {
        tokio::select! {
            () = until_true(&mut stop) => return,
            () = tokio::time::sleep(PLUGIN_POLL) => {}
        }
        let Some(folder) = dir(&reloader) else {
            continue;
        };
        let now = Some(folder_state(&folder));
        if now == last {
            continue;
        }
        last = now;
        match reloader.reload_plugins().await {
            Ok(r) => {
                tracing::info!(plugins = ?r.plugins, "Plugins folder changed: plugins loaded.")
            }
            Err(e) => tracing::error!(
                "Plugins folder changed, but the change is refused; the plugins in force keep \
                 serving:\n{e}"
            ),
        }
    }
}
