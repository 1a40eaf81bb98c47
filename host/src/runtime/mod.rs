//! The plugin runtime: loads destination plugins (WebAssembly components) and runs their actions
//! in a sandbox.
//!
//! Work is split by how often it happens (as Spin's factors are):
//! - once per process: one [`Runtime`] with one wasmtime `Engine` (component model, pooling
//!   allocator, epoch interruption, a 10 ms epoch ticker) and one `Linker` holding every host
//!   interface (`wasi:http` through our policy hooks, a WASI context with no filesystem, no
//!   environment and no sockets, and our `log` and `kv` for every supported WIT version);
//! - once per plugin version: [`Runtime::load`] compiles the component (cached by the SHA-256 of
//!   its bytes), checks which WIT version it targets (0.1 or 0.2; see `bindings.rs`),
//!   pre-instantiates it, calls `describe` and checks the manifest, giving a [`Plugin`];
//! - once per invocation (one event or one batch): a fresh `Store` with its own limits and an
//!   instance from the pre-instantiation, dropped afterwards. Nothing leaks between events.
//!
//! Every breach of a limit is a typed [`Failure`]; a trap or panic in a plugin fails only that
//! invocation.

mod allow;
mod bindings;
mod convert;
mod failure;
mod kv;
mod limits;
mod logs;
mod manifest;
mod outbound;
mod pool;

pub use allow::{AllowList, HostPattern};
pub use failure::{Failure, Limit};
pub use kv::Kv;
pub use limits::Limits;
pub use logs::LogLine;
pub use manifest::{Action, Choice, Field, FieldType, Manifest, Preset, Setting};
pub use outbound::{CannedResponse, Exchange, Mode, NetPolicy, Responder};

