//! Once per process: the wasmtime engine (component model, pooling allocator, epoch
//! interruption with a 10 ms ticker), the linker holding every host interface, and the compile
//! cache. [`Runtime::load`] turns a component's bytes into a [`Plugin`]: checks the header and
//! size, compiles (cached by the SHA-256 of the bytes), finds which WIT version it targets and
//! pre-instantiates it, then asks it to `describe` itself.

use super::bindings::{PLUGIN_EXPORT, SUPPORTED, WIT_VERSION, v0_1, v0_2, v0_3};
use super::failure::Failure;
use super::instance::Pre;
use super::plugin::Plugin;
use super::pool::Pool;
use super::state::State;
use crate::model::Manifest;
use anyhow::Context as _;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use wasmtime::Engine;
use wasmtime::component::{Component, HasSelf, Linker};

/// The largest component accepted at load time.
pub const MAX_COMPONENT_BYTES: usize = 20 << 20;

/// Process-wide runtime settings.
#[derive(Debug, Clone)]
pub struct RuntimeConfig {
    /// How many plugin instances may exist at once (the size of the instance pool).
    pub max_instances: u32,
    /// Where compiled plugins are cached on disk; `None` keeps them in memory only.
    pub cache_dir: Option<std::path::PathBuf>,
    /// Bytes of each pooled linear memory that are zeroed in place when an instance ends,
    /// rather than returned to the kernel. Returning pages costs a page fault per page on the
    /// next invocation (and TLB shootdowns); zeroing costs a memset. See BENCHMARKS.md.
    pub keep_resident_bytes: usize,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        RuntimeConfig {
            max_instances: 1000,
            cache_dir: None,
            keep_resident_bytes: 1 << 20,
        }
    }
}

/// Why a plugin could not be loaded. Every message starts with where the plugin came from.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{origin}: not a WebAssembly file (it does not start with the \\0asm magic bytes)")]
    NotWasm { origin: String },
    #[error(
        "{origin}: is a core WebAssembly module, not a component; build the plugin for the \
         wasm32-wasip2 target"
    )]
    CoreModule { origin: String },
    #[error("{origin}: is {size} bytes, larger than the limit of {limit} bytes")]
    TooLarge {
        origin: String,
        size: usize,
        limit: usize,
    },
    #[error("{origin}: is not a valid component: {reason}")]
    Invalid { origin: String, reason: String },
    #[error(
        "{origin}: targets WIT package switchyard:destination@{found}, but this host supports \
         switchyard:destination 0.1.x, 0.2.x and 0.3.x (newest {WIT_VERSION})"
    )]
    UnsupportedVersion { origin: String, found: String },
    #[error(
        "{origin}: does not export {PLUGIN_EXPORT} (0.1.x, 0.2.x or 0.3.x); was it built with \
         switchyard-plugin-sdk?"
    )]
    MissingExport { origin: String },
    #[error("{origin}: cannot be linked: {reason}")]
    Link { origin: String, reason: String },
    #[error("{origin}: describe failed: {failure}")]
    Describe { origin: String, failure: Failure },
    #[error("{origin}: invalid manifest: {reason}")]
    Manifest { origin: String, reason: String },
}

/// The process-wide plugin runtime.
pub struct Runtime {
    engine: Engine,
    linker: Linker<State>,
    compiled: Mutex<HashMap<String, Component>>,
    /// Kept-alive outbound connections, shared by every plugin this runtime runs.
    pool: Pool,
}

impl Runtime {
    /// Builds the engine and linker and starts the epoch ticker.
    pub fn new(config: &RuntimeConfig) -> anyhow::Result<Arc<Runtime>> {
        let engine = build_engine(config)?;
        let mut linker = Linker::<State>::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
        v0_1::log::add_to_linker::<State, HasSelf<State>>(&mut linker, |s| s)?;
        v0_2::log::add_to_linker::<State, HasSelf<State>>(&mut linker, |s| s)?;
        v0_2::kv::add_to_linker::<State, HasSelf<State>>(&mut linker, |s| s)?;
        v0_3::log::add_to_linker::<State, HasSelf<State>>(&mut linker, |s| s)?;
        v0_3::kv::add_to_linker::<State, HasSelf<State>>(&mut linker, |s| s)?;
        start_ticker(&engine);
        Ok(Arc::new(Runtime {
            engine,
            linker,
            compiled: Mutex::default(),
            pool: Pool::default(),
        }))
    }

    /// Loads a plugin from a file.
    pub async fn load_file(&self, path: &std::path::Path) -> anyhow::Result<Arc<Plugin>> {
        let bytes =
            std::fs::read(path).with_context(|| format!("reading plugin {}", path.display()))?;
        Ok(self.load(&bytes, &path.display().to_string()).await?)
    }

