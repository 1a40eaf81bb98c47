//! Switchyard: a self-hosted runtime for customer-data destination actions.
//!
//! Events are picked by triggers ([`trigger`]), shaped by Segment-compatible mappings
//! ([`mapping`], [`payload`]) and delivered by destination plugins, WebAssembly components run in
//! a sandbox ([`runtime`]). The bundled plugins ([`bundled`]) are compiled into the binary;
//! operators can load more from .wasm files. The `switchyard` binary ([`cli`]) drives all of it.
//!
//! Dependencies run one way, from the command line down to the data model; CONTRIBUTING.md has
//! the module map, layer by layer, and `tests/all/layout.rs` checks that no module imports one
//! of a higher layer or takes part in an import cycle.
//!
//! Modules are public where the benchmarks (`benches/`) and the integration tests drive them
//! directly; the rest are private to the crate.

// The command line and the server composing it all.
pub mod cli;
pub mod server;
// Services: ingest, delivery, the admin API and the web console.
mod admin;
mod console;
pub mod deliver;
pub mod ingest;
// The server's state: the snapshot in force and reloads.
pub mod live;
// Routing, the queue, the sandbox.
pub mod queue;
mod recent;
mod redact;
pub mod routes;
pub mod runtime;
// Configuration, payloads, plugins bundled.
pub mod bundled;
pub mod config;
pub mod payload;
mod settings;
// The foundation: data model, mappings, triggers, problems, files, metrics.
mod files;
pub mod mapping;
mod metrics;
pub mod model;
pub mod problems;
pub mod trigger;
