//! The one place outbound HTTP clients are built, so every call out of either binary — the
//! terminal to the server, the server to the identity provider, BMG, the SMS gateway, NOBD
//! and e-Otinish — speaks TLS the same way: rustls on the `ring` provider (no second crypto
//! library in the build), verifying against the system's roots plus an optional CA file,
//! optionally presenting a client certificate. Plain `http://` URLs keep working.
//!
//! [`TlsOptions`] is what an operator configures (paths); [`ClientTls`] is those files read
//! and checked once at start, from which any number of reqwest clients are built.
//! [`explain`] turns a failed call into a sentence an operator can act on.

mod explain;
mod pem;
#[cfg(feature = "test-pki")]
pub mod test_pki;
mod trust;

use std::path::PathBuf;
use std::sync::Arc;

pub use explain::{explain, tls_trouble, TlsTrouble};
pub use pem::{read_certificates, read_private_key};

/// TLS settings of an outbound client, as configured (`--ca-file`, `--client-cert`,
/// `--client-key`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsOptions {
    /// A PEM bundle of CA certificates trusted in addition to the system's.
    pub ca_file: Option<PathBuf>,
    /// A certificate chain (PEM) and its private key (PEM) presented to servers that ask.
    pub identity: Option<Identity>,
}

/// Where a client certificate and its key are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
}

/// Why outbound TLS cannot be set up from its settings.
#[derive(Debug, thiserror::Error)]
pub enum TlsSetupError {
    #[error("cannot read {what} {path}: {source}")]
    Read {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{what} {path} holds no usable PEM {expected}")]
    Empty {
        what: &'static str,
        path: PathBuf,
        expected: &'static str,
    },
    #[error("{what} {path} is not valid PEM: {message}")]
    Pem {
        what: &'static str,
        path: PathBuf,
        message: String,
    },
    #[error("TLS setup refused the {what}: {source}")]
    Rustls {
        what: &'static str,
        source: rustls::Error,
    },
}

/// The crypto provider of every TLS connection in the project: rustls on ring.
// rustls 0.23.48 deprecates ring's provider to steer towards aws-lc-rs (post-quantum key
// exchange); the project keeps one crypto library, ring, on purpose.
#[allow(deprecated)]
pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Outbound TLS, read and checked: hand it to [`ClientTls::builder`] (or
/// [`ClientTls::blocking_builder`]) for each client.
#[derive(Debug, Clone)]
pub struct ClientTls {
    config: rustls::ClientConfig,
}

impl ClientTls {
    /// Reads the CA file and the client identity, if any, and builds the rustls settings.
    pub fn load(options: &TlsOptions) -> Result<ClientTls, TlsSetupError> {
        let extra_roots = match &options.ca_file {
            Some(path) => read_certificates("CA file", path)?,
            None => Vec::new(),
        };
        let provider = provider();
        let verifier = trust::verifier(extra_roots, provider.clone())?;
        let builder = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|source| TlsSetupError::Rustls {
                what: "protocol versions",
                source,
            })?
            .dangerous()
            .with_custom_certificate_verifier(verifier);
        let config = match &options.identity {
            None => builder.with_no_client_auth(),
            Some(identity) => {
                let chain = read_certificates("client certificate", &identity.cert_file)?;
                let key = read_private_key("client key", &identity.key_file)?;
                builder
                    .with_client_auth_cert(chain, key)
                    .map_err(|source| TlsSetupError::Rustls {
                        what: "client certificate and key",
                        source,
                    })?
            }
        };
        Ok(ClientTls { config })
    }

    /// The system's roots only, no client certificate: what a client without settings uses.
    pub fn system() -> Result<ClientTls, TlsSetupError> {
        ClientTls::load(&TlsOptions::default())
    }

    /// An async reqwest client builder speaking this TLS.
    pub fn builder(&self) -> reqwest::ClientBuilder {
        reqwest::Client::builder().tls_backend_preconfigured(self.config.clone())
    }

    /// A blocking reqwest client builder speaking this TLS (the terminal's sync).
    #[cfg(feature = "http-blocking")]
    pub fn blocking_builder(&self) -> reqwest::blocking::ClientBuilder {
        reqwest::blocking::Client::builder().tls_backend_preconfigured(self.config.clone())
    }
}
