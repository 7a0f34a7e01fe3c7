//! The console's settings as configured: its public URL and OpenID Connect client, checked
//! when the configuration is resolved (the console turns them into what it runs with).

use std::path::PathBuf;

use super::ConfigError;

/// The console settings as configured (the public URL may wait for the bound address).
#[derive(Debug, Clone, Default)]
pub struct ConsoleConfig {
    pub public_url: Option<String>,
    pub oidc_issuer: Option<String>,
    pub client_id: String,
    pub client_secret: Option<String>,
    pub redirect_url: Option<String>,
    pub demo: bool,
    /// The one algorithm id tokens may be signed with.
    pub algorithm: Option<jsonwebtoken::Algorithm>,
    /// The server itself serves HTTPS (`--tls-cert`): the default public URL is https and
    /// cookies are `Secure`.
    pub https_listener: bool,
}

/// The raw settings from flags, environment and file.
#[derive(Debug, Clone, Default)]
pub struct ConsoleInput {
    pub public_url: Option<String>,
    pub oidc_issuer: Option<String>,
    pub client_id: Option<String>,
    pub client_secret_file: Option<PathBuf>,
    /// `CONSOLE_OIDC_CLIENT_SECRET` (a file is preferred: environments leak).
    pub client_secret_env: Option<String>,
    pub redirect_url: Option<String>,
}

impl ConsoleConfig {
    /// Checks and completes the raw settings.
    pub fn resolve(
        input: ConsoleInput,
        demo: bool,
        algorithm: jsonwebtoken::Algorithm,
    ) -> Result<ConsoleConfig, ConfigError> {
        if let Some(url) = &input.public_url {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(ConfigError::Url {
                    setting: "PUBLIC_URL",
                    value: url.clone(),
                });
            }
        }
        if let Some(issuer) = &input.oidc_issuer {
            if !(issuer.starts_with("http://") || issuer.starts_with("https://")) {
                return Err(ConfigError::Url {
                    setting: "CONSOLE_OIDC_ISSUER",
                    value: issuer.clone(),
                });
            }
        }
        let client_secret = match (&input.client_secret_file, input.client_secret_env) {
            (Some(path), _) => Some(
                std::fs::read_to_string(path)
                    .map_err(|source| ConfigError::Read {
                        path: path.clone(),
                        source,
                    })?
                    .trim()
                    .to_string(),
            ),
            (None, env) => env.filter(|s| !s.is_empty()),
        };
        Ok(ConsoleConfig {
            public_url: input
                .public_url
                .map(|u| u.trim_end_matches('/').to_string()),
            oidc_issuer: input
                .oidc_issuer
                .map(|u| u.trim_end_matches('/').to_string()),
            client_id: input.client_id.unwrap_or_else(|| "school-console".into()),
            client_secret,
            redirect_url: input.redirect_url,
            demo,
            algorithm: Some(algorithm),
            https_listener: false,
        })
    }
}
