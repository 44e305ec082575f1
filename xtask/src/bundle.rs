//! The browser bundle: from the wasm module cargo linked to the files under `/pkg/` — the
//! first-load module and its JS, the lazily loaded modules and their loader, the manifest
//! Leptos reads to preload them — optimised, named after their content and precompressed.
//!
//! The steps, as `cargo leptos build --release --split` takes them:
//! 1. split: `wasm_split_cli_support` cuts each `#[lazy]` function (and what only it uses)
//!    into modules of their own, and writes the JS loader that fetches them;
//! 2. bind: `wasm-bindgen` (the library, the version the crate links) makes the JS glue for
//!    the first-load module;
//! 3. optimise: `wasm-opt -Oz` on every module;
//! 4. minify the JS glue (esbuild, where cargo-leptos uses swc);
//! 5. name every file after its content (see `names`), and precompress.
//!
//! The invariant: the same linked module, named the same, through the same tools (this
//! program included), gives the same bundle, so a bundle is kept under a key made of exactly
//! those (`target/front/bundles/<key>/`) and a build whose module did not change (a style
//! edit, a second `make run`) reuses it at once. A bundle directory is complete or absent:
//! it is made under another name and renamed when done.

use crate::names::{self, Hashes, LOADER_PLACEHOLDER};
use crate::step::Timings;
use crate::tools::{self, Tools};
use crate::{compress, digest, files};
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

/// How many bundles to keep: enough to switch between two branches without rebuilding.
const KEEP: usize = 3;

/// A finished bundle: `pkg/` (its files and their twins, ready to be copied into the site's
/// `pkg/`) and `hashes`, in a directory of its own.
pub struct Bundle {
    /// The bundle's directory.
    pub dir: PathBuf,
    /// The hashes the server needs, to write the names into each page.
    pub hashes: Hashes,
    /// Whether it was made by this build (false: reused).
    pub fresh: bool,
}

/// Makes (or reuses) the bundle of the module at `wasm`, under `cache` (`target/front/bundles`).
pub fn build(
    wasm: &Path,
    output_name: &str,
    cache: &Path,
    tools: &Tools,
    timings: &mut Timings,
) -> Result<Bundle> {
    let input = std::fs::read(wasm).with_context(|| format!("reading {}", wasm.display()))?;
    // This program is one of the tools: a change to any step makes a new bundle.
    let this = std::env::current_exe()
        .and_then(std::fs::read)
        .context("reading xtask itself")?;
    let key = digest::of_parts(&[
        input.as_slice(),
        output_name.as_bytes(),
        &this,
        tools.versions.as_bytes(),
    ]);
    let dir = cache.join(&key);
    if let Ok(hashes) = Hashes::read(&dir) {
        touch(&dir);
        return Ok(Bundle {
            dir,
            hashes,
            fresh: false,
        });
    }
    // A bundle directory without its hashes is not one (a copy made by hand, a disk that
    // filled up): made again.
    if dir.exists() {
        std::fs::remove_dir_all(&dir).with_context(|| format!("removing {}", dir.display()))?;
    }

    let staging = cache.join(format!("{key}.partial"));
    if staging.exists() {
        std::fs::remove_dir_all(&staging)
            .with_context(|| format!("removing {}", staging.display()))?;
    }
    let pkg = staging.join("pkg");
    std::fs::create_dir_all(&pkg).with_context(|| format!("creating {}", pkg.display()))?;

    let step = timings.begin("splitting the lazy modules out of the wasm (wasm_split_cli_support)");
    let split_main = cache.join(format!("{key}.split.wasm"));
    let main_module = format!("./{output_name}.js");
    let link_name = format!("./{LOADER_PLACEHOLDER}");
    let split = wasm_split_cli_support::transform({
        let mut options = wasm_split_cli_support::Options::new(&input);
        options.output_dir = pkg.as_path();
        options.main_out_path = split_main.as_path();
        options.main_module = main_module.as_str();
        options.link_name = link_name.as_str();
        options
    })
    .map_err(|error| anyhow::anyhow!("{error:?}"))
    .context("splitting the wasm")?;
    drop(input);
    timings.finish(step);

    let step = timings.begin("generating the JS glue (wasm-bindgen)");
    bind(&split_main, output_name, &pkg)?;
    std::fs::remove_file(&split_main).ok();
    timings.finish(step);

    let step = timings.begin("optimising every wasm module for size (wasm-opt -Oz)");
    optimise(&pkg, tools)?;
    timings.finish(step);

    let step = timings.begin("minifying the JS glue (esbuild)");
    minify(&pkg.join(format!("{output_name}.js")), tools)?;
    timings.finish(step);

    let step = timings.begin("naming the bundle's files after their content");
    let (hashes, files) = names::name_bundle(&pkg, output_name, &split.prefetch_map)?;
    timings.finish(step);

    let step = timings.begin("precompressing the bundle (brotli 11, gzip 9)");
    compress::write_all_twins(&files)?;
    timings.finish(step);

    // Complete: the rename is what makes it a bundle others may reuse.
    hashes.write(&staging)?;
    std::fs::rename(&staging, &dir)
        .with_context(|| format!("renaming {} to {}", staging.display(), dir.display()))?;
    prune(cache, &dir)?;
    Ok(Bundle {
        dir,
        hashes,
        fresh: true,
    })
}

