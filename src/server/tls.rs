//! HTTPS, and with it HTTP/2: browsers speak HTTP/2 only over TLS, and HTTP/2 is what lifts
//! the six-connections-per-origin limit that SSE over HTTP/1.1 runs into.
//!
//! The certificate comes from files (`--tls-cert FILE --tls-key FILE`, PEM) or is made at
//! start-up for `localhost` and `127.0.0.1` (`--tls self-signed`, with rcgen), whose SHA-256
//! fingerprint is printed so a person can check what their browser is asked to trust. The
//! acceptor offers HTTP/2 and HTTP/1.1 (ALPN); the accept loop serves both on every route.
//!
//! Invariant: a bad certificate or key stops the server at start-up with a message naming
//! the file; nothing is served half-configured.

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use sha2::{Digest, Sha256};
use std::path::Path;
use std::sync::Arc;
use tokio_rustls::TlsAcceptor;

/// The names a self-signed certificate is made for.
pub const SELF_SIGNED_NAMES: [&str; 2] = ["localhost", "127.0.0.1"];

/// Why TLS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A certificate or key file could not be read or is not what it should be.
    #[error("cannot use {path}: {message}")]
    File {
        /// The file.
        path: String,
        /// What is wrong with it.
        message: String,
    },
    /// The certificate could not be made, or does not go with the key.
    #[error("{0}")]
    Config(String),
}

/// What the listener serves TLS with.
pub struct Tls {
    /// Accepts TLS connections, offering `h2` and `http/1.1`.
    pub acceptor: TlsAcceptor,
    /// The certificate's SHA-256 fingerprint, `AB:CD:…`.
    pub fingerprint: String,
}

/// TLS from a PEM certificate chain and a PEM private key.
pub fn from_files(cert: &Path, key: &Path) -> Result<Tls, TlsError> {
    let file_error = |path: &Path, message: String| TlsError::File {
        path: path.display().to_string(),
        message,
    };
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|err| file_error(cert, err.to_string()))?
        .collect::<Result<_, _>>()
        .map_err(|err| file_error(cert, err.to_string()))?;
    if chain.is_empty() {
        return Err(file_error(cert, "it holds no PEM certificate".into()));
    }
    let key = PrivateKeyDer::from_pem_file(key).map_err(|err| file_error(key, err.to_string()))?;
    tls(chain, key)
}

/// TLS with a certificate made now for [`SELF_SIGNED_NAMES`].
pub fn self_signed() -> Result<Tls, TlsError> {
    let names: Vec<String> = SELF_SIGNED_NAMES.iter().map(|n| (*n).to_owned()).collect();
    let made = rcgen::generate_simple_self_signed(names)
        .map_err(|err| TlsError::Config(format!("cannot make a certificate: {err}")))?;
    let key = PrivatePkcs8KeyDer::from(made.signing_key.serialize_der());
    tls(vec![made.cert.der().clone()], key.into())
}

fn tls(chain: Vec<CertificateDer<'static>>, key: PrivateKeyDer<'static>) -> Result<Tls, TlsError> {
    let fingerprint = fingerprint(&chain[0]);
    // ring: the crypto rcgen already brings (Cargo.toml says why not aws-lc-rs).
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|err| TlsError::Config(err.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|err| {
            TlsError::Config(format!("the certificate and key do not go together: {err}"))
        })?;
    // HTTP/2 first: a browser that can, will.
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Tls {
        acceptor: TlsAcceptor::from(Arc::new(config)),
        fingerprint,
    })
}

/// `AB:CD:…`, the SHA-256 of the certificate as browsers show it.
pub fn fingerprint(cert: &CertificateDer<'_>) -> String {
    Sha256::digest(cert.as_ref())
        .iter()
        .map(|byte| format!("{byte:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_self_signed_certificate_is_made_and_fingerprinted() {
        let tls = self_signed().expect("a certificate");
        assert_eq!(tls.fingerprint.len(), 32 * 3 - 1);
        assert!(tls.fingerprint.split(':').all(|b| b.len() == 2));
    }

    #[test]
    fn bad_files_are_named() {
        let missing = Path::new("/nonexistent/cert.pem");
        let err = from_files(missing, missing).err().expect("refused");
        assert!(err.to_string().contains("/nonexistent/cert.pem"), "{err}");
        let dir = std::env::temp_dir().join(format!("tickstream-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a temp dir");
        let empty = dir.join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").expect("writes");
        let err = from_files(&empty, &empty).err().expect("refused");
        assert!(err.to_string().contains("empty.pem"), "{err}");
        let _ = std::fs::remove_dir_all(dir);
    }
}
