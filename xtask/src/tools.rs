//! The programs the build runs that are not Rust: binaryen's `wasm-opt`, `esbuild` and Lightning
//! CSS's `lightningcss`, all from npm (prebuilt: nothing to compile), installed by
//! `scripts/setup.sh build` into `xtask/node_modules` from `xtask/package-lock.json`.
//!
//! The invariant: the build uses these exact files, never whatever is on PATH (Debian's
//! binaryen 108 breaks hydration), and their versions are part of the key under which a
//! processed bundle is cached, so a new tool version redoes the work.

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The tools, found and asked for their versions.
pub struct Tools {
    /// binaryen's optimiser.
    pub wasm_opt: PathBuf,
    /// The JS minifier.
    pub esbuild: PathBuf,
    /// The CSS bundler and minifier.
    pub lightningcss: PathBuf,
    /// The bundle's tools' versions (wasm-opt's and esbuild's), one string.
    pub versions: String,
}

impl Tools {
    /// Finds them under `<root>/xtask/node_modules/.bin`.
    pub fn find(root: &Path) -> Result<Tools> {
        let bin = root.join("xtask/node_modules/.bin");
        let wasm_opt = bin.join("wasm-opt");
        let esbuild = bin.join("esbuild");
        let lightningcss = bin.join("lightningcss");
        let versions = format!("{} / {}", version(&wasm_opt)?, version(&esbuild)?);
        version(&lightningcss)?;
        Ok(Tools {
            wasm_opt,
            esbuild,
            lightningcss,
            versions,
        })
    }
}

fn version(tool: &Path) -> Result<String> {
    if !tool.exists() {
        bail!(
            "{} is missing: `make setup-build` (scripts/setup.sh build) installs it",
            tool.display()
        );
    }
    let output = Command::new(tool)
        .arg("--version")
        .output()
        .with_context(|| format!("running {} --version", tool.display()))?;
    if !output.status.success() {
        bail!("{} --version failed: {}", tool.display(), output.status);
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
}

/// Runs a tool to completion; its output goes to ours.
pub fn run(command: &mut Command) -> Result<()> {
    let status = command
        .status()
        .with_context(|| format!("starting {command:?}"))?;
    if !status.success() {
        bail!("{command:?} failed ({status})");
    }
    Ok(())
}
