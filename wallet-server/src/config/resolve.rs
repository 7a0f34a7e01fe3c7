//! Resolution and validation: each setting from the flag or its environment variable (merged
//! by clap), else the TOML file, else its default; URLs, the JWT algorithm and keys, the log
//! format and the demo-only knobs are checked on the way, and the first failure is the error.

use std::net::SocketAddr;
use std::path::PathBuf;

use super::file::{load_file, FileConfig};
use super::{
    Cli, Config, ConfigError, ConsoleConfig, ConsoleInput, JwtKeySource, LogFormat,
    ProgrammeDatesSetting, TlsFiles,
};
use crate::domain::programme_dates::{ProgrammeDates, DEFAULT_MONTHS};

impl Config {
    /// Only the pass key file, for `wallet-server keys …`: needs no JWT or database
    /// settings, but honours `--config`, `--data-dir` and `--pass-keys-file`.
    pub fn resolve_pass_keys_file(cli: &Cli) -> Result<PathBuf, ConfigError> {
        let file = read_file(cli)?;
        Ok(resolve_paths(cli, &file).1)
    }

    /// Resolves flags and environment (already merged by clap) with the TOML file and
    /// defaults.
    pub fn resolve(cli: Cli) -> Result<Config, ConfigError> {
        let file = read_file(&cli)?;
        let (data_dir, pass_keys_file) = resolve_paths(&cli, &file);
        let demo = cli.demo || file.demo.unwrap_or(false);
        let (sms_gateway_url, bmg_url, wallet_link, demo_stall) =
            resolve_outside(&cli, &file, demo)?;
        let demo_clock = demo_clock(&cli, demo)?;
        let programme_dates = programme_dates(&cli, &file, demo)?;
        let nobd_url = http_url("NOBD_URL", cli.nobd_url.as_ref().or(file.nobd_url.as_ref()))?;
        let eotinish_url = http_url(
            "EOTINISH_URL",
            cli.eotinish_url.as_ref().or(file.eotinish_url.as_ref()),
        )?;
        let provider_url = http_url(
            "PROVIDER_URL",
            cli.provider_url.as_ref().or(file.provider_url.as_ref()),
        )?;
        let gas_programme_dates = gas_programme_dates(&cli, &file, demo)?;
        let jwt_keys = jwt_keys(&cli, &file, demo)?;
        let log_format = log_format(&cli, &file)?;
        let jwt_algorithm = match jwt_keys {
            JwtKeySource::DemoGenerated => jsonwebtoken::Algorithm::EdDSA,
            _ => parse_algorithm(&pick(
                cli.jwt_algorithm.clone(),
                file.jwt_algorithm.clone(),
                "EdDSA".into(),
            ))?,
        };
        let tls = tls_files(&cli, &file)?;
        let mut console = console(&cli, &file, demo, jwt_algorithm)?;
        console.https_listener = tls.is_some();
        Ok(Config {
            demo,
            listen: pick(
                cli.listen,
                file.listen,
                SocketAddr::from(([127, 0, 0, 1], 8080)),
            ),
            tls,
            ca_file: cli.ca_file.or(file.ca_file),
            data_dir,
            pass_keys_file,
            database_url: cli.database_url.or(file.database_url),
            jwt_issuer: pick(
                cli.jwt_issuer,
                file.jwt_issuer,
                "https://idp.egov.kz".into(),
            ),
            jwt_audience: pick(cli.jwt_audience, file.jwt_audience, "social-wallet".into()),
            jwt_algorithm,
            jwt_keys,
            max_body_bytes: pick(cli.max_body_bytes, file.max_body_bytes, 1 << 20),
            max_list_bytes: pick(cli.max_list_bytes, file.max_list_bytes, 16 << 20),
            log_format,
            pass_mint_limit: pick(cli.pass_mint_limit, file.pass_mint_limit, 30).max(1),
            pass_mint_window_secs: pick(cli.pass_mint_window_secs, file.pass_mint_window_secs, 600)
                .max(1),
            meal_price_tiyn: pick(cli.meal_price_tiyn, file.meal_price_tiyn, 80_000).max(0),
            sms_gateway_url,
            bmg_url,
            nobd_url,
            eotinish_url,
            provider_url,
            wallet_link,
            demo_stall,
            console,
            demo_clock,
            programme_dates,
            gas_programme_dates,
        })
    }
}

