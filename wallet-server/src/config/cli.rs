//! The command line of `wallet-server` (clap): every setting as a flag with its environment
//! variable, and the `keys` administrative commands. Values here are unresolved: the TOML
//! file and the defaults are applied by `resolve`.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

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

    /// Serve HTTPS with this PEM certificate chain (with --tls-key), for deployments without
    /// a TLS-terminating proxy; both files are re-read when they change
    /// [default: none; plain HTTP]
    #[arg(long, env = "TLS_CERT", value_name = "FILE")]
    pub tls_cert: Option<PathBuf>,

    /// The PEM private key of --tls-cert (owner-only)
    #[arg(long, env = "TLS_KEY", value_name = "FILE")]
    pub tls_key: Option<PathBuf>,

    /// PEM file of CA certificates trusted for outbound https:// calls (identity provider,
    /// BMG, SMS gateway, NOBD, e-Otinish) in addition to the system's [default: none]
    #[arg(long, env = "CA_FILE", value_name = "FILE")]
    pub ca_file: Option<PathBuf>,

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
    /// to this https:// or http:// URL [default: none; SMS are written to the log]
    #[arg(long, env = "SMS_GATEWAY_URL", value_name = "URL")]
    pub sms_gateway_url: Option<String>,

    /// BMG phone directory: GET <URL>?iin=<IIN> answers {"phone","language"?}, 404 for none
    /// [default: none; the phones of the eligibility list are used]
    #[arg(long, env = "BMG_URL", value_name = "URL")]
    pub bmg_url: Option<String>,

    /// NOBD: POST each daily report (JSON) with an Idempotency-Key header to this https://
    /// or http:// URL [default: none; reports stay `pending` in the outbox]
    #[arg(long, env = "NOBD_URL", value_name = "URL")]
    pub nobd_url: Option<String>,

    /// e-Otinish: POST each complaint (JSON) with an Idempotency-Key header to this https://
    /// or http:// URL [default: none; complaints stay `pending` in the outbox]
    #[arg(long, env = "EOTINISH_URL", value_name = "URL")]
    pub eotinish_url: Option<String>,

    /// The gas provider: GET <URL>/accounts/{number} checks a personal account; the month's
    /// activated gas vouchers are POSTed to <URL>/activations on the 26th [default: none;
    /// account checks answer 503; with --demo: a built-in provider with a few accounts]
    #[arg(long, env = "PROVIDER_URL", value_name = "URL")]
    pub provider_url: Option<String>,

    /// First day of the gas programme, YYYY-MM-DD [default: 2024-12-05, the pilot; with
    /// --demo and neither gas date set: a year before the demo clock]
    #[arg(long, env = "GAS_PROGRAMME_START", value_name = "DATE")]
    pub gas_programme_start: Option<String>,

    /// Last day of the gas programme, YYYY-MM-DD [default: 2025-04-30, the pilot's end]
    #[arg(long, env = "GAS_PROGRAMME_END", value_name = "DATE")]
    pub gas_programme_end: Option<String>,

    /// First day of the programme, YYYY-MM-DD: nothing is formed, minted or billed before it
    /// [default: 2026-02-21, the 2026 pilot; with --demo and neither date set: a year before
    /// the demo clock]
    #[arg(long, env = "PROGRAMME_START", value_name = "DATE")]
    pub programme_start: Option<String>,

    /// Last day of the programme, YYYY-MM-DD, included: nothing is formed, minted or billed
    /// after it [default: 12 months after the start, less a day; with --demo and neither date
    /// set: a year after the demo clock]
    #[arg(long, env = "PROGRAMME_END", value_name = "DATE")]
    pub programme_end: Option<String>,

    /// The wallet link in the consent confirmation SMS
    /// [default: https://egovmobile.page.link/socwallet]
    #[arg(long, env = "WALLET_LINK", value_name = "URL")]
    pub wallet_link: Option<String>,

    // --- school console (console/settings.rs) ---
    /// Public base URL staff browsers use to reach this server; session cookies are Secure
    /// when it (or the listener, --tls-cert) is https
    /// [default: http://<listen address>, https:// with --tls-cert]
    #[arg(long, env = "PUBLIC_URL", value_name = "URL")]
    pub public_url: Option<String>,

    /// OpenID Connect issuer for staff sign-in to the console (discovery at
    /// <URL>/.well-known/openid-configuration; https://, or http:// on a trusted network)
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

    /// The one algorithm the identity provider signs id tokens with: EdDSA, RS256 or ES256
    /// (most providers use RS256) [default: --jwt-algorithm; the built-in demo provider EdDSA]
    #[arg(long, env = "CONSOLE_OIDC_ALGORITHM", value_name = "ALG")]
    pub console_oidc_algorithm: Option<String>,
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
