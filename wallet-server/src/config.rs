//! Configuration: flags, then environment variables, then an optional TOML file, then
//! defaults — in that order of precedence. `--help` lists every setting with its variable.
//!
//! Secrets (keys) are never values here: the configuration names *files* holding them.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use clap::Parser;
use serde::Deserialize;

/// Command line of `wallet-server`.
#[derive(Debug, Clone, Default, Parser)]
#[command(
    name = "wallet-server",
    version,
    about = "Social Wallet backend for free school meals",
    long_about = "Social Wallet backend for free school meals.\n\n\
        Settings come from flags, then environment variables, then the TOML file given by \
        --config (keys named like the long flags, with underscores), then defaults."
)]
pub struct Cli {
    /// Run with a seeded demo school, a development identity provider (POST /dev/token)
    /// and a movable clock (POST /dev/clock). Never in production.
    #[arg(long, env = "WALLET_DEMO")]
    pub demo: bool,

    /// Address to serve HTTP on [default: 127.0.0.1:8080]
    #[arg(long, env = "LISTEN_ADDR", value_name = "ADDR")]
    pub listen: Option<SocketAddr>,

    /// Directory for the embedded SQLite database [default: ./data]
    #[arg(long, env = "DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    /// Database: postgres://… for PostgreSQL, sqlite:… for a specific SQLite file
    /// [default: SQLite at <data-dir>/wallet.db]
    #[arg(long, env = "DATABASE_URL", value_name = "URL", hide_env_values = true)]
    pub database_url: Option<String>,

    /// TOML configuration file
    #[arg(long, env = "WALLET_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Expected `iss` of access tokens [default: https://idp.egov.kz]
    #[arg(long, env = "JWT_ISSUER", value_name = "URL")]
    pub jwt_issuer: Option<String>,

    /// Expected `aud` of access tokens [default: social-wallet]
    #[arg(long, env = "JWT_AUDIENCE", value_name = "AUD")]
    pub jwt_audience: Option<String>,

    /// Signature algorithm access tokens must use: EdDSA, RS256 or ES256 [default: EdDSA]
    #[arg(long, env = "JWT_ALGORITHM", value_name = "ALG")]
    pub jwt_algorithm: Option<String>,

    /// PEM file with the identity provider's public key
    #[arg(long, env = "JWT_PUBLIC_KEY_FILE", value_name = "FILE")]
    pub jwt_public_key_file: Option<PathBuf>,

    /// JWKS file with the identity provider's public keys (chosen by `kid`)
    #[arg(long, env = "JWT_JWKS_FILE", value_name = "FILE")]
    pub jwt_jwks_file: Option<PathBuf>,

    /// Largest accepted request body in bytes [default: 1048576]
    #[arg(long, env = "MAX_BODY_BYTES", value_name = "BYTES")]
    pub max_body_bytes: Option<usize>,

    /// Log format: text or json [default: text]
    #[arg(long, env = "LOG_FORMAT", value_name = "FORMAT")]
    pub log_format: Option<String>,
}

/// The TOML file: the same settings as the flags, all optional.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    demo: Option<bool>,
    listen: Option<SocketAddr>,
    data_dir: Option<PathBuf>,
    database_url: Option<String>,
    jwt_issuer: Option<String>,
    jwt_audience: Option<String>,
    jwt_algorithm: Option<String>,
    jwt_public_key_file: Option<PathBuf>,
    jwt_jwks_file: Option<PathBuf>,
    max_body_bytes: Option<usize>,
    log_format: Option<String>,
}

/// Where the verifying keys for access tokens come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JwtKeySource {
    PemFile(PathBuf),
    JwksFile(PathBuf),
    /// `--demo` only: a key generated at start, with `POST /dev/token` signing for it.
    DemoGenerated,
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// The resolved configuration the server runs with.
#[derive(Debug, Clone)]
pub struct Config {
    pub demo: bool,
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub database_url: Option<String>,
    pub jwt_issuer: String,
    pub jwt_audience: String,
    pub jwt_algorithm: jsonwebtoken::Algorithm,
    pub jwt_keys: JwtKeySource,
    pub max_body_bytes: usize,
    pub log_format: LogFormat,
}

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
}

fn load_file(path: &Path) -> Result<FileConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    toml::from_str(&text).map_err(|e| ConfigError::Parse {
        path: path.to_path_buf(),
        message: e.message().to_string(),
    })
}

fn parse_algorithm(name: &str) -> Result<jsonwebtoken::Algorithm, ConfigError> {
    use jsonwebtoken::Algorithm::*;
    match name {
        "EdDSA" => Ok(EdDSA),
        "RS256" => Ok(RS256),
        "ES256" => Ok(ES256),
        // Symmetric algorithms are refused on purpose: a shared secret would let any holder
        // mint tokens, and they are the classic algorithm-confusion vector.
        other => Err(ConfigError::Algorithm(other.to_string())),
    }
}

