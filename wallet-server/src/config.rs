//! Configuration: flags, then environment variables, then an optional TOML file, then
//! defaults — in that order of precedence. `--help` lists every setting with its variable.
//!
//! Secrets (keys) are never values here: the configuration names *files* holding them.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand};
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

    /// Directory for the embedded SQLite database and the pass keys [default: ./data]
    #[arg(long, env = "DATA_DIR", value_name = "DIR", global = true)]
    pub data_dir: Option<PathBuf>,

    /// File holding the pass signing keys, owner-only (mode 0600); created at first start
    /// [default: <data-dir>/pass-keys.json]
    #[arg(long, env = "PASS_KEYS_FILE", value_name = "FILE", global = true)]
    pub pass_keys_file: Option<PathBuf>,

    /// Database: postgres://… for PostgreSQL, sqlite:… for a specific SQLite file
    /// [default: SQLite at <data-dir>/wallet.db]
    #[arg(long, env = "DATABASE_URL", value_name = "URL", hide_env_values = true)]
    pub database_url: Option<String>,

    /// TOML configuration file
    #[arg(long, env = "WALLET_CONFIG", value_name = "FILE", global = true)]
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

    /// Largest accepted eligibility list in bytes (a 5,000-student school is ~2.5 MB)
    /// [default: 16777216]
    #[arg(long, env = "MAX_LIST_BYTES", value_name = "BYTES")]
    pub max_list_bytes: Option<usize>,

    /// Log format: text or json [default: text]
    #[arg(long, env = "LOG_FORMAT", value_name = "FORMAT")]
    pub log_format: Option<String>,

    /// Passes a voucher may mint per window before answering 429 [default: 30]
    #[arg(long, env = "PASS_MINT_LIMIT", value_name = "N")]
    pub pass_mint_limit: Option<u32>,

    /// Length of the pass-minting rate window in seconds [default: 600]
    #[arg(long, env = "PASS_MINT_WINDOW_SECS", value_name = "SECONDS")]
    pub pass_mint_window_secs: Option<u32>,

    /// Price of one free meal in tiyn (1/100 tenge), unless a school has its own
    /// [default: 80000, i.e. 800 tenge]
    #[arg(long, env = "MEAL_PRICE_TIYN", value_name = "TIYN")]
    pub meal_price_tiyn: Option<i64>,

    /// SMS gateway: POST each SMS as JSON {"id","to","text"} with an Idempotency-Key header
    /// to this http:// URL [default: none; SMS are written to the log]
    #[arg(long, env = "SMS_GATEWAY_URL", value_name = "URL")]
    pub sms_gateway_url: Option<String>,

    /// BMG phone directory: GET <URL>?iin=<IIN> answers {"phone","language"?}, 404 for none
    /// [default: none; the phones of the eligibility list are used]
    #[arg(long, env = "BMG_URL", value_name = "URL")]
    pub bmg_url: Option<String>,

    /// NOBD: POST each daily report (JSON) with an Idempotency-Key header to this http://
    /// URL [default: none; reports stay `pending` in the outbox]
    #[arg(long, env = "NOBD_URL", value_name = "URL")]
    pub nobd_url: Option<String>,

    /// e-Otinish: POST each complaint (JSON) with an Idempotency-Key header to this http://
    /// URL [default: none; complaints stay `pending` in the outbox]
    #[arg(long, env = "EOTINISH_URL", value_name = "URL")]
    pub eotinish_url: Option<String>,

    /// The wallet link in the consent confirmation SMS
    /// [default: https://egovmobile.page.link/socwallet]
    #[arg(long, env = "WALLET_LINK", value_name = "URL")]
    pub wallet_link: Option<String>,

    // --- school console (console/settings.rs) ---
    /// Public base URL staff browsers use to reach this server; session cookies are Secure
    /// when it is https [default: http://<listen address>]
    #[arg(long, env = "PUBLIC_URL", value_name = "URL")]
    pub public_url: Option<String>,

    /// OpenID Connect issuer for staff sign-in to the console (discovery at
    /// <URL>/.well-known/openid-configuration; http:// only, this build has no TLS)
    /// [default: none; with --demo the built-in development provider]
    #[arg(long, env = "CONSOLE_OIDC_ISSUER", value_name = "URL")]
    pub console_oidc_issuer: Option<String>,

    /// The console's client id at the identity provider [default: school-console]
    #[arg(long, env = "CONSOLE_OIDC_CLIENT_ID", value_name = "ID")]
    pub console_oidc_client_id: Option<String>,

    /// File holding the console's client secret (or set CONSOLE_OIDC_CLIENT_SECRET)
    /// [default: none; a public client with PKCE]
    #[arg(long, env = "CONSOLE_OIDC_CLIENT_SECRET_FILE", value_name = "FILE")]
    pub console_oidc_client_secret_file: Option<PathBuf>,

    /// The redirect URL registered at the identity provider
    /// [default: <public-url>/console/auth/callback]
    #[arg(long, env = "CONSOLE_OIDC_REDIRECT_URL", value_name = "URL")]
    pub console_oidc_redirect_url: Option<String>,
    // --- end school console ---
    /// Testing only, with --demo: stall a worker at job:<kind>:before|after or
    /// outbox:after_send so a test can kill the process there
    #[arg(long, env = "WALLET_DEMO_STALL", value_name = "POINT", hide = true)]
    pub demo_stall: Option<String>,

    /// With --demo only: start the demo clock at this RFC 3339 instant, past or future (it
    /// then runs on and only moves forward), so a story is the same whatever day it runs
    #[arg(long, env = "WALLET_DEMO_CLOCK", value_name = "RFC3339")]
    pub demo_clock: Option<String>,

    /// Without a command, the server runs.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Administrative commands; they run and exit without starting the server.