use anyhow::Context as _;
use bindings::{PLUGIN_EXPORT, SUPPORTED, WIT_VERSION, v0_1, v0_2, wit};
use limits::{Breach, MemoryLimiter};
use logs::{Logs, Stdio};
use outbound::Outbound;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use wasmtime::component::{Component, HasSelf, Linker, ResourceTable};
use wasmtime::{Engine, Store, UpdateDeadline};
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

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
         switchyard:destination 0.1.x and 0.2.x (newest {WIT_VERSION})"
    )]
    UnsupportedVersion { origin: String, found: String },
    #[error(
        "{origin}: does not export {PLUGIN_EXPORT} (0.1.x or 0.2.x); was it built with \
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
        start_ticker(&engine);
        Ok(Arc::new(Runtime {
            engine,
            linker,
            compiled: Mutex::default(),
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
        } else {
            Pre::V0_2(v0_2::DestinationPre::new(pre).map_err(invalid)?)
        };
        let mut plugin = Plugin {
            hash,
            origin,
            loaded_at: std::time::SystemTime::now(),
            label: Arc::from(""),
            pre,
            engine: self.engine.clone(),
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
        .max_memory_size(limits::MAX_MEMORY_BYTES as usize)
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
                std::thread::sleep(limits::TICK);
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

impl Manifest {
    fn empty() -> Manifest {
        Manifest {
            id: String::new(),
            name: String::new(),
            version: String::new(),
            description: String::new(),
            settings: Vec::new(),
            allowed_hosts: Vec::new(),
            presets: Vec::new(),
            actions: Vec::new(),
        }
    }
}

/// How one invocation runs: its limits and its network policy.
#[derive(Debug, Clone, Default)]
pub struct InvokeOptions {
    pub limits: Limits,
    pub net: Arc<NetPolicy>,
    /// The destination's key-value store (WIT 0.2 `kv`), shared by its invocations.
    pub kv: Arc<Kv>,
}

/// What one invocation did.
#[derive(Debug, Clone, Default)]
pub struct Invocation {
    /// One result per payload, in order.
    pub results: Vec<Result<(), Failure>>,
    /// Every outbound request, in the order made.
    pub exchanges: Vec<Exchange>,
    pub logs: Vec<LogLine>,
}

/// One loaded plugin version.
pub struct Plugin {
    hash: String,
    origin: String,
    loaded_at: std::time::SystemTime,
    /// `id@version#hash` (first 12 hex digits), naming this version in redirected requests.
    label: Arc<str>,
    manifest: Manifest,
    pre: Pre,
    engine: Engine,
}

/// A pre-instantiated plugin, by the WIT version it was built against.
enum Pre {
    V0_1(v0_1::DestinationPre<State>),
    V0_2(v0_2::DestinationPre<State>),
}

/// One instance, by WIT version. Both versions' calls take and answer the same types.
enum Instance {
    V0_1(v0_1::Destination),
    V0_2(v0_2::Destination),
}

impl Pre {
    async fn instantiate(&self, store: &mut Store<State>) -> wasmtime::Result<Instance> {
        Ok(match self {
            Pre::V0_1(pre) => Instance::V0_1(pre.instantiate_async(store).await?),
            Pre::V0_2(pre) => Instance::V0_2(pre.instantiate_async(store).await?),
        })
    }
}

impl Instance {
    async fn describe(&self, store: &mut Store<State>) -> wasmtime::Result<wit::Manifest> {
        match self {
            Instance::V0_1(i) => i.switchyard_destination_plugin().call_describe(store).await,
            Instance::V0_2(i) => i.switchyard_destination_plugin().call_describe(store).await,
        }
    }

    async fn perform(
        &self,
        store: &mut Store<State>,
        action: &str,
        payload: &str,
        settings: &str,
    ) -> wasmtime::Result<Result<(), wit::ActionError>> {
        match self {
            Instance::V0_1(i) => {
                i.switchyard_destination_plugin()
                    .call_perform(store, action, payload, settings)
                    .await
            }
            Instance::V0_2(i) => {
                i.switchyard_destination_plugin()
                    .call_perform(store, action, payload, settings)
                    .await
            }
        }
    }

    async fn perform_batch(
        &self,
        store: &mut Store<State>,
        action: &str,
        payloads: &[String],
        settings: &str,
    ) -> wasmtime::Result<Vec<Result<(), wit::ActionError>>> {
        match self {
            Instance::V0_1(i) => {
                i.switchyard_destination_plugin()
                    .call_perform_batch(store, action, payloads, settings)
                    .await
            }
            Instance::V0_2(i) => {
                i.switchyard_destination_plugin()
                    .call_perform_batch(store, action, payloads, settings)
                    .await
            }
        }
    }
}

impl std::fmt::Debug for Plugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plugin")
            .field("id", &self.manifest.id)
            .field("version", &self.manifest.version)
            .field("hash", &self.hash)
            .finish()
    }
}

enum Call<'a> {
    Describe,
    One(&'a str, &'a str, &'a str),
    Batch(&'a str, &'a [String], &'a str),
}

enum Answer {
    Manifest(wit::Manifest),
    Results(Vec<Result<(), wit::ActionError>>),
}

impl Plugin {
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The SHA-256 of the component's bytes, hex-encoded.
    pub fn hash(&self) -> &str {
        &self.hash
    }

    /// Where the plugin was loaded from.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// When this version was loaded.
    pub fn loaded_at(&self) -> std::time::SystemTime {
        self.loaded_at
    }

    /// The version of the `switchyard:destination` WIT package the plugin was built against
    /// (its minor version: "0.1" or "0.2").
    pub fn wit_version(&self) -> &'static str {
        match self.pre {
            Pre::V0_1(_) => "0.1",
            Pre::V0_2(_) => "0.2",
        }
    }

    /// Runs `perform` on one payload. Payload and settings are JSON objects as text.
    pub async fn perform(
        &self,
        action: &str,
        payload: &str,
        settings: &str,
        options: &InvokeOptions,
    ) -> Invocation {
        let call = Call::One(action, payload, settings);
        self.run(call, 1, options).await
    }

    /// Runs `perform-batch` on many payloads; one result per payload, in order.
    pub async fn perform_batch(
        &self,
        action: &str,
        payloads: &[String],
        settings: &str,
        options: &InvokeOptions,
    ) -> Invocation {
        let call = Call::Batch(action, payloads, settings);
        self.run(call, 0, options).await
    }

    async fn describe(&self) -> Result<Manifest, LoadError> {
        let (answer, _, _) = self.call(Call::Describe, &InvokeOptions::default()).await;
        let failure = |failure| LoadError::Describe {
            origin: self.origin.clone(),
            failure,
        };
        let manifest = match answer.map_err(failure)? {
            Answer::Manifest(m) => m,
            Answer::Results(_) => unreachable!("describe answers a manifest"),
        };
        let manifest = convert::manifest(manifest).map_err(|reason| LoadError::Manifest {
            origin: self.origin.clone(),
            reason,
        })?;
        check_manifest(&manifest).map_err(|reason| LoadError::Manifest {
            origin: self.origin.clone(),
            reason,
        })?;
        Ok(manifest)
    }

    /// A fresh store with the invocation's limits, and the record of its outbound requests.
    fn store(
        &self,
        options: &InvokeOptions,
        breach: &Breach,
        logs: &Logs,
    ) -> (Store<State>, Arc<Mutex<Vec<Exchange>>>) {
        let limits = &options.limits;
        let outbound = Outbound::new(
            options.net.clone(),
            breach.clone(),
            limits.max_requests,
            limits.max_response_bytes,
        );
        let mut outbound = outbound;
        outbound.plugin = self.label.clone();
        let exchanges = outbound.exchanges.clone();
        let state = State::new(limits, breach, logs, outbound, options.kv.clone());
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.memory);
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(|mut ctx| {
            let state = ctx.data_mut();
            state.cpu_ticks += 1;
            if state.cpu_ticks > state.max_cpu_ticks {
                state
                    .breach
                    .record(Failure::LimitExceeded(Limit::Cpu(state.cpu_limit)));
                wasmtime::bail!("cpu limit exceeded");
            }
            Ok(UpdateDeadline::Yield(1))
        });
        (store, exchanges)
    }

    /// Benchmark hook: the time of `n` `perform` calls on one long-lived instance, without the
    /// fresh store and instance production uses. Comparing it with [`Plugin::perform`] in the
    /// same run separates the cost of isolation from the cost of the plugin's work. With
    /// `instantiate_between`, an unrelated store and instance is also created and dropped
    /// after every call (the calls keep their own instance): what an instantiation costs the
    /// work that follows it, beside its own time.
    #[doc(hidden)]
    pub async fn time_calls_on_one_instance(
        &self,
        action: &str,
        payload: &str,
        settings: &str,
        options: &InvokeOptions,
        n: u64,
        instantiate_between: bool,
    ) -> anyhow::Result<std::time::Duration> {
        let breach = Breach::default();
        let logs = Logs::new(u64::MAX, breach.clone());
        let (mut store, _) = self.store(options, &breach, &logs);
        store.data_mut().max_cpu_ticks = u64::MAX;
        let instance = self.pre.instantiate(&mut store).await?;
        let started = std::time::Instant::now();
        for _ in 0..n {
            // Each call gets the budget and record a fresh instance would have.
            store.data_mut().outbound.start_over();
            let answer = instance
                .perform(&mut store, action, payload, settings)
                .await?;
            if let Some(failure) = breach.take() {
                anyhow::bail!("the sandbox stopped a call: {failure}");
            }
            let _ = answer;
            if instantiate_between {
                self.time_instantiations(options, 1).await?;
            }
        }
        Ok(started.elapsed())
    }

    /// Benchmark hook: the time of `n` fresh stores and instances created and dropped without a
    /// call, the fixed part of isolation.
    #[doc(hidden)]
    pub async fn time_instantiations(
        &self,
        options: &InvokeOptions,
        n: u64,
    ) -> anyhow::Result<std::time::Duration> {
        let started = std::time::Instant::now();
        for _ in 0..n {
            let breach = Breach::default();
            let logs = Logs::new(options.limits.max_log_bytes, breach.clone());
            let (mut store, _) = self.store(options, &breach, &logs);
            self.pre.instantiate(&mut store).await?;
            drop(store);
        }
        Ok(started.elapsed())
    }

    async fn run(&self, call: Call<'_>, expected: usize, options: &InvokeOptions) -> Invocation {
        let expected = match &call {
            Call::Batch(_, payloads, _) => payloads.len(),
            _ => expected,
        };
        let (answer, exchanges, logs) = self.call(call, options).await;
        let results = match answer {
            Ok(Answer::Results(results)) if results.len() == expected => results
                .into_iter()
                .map(|r| r.map_err(convert::action_error))
                .collect(),
            Ok(Answer::Results(results)) => {
                let failure = Failure::Internal(format!(
                    "plugin answered {} results for {expected} payloads",
                    results.len()
                ));
                vec![Err(failure); expected]
            }
            Ok(Answer::Manifest(_)) => unreachable!("perform answers results"),
            Err(failure) => vec![Err(failure); expected],
        };
        Invocation {
            results,
            exchanges,
            logs,
        }
    }

    /// One invocation in a fresh store. The sandbox's breach, if any, wins over the plugin's
    /// own answer.
    async fn call(
        &self,
        call: Call<'_>,
        options: &InvokeOptions,
    ) -> (Result<Answer, Failure>, Vec<Exchange>, Vec<LogLine>) {
        let limits = &options.limits;
        let input = match &call {
            Call::Describe => 0,
            Call::One(a, p, s) => a.len() + p.len() + s.len(),
            Call::Batch(a, ps, s) => a.len() + s.len() + ps.iter().map(String::len).sum::<usize>(),
        } as u64;
        if input > limits.max_input_bytes {
            let failure = Failure::LimitExceeded(Limit::Input {
                size: input,
                limit: limits.max_input_bytes,
            });
            return (Err(failure), Vec::new(), Vec::new());
        }
        let breach = Breach::default();
        let logs = Logs::new(limits.max_log_bytes, breach.clone());
        let (mut store, exchanges) = self.store(options, &breach, &logs);

        let outcome = tokio::time::timeout(limits.wall_clock(), async {
            let instance = self.pre.instantiate(&mut store).await?;
            Ok::<_, wasmtime::Error>(match call {
                Call::Describe => Answer::Manifest(instance.describe(&mut store).await?),
                Call::One(action, payload, settings) => Answer::Results(vec![
                    instance
                        .perform(&mut store, action, payload, settings)
                        .await?,
                ]),
                Call::Batch(action, payloads, settings) => Answer::Results(
                    instance
                        .perform_batch(&mut store, action, payloads, settings)
                        .await?,
                ),
            })
        })
        .await;
        drop(store);

        let lines = logs.take();
        let answer = match (breach.take(), outcome) {
            (Some(failure), _) => Err(failure),
            (None, Err(_elapsed)) => Err(Failure::LimitExceeded(Limit::WallClock(
                limits.wall_clock(),
            ))),
            (None, Ok(Ok(answer))) => Ok(answer),
            (None, Ok(Err(error))) => Err(trap(&error, &lines)),
        };
        let exchanges = std::mem::take(&mut *exchanges.lock().unwrap_or_else(|e| e.into_inner()));
        (answer, exchanges, lines)
    }
}

