//! Builds every plugin under `plugins/` as a WebAssembly component and embeds it in the binary,
//! so a fresh clone's `cargo build` yields a `switchyard` that runs every bundled plugin.

#[path = "build/components.rs"]
mod components;

use std::fmt::Write as _;
use std::path::PathBuf;

fn main() {
    let host = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let workspace = host
        .parent()
        .expect("host/ sits in the workspace")
        .to_path_buf();
    let plugins_dir = workspace.join("plugins");
    let mut ids: Vec<String> = std::fs::read_dir(&plugins_dir)
        .expect("reading plugins/")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("Cargo.toml").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    ids.sort();
    components::watch(&[
        plugins_dir,
        workspace.join("plugin-sdk"),
        workspace.join("wit"),
        workspace.join(".cargo/config.toml"),
        host.join("build"),
    ]);
    let packages: Vec<String> = ids
        .iter()
        .map(|id| format!("switchyard-plugin-{id}"))
        .collect();
    let files = components::build(&workspace, &packages);
    let mut code = String::from(
        "/// Bundled plugins: (id, component bytes).\npub static PLUGINS: &[(&str, &[u8])] = &[\n",
    );
    for (id, file) in ids.iter().zip(&files) {
        writeln!(
            code,
            "    ({id:?}, include_bytes!({:?})),",
            file.display().to_string()
        )
        .unwrap();
    }
    code.push_str("];\n");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("set by cargo")).join("bundled.rs");
    std::fs::write(out, code).expect("writing bundled.rs");
}