    /// Loads a plugin: checks and compiles the component, pre-instantiates it and reads its
    /// manifest. `origin` (a path or a bundled plugin's name) starts every error message.
    pub async fn load(&self, bytes: &[u8], origin: &str) -> Result<Arc<Plugin>, LoadError> {
        let origin = origin.to_string();
        check_header(bytes, &origin)?;
        let hash = hex::encode(Sha256::digest(bytes));
        let component = self.compile(bytes, &hash, &origin).await?;
        let version = check_exports(&self.engine, &component, &origin)?;
        let pre = self
            .linker
            .instantiate_pre(&component)
            .map_err(|e| LoadError::Link {
                origin: origin.clone(),
                reason: format!("{e:#}"),
            })?;
        let invalid = |e: wasmtime::Error| LoadError::Invalid {
            origin: origin.clone(),
            reason: format!("{e:#}"),
        };
        let pre = if version.starts_with("0.1.") {
            Pre::V0_1(v0_1::DestinationPre::new(pre).map_err(invalid)?)
        } else if version.starts_with("0.2.") {
            Pre::V0_2(v0_2::DestinationPre::new(pre).map_err(invalid)?)
        } else {
            Pre::V0_3(v0_3::DestinationPre::new(pre).map_err(invalid)?)
        };
        let mut plugin = Plugin {
            hash,
            origin,
            loaded_at: std::time::SystemTime::now(),
            label: Arc::from(""),
            pre,
            engine: self.engine.clone(),
            pool: self.pool.clone(),
            manifest: Manifest::empty(),
        };
        plugin.manifest = plugin.describe().await?;
        let m = &plugin.manifest;
        plugin.label = Arc::from(format!("{}@{}#{}", m.id, m.version, &plugin.hash[..12]).as_str());
        Ok(Arc::new(plugin))
    }

    async fn compile(
        &self,
        bytes: &[u8],
        hash: &str,
        origin: &str,
    ) -> Result<Component, LoadError> {
        if let Some(c) = self.cache().get(hash) {
            return Ok(c.clone());
        }
        let engine = self.engine.clone();
        let owned = bytes.to_vec();
        let component = tokio::task::spawn_blocking(move || Component::new(&engine, owned))
            .await
            .map_err(|e| LoadError::Invalid {
                origin: origin.to_string(),
                reason: e.to_string(),
            })?
            .map_err(|e| LoadError::Invalid {
                origin: origin.to_string(),
                reason: format!("{e:#}"),
            })?;
        self.cache().insert(hash.to_string(), component.clone());
        Ok(component)
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, HashMap<String, Component>> {
        self.compiled.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn build_engine(config: &RuntimeConfig) -> anyhow::Result<Engine> {
    let mut wasm = wasmtime::Config::new();
    wasm.wasm_component_model(true).epoch_interruption(true);
    if let Some(dir) = &config.cache_dir {
        let mut cache = wasmtime::CacheConfig::new();
        cache.with_directory(dir);
        wasm.cache(Some(wasmtime::Cache::new(cache)?));
    }
    let n = config.max_instances.max(1);
    let mut pool = wasmtime::PoolingAllocationConfig::new();
    pool.total_component_instances(n)
        .total_core_instances(n.saturating_mul(8))
        .total_memories(n.saturating_mul(2))
        .total_tables(n.saturating_mul(4))
        .total_stacks(n)
        .max_memory_size(crate::model::MAX_MEMORY_BYTES as usize)
        .max_memories_per_module(1)
        .max_tables_per_module(4)
        .linear_memory_keep_resident(config.keep_resident_bytes)
        .table_keep_resident(config.keep_resident_bytes / 8);
    let mut pooled = wasm.clone();
    pooled.allocation_strategy(wasmtime::InstanceAllocationStrategy::Pooling(pool));
    match Engine::new(&pooled) {
        Ok(engine) => Ok(engine),
        Err(e) => {
            tracing::warn!(
                error = %e,
                "Could not reserve the instance pool; falling back to on-demand allocation, \
                 which is slower."
            );
            Ok(Engine::new(&wasm)?)
        }
    }
}

/// Advances the engine's epoch every tick until the engine is dropped.
fn start_ticker(engine: &Engine) {
    let engine = engine.weak();
    std::thread::Builder::new()
        .name("switchyard-epoch".into())
        .spawn(move || {
            while let Some(engine) = engine.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(crate::model::TICK);
            }
        })
        .expect("spawning the epoch ticker thread");
}

fn check_header(bytes: &[u8], origin: &str) -> Result<(), LoadError> {
    let origin = origin.to_string();
    if bytes.len() > MAX_COMPONENT_BYTES {
        return Err(LoadError::TooLarge {
            origin,
            size: bytes.len(),
            limit: MAX_COMPONENT_BYTES,
        });
    }
    // WebAssembly text is accepted too (handy for fixtures); wasmtime parses it.
    if bytes.starts_with(b"(") || bytes.first().is_some_and(u8::is_ascii_whitespace) {
        if std::str::from_utf8(bytes).is_ok_and(|t| t.trim_start().starts_with("(module")) {
            return Err(LoadError::CoreModule { origin });
        }
        return Ok(());
    }
    if !bytes.starts_with(b"\0asm") || bytes.len() < 8 {
        return Err(LoadError::NotWasm { origin });
    }
    // Bytes 6..8 are the layer: 0 for a core module, 1 for a component.
    if bytes[6] == 0 && bytes[7] == 0 {
        return Err(LoadError::CoreModule { origin });
    }
    Ok(())
}

/// Finds the `switchyard:destination/plugin@X` export and checks that X is one we implement;
/// answers X.
fn check_exports(
    engine: &Engine,
    component: &Component,
    origin: &str,
) -> Result<String, LoadError> {
    let ty = component.component_type();
    let prefix = format!("{PLUGIN_EXPORT}@");
    let mut found = None;
    for (name, _) in ty.exports(engine) {
        if let Some(version) = name.strip_prefix(&prefix) {
            found = Some(version.to_string());
        }
    }
    match found {
        None => Err(LoadError::MissingExport {
            origin: origin.to_string(),
        }),
        Some(v) if SUPPORTED.iter().any(|s| v.starts_with(s)) => Ok(v),
        Some(found) => Err(LoadError::UnsupportedVersion {
            origin: origin.to_string(),
            found,
        }),
    }
}
