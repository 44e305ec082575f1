//! The page's static files as the browser fetches them: under content-hashed names, cached
//! for good; everything else revalidated on every use.
//!
//! The release build (`xtask build`, like `cargo leptos build`) names the JS, the wasm (and
//! its lazily loaded pieces) and the CSS after an MD5 of their bytes, and lists the hashes
//! in a file the server reads to write those names into each page. A name with a hash in it can never serve other bytes, so it
//! is `immutable` for a year; anything else (a page, the favicon) is `no-cache`. The
//! invariant: no response is cacheable unless its URL changes whenever its bytes do.
//!
//! The files themselves are served by Leptos' `ServeDir`, which picks the `.br` or `.gz`
//! twin the build made when the request accepts it.

use axum::extract::Request;
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use leptos::config::LeptosOptions;
use std::path::{Path, PathBuf};

/// How long a content-hashed file may be reused without asking: a year, the longest
/// `max-age` caches honour.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// Everything else: reuse only after the server confirms it has not changed.
const REVALIDATE: &str = "no-cache";

/// The length of the build's hashes (`xtask/src/digest.rs`, as cargo-leptos writes them): an
/// MD5 (16 bytes) in unpadded URL-safe base64.
const HASH_LEN: usize = 22;

/// Makes the hash file's location independent of which binary reads it.
///
/// Leptos looks for the file beside the running executable, joined with `hash-file-name`
/// (`../hash.txt`: `target/release/../hash.txt` for `make run`, which is where the build
/// wrote it). A test binary runs from `target/debug/deps`, where there is none. The same
/// relative name joined to the site root's directory (`target/site/../hash.txt`) finds the
/// one file from anywhere the site root is found, so it is made absolute here. With no hash
/// file (a server that runs before any front-end build, as in `make test`'s Rust tests),
/// pages name the unhashed files instead: Leptos would otherwise panic on the first page.
pub fn locate_hash_file(options: &mut LeptosOptions) {
    if !options.hash_files {
        return;
    }
    let path = hash_file_path(&options.site_root, &options.hash_file);
    if path.is_file() {
        options.hash_file = path.to_string_lossy().into();
    } else {
        tracing::warn!(
            path = %path.display(),
            "no asset hash file (has `make build` run?): pages will name unhashed files"
        );
        options.hash_files = false;
    }
}

fn hash_file_path(site_root: &str, hash_file: &str) -> PathBuf {
    let path = Path::new(site_root).join(hash_file);
    std::path::absolute(&path).unwrap_or(path)
}

/// Middleware: a `Cache-Control` for every response that does not set its own.
pub async fn cache_policy(request: Request, next: Next) -> Response {
    let immutable = is_content_addressed(request.uri().path());
    let mut response = next.run(request).await;
    let cacheable = immutable && response.status().is_success();
    response
        .headers_mut()
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static(if cacheable {
            IMMUTABLE
        } else {
            REVALIDATE
        }));
    response
}

/// Whether the file at `path` is named after its content: a dot- or slash-separated part of
/// its file name that is a content hash (`tickstream.<hash>.wasm`,
/// `__wasm_split.<hash>.js`, a split-off piece `<name>.<hash>.wasm`).
fn is_content_addressed(path: &str) -> bool {
    let Some(name) = path.rsplit('/').next() else {
        return false;
    };
    path.starts_with("/pkg/")
        && name.split('.').any(|part| {
            part.len() == HASH_LEN
                && part
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                // A word of 22 letters is not a hash; an MD5 in base64 has a digit or a
                // mixed case in all but a vanishing few.
                && part.bytes().any(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashed_package_files_are_content_addressed() {
        assert!(is_content_addressed(
            "/pkg/tickstream.5Uq0fY0xg1Jz0QbR1-kX_w.wasm"
        ));
        assert!(is_content_addressed(
            "/pkg/tickstream.5Uq0fY0xg1Jz0QbR1-kX_w.js"
        ));
        assert!(is_content_addressed(
            "/pkg/__wasm_split.Aq9ZtT0xg1Jz0QbR1-kX_w.js"
        ));
    }

    #[test]
    fn other_files_are_not() {
        assert!(!is_content_addressed("/pkg/tickstream.wasm"));
        assert!(!is_content_addressed("/pkg/tickstream.css"));
        assert!(!is_content_addressed("/favicon.svg"));
        assert!(!is_content_addressed("/"));
        assert!(!is_content_addressed("/lab"));
        // A hash outside /pkg/ is someone else's file.
        assert!(!is_content_addressed("/5Uq0fY0xg1Jz0QbR1-kX_w.js"));
        // 22 characters, but a word.
        assert!(!is_content_addressed("/pkg/abcdefghijklmnopqrstuv.js"));
    }

    #[test]
    fn the_hash_file_is_found_from_the_site_root() {
        let path = hash_file_path("target/site", "../hash.txt");
        assert!(path.is_absolute());
        assert!(path.ends_with("target/site/../hash.txt"));
    }
}
