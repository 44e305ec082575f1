//! The stylesheet: `style/main.css` with the files it `@import`s inlined (when `style-bundle`
//! is set), minified and lowered for the browsers of `browserquery` by Lightning CSS, as
//! cargo-leptos does it, run as Lightning CSS's prebuilt npm CLI (nothing to compile). The CLI
//! is 1.33, the crate's 1.0.0-alpha.72; cargo-leptos 0.3.10 locks alpha.71, whose older
//! browser data spells two colours the long way (15 bytes of 17.9 KB, `xtask/tests/site.rs`).
//!
//! The invariant: the CSS a browser gets is what the style files say, one file, for the
//! browsers the project names; a stylesheet Lightning CSS cannot parse fails the build
//! (cargo-leptos would ship it unminified) rather than reaching a browser half-understood.

use crate::settings::Settings;
use crate::tools::Tools;
use anyhow::{bail, Context, Result};
use std::path::Path;
use std::process::Command;

/// Builds the stylesheet `settings` names, from the files under `root`, into `out`, and
/// returns it.
pub fn build(root: &Path, settings: &Settings, tools: &Tools, out: &Path) -> Result<String> {
    minify(
        root,
        &settings.style_file,
        settings.style_bundle,
        &settings.browserquery,
        tools,
        out,
    )
}

fn minify(
    root: &Path,
    file: &Path,
    bundle: bool,
    browsers: &str,
    tools: &Tools,
    out: &Path,
) -> Result<String> {
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let mut command = Command::new(&tools.lightningcss);
    command.current_dir(root).arg("--minify");
    if bundle {
        command.arg("--bundle");
    }
    command
        .arg("--targets")
        .arg(browsers)
        .arg(file)
        .arg("-o")
        .arg(out);
    // What it says is kept for the error: the CLI reports a stylesheet it cannot parse by
    // panicking, which reads better as a line of our error than as a backtrace of its own.
    let output = command
        .output()
        .with_context(|| format!("starting {command:?}"))?;
    let said = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        let reason = said
            .lines()
            .find(|line| !line.starts_with("thread ") && !line.starts_with("note:"))
            .unwrap_or("no message");
        let reason = reason
            .strip_prefix("called `Result::unwrap()` on an `Err` value: ")
            .unwrap_or(reason);
        bail!("Lightning CSS on {}: {reason}", file.display());
    }
    eprint!("{said}");
    std::fs::read_to_string(out).with_context(|| format!("reading {}", out.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A directory of one test's own, with `files` in it.
    fn scratch(name: &str, files: &[(&str, &str)]) -> Result<std::path::PathBuf> {
        let dir = std::env::temp_dir().join(format!("xtask-style-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)?;
        for (file, text) in files {
            std::fs::write(dir.join(file), text)?;
        }
        Ok(dir)
    }

    fn tools() -> Result<Tools> {
        Tools::find(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/..")))
    }

    #[test]
    fn bundles_the_imports_and_minifies_for_the_named_browsers() -> Result<()> {
        let dir = scratch(
            "bundle",
            &[
                (
                    "main.css",
                    "@import \"row.css\";\nbody { margin: 0px 0px 0px 0px; }\n",
                ),
                (
                    "row.css",
                    ".row {\n  color: #ff0000;\n  user-select: none;\n}\n",
                ),
            ],
        )?;
        let css = minify(
            &dir,
            Path::new("main.css"),
            true,
            "safari 14",
            &tools()?,
            &dir.join("out.css"),
        )?;
        // The import inlined, the values shortened, a prefix the named browser needs added.
        assert_eq!(
            css,
            ".row{color:red;-webkit-user-select:none;user-select:none}body{margin:0}"
        );
        std::fs::remove_dir_all(&dir)?;
        Ok(())
    }

    #[test]
    fn a_stylesheet_it_cannot_parse_fails_the_build() -> Result<()> {
        let dir = scratch(
            "broken",
            &[("main.css", ".row { color: red; }\n@media (\n")],
        )?;
        let result = minify(
            &dir,
            Path::new("main.css"),
            true,
            "defaults",
            &tools()?,
            &dir.join("out.css"),
        );
        let error = format!("{:#}", result.expect_err("a broken stylesheet builds"));
        // The file, and what Lightning CSS found wrong, not a panic of its own.
        assert!(error.contains("main.css"), "{error}");
        assert!(!error.contains("panicked"), "{error}");
        std::fs::remove_dir_all(&dir)?;
        Ok(())
    }
}