#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Manage the pass signing keys (the file named by --pass-keys-file)
    Keys {
        #[command(subcommand)]
        action: KeysAction,
    },
}

/// `wallet-server keys …`
#[derive(Debug, Clone, Subcommand)]
pub enum KeysAction {
    /// Add a new current signing key; older keys keep verifying passes until pruned.
    /// Running servers pick the new key up without a restart.
    Rotate {
        /// Prune keys retired more than this many days ago
        #[arg(long, value_name = "DAYS", default_value_t = 30,
              value_parser = clap::value_parser!(u16).range(1..))]
        retain_days: u16,
    },
    /// List the keys: id, creation, retirement, and which one is current
    List,
}

/// The TOML file: the same settings as the flags, all optional.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    demo: Option<bool>,
    listen: Option<SocketAddr>,
    data_dir: Option<PathBuf>,
    pass_keys_file: Option<PathBuf>,
    database_url: Option<String>,
    jwt_issuer: Option<String>,
    jwt_audience: Option<String>,
    jwt_algorithm: Option<String>,
    jwt_public_key_file: Option<PathBuf>,
    jwt_jwks_file: Option<PathBuf>,
    max_body_bytes: Option<usize>,
    max_list_bytes: Option<usize>,
    log_format: Option<String>,
    pass_mint_limit: Option<u32>,
    pass_mint_window_secs: Option<u32>,
    meal_price_tiyn: Option<i64>,
    sms_gateway_url: Option<String>,
    bmg_url: Option<String>,
    nobd_url: Option<String>,
    eotinish_url: Option<String>,
    wallet_link: Option<String>,
    // school console
    public_url: Option<String>,
    console_oidc_issuer: Option<String>,
    console_oidc_client_id: Option<String>,
    console_oidc_client_secret_file: Option<PathBuf>,
    console_oidc_redirect_url: Option<String>,
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
    /// The pass signing keys (see `passes::keys`).
    pub pass_keys_file: PathBuf,
    pub database_url: Option<String>,
    pub jwt_issuer: String,
    pub jwt_audience: String,
    pub jwt_algorithm: jsonwebtoken::Algorithm,
    pub jwt_keys: JwtKeySource,
    pub max_body_bytes: usize,
    pub max_list_bytes: usize,
    pub log_format: LogFormat,
    pub pass_mint_limit: u32,
    pub pass_mint_window_secs: u32,
    pub meal_price_tiyn: i64,
    /// The HTTP SMS gateway; `None`: the logging adapter.
    pub sms_gateway_url: Option<String>,
    /// The HTTP BMG phone directory; `None`: the list's phones.
    pub bmg_url: Option<String>,
    /// NOBD's HTTP endpoint for daily reports; `None`: reports wait in the outbox.
    pub nobd_url: Option<String>,
    /// e-Otinish's HTTP endpoint for complaints; `None`: complaints wait in the outbox.
    pub eotinish_url: Option<String>,
    pub wallet_link: String,
    /// `--demo` only: where a worker stalls (see `jobs::StallPoint`).
    pub demo_stall: Option<crate::jobs::StallPoint>,
    /// The school console: public URL and staff sign-in.
    pub console: crate::console::ConsoleConfig,
    /// `--demo` only: where the demo clock starts (`--demo-clock`).
    pub demo_clock: Option<time::OffsetDateTime>,
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
    #[error(
        "{setting} must be an http:// URL (this build has no TLS; use a local proxy): {value:?}"
    )]
    Url {
        setting: &'static str,
        value: String,
    },
    #[error("WALLET_DEMO_STALL {0}")]
    Stall(String),
    #[error("WALLET_DEMO_CLOCK (--demo-clock) {0}")]
    DemoClock(String),
}

