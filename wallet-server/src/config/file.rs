//! The optional TOML file named by `--config`: the same settings as the flags, all optional,
//! unknown keys refused so a misspelt setting is an error rather than silently ignored.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::ConfigError;

/// The TOML file: the same settings as the flags, all optional.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileConfig {
    pub(super) demo: Option<bool>,
    pub(super) listen: Option<SocketAddr>,
    pub(super) tls_cert: Option<PathBuf>,
    pub(super) tls_key: Option<PathBuf>,
    pub(super) ca_file: Option<PathBuf>,
    pub(super) data_dir: Option<PathBuf>,
    pub(super) pass_keys_file: Option<PathBuf>,
    pub(super) database_url: Option<String>,
    pub(super) jwt_issuer: Option<String>,
    pub(super) jwt_audience: Option<String>,
    pub(super) jwt_algorithm: Option<String>,
    pub(super) jwt_public_key_file: Option<PathBuf>,
    pub(super) jwt_jwks_file: Option<PathBuf>,
    pub(super) max_body_bytes: Option<usize>,
    pub(super) max_list_bytes: Option<usize>,
    pub(super) log_format: Option<String>,
    pub(super) pass_mint_limit: Option<u32>,
    pub(super) pass_mint_window_secs: Option<u32>,
    pub(super) meal_price_tiyn: Option<i64>,
    pub(super) sms_gateway_url: Option<String>,
    pub(super) bmg_url: Option<String>,
    pub(super) nobd_url: Option<String>,
    pub(super) eotinish_url: Option<String>,
    pub(super) provider_url: Option<String>,
    pub(super) gas_programme_start: Option<String>,
    pub(super) gas_programme_end: Option<String>,
    pub(super) wallet_link: Option<String>,
    pub(super) programme_start: Option<String>,
    pub(super) programme_end: Option<String>,
    // school console
    pub(super) public_url: Option<String>,
    pub(super) console_oidc_issuer: Option<String>,
    pub(super) console_oidc_client_id: Option<String>,
    pub(super) console_oidc_client_secret_file: Option<PathBuf>,
    pub(super) console_oidc_redirect_url: Option<String>,
    pub(super) console_oidc_algorithm: Option<String>,
}

/// Reads and parses the TOML file.
pub(super) fn load_file(path: &Path) -> Result<FileConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    toml::from_str(&text).map_err(|e| ConfigError::Parse {
        path: path.to_path_buf(),
        message: e.message().to_string(),
    })
}
