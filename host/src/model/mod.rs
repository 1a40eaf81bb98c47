//! The data model shared by configuration, routing, payloads and the runtime: a plugin's
//! manifest (its actions, fields, settings and presets) and the sandbox limits a destination
//! sets. Plain data with serde, no wasmtime: modules that only read manifests (configuration,
//! mapping checks, the admin API) do not depend on the engine that runs plugins.
//!
//! The runtime builds these from a plugin's `describe` answer (`runtime/convert.rs`) once, at
//! load time; the rest of the host never sees raw WIT values.

mod limits;
mod manifest;

pub use limits::{Limits, MAX_MEMORY_BYTES, MAX_WALL_CLOCK, TICK};
pub use manifest::{Action, Choice, Field, FieldType, HOOK_NAMES, Hook, Manifest, Preset, Setting};
