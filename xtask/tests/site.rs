//! The site `make build` built (`target/site`, `target/hash.txt`), read back as the server
//! and a browser would: every name it promises resolves, every hashed name is its content's,
//! every twin is its file, and it is the site cargo-leptos builds — the same kinds of files as
//! the list it made (`xtask/cargo-leptos-site.txt`), and while the app's sources are the ones
//! that list was made from, the same files and the same sizes wherever the two run the same
//! steps. Run by `make test` after `make build`; it fails when there is no build.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use xtask::compress::{is_twin, twin, TWINS};
use xtask::digest;
use xtask::files;
use xtask::manifest::{self, Entry};
use xtask::names::LOADER_PLACEHOLDER;
use xtask::settings::Settings;

fn root() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

fn settings() -> Settings {
    Settings::read(&root())
        .expect("Cargo.toml's [package.metadata.leptos]")
        .1
}

fn site() -> PathBuf {
    let site = root().join(settings().site_root);
    assert!(
        site.join("pkg").is_dir(),
        "{} has no build: run `make build` first",
        site.display()
    );
    site
}

fn pkg() -> PathBuf {
    site().join(settings().site_pkg_dir)
}

/// The hash file, as Leptos reads it: `key: hash` lines.
fn hashes() -> BTreeMap<String, String> {
    let path = root().join(settings().hash_file());
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
    text.lines()
        .map(|line| {
            let (key, hash) = line
                .split_once(": ")
                .unwrap_or_else(|| panic!("bad line {line:?}"));
            (key.to_string(), hash.to_string())
        })
        .collect()
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}

fn text(path: &Path) -> String {
    String::from_utf8(read(path)).unwrap_or_else(|_| panic!("{} is not UTF-8", path.display()))
}

/// The names of the first-load files and the lazy-module files, from the hash file (as
/// Leptos builds them into every page).
fn named(key: &str) -> PathBuf {
    let hash = &hashes()[key];
    let name = settings().output_name;
    pkg().join(match key {
        "js" => format!("{name}.{hash}.js"),
        "wasm" => format!("{name}.{hash}.wasm"),
        "css" => format!("{name}.{hash}.css"),
        "manifest" => format!("__wasm_split_manifest.{hash}.json"),
        "split" => format!("__wasm_split.{hash}.js"),
        other => panic!("no such key {other}"),
    })
}

#[test]
fn the_hash_file_names_files_the_site_has() {
    let keys: Vec<String> = hashes().into_keys().collect();
    assert_eq!(keys, ["css", "js", "manifest", "split", "wasm"]);
    for key in &keys {
        assert!(
            named(key).is_file(),
            "{key}: {} is missing",
            named(key).display()
        );
    }
}

#[test]
fn every_hashed_name_is_its_content() {
    let first_load_js = named("js");
    for path in files::walk(&site()).expect("the site") {
        let name = path
            .file_name()
            .expect("a name")
            .to_string_lossy()
            .into_owned();
        let Some(hash) = name.split('.').find(|part| manifest::is_hash(part)) else {
            continue;
        };
        if is_twin(&path) || path == first_load_js {
            continue;
        }
        assert_eq!(
            digest::of(&read(&path)),
            hash,
            "{name} is not named after its bytes"
        );
    }
}

#[test]
fn the_first_load_js_is_named_after_itself_and_its_loader() {
    // Undo each file's reference to the other (names.rs): what remains is what the name hashes.
    let (js_path, loader_path) = (named("js"), named("split"));
    let js_name = js_path
        .file_name()
        .expect("a name")
        .to_string_lossy()
        .into_owned();
    let loader_name = loader_path
        .file_name()
        .expect("a name")
        .to_string_lossy()
        .into_owned();
    let js = text(&js_path).replace(&loader_name, LOADER_PLACEHOLDER);
    let plain = format!("\"./{}.js\"", settings().output_name);
    let loader = text(&loader_path).replace(&format!("\"./{js_name}\""), &plain);
    assert_eq!(
        digest::of_parts(&[js.as_bytes(), loader.as_bytes()]),
        hashes()["js"],
        "the first-load JS's name does not cover its bytes and its loader's"
    );
    assert!(
        text(&js_path).contains(&loader_name),
        "the JS does not import the loader by its name"
    );
    assert!(
        read(&named("wasm"))
            .windows(loader_name.len())
            .any(|w| w == loader_name.as_bytes()),
        "the wasm does not import the loader by its name"
    );
}

