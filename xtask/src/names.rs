//! Content-addressed names for the bundle's files: `tickstream.<hash>.js`, `chunk_3.<hash>.wasm`,
//! and the hashes the server reads to write the first-load names into each page.
//!
//! The server marks every such file `immutable` for a year (`src/server/assets.rs`), so the
//! invariant is strict: **a file's bytes never change without its name changing.** Files
//! name each other, which is where care is needed:
//! - the lazy modules (`split_*.wasm`, `chunk_*.wasm`) and the TypeScript declarations name
//!   nothing: each is named after its own bytes;
//! - the loader (`__wasm_split.<hash>.js`) names the lazy modules, and the manifest (which
//!   Leptos reads to preload them) lists them: both are named after their bytes once those
//!   names are in;
//! - the first-load JS and the loader name *each other* (the glue imports the loader for the
//!   wasm module; the loader imports `initSync` from the glue), so neither can be named after
//!   its final bytes. The JS is named after both files' bytes before either names the other;
//!   the loader, after its final bytes. Every byte of either is a function of those two
//!   inputs, so no byte changes unless the JS's name does, and then the loader's name too;
//! - the first-load wasm imports the loader by name (patched in place: the placeholder and
//!   the hash are the same length), then is named after its final bytes.
//!
//! cargo-leptos names the glue, the wasm and the manifest after their bytes *before* it
//! writes the other names into them; this is stricter, and otherwise the same scheme.

use crate::digest;
use anyhow::{bail, Context, Result};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// The placeholder cargo-leptos has the loader's name carry until it is named after its
/// content: 22 characters, as long as the hash that replaces it, so the wasm module's
/// import of it can be patched in place.
pub const LOADER_PLACEHOLDER: &str = "__wasm_split.______________________.js";

/// The hashes in the names of the files a page refers to, as Leptos reads them from the hash
/// file (`js: …`, `wasm: …`, `css: …`, `manifest: …`, `split: …`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hashes {
    /// The first-load JS glue.
    pub js: String,
    /// The first-load wasm module.
    pub wasm: String,
    /// The manifest of lazy modules.
    pub manifest: String,
    /// The loader of lazy modules.
    pub split: String,
}

/// The file in a bundle directory that holds its hashes, and marks it complete.
const HASHES_FILE: &str = "hashes";

impl Hashes {
    /// The lines of the site's hash file, the stylesheet's hash included, in the order
    /// cargo-leptos writes them.
    pub fn hash_file(&self, css: &str) -> String {
        format!(
            "js: {}\nwasm: {}\ncss: {css}\nmanifest: {}\nsplit: {}\n",
            self.js, self.wasm, self.manifest, self.split
        )
    }

    /// Reads the hashes a finished bundle left in `dir`.
    pub fn read(dir: &Path) -> Result<Hashes> {
        let text = std::fs::read_to_string(dir.join(HASHES_FILE))?;
        let lines: HashMap<&str, &str> = text
            .lines()
            .filter_map(|line| line.split_once(": "))
            .collect();
        let get = |key: &str| {
            lines
                .get(key)
                .map(|hash| hash.to_string())
                .with_context(|| format!("{}: no {key}", dir.display()))
        };
        Ok(Hashes {
            js: get("js")?,
            wasm: get("wasm")?,
            manifest: get("manifest")?,
            split: get("split")?,
        })
    }

    /// Writes them into the bundle directory `dir`.
    pub fn write(&self, dir: &Path) -> Result<()> {
        let text = format!(
            "js: {}\nwasm: {}\nmanifest: {}\nsplit: {}\n",
            self.js, self.wasm, self.manifest, self.split
        );
        std::fs::write(dir.join(HASHES_FILE), text).context("writing the bundle's hashes")
    }
}

/// `name.ext` → `name.<hash>.ext` (the last extension only: `tickstream.d.ts` becomes
/// `tickstream.d.<hash>.ts`, as cargo-leptos names it).
pub fn hashed_name(name: &str, hash: &str) -> String {
    match name.rsplit_once('.') {
        Some((stem, ext)) => format!("{stem}.{hash}.{ext}"),
        None => format!("{name}.{hash}"),
    }
}

