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
//!
//! Files by lifetime: `engine.rs` (the process: engine, linker, compile cache, loading),
//! `plugin.rs` (a loaded plugin version and its calls), `instance.rs` (one store and instance per
//! invocation), `state.rs` (what a store holds, and the host interfaces it serves).

mod allow;
mod bindings;
mod convert;
mod engine;
mod failure;
mod instance;
mod kv;
mod limits;
mod logs;
mod outbound;
mod plugin;
mod pool;
mod state;

pub use allow::{AllowList, HostPattern};
pub use engine::{LoadError, MAX_COMPONENT_BYTES, Runtime, RuntimeConfig};
pub use failure::{Failure, Limit};
pub use kv::Kv;
pub use logs::LogLine;
pub use outbound::{CannedResponse, Exchange, Mode, NetPolicy, Responder};
pub use plugin::{HookRun, Invocation, InvokeOptions, Plugin};
