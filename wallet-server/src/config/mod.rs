//! Configuration: flags, then environment variables, then an optional TOML file, then
//! defaults — in that order of precedence. `--help` lists every setting with its variable.
//!
//! Secrets (keys) are never values here: the configuration names *files* holding them.
//!
//! This file holds the resolved [`Config`] the server runs with; `cli` is the command line,
//! `file` the TOML file, `resolve` the precedence and the checks, `error` what can go wrong.

mod cli;
mod console;
mod error;
mod file;
mod resolve;

use std::net::SocketAddr;
use std::path::PathBuf;

pub use cli::{Cli, Command, KeysAction};
pub use console::{ConsoleConfig, ConsoleInput};
pub use error::ConfigError;

use crate::domain::programme_dates::ProgrammeDates;

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

/// The certificate chain and key files of the TLS listener (`--tls-cert`, `--tls-key`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// The resolved configuration the server runs with.
#[derive(Debug, Clone)]
pub struct Config {
    pub demo: bool,
    pub listen: SocketAddr,
    /// `Some`: serve HTTPS with these files; `None`: plain HTTP.
    pub tls: Option<TlsFiles>,
    /// CA certificates trusted for outbound calls besides the system's (`--ca-file`).
    pub ca_file: Option<PathBuf>,
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
    /// The gas provider's HTTP endpoint; `None`: none (with `--demo`, the built-in one).
    pub provider_url: Option<String>,
    pub wallet_link: String,
    /// `--demo` only: where a worker stalls (see `jobs::StallPoint`).
    pub demo_stall: Option<crate::ports::StallPoint>,
    /// The school console: public URL and staff sign-in.
    pub console: ConsoleConfig,
    /// `--demo` only: where the demo clock starts (`--demo-clock`).
    pub demo_clock: Option<time::OffsetDateTime>,
    /// When the programme runs (`--programme-start`, `--programme-end`).
    pub programme_dates: ProgrammeDatesSetting,
    /// When the gas programme runs (`--gas-programme-start`, `--gas-programme-end`).
    pub gas_programme_dates: ProgrammeDatesSetting,
}

/// Where the programme's dates come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgrammeDatesSetting {
    /// Configured, or the 2026 pilot's by default.
    Fixed(ProgrammeDates),
    /// `--demo` without dates: a year either side of the demo clock's first day
    /// ([`ProgrammeDates::around`]), known only once the clock runs.
    AroundDemoClock,
}

impl ProgrammeDatesSetting {
    /// The dates the server runs with, its clock reading `now` at start.
    pub fn dates(self, now: time::OffsetDateTime) -> ProgrammeDates {
        match self {
            ProgrammeDatesSetting::Fixed(dates) => dates,
            ProgrammeDatesSetting::AroundDemoClock => {
                ProgrammeDates::around(shared::time::service_day(now))
            }
        }
    }
}

#[cfg(test)]
mod tests;
