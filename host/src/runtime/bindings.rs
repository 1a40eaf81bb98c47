//! Host bindings for `wit/destination.wit`, generated once and kept private.
//!
//! Only the handful of generated items the runtime needs are re-exported; everything else stays
//! inside `generated` so the rest of the host works with its own types (see `convert.rs`).

mod generated {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "switchyard:destination/destination@0.1.0",
        imports: { default: trappable },
        exports: { default: async },
    });
}

pub(crate) use generated::Destination;
pub(crate) use generated::DestinationPre;
pub(crate) use generated::switchyard::destination::log;
pub(crate) use generated::switchyard::destination::types as wit;

/// The export every plugin built against this WIT package provides, versioned.
pub(crate) const PLUGIN_EXPORT: &str = "switchyard:destination/plugin";
/// The WIT package version this host implements.
pub(crate) const WIT_VERSION: &str = "0.1.0";
