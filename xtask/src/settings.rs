//! The build's settings, read from where they live: `[package.metadata.leptos]` in the
//! crate's Cargo.toml, the section cargo-leptos reads for `make dev`.
//!
//! The invariant: one source of truth. xtask has no settings of its own, and it refuses a
//! setting it does not implement (a Tailwind input, a Sass file, a different JS minifier…)
//! instead of quietly building something other than what `cargo leptos build` would.

use anyhow::{bail, Context, Result};
use serde::Deserialize;
use std::path::{Component, Path, PathBuf};

/// `[package.metadata.leptos]`, the keys this project uses. Every path is relative to the
/// workspace root, as cargo-leptos reads them.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Settings {
    /// The base name of the JS, wasm and CSS files (`tickstream.<hash>.js`, …).
    pub output_name: String,
    /// The server binary (the crate has another one, the load generator).
    pub bin_target: String,
    /// Where the site is assembled (`target/site`); the server serves it.
    pub site_root: PathBuf,
    /// The site's directory of built files (`pkg`), under the site root.
    pub site_pkg_dir: PathBuf,
    /// The stylesheet that imports the others.
    pub style_file: PathBuf,
    /// Inline `@import`ed stylesheets into one file (Lightning CSS's bundler).
    #[serde(default)]
    pub style_bundle: bool,
    /// Copied as they are into the site root.
    pub assets_dir: PathBuf,
    /// The browsers the CSS must work in (a browserslist query).
    pub browserquery: String,
    /// Cargo features of the server build.
    pub bin_features: Vec<String>,
    /// Whether the server build keeps the crate's default features.
    pub bin_default_features: bool,
    /// Cargo features of the wasm build.
    pub lib_features: Vec<String>,
    /// Whether the wasm build keeps the crate's default features.
    pub lib_default_features: bool,
    /// The cargo profile of the wasm build.
    pub lib_profile_release: String,
    /// Name the JS, wasm and CSS after a hash of their bytes.
    pub hash_files: bool,
    /// Where the list of hashes goes, relative to the server binary's directory (where Leptos
    /// looks for it).
    pub hash_file_name: PathBuf,
    // Read by the server at run time (through Leptos.toml) or by other commands: accepted
    // here so that the section stays whole, but they change nothing in a build.
    #[serde(rename = "site-addr")]
    _site_addr: Option<toml::Value>,
    #[serde(rename = "reload-port")]
    _reload_port: Option<toml::Value>,
    #[serde(rename = "end2end-cmd")]
    _end2end_cmd: Option<toml::Value>,
    #[serde(rename = "end2end-dir")]
    _end2end_dir: Option<toml::Value>,
}

/// The part of Cargo.toml read here.
#[derive(Deserialize)]
struct Manifest {
    package: Package,
}

#[derive(Deserialize)]
struct Package {
    name: String,
    metadata: Metadata,
}

#[derive(Deserialize)]
struct Metadata {
    leptos: toml::Value,
}

impl Settings {
    /// Reads `[package.metadata.leptos]` from `<root>/Cargo.toml`; also returns the package
    /// name (the name cargo gives the wasm file).
    pub fn read(root: &Path) -> Result<(String, Settings)> {
        let path = root.join("Cargo.toml");
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        Self::parse(&text).with_context(|| format!("{}: [package.metadata.leptos]", path.display()))
    }

    fn parse(text: &str) -> Result<(String, Settings)> {
        let manifest: Manifest = toml::from_str(text)?;
        let settings: Settings = manifest.package.metadata.leptos.try_into().context(
            "xtask builds what these settings describe and nothing else: a setting it does \
             not know needs `cargo leptos build`, or teaching to xtask",
        )?;
        // The build removes whatever it did not make from the site root: a root that is
        // not a directory of build output could take the sources with it.
        let parts = plain_parts(&settings.site_root).context("site-root")?;
        if parts.len() < 2 || parts[0] != "target" {
            bail!("site-root must be a directory under target/, which the build owns");
        }
        if plain_parts(&settings.site_pkg_dir)
            .context("site-pkg-dir")?
            .len()
            != 1
        {
            bail!("site-pkg-dir must be one directory name under the site root");
        }
        let hash_file = settings.hash_file();
        if !hash_file.starts_with("target") || plain_parts(&hash_file).is_err() {
            bail!("hash-file-name must lead from the site root to a file under target/");
        }
        Ok((manifest.package.name, settings))
    }

