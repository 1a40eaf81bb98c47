//! Builds workspace crates as WebAssembly components from a build script.
//!
//! Shared by `host/build.rs` (bundled plugins) and `tests/build.rs` (test fixtures) through
//! `#[path]`, so both build the same way: a nested `cargo build --release --target
//! wasm32-wasip2` into its own target directory (`target/wasm`), with the outer build's flags
//! removed so they cannot leak into the guest build (as Spin and wasmtime do).

use std::path::{Path, PathBuf};
use std::process::Command;

/// Builds `packages` for wasm32-wasip2 and returns, per package, the path of its .wasm file.
pub(crate) fn build(workspace: &Path, packages: &[String]) -> Vec<PathBuf> {
    ensure_target();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let target_dir = workspace.join("target").join("wasm");
    let mut cmd = Command::new(cargo);
    cmd.current_dir(workspace)
        .args(["build", "--release", "--target", "wasm32-wasip2"])
        .arg("--target-dir")
        .arg(&target_dir)
        // Small components instantiate faster: less data to copy into each fresh instance and
        // fewer functions to wire up.
        .env("CARGO_PROFILE_RELEASE_DEBUG", "false")
        .env("CARGO_PROFILE_RELEASE_STRIP", "debuginfo")
        .env("CARGO_PROFILE_RELEASE_LTO", "true")
        .env("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "1")
        .env("CARGO_PROFILE_RELEASE_OPT_LEVEL", "s");
    for p in packages {
        cmd.args(["-p", p]);
    }
    for var in [
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "CARGO_BUILD_RUSTFLAGS",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_MAKEFLAGS",
        "CARGO_LLVM_COV",
        "RUSTC_WRAPPER",
    ] {
        cmd.env_remove(var);
    }
    let status = cmd
        .status()
        .expect("running cargo to build WebAssembly components");
    assert!(
        status.success(),
        "building {packages:?} for wasm32-wasip2 failed; see the output above"
    );
    packages
        .iter()
        .map(|p| {
            target_dir
                .join("wasm32-wasip2")
                .join("release")
                .join(format!("{}.wasm", p.replace('-', "_")))
        })
        .collect()
}

/// Installs the wasm32-wasip2 standard library when the toolchain lacks it. rustup installs the
/// targets of `rust-toolchain.toml` only together with a new toolchain, so a machine that already
/// had the pinned toolchain would otherwise fail here with "can't find crate for `std`".
fn ensure_target() {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let sysroot = Command::new(&rustc)
        .args(["--print", "sysroot"])
        .output()
        .ok()
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    let installed = sysroot
        .as_ref()
        .is_some_and(|s| s.join("lib/rustlib/wasm32-wasip2").is_dir());
    if installed {
        return;
    }
    println!("cargo:warning=installing the wasm32-wasip2 target with rustup");
    let mut cmd = Command::new("rustup");
    cmd.args(["target", "add", "wasm32-wasip2"]);
    if let Ok(toolchain) = std::env::var("RUSTUP_TOOLCHAIN") {
        cmd.args(["--toolchain", &toolchain]);
    }
    let ok = cmd.status().is_ok_and(|s| s.success());
    assert!(
        ok,
        "the wasm32-wasip2 target is missing and `rustup target add wasm32-wasip2` failed; \
         install it by hand"
    );
}

/// Asks cargo to re-run the build script when anything under these paths changes.
pub(crate) fn watch(paths: &[PathBuf]) {
    for p in paths {
        println!("cargo:rerun-if-changed={}", p.display());
    }
}
