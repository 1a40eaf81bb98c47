//! Switchyard: a self-hosted runtime for customer-data destination actions.
//!
//! Events are picked by triggers ([`trigger`]), shaped by Segment-compatible mappings
//! ([`mapping`], [`payload`]) and delivered by destination plugins, WebAssembly components run in
//! a sandbox ([`runtime`]). The bundled plugins ([`bundled`]) are compiled into the binary;
//! operators can load more from .wasm files.
//! The `switchyard` binary ([`cli`]) drives all of it.

pub mod admin;
pub mod bundled;
pub mod cli;
pub mod config;
pub mod deliver;
pub mod ingest;
pub mod intake;
pub mod live;
pub mod mapping;
pub mod metrics;
pub mod payload;
pub mod queue;
pub mod recent;
pub mod redact;
pub mod routes;
pub mod runtime;
pub mod serve;
pub mod settings;
pub mod trigger;
pub mod versions;
