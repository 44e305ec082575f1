//! Precompression: a `.br` and a `.gz` twin beside every file the site serves, made once at
//! build time at the strongest settings, which the server hands to browsers that accept
//! them (Leptos' `ServeDir`) instead of compressing on every request.
//!
//! The invariant: a twin decompresses to exactly its file, and the same file always gives the
//! same twins (the gzip header carries no time), so a rebuild changes no byte it need not.

use anyhow::{Context, Result};
use flate2::{Compression, GzBuilder};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The suffixes of the twins, in the order they are written.
pub const TWINS: [&str; 2] = ["br", "gz"];

/// Whether `path` is itself a twin (never compressed again).
pub fn is_twin(path: &Path) -> bool {
    path.extension()
        .is_some_and(|ext| TWINS.iter().any(|twin| ext == *twin))
}

/// `file.ext` → `file.ext.br`.
pub fn twin(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".");
    name.push(suffix);
    PathBuf::from(name)
}

/// Brotli at quality 11 with a 4 MiB window (the encoder's defaults: its best).
pub fn brotli(bytes: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(bytes.len() / 3);
    let params = brotli::enc::BrotliEncoderParams::default();
    brotli::BrotliCompress(&mut &bytes[..], &mut out, &params).context("brotli")?;
    Ok(out)
}

/// gzip at level 9, with no time or name in its header.
pub fn gzip(bytes: &[u8]) -> Result<Vec<u8>> {
    let mut encoder = GzBuilder::new()
        .mtime(0)
        .write(Vec::with_capacity(bytes.len() / 3), Compression::best());
    encoder.write_all(bytes).context("gzip")?;
    encoder.finish().context("gzip")
}

/// Writes both twins of `path`.
pub fn write_twins(path: &Path) -> Result<()> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    for (suffix, packed) in [("br", brotli(&bytes)?), ("gz", gzip(&bytes)?)] {
        let out = twin(path, suffix);
        std::fs::write(&out, packed).with_context(|| format!("writing {}", out.display()))?;
    }
    Ok(())
}

/// Writes the twins of every file in `paths`, on as many threads as there are cores: brotli
/// at its best takes seconds on a wasm module.
pub fn write_all_twins(paths: &[PathBuf]) -> Result<()> {
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = paths.len().div_ceil(workers).max(1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = paths
            .chunks(chunk)
            .map(|part| scope.spawn(move || part.iter().try_for_each(|path| write_twins(path))))
            .collect();
        handles
            .into_iter()
            .try_for_each(|handle| match handle.join() {
                Ok(result) => result,
                Err(_) => anyhow::bail!("a compression thread panicked"),
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    const TEXT: &[u8] = b"tickstream tickstream tickstream: a market in a browser\n";

    #[test]
    fn twins_decompress_to_the_original() -> Result<()> {
        let mut unbrotlied = Vec::new();
        brotli::BrotliDecompress(&mut &brotli(TEXT)?[..], &mut unbrotlied)?;
        assert_eq!(unbrotlied, TEXT);
        let mut ungzipped = Vec::new();
        flate2::read::GzDecoder::new(&gzip(TEXT)?[..]).read_to_end(&mut ungzipped)?;
        assert_eq!(ungzipped, TEXT);
        Ok(())
    }

    #[test]
    fn the_same_bytes_give_the_same_twins() -> Result<()> {
        assert_eq!(brotli(TEXT)?, brotli(TEXT)?);
        // Not only within a second: the gzip header's time (bytes 4 to 8) is zero, and its
        // operating system byte (9) says "unknown" on every machine.
        let packed = gzip(TEXT)?;
        assert_eq!(&packed[4..8], &[0, 0, 0, 0], "a time in the gzip header");
        assert_eq!(packed[9], 255, "an operating system in the gzip header");
        assert_eq!(packed, gzip(TEXT)?);
        Ok(())
    }

    #[test]
    fn twins_are_named_after_their_file() {
        let path = Path::new("target/site/pkg/tickstream.abc.wasm");
        assert_eq!(
            twin(path, "br"),
            Path::new("target/site/pkg/tickstream.abc.wasm.br")
        );
        assert!(is_twin(&twin(path, "gz")));
        assert!(!is_twin(path));
    }
}
