//! The optional TLS listener's certificate (`--tls-cert`, `--tls-key`), for deployments
//! without a TLS-terminating proxy: rustls on ring, HTTP/1.1 only (as the listener).
//!
//! The certificate and key are re-read when either file changes, so a renewed certificate
//! (e.g. by an ACME client) is served without a restart: at a handshake, at most every
//! [`CHECK_EVERY`], the files (a few KB) are read and compared with those last seen — their
//! contents rather than modification times, which are coarse (a rewrite within the same
//! clock tick would go unseen). A changed pair that does not load (half-written, key not
//! matching) is logged once and the old one kept; the next change is tried again.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use shared::http::{read_certificates, read_private_key, TlsSetupError};

use crate::config::TlsFiles;

/// How often at most the files are looked at.
pub const CHECK_EVERY: Duration = Duration::from_secs(2);

/// The acceptor of the TLS listener, its certificate reloaded as the files change.
pub fn acceptor(
    files: &TlsFiles,
    check_every: Duration,
) -> Result<tokio_rustls::TlsAcceptor, TlsSetupError> {
    let resolver = ReloadingCert::load(files.clone(), check_every)?;
    let mut config = rustls::ServerConfig::builder_with_provider(shared::http::provider())
        .with_safe_default_protocol_versions()
        .map_err(|source| TlsSetupError::Rustls {
            what: "protocol versions",
            source,
        })?
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(resolver));
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

/// A version of the files: their contents (empty when unreadable).
type Stamp = [Vec<u8>; 2];

#[derive(Debug)]
struct Current {
    key: Arc<CertifiedKey>,
    stamp: Stamp,
    checked: Instant,
}

/// Serves the loaded certificate; re-reads the files when they changed.
#[derive(Debug)]
struct ReloadingCert {
    files: TlsFiles,
    check_every: Duration,
    current: Mutex<Current>,
}

impl ReloadingCert {
    fn load(files: TlsFiles, check_every: Duration) -> Result<ReloadingCert, TlsSetupError> {
        let stamp = stamp(&files);
        let key = certified_key(&files)?;
        Ok(ReloadingCert {
            files,
            check_every,
            current: Mutex::new(Current {
                key,
                stamp,
                checked: Instant::now(),
            }),
        })
    }

    /// The certificate to serve, after a look at the files if one is due.
    fn get(&self) -> Arc<CertifiedKey> {
        let mut current = match self.current.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        if current.checked.elapsed() >= self.check_every {
            current.checked = Instant::now();
            let stamp = stamp(&self.files);
            if stamp != current.stamp {
                current.stamp = stamp;
                match certified_key(&self.files) {
                    Ok(key) => {
                        tracing::info!(cert = %self.files.cert.display(),
                            "TLS certificate reloaded");
                        current.key = key;
                    }
                    Err(e) => tracing::error!(error = %e,
                        "the changed TLS certificate or key does not load; \
                         serving the previous one"),
                }
            }
        }
        current.key.clone()
    }
}

impl ResolvesServerCert for ReloadingCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.get())
    }
}

fn stamp(files: &TlsFiles) -> Stamp {
    [&files.cert, &files.key].map(|path| std::fs::read(path).unwrap_or_default())
}

/// The chain and key from the files, checked to belong together.
fn certified_key(files: &TlsFiles) -> Result<Arc<CertifiedKey>, TlsSetupError> {
    let chain = read_certificates("TLS certificate", &files.cert)?;
    let key = read_private_key("TLS key", &files.key)?;
    let provider = shared::http::provider();
    let certified =
        CertifiedKey::from_der(chain, key, &provider).map_err(|source| TlsSetupError::Rustls {
            what: "TLS certificate and key",
            source,
        })?;
    Ok(Arc::new(certified))
}

#[cfg(test)]
#[path = "tls_tests.rs"]
mod tests;
