//! tickstream's release build: what `cargo leptos build --release --split --precompress`
//! does for this project, as a small program of its own, so that `make run` and `make test`
//! need no cargo-leptos (13 minutes to compile on a 2-core machine, for a build whose steps
//! are a few library calls).
//!
//! The steps, each in a module of its own:
//! - `settings`: `[package.metadata.leptos]` from Cargo.toml, the one source of truth;
//! - `cargo`: the server build and the wasm build;
//! - `bundle`: split, wasm-bindgen, wasm-opt, minify, name and precompress the wasm bundle,
//!   cached under a hash of the linked module and the tools (so an unchanged module costs
//!   nothing) — the wasm build and its bundle run beside the server build;
//! - `style`: the stylesheet, bundled and minified by Lightning CSS (its npm CLI);
//! - `site`: everything copied into `target/site`, stale files removed, twins made;
//! - then the hash file the server reads, beside the server binary.
//!
//! The outputs are cargo-leptos' (same files, same places, same names but for the hashes):
//! `xtask/tests/site.rs` checks a real build against a list of what cargo-leptos built.

pub mod bundle;
pub mod cargo;
pub mod compress;
pub mod digest;
pub mod files;
pub mod manifest;
pub mod names;
pub mod settings;
pub mod site;
pub mod step;
pub mod style;
pub mod tools;

use anyhow::{bail, Context, Result};
use settings::Settings;
use std::path::{Path, PathBuf};

/// Builds the server and the site for release, from the workspace at `root`.
pub fn build(root: &Path) -> Result<()> {
    let mut timings = step::Timings::default();
    let (package, settings) = Settings::read(root)?;
    if !settings.hash_files {
        bail!(
            "hash-files = false: xtask only builds content-hashed sites \
             (the server caches them for good)"
        );
    }
    // Before minutes of compiling: a missing tool is found now.
    let tools = tools::Tools::find(root)?;
    let target = cargo::target_dir(root)?;
    let _turn = take_turn(&target)?;

    // Two lines of work at once: the server build, and the wasm build with everything done
    // to its module after (which then overlaps the server build's long tail).
    let (server, front) = std::thread::scope(|scope| {
        let server = scope.spawn(|| -> Result<step::Timings> {
            let mut timings = step::Timings::default();
            let step = timings.begin("compiling the server (cargo build --release)");
            cargo::server(root, &package, &settings)?;
            timings.finish(step);
            Ok(timings)
        });
        let front = scope.spawn(|| -> Result<(bundle::Bundle, step::Timings)> {
            let mut timings = step::Timings::default();
            let step = timings.begin("compiling the wasm (cargo rustc, the wasm-release profile)");
            let wasm = cargo::wasm(root, &package, &settings)?;
            timings.finish(step);
            let cache = target.join("front/bundles");
            let bundle = bundle::build(&wasm, &settings.output_name, &cache, &tools, &mut timings)?;
            if !bundle.fresh {
                eprintln!("==> build: the wasm did not change: its bundle is reused");
            }
            Ok((bundle, timings))
        });
        (joined(server), joined(front))
    });
    let (bundle, front_timings, server_timings) = match (front, server) {
        (Ok((bundle, front)), Ok(server)) => (bundle, front, server),
        (Err(front), Ok(_)) => return Err(front.context("the browser bundle")),
        (Ok(_), Err(server)) => return Err(server.context("the server")),
        (Err(front), Err(server)) => {
            bail!("the server: {server:#}\nand the browser bundle: {front:#}")
        }
    };
    timings.absorb("browser", front_timings);
    timings.absorb("server", server_timings);

    let step = timings.begin("bundling and minifying the stylesheet (Lightning CSS)");
    let css = style::build(root, &settings, &tools, &target.join("front/style.css"))?;
    timings.finish(step);

    let step = timings.begin("assembling the site");
    let site_root = root.join(&settings.site_root);
    let pkg = settings.site_pkg_dir.clone();
    let mut site = site::Site::new(site_root.clone());
    site.add_dir(&pkg, &bundle.pkg())?;
    let css_hash = digest::of(css.as_bytes());
    let css_name = names::hashed_name(&format!("{}.css", settings.output_name), &css_hash);
    site.add_compressed(pkg.join(css_name), css.into_bytes())?;
    for (relative, path) in assets(&root.join(&settings.assets_dir), &pkg)? {
        let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        site.add_compressed(relative, bytes)?;
    }
    let synced = site.sync()?;
    // Last: it names the files above, which are all in place now.
    let hash_file = root.join(settings.hash_file());
    site::write_if_different(&hash_file, bundle.hashes.hash_file(&css_hash).as_bytes())?;
    timings.finish(step);

    eprintln!(
        "==> build: {} ready ({} files written, {} unchanged, {} removed); hashes in {}",
        site_root.display(),
        synced.written,
        synced.unchanged,
        synced.removed,
        hash_file.display()
    );
    eprintln!("{}", timings.summary());
    Ok(())
}

/// Waits for any other build of this checkout to finish, then holds the turn until dropped:
/// two builds at once would write the same bundle cache and the same site.
fn take_turn(target: &Path) -> Result<std::fs::File> {
    std::fs::create_dir_all(target).with_context(|| format!("creating {}", target.display()))?;
    let path = target.join(".xtask-build.lock");
    let lock =
        std::fs::File::create(&path).with_context(|| format!("opening {}", path.display()))?;
    if lock.try_lock().is_err() {
        eprintln!("==> build: another build of this checkout is running: waiting for it");
        lock.lock()
            .with_context(|| format!("locking {}", path.display()))?;
    }
    Ok(lock)
}

fn joined<T>(handle: std::thread::ScopedJoinHandle<'_, Result<T>>) -> Result<T> {
    handle
        .join()
        .unwrap_or_else(|_| bail!("a build thread panicked"))
}

/// The assets (`public/`), by their path in the site. Nothing in them may be called like
/// the package directory, which the build owns.
fn assets(dir: &Path, pkg: &Path) -> Result<Vec<(PathBuf, PathBuf)>> {
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let mut assets = Vec::new();
    for path in files::walk(dir)? {
        let relative = path
            .strip_prefix(dir)
            .context("a path outside the assets")?;
        if relative.starts_with(pkg) {
            bail!(
                "{}: the assets directory may not have a {} of its own",
                path.display(),
                pkg.display()
            );
        }
        assets.push((relative.to_path_buf(), path));
    }
    Ok(assets)
}