/// Names every file in the bundle directory `dir` after its content (see the module header),
/// writes the manifest of lazy modules from `prefetch` (split → the stems of the modules it
/// needs), and returns the hashes and every file now in `dir`.
pub fn name_bundle(
    dir: &Path,
    output_name: &str,
    prefetch: &HashMap<String, Vec<String>>,
) -> Result<(Hashes, Vec<PathBuf>)> {
    let main_js = format!("{output_name}.js");
    let main_wasm = format!("{output_name}.wasm");
    let mut renamed: BTreeMap<String, String> = BTreeMap::new();
    let mut files = Vec::new();

    // The files that name nothing. (Listed first, renamed after: a directory read while its
    // entries are renamed may list one twice.)
    for path in crate::files::walk(dir)? {
        if path.parent() != Some(dir) {
            continue;
        }
        let Some(name) = path
            .file_name()
            .and_then(|n| n.to_str())
            .map(str::to_string)
        else {
            continue;
        };
        let leaf = (name.ends_with(".wasm") && name != main_wasm) || name.ends_with(".d.ts");
        if !leaf {
            continue;
        }
        let bytes = read(&path)?;
        if contains(&bytes, LOADER_PLACEHOLDER.as_bytes()) {
            bail!("{name} names the loader: its name would depend on itself (names.rs)");
        }
        let new = hashed_name(&name, &digest::of(&bytes));
        files.push(rename(&path, &dir.join(&new))?);
        renamed.insert(name, new);
    }

    // The loader, with the lazy modules' new names in.
    let loader_path = dir.join(LOADER_PLACEHOLDER);
    let mut loader = String::from_utf8(read(&loader_path)?).context("the loader is not UTF-8")?;
    for (old, new) in renamed.iter().filter(|(old, _)| old.ends_with(".wasm")) {
        loader = replace_all(
            &loader,
            &format!("\"./{old}\""),
            &format!("\"./{new}\""),
            1..=1,
        )?;
    }

    // The manifest: each split's modules by their new stems.
    let stem = |name: &str| name.strip_suffix(".wasm").unwrap_or(name).to_string();
    let mut manifest = BTreeMap::new();
    for (split, stems) in prefetch {
        let mut hashed = Vec::new();
        for old in stems {
            let new = renamed.get(&format!("{old}.wasm")).with_context(|| {
                format!("the manifest names {old}, which the split did not write")
            })?;
            hashed.push(stem(new));
        }
        manifest.insert(split.as_str(), hashed);
    }
    let manifest = serde_json::to_string(&manifest)?;
    let manifest_hash = digest::of(manifest.as_bytes());
    let manifest_path = dir.join(hashed_name("__wasm_split_manifest.json", &manifest_hash));
    std::fs::write(&manifest_path, &manifest)?;
    files.push(manifest_path);

    // The glue and the loader, which name each other.
    let js_path = dir.join(&main_js);
    let js = String::from_utf8(read(&js_path)?).context("the JS glue is not UTF-8")?;
    let js_hash = digest::of_parts(&[js.as_bytes(), loader.as_bytes()]);
    let js_name = hashed_name(&main_js, &js_hash);
    let loader = replace_all(
        &loader,
        &format!("\"./{main_js}\""),
        &format!("\"./{js_name}\""),
        1..=1,
    )?;
    let split_hash = digest::of(loader.as_bytes());
    let loader_name = LOADER_PLACEHOLDER.replace(&"_".repeat(digest::HASH_LEN), &split_hash);
    let js = replace_all(&js, LOADER_PLACEHOLDER, &loader_name, 1..)?;
    files.push(write_renamed(
        &loader_path,
        &dir.join(&loader_name),
        loader.as_bytes(),
    )?);
    files.push(write_renamed(&js_path, &dir.join(&js_name), js.as_bytes())?);

    // The first-load module, with the loader's name patched in.
    let wasm_path = dir.join(&main_wasm);
    let mut wasm = read(&wasm_path)?;
    let patched = patch_in_place(
        &mut wasm,
        LOADER_PLACEHOLDER.as_bytes(),
        loader_name.as_bytes(),
    );
    if patched == 0 {
        bail!("{main_wasm} does not import the loader {LOADER_PLACEHOLDER}");
    }
    let wasm_hash = digest::of(&wasm);
    files.push(write_renamed(
        &wasm_path,
        &dir.join(hashed_name(&main_wasm, &wasm_hash)),
        &wasm,
    )?);

    // Whatever else wasm-bindgen wrote (`snippets/`, named by path from the glue) stays as
    // it is, and is served and compressed like the rest.
    for path in crate::files::walk(dir)? {
        if !files.contains(&path) {
            files.push(path);
        }
    }
    files.sort();
    let hashes = Hashes {
        js: js_hash,
        wasm: wasm_hash,
        manifest: manifest_hash,
        split: split_hash,
    };
    Ok((hashes, files))
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("reading {}", path.display()))
}

fn rename(from: &Path, to: &Path) -> Result<PathBuf> {
    std::fs::rename(from, to)
        .with_context(|| format!("renaming {} to {}", from.display(), to.display()))?;
    Ok(to.to_path_buf())
}

fn write_renamed(old: &Path, new: &Path, bytes: &[u8]) -> Result<PathBuf> {
    std::fs::write(new, bytes).with_context(|| format!("writing {}", new.display()))?;
    if old != new {
        std::fs::remove_file(old).with_context(|| format!("removing {}", old.display()))?;
    }
    Ok(new.to_path_buf())
}

