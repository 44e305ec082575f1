//! The content hash in the site's file names: MD5 in unpadded URL-safe base64, 22 characters,
//! as cargo-leptos writes it and `src/server/assets.rs` recognises it. It names content (a
//! cache key), it does not guard against anyone: MD5's weakness does not matter here.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use md5::{Digest, Md5};

/// How long a hash is: 16 bytes in base64 without padding.
pub const HASH_LEN: usize = 22;

/// The hash of the concatenation of `parts`.
pub fn hash(parts: &[&[u8]]) -> String {
    let mut md5 = Md5::new();
    for part in parts {
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
        assert_eq!(hash(&[b""]), "1B2M2Y8AsgTpgAmY7PhCfg");
        assert_eq!(hash(&[b"tick", b"stream"]), hash(&[b"tickstream"]));
        assert_eq!(hash(&[b"tickstream"]).len(), HASH_LEN);
    }
}