impl Config {
    /// Resolves flags and environment (already merged by clap) with the TOML file and
    /// defaults.
    pub fn resolve(cli: Cli) -> Result<Config, ConfigError> {
        let file = match &cli.config {
            Some(path) => load_file(path)?,
            None => FileConfig::default(),
        };
        let demo = cli.demo || file.demo.unwrap_or(false);
        let algorithm = cli
            .jwt_algorithm
            .or(file.jwt_algorithm)
            .unwrap_or_else(|| "EdDSA".into());
        let pem = cli.jwt_public_key_file.or(file.jwt_public_key_file);
        let jwks = cli.jwt_jwks_file.or(file.jwt_jwks_file);
        let jwt_keys = match (pem, jwks, demo) {
            (Some(_), Some(_), _) => return Err(ConfigError::TwoJwtKeys),
            (Some(p), None, _) => JwtKeySource::PemFile(p),
            (None, Some(j), _) => JwtKeySource::JwksFile(j),
            (None, None, true) => JwtKeySource::DemoGenerated,
            (None, None, false) => return Err(ConfigError::NoJwtKey),
        };
        let log_format = match cli
            .log_format
            .or(file.log_format)
            .as_deref()
            .unwrap_or("text")
        {
            "text" => LogFormat::Text,
            "json" => LogFormat::Json,
            other => return Err(ConfigError::LogFormat(other.to_string())),
        };
        let jwt_algorithm = match jwt_keys {
            JwtKeySource::DemoGenerated => jsonwebtoken::Algorithm::EdDSA,
            _ => parse_algorithm(&algorithm)?,
        };
        Ok(Config {
            demo,
            listen: cli
                .listen
                .or(file.listen)
                .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080))),
            data_dir: cli
                .data_dir
                .or(file.data_dir)
                .unwrap_or_else(|| PathBuf::from("data")),
            database_url: cli.database_url.or(file.database_url),
            jwt_issuer: cli
                .jwt_issuer
                .or(file.jwt_issuer)
                .unwrap_or_else(|| "https://idp.egov.kz".into()),
            jwt_audience: cli
                .jwt_audience
                .or(file.jwt_audience)
                .unwrap_or_else(|| "social-wallet".into()),
            jwt_algorithm,
            jwt_keys,
            max_body_bytes: cli
                .max_body_bytes
                .or(file.max_body_bytes)
                .unwrap_or(1 << 20),
            log_format,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cli(args: &[&str]) -> Cli {
        let mut all = vec!["wallet-server"];
        all.extend_from_slice(args);
        Cli::try_parse_from(all).expect("valid command line")
    }

    #[test]
    fn defaults_apply_in_demo() {
        let c = Config::resolve(cli(&["--demo"])).expect("resolves");
        assert!(c.demo);
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.data_dir, PathBuf::from("data"));
        assert_eq!(c.jwt_keys, JwtKeySource::DemoGenerated);
        assert_eq!(c.max_body_bytes, 1 << 20);
    }

    #[test]
    fn without_demo_a_verifying_key_is_required() {
        let err = Config::resolve(cli(&[])).unwrap_err();
        assert!(matches!(err, ConfigError::NoJwtKey), "{err}");
        let err = Config::resolve(cli(&[
            "--jwt-public-key-file",
            "a.pem",
            "--jwt-jwks-file",
            "b.json",
        ]))
        .unwrap_err();
        assert!(matches!(err, ConfigError::TwoJwtKeys), "{err}");
    }

    #[test]
    fn symmetric_algorithms_are_refused() {
        let err = Config::resolve(cli(&[
            "--jwt-public-key-file",
            "k.pem",
            "--jwt-algorithm",
            "HS256",
        ]))
        .unwrap_err();
        assert!(matches!(err, ConfigError::Algorithm(_)), "{err}");
    }

    #[test]
    fn flags_beat_the_file_and_the_file_beats_defaults() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("wallet.toml");
        std::fs::write(
            &path,
            "listen = \"127.0.0.1:9999\"\ndata_dir = \"/srv/wallet\"\njwt_public_key_file = \"k.pem\"\n\
             jwt_algorithm = \"RS256\"\nmax_body_bytes = 2048\n",
        )
        .expect("write");
        let file = path.to_str().expect("utf-8 path");
        let c = Config::resolve(cli(&["--config", file, "--listen", "0.0.0.0:7000"])).expect("ok");
        assert_eq!(c.listen.to_string(), "0.0.0.0:7000", "flag wins");
        assert_eq!(
            c.data_dir,
            PathBuf::from("/srv/wallet"),
            "file beats default"
        );
        assert_eq!(c.jwt_algorithm, jsonwebtoken::Algorithm::RS256);
        assert_eq!(c.max_body_bytes, 2048);
        assert_eq!(c.jwt_keys, JwtKeySource::PemFile("k.pem".into()));
    }

    #[test]
    fn unknown_keys_in_the_file_are_errors() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("wallet.toml");
        std::fs::write(&path, "lisen = \"127.0.0.1:1\"\n").expect("write");
        let err = Config::resolve(cli(&["--demo", "--config", path.to_str().expect("utf-8")]))
            .unwrap_err();
        assert!(err.to_string().contains("lisen"), "{err}");
    }
}