/// Describes a trap, with the plugin's panic message when stderr has one. Rust prints a panic as
/// `thread '…' panicked at FILE:LINE:COL:` followed by the message on the next lines.
fn trap(error: &wasmtime::Error, lines: &[LogLine]) -> Failure {
    let stderr: Vec<&str> = lines
        .iter()
        .filter(|l| l.level == "stderr")
        .map(|l| l.message.as_str())
        .collect();
    let panic = stderr
        .iter()
        .position(|l| l.contains("panicked at "))
        .map(|at| {
            let place = stderr[at].split_once("panicked at ").map_or("", |(_, p)| p);
            let message: Vec<&str> = stderr[at + 1..]
                .iter()
                .take_while(|l| !l.starts_with("note:"))
                .copied()
                .collect();
            format!("panicked at {place} {}", message.join(" "))
        });
    let message = match (panic, error.downcast_ref::<wasmtime::Trap>()) {
        (Some(p), _) => p.trim_end().to_string(),
        (None, Some(t)) => t.to_string(),
        (None, None) => format!("{error:#}"),
    };
    Failure::Trap { message }
}

/// Rules a manifest must follow; checked once at load.
fn check_manifest(m: &Manifest) -> Result<(), String> {
    let slug = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    };
    if !slug(&m.id) {
        return Err(format!(
            "plugin id {:?} must be lowercase letters, digits and dashes",
            m.id
        ));
    }
    let mut actions = std::collections::HashSet::new();
    for a in &m.actions {
        if a.id.is_empty() || !actions.insert(a.id.as_str()) {
            return Err(format!("action id {:?} is empty or repeated", a.id));
        }
        let mut keys = std::collections::HashSet::new();
        for f in &a.fields {
            if f.key.is_empty() || !keys.insert(f.key.as_str()) {
                return Err(format!(
                    "field key {:?} of action {:?} is empty or repeated",
                    f.key, a.id
                ));
            }
            if let Some(default) = &f.default {
                crate::mapping::Mapping::parse(default).map_err(|e| {
                    format!(
                        "default mapping of field {:?} of action {:?}: {e}",
                        f.key, a.id
                    )
                })?;
            }
        }
        if a.max_batch_size == Some(0) {
            return Err(format!("action {:?} has a max batch size of 0", a.id));
        }
    }
    for p in &m.presets {
        if m.action(&p.action).is_none() {
            return Err(format!(
                "preset {:?} names action {:?}, which the plugin does not have",
                p.name, p.action
            ));
        }
    }
    AllowList::parse(&m.allowed_hosts)?;
    Ok(())
}