/// The consent and outbox adapters' settings: (SMS gateway, BMG, wallet link, stall).
type Outside = (
    Option<String>,
    Option<String>,
    String,
    Option<crate::jobs::StallPoint>,
);

/// A setting that must be an `http://` URL, if set.
fn http_url(setting: &'static str, value: Option<&String>) -> Result<Option<String>, ConfigError> {
    match value {
        Some(v) if !v.starts_with("http://") => Err(ConfigError::Url {
            setting,
            value: v.clone(),
        }),
        other => Ok(other.cloned()),
    }
}

fn resolve_outside(cli: &Cli, file: &FileConfig, demo: bool) -> Result<Outside, ConfigError> {
    let sms = http_url(
        "SMS_GATEWAY_URL",
        cli.sms_gateway_url
            .as_ref()
            .or(file.sms_gateway_url.as_ref()),
    )?;
    let bmg = http_url("BMG_URL", cli.bmg_url.as_ref().or(file.bmg_url.as_ref()))?;
    let link = cli
        .wallet_link
        .clone()
        .or_else(|| file.wallet_link.clone())
        .unwrap_or_else(|| crate::consent::texts::DEFAULT_WALLET_LINK.into());
    let stall = match (&cli.demo_stall, demo) {
        (None, _) => None,
        (Some(_), false) => return Err(ConfigError::Stall("works only with --demo".into())),
        (Some(point), true) => Some(point.parse().map_err(ConfigError::Stall)?),
    };
    Ok((sms, bmg, link, stall))
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

/// `(data_dir, pass_keys_file)` from flags or environment, then the file, then defaults.
fn resolve_paths(cli: &Cli, file: &FileConfig) -> (PathBuf, PathBuf) {
    let data_dir = cli
        .data_dir
        .clone()
        .or_else(|| file.data_dir.clone())
        .unwrap_or_else(|| PathBuf::from("data"));
    let pass_keys_file = cli
        .pass_keys_file
        .clone()
        .or_else(|| file.pass_keys_file.clone())
        .unwrap_or_else(|| data_dir.join(crate::passes::keys::DEFAULT_FILE_NAME));
    (data_dir, pass_keys_file)
}

impl Config {
    /// Only the pass key file, for `wallet-server keys …`: needs no JWT or database
    /// settings, but honours `--config`, `--data-dir` and `--pass-keys-file`.
    pub fn resolve_pass_keys_file(cli: &Cli) -> Result<PathBuf, ConfigError> {
        let file = match &cli.config {
            Some(path) => load_file(path)?,
            None => FileConfig::default(),
        };
        Ok(resolve_paths(cli, &file).1)
    }

    /// Resolves flags and environment (already merged by clap) with the TOML file and
    /// defaults.
    pub fn resolve(cli: Cli) -> Result<Config, ConfigError> {
        let file = match &cli.config {
            Some(path) => load_file(path)?,
            None => FileConfig::default(),
        };
        let (data_dir, pass_keys_file) = resolve_paths(&cli, &file);
        let demo = cli.demo || file.demo.unwrap_or(false);
        let (sms_gateway_url, bmg_url, wallet_link, demo_stall) =
            resolve_outside(&cli, &file, demo)?;
        let demo_clock = demo_clock(&cli, demo)?;
        let nobd_url = http_url("NOBD_URL", cli.nobd_url.as_ref().or(file.nobd_url.as_ref()))?;
        let eotinish_url = http_url(
            "EOTINISH_URL",
            cli.eotinish_url.as_ref().or(file.eotinish_url.as_ref()),
        )?;
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
        let console = crate::console::ConsoleConfig::resolve(
            crate::console::ConsoleInput {
                public_url: cli.public_url.or(file.public_url),
                oidc_issuer: cli.console_oidc_issuer.or(file.console_oidc_issuer),
                client_id: cli.console_oidc_client_id.or(file.console_oidc_client_id),
                client_secret_file: cli
                    .console_oidc_client_secret_file
                    .or(file.console_oidc_client_secret_file),
                client_secret_env: std::env::var("CONSOLE_OIDC_CLIENT_SECRET").ok(),
                redirect_url: cli
                    .console_oidc_redirect_url
                    .or(file.console_oidc_redirect_url),
            },
            demo,
            jwt_algorithm,
        )?;
        Ok(Config {
            demo,
            listen: cli
                .listen
                .or(file.listen)
                .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080))),
            data_dir,
            pass_keys_file,
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
            max_list_bytes: cli
                .max_list_bytes
                .or(file.max_list_bytes)
                .unwrap_or(16 << 20),
            log_format,
            pass_mint_limit: cli
                .pass_mint_limit
                .or(file.pass_mint_limit)
                .unwrap_or(30)
                .max(1),
            pass_mint_window_secs: cli
                .pass_mint_window_secs
                .or(file.pass_mint_window_secs)
                .unwrap_or(600)
                .max(1),
            meal_price_tiyn: cli
                .meal_price_tiyn
                .or(file.meal_price_tiyn)
                .unwrap_or(80_000)
                .max(0),
            sms_gateway_url,
            bmg_url,
            nobd_url,
            eotinish_url,
            wallet_link,
            demo_stall,
            console,
            demo_clock,
        })
    }
}

