//! The plugins compiled into the binary: every crate under `plugins/`, built as a component by
//! `build.rs` and embedded, so `switchyard` runs them with no separate wasm step.

include!(concat!(env!("OUT_DIR"), "/bundled.rs"));

/// The component bytes of a bundled plugin.
pub fn find(id: &str) -> Option<&'static [u8]> {
    PLUGINS
        .iter()
        .find(|(i, _)| *i == id)
        .map(|(_, bytes)| *bytes)
}

/// The ids of every bundled plugin, sorted.
pub fn ids() -> Vec<&'static str> {
    PLUGINS.iter().map(|(id, _)| *id).collect()
}