/// The flag (or its environment variable), else the file, else the default.
fn pick<T>(flag: Option<T>, file: Option<T>, default: T) -> T {
    flag.or(file).unwrap_or(default)
}

/// The TOML file named by `--config`, or an empty one.
fn read_file(cli: &Cli) -> Result<FileConfig, ConfigError> {
    match &cli.config {
        Some(path) => load_file(path),
        None => Ok(FileConfig::default()),
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
        .unwrap_or_else(|| data_dir.join(crate::services::passes::keys::DEFAULT_FILE_NAME));
    (data_dir, pass_keys_file)
}

/// The verifying keys: a PEM file or a JWKS file (not both), or with `--demo` a generated key.
fn jwt_keys(cli: &Cli, file: &FileConfig, demo: bool) -> Result<JwtKeySource, ConfigError> {
    let pem = cli
        .jwt_public_key_file
        .clone()
        .or(file.jwt_public_key_file.clone());
    let jwks = cli.jwt_jwks_file.clone().or(file.jwt_jwks_file.clone());
    match (pem, jwks, demo) {
        (Some(_), Some(_), _) => Err(ConfigError::TwoJwtKeys),
        (Some(p), None, _) => Ok(JwtKeySource::PemFile(p)),
        (None, Some(j), _) => Ok(JwtKeySource::JwksFile(j)),
        (None, None, true) => Ok(JwtKeySource::DemoGenerated),
        (None, None, false) => Err(ConfigError::NoJwtKey),
    }
}

/// `text` (the default) or `json`.
fn log_format(cli: &Cli, file: &FileConfig) -> Result<LogFormat, ConfigError> {
    match cli
        .log_format
        .as_deref()
        .or(file.log_format.as_deref())
        .unwrap_or("text")
    {
        "text" => Ok(LogFormat::Text),
        "json" => Ok(LogFormat::Json),
        other => Err(ConfigError::LogFormat(other.to_string())),
    }
}

/// The school console's settings (see `console::settings`).
fn console(
    cli: &Cli,
    file: &FileConfig,
    demo: bool,
    jwt_algorithm: jsonwebtoken::Algorithm,
) -> Result<ConsoleConfig, ConfigError> {
    let either = |a: &Option<String>, b: &Option<String>| a.clone().or(b.clone());
    // The console's provider may sign with another algorithm than the API's token issuer.
    let algorithm = match either(&cli.console_oidc_algorithm, &file.console_oidc_algorithm) {
        Some(name) => parse_algorithm(&name)?,
        None => jwt_algorithm,
    };
    ConsoleConfig::resolve(
        ConsoleInput {
            public_url: either(&cli.public_url, &file.public_url),
            oidc_issuer: either(&cli.console_oidc_issuer, &file.console_oidc_issuer),
            client_id: either(&cli.console_oidc_client_id, &file.console_oidc_client_id),
            client_secret_file: cli
                .console_oidc_client_secret_file
                .clone()
                .or(file.console_oidc_client_secret_file.clone()),
            client_secret_env: std::env::var("CONSOLE_OIDC_CLIENT_SECRET").ok(),
            redirect_url: either(
                &cli.console_oidc_redirect_url,
                &file.console_oidc_redirect_url,
            ),
        },
        demo,
        algorithm,
    )
}

/// The consent and outbox adapters' settings: (SMS gateway, BMG, wallet link, stall).
type Outside = (
    Option<String>,
    Option<String>,
    String,
    Option<crate::ports::StallPoint>,
);

/// The TLS listener's files: both or neither.
fn tls_files(cli: &Cli, file: &FileConfig) -> Result<Option<TlsFiles>, ConfigError> {
    let cert = cli.tls_cert.clone().or(file.tls_cert.clone());
    let key = cli.tls_key.clone().or(file.tls_key.clone());
    match (cert, key) {
        (Some(cert), Some(key)) => Ok(Some(TlsFiles { cert, key })),
        (None, None) => Ok(None),
        _ => Err(ConfigError::TlsPair),
    }
}

/// A setting that must be an `https://` or `http://` URL, if set.
fn http_url(setting: &'static str, value: Option<&String>) -> Result<Option<String>, ConfigError> {
    match value {
        Some(v) if !(v.starts_with("http://") || v.starts_with("https://")) => {
            Err(ConfigError::Url {
                setting,
                value: v.clone(),
            })
        }
        other => Ok(other.cloned()),
    }
}

/// The consent and outbox adapters' settings, checked: https:// or http:// URLs, a stall only with
/// `--demo`.
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
        .unwrap_or_else(|| crate::domain::consent::texts::DEFAULT_WALLET_LINK.into());
    let stall = match (&cli.demo_stall, demo) {
        (None, _) => None,
        (Some(_), false) => return Err(ConfigError::Stall("works only with --demo".into())),
        (Some(point), true) => Some(point.parse().map_err(ConfigError::Stall)?),
    };
    Ok((sms, bmg, link, stall))
}

