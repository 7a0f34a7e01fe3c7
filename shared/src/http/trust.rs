//! Which server certificates outbound calls trust: the system's roots (through
//! `rustls-platform-verifier`, which reads them as the OS keeps them) plus the CA file's.
//!
//! A machine with no root certificates at all and no CA file still gets a client: plain
//! `http://` calls work and every certificate is refused as from an unknown CA, rather than
//! the whole binary refusing to start over a setting it may never use.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, SignatureScheme};

use super::TlsSetupError;

/// The verifier for the system's roots plus `extra_roots`.
pub fn verifier(
    extra_roots: Vec<CertificateDer<'static>>,
    provider: Arc<CryptoProvider>,
) -> Result<Arc<dyn ServerCertVerifier>, TlsSetupError> {
    let no_extra = extra_roots.is_empty();
    match rustls_platform_verifier::Verifier::new_with_extra_roots(extra_roots, provider.clone()) {
        Ok(verifier) => Ok(Arc::new(verifier)),
        // Without a CA file the only failure is "no roots on this system".
        Err(_) if no_extra => Ok(Arc::new(NothingTrusted { provider })),
        Err(source) => Err(TlsSetupError::Rustls {
            what: "CA file",
            source,
        }),
    }
}

/// Refuses every server certificate (no root to chain to); checks signatures as usual so
/// that the refusal is the certificate's, not the handshake's.
#[derive(Debug)]
struct NothingTrusted {
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for NothingTrusted {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Err(rustls::Error::InvalidCertificate(
            CertificateError::UnknownIssuer,
        ))
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}