#[test]
fn every_lazy_module_is_listed_and_loadable() {
    let manifest: BTreeMap<String, Vec<String>> =
        serde_json::from_slice(&read(&named("manifest"))).expect("the manifest is JSON");
    assert!(!manifest.is_empty(), "no lazy modules: was the wasm split?");
    let loader = text(&named("split"));
    let mut listed = BTreeSet::new();
    for (split, stems) in &manifest {
        for stem in stems {
            let file = format!("{stem}.wasm");
            assert!(
                pkg().join(&file).is_file(),
                "{split} needs {file}, which is missing"
            );
            assert!(
                loader.contains(&format!("\"./{file}\"")),
                "the loader does not fetch {file}"
            );
            listed.insert(file);
        }
    }
    // And every lazy module the site holds is one the manifest lists.
    for path in files::walk(&pkg()).expect("pkg") {
        let name = path
            .file_name()
            .expect("a name")
            .to_string_lossy()
            .into_owned();
        if (name.starts_with("split_") || name.starts_with("chunk_")) && name.ends_with(".wasm") {
            assert!(
                listed.contains(&name),
                "{name} is in the site, in no split's list"
            );
        }
    }
}

#[test]
fn every_file_has_twins_that_decompress_to_it() {
    for path in files::walk(&site()).expect("the site") {
        if is_twin(&path) {
            let original = path.with_extension("");
            assert!(
                original.is_file(),
                "{} is the twin of nothing",
                path.display()
            );
            continue;
        }
        let bytes = read(&path);
        for suffix in TWINS {
            let packed = read(&twin(&path, suffix));
            let mut unpacked = Vec::new();
            match suffix {
                "br" => brotli::BrotliDecompress(&mut &packed[..], &mut unpacked).map(|_| ()),
                _ => flate2::read::GzDecoder::new(&packed[..])
                    .read_to_end(&mut unpacked)
                    .map(|_| ()),
            }
            .unwrap_or_else(|err| panic!("{}.{suffix}: {err}", path.display()));
            assert!(
                unpacked == bytes,
                "{}.{suffix} is not its file",
                path.display()
            );
        }
    }
}

/// How far a file's size may stray from cargo-leptos' build of it, and why.
fn tolerance(name: &str) -> f64 {
    if name.ends_with(".wasm") {
        // The same module through the same tools, but it carries the paths of the crates it
        // was built from (panic locations): another checkout or cargo home, other lengths.
        0.02
    } else if name.starts_with("pkg/") && name.ends_with(".js") && !name.contains("__wasm_split") {
        // The first-load glue: minified by esbuild here, by swc in cargo-leptos.
        0.05
    } else if name.ends_with(".css") {
        // Lightning CSS alpha.72 here, alpha.71 there: newer browser data, shorter colours.
        0.01
    } else {
        0.0
    }
}

fn cargo_leptos_list() -> String {
    text(&root().join("xtask/cargo-leptos-site.txt"))
}

#[test]
fn it_has_the_kinds_of_files_cargo_leptos_makes() {
    let kinds = |entries: Vec<Entry>| -> BTreeSet<String> {
        entries
            .iter()
            .map(|entry| manifest::kind(&entry.name))
            .collect()
    };
    let theirs = kinds(manifest::parse(&cargo_leptos_list()).expect("the cargo-leptos list"));
    let ours = kinds(manifest::list(&site()).expect("the site"));
    let missing: Vec<_> = theirs.difference(&ours).collect();
    let extra: Vec<_> = ours.difference(&theirs).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "the site's kinds of files differ from cargo-leptos': missing {missing:?}, extra {extra:?}"
    );
}

#[test]
fn built_from_the_same_sources_it_is_the_site_cargo_leptos_builds() {
    let list = cargo_leptos_list();
    let now = manifest::sources(&root()).expect("the sources");
    if manifest::recorded_sources(&list) != Some(now.as_str()) {
        // Printed by `make site-test` (--nocapture): the kinds of files are still compared.
        println!(
            "note: the app's sources changed since xtask/cargo-leptos-site.txt was made, so the \
             site's files and sizes are not compared with cargo-leptos' (only their kinds): \
             scripts/cargo-leptos-site.sh makes the list again"
        );
        return;
    }
    let files = |entries: Vec<Entry>| -> BTreeMap<String, u64> {
        entries
            .into_iter()
            .map(|entry| (entry.name, entry.size))
            .collect()
    };
    let theirs = files(manifest::parse(&list).expect("the cargo-leptos list"));
    let ours = files(manifest::list(&site()).expect("the site"));
    let names = |files: &BTreeMap<String, u64>| files.keys().cloned().collect::<BTreeSet<_>>();
    let missing: Vec<_> = names(&theirs).difference(&names(&ours)).cloned().collect();
    let extra: Vec<_> = names(&ours).difference(&names(&theirs)).cloned().collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "the site's files differ from cargo-leptos': missing {missing:?}, extra {extra:?}"
    );
    let mut strays = Vec::new();
    for (name, size) in &ours {
        // Twins differ by compressor; what they decompress to is checked above.
        if name.ends_with(".br") || name.ends_with(".gz") {
            continue;
        }
        let expected = theirs[name] as f64;
        let off = (*size as f64 - expected).abs() / expected.max(1.0);
        if off > tolerance(name) {
            strays.push(format!("{name}: {size} B, cargo-leptos {expected} B"));
        }
    }
    assert!(
        strays.is_empty(),
        "sizes strayed from cargo-leptos':\n{}",
        strays.join("\n")
    );
}
