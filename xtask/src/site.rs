//! The site the server serves (`target/site`): the bundle under `pkg/`, the stylesheet beside
//! it, the assets at the root, each with its `.br` and `.gz` twins.
//!
//! The invariants:
//! - after a build the site holds exactly the files of that build: a hashed file an earlier
//!   build left is removed, so nothing stale can be served;
//! - a file (twins included) is written only when its bytes differ from what is there, and
//!   always whole (a temporary file, then a rename): a rebuild that changed nothing writes
//!   nothing, and an interrupted one leaves no half-written file to be served.

use crate::compress;
use anyhow::{bail, Context, Result};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Where a wanted file's bytes come from.
enum Source {
    /// A file built elsewhere (the bundle's, twins included).
    File(PathBuf),
    /// Bytes made by this build (the stylesheet) or read from the assets; twins made here.
    Bytes(Vec<u8>),
}

/// The files the site should hold, by path under its root; `sync` makes it so.
pub struct Site {
    root: PathBuf,
    wanted: BTreeMap<PathBuf, Source>,
    /// The files whose twins this build makes (not those that arrive with their own).
    compressed: BTreeSet<PathBuf>,
}

/// How each twin is made, by suffix (`compress::TWINS`).
fn pack(suffix: &str, bytes: &[u8]) -> Result<Vec<u8>> {
    match suffix {
        "br" => compress::brotli(bytes),
        _ => compress::gzip(bytes),
    }
}

/// What `sync` did.
#[derive(Debug, Default)]
pub struct Synced {
    /// Files written because they were missing or different (twins included).
    pub written: usize,
    /// Files already as wanted.
    pub unchanged: usize,
    /// Files removed because no longer part of the site.
    pub removed: usize,
}

impl Site {
    /// An empty plan for the site at `root`.
    pub fn new(root: PathBuf) -> Site {
        Site {
            root,
            wanted: BTreeMap::new(),
            compressed: BTreeSet::new(),
        }
    }

    /// Every file under `dir` (twins included), at the same paths under `under`.
    pub fn add_dir(&mut self, under: &Path, dir: &Path) -> Result<()> {
        for path in crate::files::walk(dir)? {
            let relative = path
                .strip_prefix(dir)
                .context("a path outside its directory")?;
            self.insert(under.join(relative), Source::File(path.clone()))?;
        }
        Ok(())
    }

    /// `bytes` at `path`, with twins made here.
    pub fn add_compressed(&mut self, path: PathBuf, bytes: Vec<u8>) -> Result<()> {
        self.compressed.insert(path.clone());
        self.insert(path, Source::Bytes(bytes))
    }

    fn insert(&mut self, path: PathBuf, source: Source) -> Result<()> {
        if self.wanted.insert(path.clone(), source).is_some() {
            bail!("two files want to be {}", path.display());
        }
        Ok(())
    }

    /// Makes the site hold exactly the wanted files.
    pub fn sync(self) -> Result<Synced> {
        let mut synced = Synced::default();
        std::fs::create_dir_all(&self.root)
            .with_context(|| format!("creating {}", self.root.display()))?;
        for (path, source) in &self.wanted {
            let target = self.root.join(path);
            let bytes = match source {
                Source::File(file) => {
                    std::fs::read(file).with_context(|| format!("reading {}", file.display()))?
                }
                Source::Bytes(bytes) => bytes.clone(),
            };
            let changed = write_if_different(&target, &bytes)?;
            if changed {
                synced.written += 1;
            } else {
                synced.unchanged += 1;
            }
            if self.compressed.contains(path) {
                // Made afresh each time (the stylesheet and the assets: milliseconds), so a
                // twin can never outlive the bytes it was made from.
                for suffix in compress::TWINS {
                    let twin = compress::twin(&target, suffix);
                    if write_if_different(&twin, &pack(suffix, &bytes)?)? {
                        synced.written += 1;
                    } else {
                        synced.unchanged += 1;
                    }
                }
            }
        }
        synced.removed = self.remove_the_rest()?;
        Ok(synced)
    }

    /// Removes every file under the root that is neither wanted nor a twin of one made here.
    fn remove_the_rest(&self) -> Result<usize> {
        let mut removed = 0;
        for path in crate::files::walk(&self.root)? {
            let relative = path
                .strip_prefix(&self.root)
                .context("a path outside the site")?;
            if self.wanted.contains_key(relative) {
                continue;
            }
            if compress::is_twin(relative) && self.compressed.contains(&relative.with_extension(""))
            {
                continue;
            }
            std::fs::remove_file(&path).with_context(|| format!("removing {}", path.display()))?;
            removed += 1;
        }
        remove_empty_dirs(&self.root)?;
        Ok(removed)
    }
}

/// Writes `bytes` to `path` unless it holds them already; returns whether it wrote. The bytes
/// go to a temporary file first, so a server reading the site never sees half a file.
pub fn write_if_different(path: &Path, bytes: &[u8]) -> Result<bool> {
    if std::fs::read(path).is_ok_and(|there| there == bytes) {
        return Ok(false);
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    let temporary = compress::twin(path, "partial");
    std::fs::write(&temporary, bytes)
        .with_context(|| format!("writing {}", temporary.display()))?;
    std::fs::rename(&temporary, path).with_context(|| format!("writing {}", path.display()))?;
    Ok(true)
}

fn remove_empty_dirs(dir: &Path) -> Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            remove_empty_dirs(&path)?;
            if std::fs::read_dir(&path)?.next().is_none() {
                std::fs::remove_dir(&path)?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("xtask-site-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn holds_exactly_the_wanted_files_and_rewrites_only_changes() -> Result<()> {
        let root = scratch("sync");
        std::fs::create_dir_all(root.join("pkg"))?;
        std::fs::write(root.join("pkg/tickstream.OLD.css"), "stale")?;

        let mut site = Site::new(root.clone());
        site.add_compressed("pkg/tickstream.NEW.css".into(), b"a{color:red}".to_vec())?;
        let first = site.sync()?;
        assert_eq!((first.written, first.removed), (3, 1));
        assert!(!root.join("pkg/tickstream.OLD.css").exists());
        assert!(root.join("pkg/tickstream.NEW.css.br").is_file());
        assert!(root.join("pkg/tickstream.NEW.css.gz").is_file());

        let mut again = Site::new(root.clone());
        again.add_compressed("pkg/tickstream.NEW.css".into(), b"a{color:red}".to_vec())?;
        let second = again.sync()?;
        assert_eq!(
            (second.written, second.unchanged, second.removed),
            (0, 3, 0)
        );
        std::fs::remove_dir_all(&root)?;
        Ok(())
    }

    #[test]
    fn refuses_two_files_at_one_path() -> Result<()> {
        let mut site = Site::new(scratch("twice"));
        site.add_compressed("favicon.svg".into(), Vec::new())?;
        assert!(site
            .add_compressed("favicon.svg".into(), Vec::new())
            .is_err());
        Ok(())
    }
}
