//! A site's files as a list that does not depend on content: each path with its content hash
//! written `<hash>`, and its size in bytes, one per line.
//!
//! `xtask manifest` prints it. `xtask/cargo-leptos-site.txt` is that list for a site built by
//! `cargo leptos build --release --split --precompress` (`scripts/cargo-leptos-site.sh`), and
//! `xtask/tests/site.rs` holds every build of ours to it: the same kinds of files always, and
//! while the app's sources are the ones the list was made from (its `# sources` line), the
//! same files and the same sizes wherever the two tools run the same steps. So the two build
//! paths cannot drift apart silently, and an edit to the app does not break the comparison.

use crate::digest::HASH_LEN;
use anyhow::{Context, Result};
use std::path::Path;

/// One file of a site.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Its path under the site root, `/`-separated, with its hash written `<hash>`.
    pub name: String,
    /// Its size in bytes.
    pub size: u64,
}

/// The files under `site_root`, sorted by name.
pub fn list(site_root: &Path) -> Result<Vec<Entry>> {
    let mut entries = Vec::new();
    for path in crate::files::walk(site_root)? {
        let relative = path
            .strip_prefix(site_root)
            .context("a path outside the site")?;
        let name = relative
            .components()
            .map(|part| part.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/");
        let size = path
            .metadata()
            .with_context(|| format!("{}", path.display()))?
            .len();
        entries.push(Entry {
            name: without_hash(&name),
            size,
        });
    }
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(entries)
}

/// `pkg/tickstream.5Uq0fY0xg1Jz0QbR1-kX_w.wasm` → `pkg/tickstream.<hash>.wasm`.
pub fn without_hash(name: &str) -> String {
    let (dir, file) = name.rsplit_once('/').unwrap_or(("", name));
    let file = file
        .split('.')
        .map(|part| if is_hash(part) { "<hash>" } else { part })
        .collect::<Vec<_>>()
        .join(".");
    if dir.is_empty() {
        file
    } else {
        format!("{dir}/{file}")
    }
}

/// Whether a dot-separated part of a file name is a content hash (as
/// `src/server/assets.rs` recognises one).
pub fn is_hash(part: &str) -> bool {
    part.len() == HASH_LEN
        && part
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        && part
            .bytes()
            .any(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
}

/// What a site is made of besides the tools: a hash over the app's sources — every file
/// under `src/`, `style/` and `public/`, and `Cargo.toml`, `Cargo.lock` and
/// `.cargo/config.toml` — with their paths.
pub fn sources(root: &Path) -> Result<String> {
    let mut files = Vec::new();
    for dir in ["src", "style", "public"] {
        files.extend(crate::files::walk(&root.join(dir))?);
    }
    for file in ["Cargo.toml", "Cargo.lock", ".cargo/config.toml"] {
        files.push(root.join(file));
    }
    let mut parts = Vec::new();
    for path in &files {
        let relative = path
            .strip_prefix(root)
            .context("a source outside the checkout")?;
        parts.push(relative.to_string_lossy().into_owned().into_bytes());
        parts.push(std::fs::read(path).with_context(|| format!("reading {}", path.display()))?);
    }
    let parts: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
    Ok(crate::digest::of_parts(&parts))
}

/// The line that records `sources` in a list.
const SOURCES: &str = "# sources ";

/// The `# sources <hash>` line of a list.
pub fn sources_line(hash: &str) -> String {
    format!("{SOURCES}{hash}\n")
}

/// The sources hash a list records, if any.
pub fn recorded_sources(text: &str) -> Option<&str> {
    text.lines().find_map(|line| line.strip_prefix(SOURCES))
}

/// A name with what an edit to the app changes written as placeholders: the lazy modules'
/// names and numbers (`chunk_<n>`, `split_<name>`), so that a list of kinds of files stays
/// the same when a lazy module is added.
pub fn kind(name: &str) -> String {
    let (dir, file) = name.rsplit_once('/').unwrap_or(("", name));
    let stem_end = file.find('.').unwrap_or(file.len());
    let (stem, rest) = file.split_at(stem_end);
    let stem = if stem.starts_with("chunk_") {
        "chunk_<n>"
    } else if stem.starts_with("split_") {
        "split_<name>"
    } else {
        stem
    };
    if dir.is_empty() {
        format!("{stem}{rest}")
    } else {
        format!("{dir}/{stem}{rest}")
    }
}

/// The list as text: `<size> <name>` per line.
pub fn render(entries: &[Entry]) -> String {
    entries
        .iter()
        .map(|entry| format!("{} {}\n", entry.size, entry.name))
        .collect()
}

/// Reads what `render` wrote; `#` starts a comment line.
pub fn parse(text: &str) -> Result<Vec<Entry>> {
    text.lines()
        .filter(|line| !line.trim().is_empty() && !line.starts_with('#'))
        .map(|line| {
            let (size, name) = line
                .split_once(' ')
                .with_context(|| format!("not `<size> <name>`: {line}"))?;
            Ok(Entry {
                name: name.to_string(),
                size: size
                    .parse()
                    .with_context(|| format!("not a size: {line}"))?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_written_as_placeholders() {
        assert_eq!(
            without_hash("pkg/tickstream.5Uq0fY0xg1Jz0QbR1-kX_w.wasm"),
            "pkg/tickstream.<hash>.wasm"
        );
        assert_eq!(
            without_hash("pkg/__wasm_split.Aq9ZtT0xg1Jz0QbR1-kX_w.js.br"),
            "pkg/__wasm_split.<hash>.js.br"
        );
        assert_eq!(without_hash("favicon.svg"), "favicon.svg");
        // 22 letters of a word are not a hash.
        assert_eq!(
            without_hash("pkg/abcdefghijklmnopqrstuv.js"),
            "pkg/abcdefghijklmnopqrstuv.js"
        );
    }

    #[test]
    fn kinds_forget_which_lazy_module_a_file_is() {
        assert_eq!(
            kind("pkg/chunk_11.<hash>.wasm.br"),
            "pkg/chunk_<n>.<hash>.wasm.br"
        );
        assert_eq!(
            kind("pkg/split___lab_route_view_99.<hash>.wasm"),
            "pkg/split_<name>.<hash>.wasm"
        );
        assert_eq!(kind("pkg/tickstream.<hash>.js"), "pkg/tickstream.<hash>.js");
        assert_eq!(kind("favicon.svg"), "favicon.svg");
    }

    #[test]
    fn a_list_records_its_sources() {
        let text = format!("# made by hand\n{}257 favicon.svg\n", sources_line("abc"));
        assert_eq!(recorded_sources(&text), Some("abc"));
        assert_eq!(recorded_sources("257 favicon.svg\n"), None);
    }

    #[test]
    fn render_and_parse_round_trip() -> Result<()> {
        let entries = vec![
            Entry {
                name: "favicon.svg".into(),
                size: 257,
            },
            Entry {
                name: "pkg/tickstream.<hash>.css".into(),
                size: 21034,
            },
        ];
        let text = format!("# a comment\n{}", render(&entries));
        assert_eq!(parse(&text)?, entries);
        Ok(())
    }
}