/// Per-invocation store state.
pub(crate) struct State {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    table: ResourceTable,
    outbound: Outbound,
    memory: MemoryLimiter,
    breach: Breach,
    logs: Logs,
    cpu_ticks: u64,
    max_cpu_ticks: u64,
    cpu_limit: std::time::Duration,
    kv: Arc<Kv>,
}

impl State {
    fn new(
        limits: &Limits,
        breach: &Breach,
        logs: &Logs,
        outbound: Outbound,
        kv: Arc<Kv>,
    ) -> State {
        // No preopened directories, no environment, no arguments, no network for sockets.
        let wasi = WasiCtxBuilder::new()
            .stdout(Stdio(logs.clone(), 0))
            .stderr(Stdio(logs.clone(), 1))
            .allow_ip_name_lookup(false)
            .allow_tcp(false)
            .allow_udp(false)
            .build();
        State {
            wasi,
            http: WasiHttpCtx::new(),
            table: ResourceTable::new(),
            outbound,
            memory: MemoryLimiter {
                limit: limits.memory_bytes(),
                breach: breach.clone(),
            },
            breach: breach.clone(),
            logs: logs.clone(),
            cpu_ticks: 0,
            max_cpu_ticks: limits.cpu_ticks(),
            cpu_limit: limits.cpu(),
            kv,
        }
    }
}

