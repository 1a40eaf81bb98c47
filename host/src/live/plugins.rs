//! The plugins a configuration runs: every bundled plugin (compiled into the binary), then every
//! `.wasm` file of `[plugins] dir`, in file-name order. A folder plugin with a bundled plugin's
//! id replaces it (a newer or older version); two folder files with one id are refused.
//! Loading is all or nothing: the first file that cannot be loaded is the problem reported.

use crate::config::Config;
use crate::problems::Problems;
use crate::runtime::{Plugin, Runtime};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

/// The bundled plugins, and every .wasm file of `[plugins] dir`.
pub async fn load_plugins(
    runtime: &Runtime,
    config: &Config,
) -> Result<HashMap<String, Arc<Plugin>>, Problems> {
    let mut plugins = HashMap::new();
    for id in crate::bundled::ids() {
        let bytes = crate::bundled::find(id).expect("listed");
        let plugin = runtime
            .load(bytes, &format!("bundled plugin {id}"))
            .await
            .map_err(|e| e.to_string())?;
        plugins.insert(id.to_string(), plugin);
    }
    let Some(dir) = &config.plugin_dir else {
        return Ok(plugins);
    };
    let entries = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: plugins.dir {}: {e}", config.origin, dir.display()))?;
    let mut files: Vec<_> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "wasm"))
        .collect();
    files.sort();
    let mut from_dir: HashMap<String, PathBuf> = HashMap::new();
    for path in files {
        let plugin = runtime.load_file(&path).await.map_err(|e| e.to_string())?;
        let id = plugin.manifest().id.clone();
        if let Some(other) = from_dir.get(&id) {
            return Err(format!(
                "{} declares the plugin id {id:?}, which {} already has",
                path.display(),
                other.display()
            )
            .into());
        }
        // A file in the folder may bring a newer (or older) version of a bundled plugin.
        if plugins.contains_key(&id) {
            tracing::info!(plugin = %id, file = %path.display(), "Replaces the bundled plugin.");
        }
        from_dir.insert(id.clone(), path);
        plugins.insert(id, plugin);
    }
    Ok(plugins)
}