/// The signature algorithm access tokens (or the console's id tokens) must use; asymmetric
/// ones only.
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

/// The programme's dates: as configured; the 2026 pilot's by default (an end 12 months after
/// the start when only the start is set); with `--demo` and neither set, around the demo
/// clock.
fn programme_dates(
    cli: &Cli,
    file: &FileConfig,
    demo: bool,
) -> Result<ProgrammeDatesSetting, ConfigError> {
    let start = cli
        .programme_start
        .as_ref()
        .or(file.programme_start.as_ref());
    let end = cli.programme_end.as_ref().or(file.programme_end.as_ref());
    if demo && start.is_none() && end.is_none() {
        return Ok(ProgrammeDatesSetting::AroundDemoClock);
    }
    let first = match start {
        Some(text) => parse_date("PROGRAMME_START (--programme-start)", text)?,
        None => ProgrammeDates::pilot_2026().first_day(),
    };
    let dates = match end {
        Some(text) => {
            let last = parse_date("PROGRAMME_END (--programme-end)", text)?;
            ProgrammeDates::new(first, last).map_err(ConfigError::ProgrammeEnd)?
        }
        None => ProgrammeDates::for_months(first, DEFAULT_MONTHS),
    };
    Ok(ProgrammeDatesSetting::Fixed(dates))
}

/// The gas programme's dates: the pilot's unless configured; `--demo`: around its clock.
fn gas_programme_dates(
    cli: &Cli,
    file: &FileConfig,
    demo: bool,
) -> Result<ProgrammeDatesSetting, ConfigError> {
    let start = cli
        .gas_programme_start
        .as_ref()
        .or(file.gas_programme_start.as_ref());
    let end = cli
        .gas_programme_end
        .as_ref()
        .or(file.gas_programme_end.as_ref());
    if demo && start.is_none() && end.is_none() {
        return Ok(ProgrammeDatesSetting::AroundDemoClock);
    }
    let pilot = crate::domain::gas::pilot_dates();
    let first = match start {
        Some(text) => parse_date("GAS_PROGRAMME_START (--gas-programme-start)", text)?,
        None => pilot.first_day(),
    };
    let last = match end {
        Some(text) => parse_date("GAS_PROGRAMME_END (--gas-programme-end)", text)?,
        None => pilot.last_day(),
    };
    let dates = ProgrammeDates::new(first, last).map_err(ConfigError::ProgrammeEnd)?;
    Ok(ProgrammeDatesSetting::Fixed(dates))
}

/// A `YYYY-MM-DD` date, read like every date from outside.
fn parse_date(setting: &'static str, text: &str) -> Result<time::Date, ConfigError> {
    shared::time::parse_date(text.trim()).map_err(|_| ConfigError::ProgrammeDate {
        setting,
        value: text.to_string(),
    })
}
