//! Host bindings for the WIT packages in `wit/`, generated once and kept private.
//!
//! The host runs plugins built against every supported minor version of
//! `switchyard:destination`: 0.1 (`wit/v0.1`), 0.2 (`wit/v0.2`, which adds `kv`) and 0.3
//! (`wit/v0.3`, which adds `hooks`). All versions share one set of Rust types for `types` (0.2
//! and 0.3 map their `types` interface onto 0.1's generated module, as the three are
//! identical), so the rest of the runtime handles one manifest type and one error type
//! whatever version a plugin targets. Only the handful of
//! generated items the runtime needs are re-exported (see `convert.rs` for the rest).

mod v01 {
    wasmtime::component::bindgen!({
        path: "../wit/v0.1",
        world: "switchyard:destination/destination@0.1.0",
        imports: { default: trappable },
        exports: { default: async },
    });
}

mod v02 {
    wasmtime::component::bindgen!({
        path: "../wit/v0.2",
        world: "switchyard:destination/destination@0.2.0",
        imports: { default: trappable },
        exports: { default: async },
        with: {
            "switchyard:destination/types": super::v01::switchyard::destination::types,
        },
    });
}

mod v03 {
    wasmtime::component::bindgen!({
        path: "../wit/v0.3",
        world: "switchyard:destination/destination@0.3.0",
        imports: { default: trappable },
        exports: { default: async },
        with: {
            "switchyard:destination/types": super::v01::switchyard::destination::types,
        },
    });
}

pub(crate) use v01::switchyard::destination::types as wit;

/// Version 0.1.
pub(crate) mod v0_1 {
    pub(crate) use super::v01::switchyard::destination::log;
    pub(crate) use super::v01::{Destination, DestinationPre};
}

/// Version 0.2: 0.1 plus `kv`.
pub(crate) mod v0_2 {
    pub(crate) use super::v02::switchyard::destination::{kv, log};
    pub(crate) use super::v02::{Destination, DestinationPre};
}

/// Version 0.3: 0.2 plus `hooks`.
pub(crate) mod v0_3 {
    pub(crate) use super::v03::exports::switchyard::destination::hooks::Hook;
    pub(crate) use super::v03::switchyard::destination::{kv, log};
    pub(crate) use super::v03::{Destination, DestinationPre};
}

/// The export every plugin built against this WIT package provides, versioned.
pub(crate) const PLUGIN_EXPORT: &str = "switchyard:destination/plugin";
/// The newest WIT package version this host implements.
pub(crate) const WIT_VERSION: &str = "0.3.0";
/// The minor versions this host runs.
pub(crate) const SUPPORTED: &[&str] = &["0.1.", "0.2.", "0.3."];