impl WasiView for State {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for State {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.outbound,
        }
    }
}

impl wit::Host for State {}

impl v0_2::log::Host for State {
    fn log(&mut self, level: wit::LogLevel, message: String) -> wasmtime::Result<()> {
        v0_1::log::Host::log(self, level, message)
    }
}

impl v0_2::kv::Host for State {
    fn get(&mut self, key: String) -> wasmtime::Result<Option<String>> {
        Ok(self.kv.get(&key))
    }

    fn set(
        &mut self,
        key: String,
        value: String,
        ttl_seconds: u64,
    ) -> wasmtime::Result<Result<(), String>> {
        let ttl = (ttl_seconds > 0).then(|| std::time::Duration::from_secs(ttl_seconds));
        Ok(self.kv.set(&key, &value, ttl))
    }

    fn delete(&mut self, key: String) -> wasmtime::Result<()> {
        self.kv.delete(&key);
        Ok(())
    }
}

impl v0_1::log::Host for State {
    fn log(&mut self, level: wit::LogLevel, message: String) -> wasmtime::Result<()> {
        let level = match level {
            wit::LogLevel::Trace => "trace",
            wit::LogLevel::Debug => "debug",
            wit::LogLevel::Info => "info",
            wit::LogLevel::Warn => "warn",
            wit::LogLevel::Error => "error",
        };
        if !self.logs.push(level, &message) {
            wasmtime::bail!("log output limit exceeded");
        }
        Ok(())
    }
}