/// `--demo-clock`: an RFC 3339 instant, with `--demo` only.
fn demo_clock(cli: &Cli, demo: bool) -> Result<Option<time::OffsetDateTime>, ConfigError> {
    match (&cli.demo_clock, demo) {
        (None, _) => Ok(None),
        (Some(_), false) => Err(ConfigError::DemoClock("works only with --demo".into())),
        (Some(text), true) => {
            time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
                .map(Some)
                .map_err(|e| ConfigError::DemoClock(format!("{text:?}: {e}")))
        }
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

    #[test]
    fn pass_keys_file_defaults_into_the_data_dir() {
        let c = Config::resolve(cli(&["--demo"])).expect("resolves");
        assert_eq!(c.pass_keys_file, PathBuf::from("data/pass-keys.json"));
        let c = Config::resolve(cli(&["--demo", "--data-dir", "/srv/w"])).expect("resolves");
        assert_eq!(c.pass_keys_file, PathBuf::from("/srv/w/pass-keys.json"));
        let c = Config::resolve(cli(&[
            "--demo",
            "--data-dir",
            "/srv/w",
            "--pass-keys-file",
            "/etc/wallet/keys.json",
        ]))
        .expect("resolves");
        assert_eq!(c.pass_keys_file, PathBuf::from("/etc/wallet/keys.json"));
        assert_eq!(c.data_dir, PathBuf::from("/srv/w"));
    }

    #[test]
    fn pass_keys_file_from_the_toml_file_and_flag_wins() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("wallet.toml");
        std::fs::write(
            &path,
            "demo = true\ndata_dir = \"/srv/wallet\"\npass_keys_file = \"/secure/pk.json\"\n",
        )
        .expect("write");
        let file = path.to_str().expect("utf-8 path");
        let c = Config::resolve(cli(&["--config", file])).expect("ok");
        assert_eq!(c.pass_keys_file, PathBuf::from("/secure/pk.json"));
        let c = Config::resolve(cli(&["--config", file, "--pass-keys-file", "/flag.json"]))
            .expect("ok");
        assert_eq!(c.pass_keys_file, PathBuf::from("/flag.json"), "flag wins");
    }

    #[test]
    fn keys_commands_need_no_jwt_settings() {
        // Global flags may come before or after the subcommand.
        let c = cli(&["keys", "rotate", "--data-dir", "/srv/w"]);
        assert!(matches!(
            c.command,
            Some(Command::Keys {
                action: KeysAction::Rotate { retain_days: 30 }
            })
        ));
        assert_eq!(
            Config::resolve_pass_keys_file(&c).expect("resolves"),
            PathBuf::from("/srv/w/pass-keys.json")
        );
        let c = cli(&["--pass-keys-file", "/k.json", "keys", "list"]);
        assert!(matches!(
            c.command,
            Some(Command::Keys {
                action: KeysAction::List
            })
        ));
        assert_eq!(
            Config::resolve_pass_keys_file(&c).expect("resolves"),
            PathBuf::from("/k.json")
        );
        let c = cli(&["keys", "rotate", "--retain-days", "7"]);
        assert!(matches!(
            c.command,
            Some(Command::Keys {
                action: KeysAction::Rotate { retain_days: 7 }
            })
        ));
        let mut args = vec!["wallet-server", "keys", "rotate", "--retain-days", "0"];
        assert!(Cli::try_parse_from(&args).is_err(), "retention of 0 days");
        args.truncate(2);
        assert!(Cli::try_parse_from(&args).is_err(), "keys needs an action");
    }

    #[test]
    fn the_demo_clock_start_needs_demo_and_an_rfc3339_instant() {
        let c = Config::resolve(cli(&[
            "--demo",
            "--demo-clock",
            "2030-09-01T09:00:00+05:00",
        ]))
        .expect("resolves");
        assert_eq!(
            c.demo_clock,
            Some(time::macros::datetime!(2030-09-01 04:00 UTC))
        );
        let err = Config::resolve(cli(&["--demo", "--demo-clock", "tomorrow"])).unwrap_err();
        assert!(matches!(err, ConfigError::DemoClock(_)), "{err}");
        let err = Config::resolve(cli(&[
            "--jwt-public-key-file",
            "a.pem",
            "--demo-clock",
            "2030-09-01T09:00:00Z",
        ]))
        .unwrap_err();
        assert!(matches!(err, ConfigError::DemoClock(_)), "{err}");
        assert_eq!(
            Config::resolve(cli(&["--demo"]))
                .expect("resolves")
                .demo_clock,
            None
        );
    }

    #[test]
    fn consent_adapters_take_http_urls_and_the_stall_knob_needs_demo() {
        let c = Config::resolve(cli(&["--demo"])).expect("resolves");
        assert_eq!(
            (c.sms_gateway_url, c.bmg_url, c.demo_stall),
            (None, None, None)
        );
        assert_eq!(c.wallet_link, "https://egovmobile.page.link/socwallet");
        let c = Config::resolve(cli(&[
            "--demo",
            "--sms-gateway-url",
            "http://127.0.0.1:9000/sms",
            "--bmg-url",
            "http://bmg.local/phones",
            "--wallet-link",
            "https://example.kz/w",
            "--demo-stall",
            "outbox:after_send",
        ]))
        .expect("resolves");
        assert_eq!(
            c.sms_gateway_url.as_deref(),
            Some("http://127.0.0.1:9000/sms")
        );
        assert_eq!(c.bmg_url.as_deref(), Some("http://bmg.local/phones"));
        assert_eq!(c.wallet_link, "https://example.kz/w");
        assert_eq!(c.demo_stall, Some(crate::jobs::StallPoint::OutboxAfterSend));
        let err = Config::resolve(cli(&["--demo", "--sms-gateway-url", "https://gw"])).unwrap_err();
        assert!(matches!(err, ConfigError::Url { .. }), "{err}");
        let c = Config::resolve(cli(&[
            "--demo",
            "--nobd-url",
            "http://nobd.local/reports",
            "--eotinish-url",
            "http://eotinish.local/appeals",
        ]))
        .expect("resolves");
        assert_eq!(
            (c.nobd_url.as_deref(), c.eotinish_url.as_deref()),
            (
                Some("http://nobd.local/reports"),
                Some("http://eotinish.local/appeals")
            )
        );
        for flag in ["--nobd-url", "--eotinish-url"] {
            let err = Config::resolve(cli(&["--demo", flag, "https://x"])).unwrap_err();
            assert!(matches!(err, ConfigError::Url { .. }), "{flag}: {err}");
        }
        let err = Config::resolve(cli(&[
            "--jwt-public-key-file",
            "k.pem",
            "--demo-stall",
            "outbox:after_send",
        ]))
        .unwrap_err();
        assert!(matches!(err, ConfigError::Stall(_)), "{err}");
        let err = Config::resolve(cli(&["--demo", "--demo-stall", "job:nope:before"])).unwrap_err();
        assert!(matches!(err, ConfigError::Stall(_)), "{err}");
    }
}
