//! The content hash in the site's file names: MD5 in unpadded URL-safe base64, 22 characters,
//! as cargo-leptos writes it and `src/server/assets.rs` recognises it. It names content (a
//! cache key), it does not guard against anyone: MD5's weakness does not matter here.
//!
//! The invariant: a file named after its content carries `of(its bytes)`, so anyone can check
//! the name; a hash of several inputs (`of_parts`) gives each its length first, so no two
//! different lists of inputs hash alike by running into each other.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use md5::{Digest, Md5};

/// How long a hash is: 16 bytes in base64 without padding.
pub const HASH_LEN: usize = 22;

/// The hash of `bytes`.
pub fn of(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(Md5::digest(bytes))
}

/// The hash of a list of inputs, each preceded by its length.
pub fn of_parts(parts: &[&[u8]]) -> String {
    let mut md5 = Md5::new();
    for part in parts {
        md5.update((part.len() as u64).to_le_bytes());
        md5.update(part);
    }
    URL_SAFE_NO_PAD.encode(md5.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_the_base64_of_an_md5() {
        // MD5("") = d41d8cd98f00b204e9800998ecf8427e.
        assert_eq!(of(b""), "1B2M2Y8AsgTpgAmY7PhCfg");
        assert_eq!(of(b"tickstream").len(), HASH_LEN);
    }

    #[test]
    fn parts_do_not_run_into_each_other() {
        assert_ne!(
            of_parts(&[b"tick", b"stream"]),
            of_parts(&[b"ticks", b"tream"])
        );
        assert_ne!(of_parts(&[b"tickstream"]), of(b"tickstream"));
        assert_eq!(of_parts(&[b"a", b"b"]), of_parts(&[b"a", b"b"]));
    }
}