    /// Where the hash file goes, relative to the workspace root: the site root joined with
    /// `hash-file-name` (`target/site/../hash.txt` is `target/hash.txt`), which is where the
    /// server looks for it (`src/server/assets.rs`), whichever binary runs.
    pub fn hash_file(&self) -> PathBuf {
        let mut path = self.site_root.clone();
        for part in self.hash_file_name.components() {
            match part {
                Component::ParentDir => {
                    path.pop();
                }
                other => path.push(other),
            }
        }
        path
    }
}

/// The names of a relative path made of plain names only (no `..`, no root, not empty).
fn plain_parts(path: &Path) -> Result<Vec<String>> {
    let parts: Vec<String> = path
        .components()
        .map(|part| match part {
            Component::Normal(name) => Ok(name.to_string_lossy().into_owned()),
            _ => bail!("{} must be a relative path of plain names", path.display()),
        })
        .collect::<Result<_>>()?;
    if parts.is_empty() {
        bail!("an empty path");
    }
    Ok(parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CARGO_TOML: &str = r#"
[package]
name = "demo"
[package.metadata.leptos]
output-name = "demo"
bin-target = "demo"
site-root = "target/site"
site-pkg-dir = "pkg"
style-file = "style/main.css"
style-bundle = true
assets-dir = "public"
site-addr = "127.0.0.1:3000"
browserquery = "defaults"
bin-features = ["ssr"]
bin-default-features = false
lib-features = ["hydrate"]
lib-default-features = false
lib-profile-release = "wasm-release"
hash-files = true
hash-file-name = "../hash.txt"
"#;

    #[test]
    fn reads_the_section_cargo_leptos_reads() -> Result<()> {
        let (package, settings) = Settings::parse(CARGO_TOML)?;
        assert_eq!(package, "demo");
        assert_eq!(settings.site_pkg_dir, Path::new("pkg"));
        assert_eq!(settings.lib_profile_release, "wasm-release");
        assert_eq!(settings.hash_file(), Path::new("target/hash.txt"));
        Ok(())
    }

    #[test]
    fn refuses_a_site_root_the_build_could_not_own() {
        for root in [
            ".",
            "",
            "public",
            "target",
            "/tmp/site",
            "target/../src",
            "../target/site",
        ] {
            let text = CARGO_TOML.replace(
                "site-root = \"target/site\"",
                &format!("site-root = {root:?}"),
            );
            let error = format!("{:#}", Settings::parse(&text).expect_err(root));
            assert!(error.contains("site-root"), "{root}: {error}");
        }
        let text = CARGO_TOML.replace("site-pkg-dir = \"pkg\"", "site-pkg-dir = \"..\"");
        assert!(Settings::parse(&text).is_err());
        let text = CARGO_TOML.replace("\"../hash.txt\"", "\"../../../hash.txt\"");
        assert!(Settings::parse(&text).is_err());
    }

    #[test]
    fn refuses_a_setting_it_does_not_implement() {
        let text = CARGO_TOML.replace(
            "style-bundle = true",
            "style-bundle = true\ntailwind-input-file = \"style/tailwind.css\"",
        );
        let error = format!("{:#}", Settings::parse(&text).expect_err("an error"));
        assert!(error.contains("tailwind-input-file"), "{error}");
    }

    #[test]
    fn refuses_a_missing_setting() {
        let text = CARGO_TOML.replace("hash-files = true\n", "");
        let error = format!("{:#}", Settings::parse(&text).expect_err("an error"));
        assert!(error.contains("hash-files"), "{error}");
    }
}
