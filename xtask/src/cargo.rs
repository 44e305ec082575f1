//! The crate's two cargo builds: the server (`ssr`, release) and the browser's WebAssembly
//! (`hydrate`, the size-first `wasm-release` profile), asked for as `cargo leptos build
//! --release --split` asks for them.
//!
//! The invariants:
//! - The server build is a plain `cargo build --release` of the server binary, with no
//!   environment of its own, so that it shares every artifact with the other release builds
//!   (`make bench`, the soak) instead of rebuilding after them.
//! - The wasm build links with relocations kept (`--emit-relocs`): the lazy-module split needs
//!   them to cut functions out of the linked module. Only the final crate is linked, so only
//!   it gets the flag; the rest of the flags come from `.cargo/config.toml` as for any build.
//! - Each has a target directory of its own (the wasm's is `target/front`, as cargo-leptos
//!   has it), since one cargo holds its directory's lock for the whole build: so the two can
//!   run at the same time (`crate::build`), and on two cores the server's work fills the
//!   wasm build's long single-threaded link-time optimisation, and the wasm-opt after it.

use crate::settings::Settings;
use anyhow::{bail, Context, Result};
use std::io::{BufRead, BufReader, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;

/// The browser's target.
pub const WASM_TARGET: &str = "wasm32-unknown-unknown";

/// The target directory: `target/` in the checkout, where the Makefile, the tests and the
/// server (through Leptos.toml) find what the build made. A `CARGO_TARGET_DIR` elsewhere
/// would put the server where none of them looks, so it is refused, naming itself.
pub fn target_dir(root: &Path) -> Result<PathBuf> {
    let target = root.join("target");
    if let Some(elsewhere) = std::env::var_os("CARGO_TARGET_DIR") {
        let elsewhere = std::path::absolute(PathBuf::from(&elsewhere))?;
        if elsewhere != target {
            bail!(
                "CARGO_TARGET_DIR is {}: tickstream's build and its server expect {}; unset it \
                 for `make`",
                elsewhere.display(),
                target.display()
            );
        }
    }
    Ok(target)
}

/// The server build: `cargo build --release --bin <bin-target>` with `bin-features`.
pub fn server(root: &Path, package: &str, settings: &Settings) -> Result<()> {
    let mut server = cargo(root);
    server.args(["build", "--release", "--package", package]);
    server.args(["--bin", &settings.bin_target]);
    features(
        &mut server,
        &settings.bin_features,
        settings.bin_default_features,
    );
    run("server", server)
}

/// The wasm build, in `target/front`; returns the linked module.
pub fn wasm(root: &Path, package: &str, settings: &Settings) -> Result<PathBuf> {
    let front = target_dir(root)?.join("front");
    let mut wasm = cargo(root);
    wasm.args([
        "rustc",
        "--package",
        package,
        "--lib",
        "--target",
        WASM_TARGET,
    ]);
    wasm.args(["--profile", &settings.lib_profile_release]);
    wasm.arg("--target-dir").arg(&front);
    features(
        &mut wasm,
        &settings.lib_features,
        settings.lib_default_features,
    );
    wasm.args(["--", "-C", "link-args=--emit-relocs"]);
    run("wasm", wasm)?;
    // cargo names the module after the package, with `-` as `_`.
    let module = front
        .join(WASM_TARGET)
        .join(&settings.lib_profile_release)
        .join(format!("{}.wasm", package.replace('-', "_")));
    if !module.is_file() {
        bail!(
            "the wasm build succeeded but {} is missing",
            module.display()
        );
    }
    Ok(module)
}

fn cargo(root: &Path) -> Command {
    // The cargo that runs us (`cargo run`), else the one on PATH. Its lines are relayed, so
    // it colours them only if ours would be.
    let mut command = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    let color = if std::io::stderr().is_terminal() {
        "always"
    } else {
        "never"
    };
    command.current_dir(root).args(["--color", color]);
    command
}

fn features(command: &mut Command, features: &[String], default_features: bool) {
    if !default_features {
        command.arg("--no-default-features");
    }
    if !features.is_empty() {
        command.arg("--features").arg(features.join(","));
    }
}

/// Runs one cargo, each line of its output prefixed with `[label]` so that two builds at
/// once stay readable.
fn run(label: &str, mut command: Command) -> Result<()> {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("starting {command:?}"))?;
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    thread::scope(|scope| {
        if let Some(out) = stdout {
            scope.spawn(move || relay(label, out));
        }
        if let Some(err) = stderr {
            scope.spawn(move || relay(label, err));
        }
    });
    let status = child
        .wait()
        .with_context(|| format!("waiting for {command:?}"))?;
    if !status.success() {
        bail!("{command:?} failed ({status})");
    }
    Ok(())
}

fn relay(label: &str, stream: impl std::io::Read) {
    let mut err = std::io::stderr();
    for line in BufReader::new(stream).lines() {
        let Ok(line) = line else { break };
        // One write per line: the two builds' lines may interleave, never their characters.
        let _ = err.write_all(format!("[{label}] {line}\n").as_bytes());
    }
}