/// Replaces every `from` in `text` by `to`, requiring a number of occurrences in `expected`:
/// a reference that is not where it should be is a build error, not a broken page.
fn replace_all(
    text: &str,
    from: &str,
    to: &str,
    expected: impl std::ops::RangeBounds<usize> + std::fmt::Debug,
) -> Result<String> {
    let found = text.matches(from).count();
    if !expected.contains(&found) {
        bail!("expected {expected:?} occurrences of {from}, found {found}");
    }
    Ok(text.replace(from, to))
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

/// Overwrites every occurrence of `from` in `bytes` with `to` (the same length); returns how many.
fn patch_in_place(bytes: &mut [u8], from: &[u8], to: &[u8]) -> usize {
    assert_eq!(from.len(), to.len(), "a patch in place keeps the length");
    let mut count = 0;
    let mut at = 0;
    while at + from.len() <= bytes.len() {
        if &bytes[at..at + from.len()] == from {
            bytes[at..at + from.len()].copy_from_slice(to);
            count += 1;
            at += from.len();
        } else {
            at += 1;
        }
    }
    count
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_goes_before_the_last_extension() {
        assert_eq!(hashed_name("tickstream.js", "H"), "tickstream.H.js");
        assert_eq!(hashed_name("tickstream.d.ts", "H"), "tickstream.d.H.ts");
        assert_eq!(hashed_name("LICENSE", "H"), "LICENSE.H");
    }

    #[test]
    fn a_reference_must_be_where_it_should() -> Result<()> {
        assert_eq!(replace_all("a b a", "a", "c", 2..=2)?, "c b c");
        assert!(replace_all("a b a", "a", "c", 1..=1).is_err());
        assert!(replace_all("b", "a", "c", 1..).is_err());
        Ok(())
    }

    #[test]
    fn patches_keep_the_length() {
        let mut bytes = b"xxABxAByy".to_vec();
        assert_eq!(patch_in_place(&mut bytes, b"AB", b"CD"), 2);
        assert_eq!(bytes, b"xxCDxCDyy");
    }

    /// A bundle as the split and wasm-bindgen leave it, in a directory of the test's own.
    fn bundle(name: &str, chunk: &[u8]) -> Result<PathBuf> {
        let dir = std::env::temp_dir().join(format!("xtask-names-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)?;
        let files: [(&str, &[u8]); 6] = [
            (
                "app.js",
                b"import * as s from './__wasm_split.______________________.js';",
            ),
            (
                "app.wasm",
                b"\0asm..__wasm_split.______________________.js..",
            ),
            ("app.d.ts", b"export function hydrate(): void;"),
            ("chunk_0.wasm", chunk),
            ("split_a.wasm", b"\0asm split a"),
            (
                LOADER_PLACEHOLDER,
                b"import { initSync } from \"./app.js\";\n\
                  const c = fetch(new URL(\"./chunk_0.wasm\", import.meta.url));\n\
                  const a = fetch(new URL(\"./split_a.wasm\", import.meta.url));\n",
            ),
        ];
        for (file, bytes) in files {
            std::fs::write(dir.join(file), bytes)?;
        }
        Ok(dir)
    }

    fn prefetch() -> HashMap<String, Vec<String>> {
        HashMap::from([(
            "a".to_string(),
            vec!["chunk_0".to_string(), "split_a".to_string()],
        )])
    }

    #[test]
    fn every_name_covers_the_bytes_behind_it() -> Result<()> {
        let dir = bundle("names", b"\0asm chunk 0")?;
        let (hashes, files) = name_bundle(&dir, "app", &prefetch())?;
        assert_eq!(files.len(), 7, "{files:?}");
        let loader_name = format!("__wasm_split.{}.js", hashes.split);
        let loader = std::fs::read_to_string(dir.join(&loader_name))?;
        let js_name = format!("app.{}.js", hashes.js);
        let js = std::fs::read_to_string(dir.join(&js_name))?;
        // Named after their own bytes: the loader and the first-load module, each with the
        // other names in.
        assert_eq!(digest::of(loader.as_bytes()), hashes.split);
        let wasm = std::fs::read(dir.join(format!("app.{}.wasm", hashes.wasm)))?;
        assert_eq!(digest::of(&wasm), hashes.wasm);
        assert!(contains(&wasm, loader_name.as_bytes()));
        // The glue: after itself and its loader, before either named the other.
        assert!(js.contains(&loader_name));
        assert!(loader.contains(&format!("\"./{js_name}\"")));
        let before = [
            js.replace(&loader_name, LOADER_PLACEHOLDER),
            loader.replace(&js_name, "app.js"),
        ];
        assert_eq!(
            digest::of_parts(&[before[0].as_bytes(), before[1].as_bytes()]),
            hashes.js
        );
        // The manifest lists the lazy modules by their new names, which the loader fetches.
        let manifest = std::fs::read_to_string(
            dir.join(format!("__wasm_split_manifest.{}.json", hashes.manifest)),
        )?;
        let listed: BTreeMap<String, Vec<String>> = serde_json::from_str(&manifest)?;
        for stem in &listed["a"] {
            assert!(dir.join(format!("{stem}.wasm")).is_file(), "{stem}");
            assert!(loader.contains(&format!("\"./{stem}.wasm\"")), "{stem}");
        }
        std::fs::remove_dir_all(&dir)?;
        Ok(())
    }

    #[test]
    fn a_lazy_module_that_names_the_loader_is_refused() -> Result<()> {
        let dir = bundle("cycle", b"__wasm_split.______________________.js")?;
        assert!(name_bundle(&dir, "app", &prefetch()).is_err());
        std::fs::remove_dir_all(&dir)?;
        Ok(())
    }
}
