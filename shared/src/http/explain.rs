//! A failed outbound call, said so an operator can act on it: TLS failures (an untrusted,
//! expired or misnamed server certificate; a client certificate missing or refused) get a
//! plain sentence in front of the error chain, which follows for the details.
//!
//! The rustls error sits inside an `io::Error` deep in reqwest's chain, and `io::Error`
//! hides its payload from `source()`: each link is therefore also opened with `get_ref`.

use std::error::Error;
use std::fmt;

use rustls::{AlertDescription, CertificateError};

/// What went wrong with TLS, in the operator's terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsTrouble {
    /// The server's certificate chains to no trusted CA (system roots or the CA file).
    UnknownIssuer,
    Expired,
    NotYetValid,
    /// The certificate is for another host name.
    WrongName,
    /// Any other defect of the server's certificate.
    BadCertificate(String),
    /// The server requires a client certificate and none was presented.
    ClientCertificateRequired,
    /// The server refused the client certificate presented.
    ClientCertificateRefused(String),
    /// Another TLS failure (protocol, handshake).
    Other(String),
}

impl fmt::Display for TlsTrouble {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let cert = "the server's TLS certificate";
        match self {
            TlsTrouble::UnknownIssuer => write!(
                f,
                "{cert} is not trusted (issued by an unknown CA; give its CA with --ca-file)"
            ),
            TlsTrouble::Expired => write!(f, "{cert} has expired"),
            TlsTrouble::NotYetValid => write!(f, "{cert} is not valid yet (check the clock)"),
            TlsTrouble::WrongName => write!(f, "{cert} is for another host name"),
            TlsTrouble::BadCertificate(what) => write!(f, "{cert} is not acceptable ({what})"),
            TlsTrouble::ClientCertificateRequired => write!(
                f,
                "the server requires a client certificate (set --client-cert and --client-key)"
            ),
            TlsTrouble::ClientCertificateRefused(what) => {
                write!(f, "the server refused this client's certificate ({what})")
            }
            TlsTrouble::Other(what) => write!(f, "the TLS connection failed ({what})"),
        }
    }
}

/// The TLS trouble behind `error`, if a TLS failure is in its chain.
pub fn tls_trouble(error: &(dyn Error + 'static)) -> Option<TlsTrouble> {
    let mut link = Some(error);
    while let Some(e) = link {
        if let Some(tls) = rustls_error(e) {
            return Some(classify(tls));
        }
        link = e.source();
    }
    None
}

/// `error` with its causes (`a: b: c`, a cause already ending the text left out), led by a
/// plain sentence when TLS failed.
pub fn explain(error: &(dyn Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut link = error.source();
    while let Some(cause) = link {
        let cause_text = cause.to_string();
        if !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        link = cause.source();
    }
    match tls_trouble(error) {
        Some(trouble) => format!("{trouble}: {text}"),
        None => text,
    }
}

/// The rustls error `e` is, or holds inside `io::Error`s (which may nest).
fn rustls_error<'a>(mut e: &'a (dyn Error + 'static)) -> Option<&'a rustls::Error> {
    loop {
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        e = e.downcast_ref::<std::io::Error>()?.get_ref()?;
    }
}

fn classify(error: &rustls::Error) -> TlsTrouble {
    match error {
        rustls::Error::InvalidCertificate(cert) => match cert {
            CertificateError::UnknownIssuer => TlsTrouble::UnknownIssuer,
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                TlsTrouble::Expired
            }
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                TlsTrouble::NotYetValid
            }
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                TlsTrouble::WrongName
            }
            other => TlsTrouble::BadCertificate(format!("{other:?}")),
        },
        rustls::Error::AlertReceived(AlertDescription::CertificateRequired) => {
            TlsTrouble::ClientCertificateRequired
        }
        rustls::Error::AlertReceived(
            alert @ (AlertDescription::BadCertificate
            | AlertDescription::UnknownCA
            | AlertDescription::CertificateUnknown
            | AlertDescription::CertificateExpired
            | AlertDescription::CertificateRevoked
            | AlertDescription::AccessDenied),
        ) => TlsTrouble::ClientCertificateRefused(format!("{alert:?}")),
        other => TlsTrouble::Other(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rustls_error_inside_io_errors_is_found() {
        let io = std::io::Error::other(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer),
        ));
        assert_eq!(tls_trouble(&io), Some(TlsTrouble::UnknownIssuer));
        let text = explain(&io);
        assert!(
            text.starts_with(
                "the server's TLS certificate is not trusted (issued by an unknown CA"
            ),
            "{text}"
        );
        assert!(text.contains("UnknownIssuer"), "{text}");
    }

    #[test]
    fn other_errors_are_their_chain() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        assert_eq!(tls_trouble(&io), None);
        assert_eq!(explain(&io), "refused");
    }
}
