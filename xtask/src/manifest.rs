//! A site's files as a list that does not depend on content: each path with its content hash
//! written `<hash>`, and its size in bytes, one per line.
//!
//! `xtask manifest` prints it. `xtask/cargo-leptos-site.txt` is that list for a site built by
//! `cargo leptos build --release --split --precompress` (`scripts/cargo-leptos-site.sh`), and
//! `xtask/tests/site.rs` holds every build of ours to it: the same files, and the same sizes
//! wherever the two tools run the same steps. So the two build paths cannot drift apart
//! silently.

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