impl Bundle {
    /// The files to serve under `/pkg/`.
    pub fn pkg(&self) -> PathBuf {
        self.dir.join("pkg")
    }
}

/// wasm-bindgen as cargo-leptos runs it: `wasm-bindgen --target web --no-demangle
/// --keep-lld-exports --out-name <output-name>`, which is the library with every option the
/// command line sets (the library's own defaults differ: it would leave out the glue's
/// default path to the module; reference types, which the command line also names, are
/// read from the module itself); then the module is renamed from `<name>_bg.wasm` to
/// `<name>.wasm`.
fn bind(wasm: &Path, output_name: &str, out: &Path) -> Result<()> {
    wasm_bindgen_cli_support::Bindgen::new()
        .web(true)?
        .input_path(wasm)
        .debug(false)
        .demangle(false)
        .keep_lld_exports(true)
        .keep_debug(false)
        .split_debug_info(false)
        .remove_name_section(false)
        .remove_producers_section(false)
        .typescript(true)
        .omit_imports(false)
        .omit_default_module_path(false)
        .split_linked_modules(false)
        .js_string_builtins(false)
        .ts_typed_array_buffers(false)
        .reset_state_function(false)
        .force_enable_abort_handler(false)
        .out_name(output_name)
        .generate(out)
        .context("wasm-bindgen")?;
    let bound = out.join(format!("{output_name}_bg.wasm"));
    let renamed = out.join(format!("{output_name}.wasm"));
    std::fs::rename(&bound, &renamed)
        .with_context(|| format!("renaming {} to {}", bound.display(), renamed.display()))
}

/// `wasm-opt -Oz` in place on every module in `dir`, as many at a time as there are cores,
/// the largest first: the first-load module alone takes most of the time, so one core takes
/// it while the other works through the rest.
fn optimise(dir: &Path, tools: &Tools) -> Result<()> {
    let mut modules = files::with_extension(dir, "wasm")?;
    modules.sort_by_key(|module| std::cmp::Reverse(module.metadata().map_or(0, |m| m.len())));
    let next = AtomicUsize::new(0);
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers.min(modules.len()))
            .map(|_| {
                scope.spawn(|| loop {
                    let Some(module) = modules.get(next.fetch_add(1, Ordering::Relaxed)) else {
                        return Ok(());
                    };
                    tools::run(
                        Command::new(&tools.wasm_opt)
                            .arg("-Oz")
                            // The features the rustc wasm target emits.
                            .args(["--enable-bulk-memory", "--enable-nontrapping-float-to-int"])
                            .arg(module)
                            .arg("-o")
                            .arg(module),
                    )?;
                })
            })
            .collect();
        handles
            .into_iter()
            .try_for_each(|handle| match handle.join() {
                Ok(result) => result,
                Err(_) => bail!("a wasm-opt thread panicked"),
            })
    })
}

/// Minifies the JS glue in place. It stays an ES module with the same exports: only the
/// whitespace, the local names and the dead code go.
fn minify(js: &Path, tools: &Tools) -> Result<()> {
    let out = js.with_extension("min.js");
    tools::run(
        Command::new(&tools.esbuild)
            .arg(js)
            .args(["--minify", "--log-level=warning"])
            // wasm-bindgen lists the loader once per function imported from it, as keys of
            // one object: the same module each time, so the duplicates are harmless.
            .arg("--log-override:duplicate-object-key=silent")
            .arg(format!("--outfile={}", out.display())),
    )?;
    std::fs::rename(&out, js).with_context(|| format!("renaming {}", out.display()))
}

/// Marks a bundle as just used, for `prune`.
fn touch(dir: &Path) {
    let _ =
        std::fs::File::open(dir).and_then(|file| file.set_modified(std::time::SystemTime::now()));
}

/// Removes all but the `KEEP` most recently used bundles (never `current`), and any
/// leftovers of an interrupted build.
fn prune(cache: &Path, current: &Path) -> Result<()> {
    let mut bundles = Vec::new();
    for entry in std::fs::read_dir(cache)? {
        let path = entry?.path();
        if path == current {
            continue;
        }
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name.ends_with(".partial") || name.ends_with(".split.wasm") {
            // Left by an interrupted build: builds take turns (`crate::build` holds a lock),
            // so no other build is at work in here.
            remove(&path);
            continue;
        }
        let used = path.metadata().and_then(|m| m.modified()).ok();
        bundles.push((used, path));
    }
    bundles.sort_by_key(|(used, _)| std::cmp::Reverse(*used));
    for (_, path) in bundles.into_iter().skip(KEEP - 1) {
        remove(&path);
    }
    Ok(())
}

fn remove(path: &Path) {
    let _ = if path.is_dir() {
        std::fs::remove_dir_all(path)
    } else {
        std::fs::remove_file(path)
    };
}
