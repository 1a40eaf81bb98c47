//! Builds the guest fixtures under `tests/fixtures/` as components, and tells the tests where
//! they are (`FIXTURE_<NAME>` environment variables at compile time).

#[path = "../host/build/components.rs"]
mod components;

use std::path::PathBuf;

fn main() {
    let tests = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let workspace = tests
        .parent()
        .expect("tests/ sits in the workspace")
        .to_path_buf();
    let fixtures = tests.join("fixtures");
    let mut names: Vec<String> = std::fs::read_dir(&fixtures)
        .expect("reading tests/fixtures")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("Cargo.toml").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    components::watch(&[
        fixtures,
        workspace.join("plugin-sdk"),
        workspace.join("wit"),
        workspace.join(".cargo/config.toml"),
        workspace.join("host/build"),
    ]);
    let packages: Vec<String> = names
        .iter()
        .map(|n| format!("switchyard-fixture-{n}"))
        .collect();
    for (name, file) in names.iter().zip(components::build(&workspace, &packages)) {
        let var = format!("FIXTURE_{}", name.to_uppercase().replace('-', "_"));
        println!("cargo:rustc-env={var}={}", file.display());
    }
}
