//! Why a configuration cannot run: an unreadable or malformed file, or a setting that is
//! missing, contradictory or not allowed (see each variant's message).

use std::path::PathBuf;

/// A configuration that cannot run.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("unsupported JWT algorithm {0:?}: use EdDSA, RS256 or ES256")]
    Algorithm(String),
    #[error("unknown log format {0:?}: use text or json")]
    LogFormat(String),
    #[error(
        "no key to verify access tokens: set JWT_PUBLIC_KEY_FILE or JWT_JWKS_FILE \
         (or run with --demo)"
    )]
    NoJwtKey,
    #[error("set only one of JWT_PUBLIC_KEY_FILE and JWT_JWKS_FILE")]
    TwoJwtKeys,
    #[error("{setting} must be an https:// or http:// URL: {value:?}")]
    Url {
        setting: &'static str,
        value: String,
    },
    #[error("set both TLS_CERT (--tls-cert) and TLS_KEY (--tls-key), or neither")]
    TlsPair,
    #[error("WALLET_DEMO_STALL {0}")]
    Stall(String),
    #[error("WALLET_DEMO_CLOCK (--demo-clock) {0}")]
    DemoClock(String),
    #[error("{setting} must be a date written YYYY-MM-DD in the years 2000 to 2100: {value:?}")]
    ProgrammeDate {
        setting: &'static str,
        value: String,
    },
    #[error("PROGRAMME_END (--programme-end) {0}")]
    ProgrammeEnd(crate::domain::programme_dates::EndsBeforeStart),
}
