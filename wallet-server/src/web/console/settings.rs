//! How the console is reached and how staff sign in: the public URL (cookies are `Secure`
//! when it or the server's own listener is https), and the OpenID Connect client (issuer, client id and secret, redirect
//! URL). In `--demo` without an issuer, the server's own development provider at
//! `<public URL>/dev/oidc` is the issuer, so the demo signs in through the same code.

use std::net::SocketAddr;

use crate::config::ConsoleConfig;
#[cfg(test)]
use crate::config::ConsoleInput;

/// The OpenID Connect client of the console.
#[derive(Debug, Clone)]
pub struct OidcClient {
    pub issuer: String,
    pub client_id: String,
    pub client_secret: Option<String>,
    pub redirect_url: String,
    pub algorithm: jsonwebtoken::Algorithm,
    /// Outbound TLS to the provider (`shared::http`: system CAs plus `--ca-file`).
    pub tls: shared::http::ClientTls,
}

/// The settings the console runs with.
#[derive(Debug, Clone)]
pub struct ConsoleSettings {
    /// Where staff browsers reach this server, without a trailing slash.
    pub public_url: String,
    pub secure_cookies: bool,
    /// `None`: sign-in is not configured (the sign-in page says so).
    pub oidc: Option<OidcClient>,
    pub session_ttl: time::Duration,
}

impl Default for ConsoleSettings {
    fn default() -> Self {
        ConsoleSettings {
            public_url: "http://127.0.0.1".into(),
            secure_cookies: false,
            oidc: None,
            session_ttl: time::Duration::hours(8),
        }
    }
}

impl ConsoleSettings {
    /// The settings once the server knows the address it is bound to; `tls` is how the
    /// provider is reached.
    pub fn resolve(
        config: &ConsoleConfig,
        bound: SocketAddr,
        tls: &shared::http::ClientTls,
    ) -> ConsoleSettings {
        let scheme = if config.https_listener {
            "https"
        } else {
            "http"
        };
        let public_url = config.public_url.clone().unwrap_or_else(|| {
            let host = if bound.ip().is_unspecified() {
                SocketAddr::from(([127, 0, 0, 1], bound.port()))
            } else {
                bound
            };
            format!("{scheme}://{host}")
        });
        let issuer = match (&config.oidc_issuer, config.demo) {
            (Some(issuer), _) => Some(issuer.clone()),
            (None, true) => Some(format!("{public_url}/dev/oidc")),
            (None, false) => None,
        };
        let oidc = issuer.map(|issuer| OidcClient {
            issuer,
            client_id: config.client_id.clone(),
            client_secret: config.client_secret.clone(),
            redirect_url: config
                .redirect_url
                .clone()
                .unwrap_or_else(|| format!("{public_url}/console/auth/callback")),
            algorithm: if config.oidc_issuer.is_none() {
                jsonwebtoken::Algorithm::EdDSA
            } else {
                config.algorithm.unwrap_or(jsonwebtoken::Algorithm::EdDSA)
            },
            tls: tls.clone(),
        });
        ConsoleSettings {
            secure_cookies: config.https_listener || public_url.starts_with("https://"),
            public_url,
            oidc,
            session_ttl: time::Duration::hours(8),
        }
    }

    /// The console's own address, for the banner.
    pub fn console_url(&self) -> String {
        format!("{}/console/", self.public_url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_signs_in_at_its_own_provider_and_tls_means_secure_cookies() {
        let config = ConsoleConfig::resolve(
            ConsoleInput::default(),
            true,
            jsonwebtoken::Algorithm::EdDSA,
        )
        .expect("resolves");
        let tls = shared::http::ClientTls::system().expect("TLS");
        let s = ConsoleSettings::resolve(&config, "0.0.0.0:8080".parse().expect("addr"), &tls);
        assert_eq!(s.public_url, "http://127.0.0.1:8080");
        assert!(!s.secure_cookies);
        let oidc = s.oidc.expect("demo provider");
        assert_eq!(oidc.issuer, "http://127.0.0.1:8080/dev/oidc");
        assert_eq!(
            oidc.redirect_url,
            "http://127.0.0.1:8080/console/auth/callback"
        );

        let input = ConsoleInput {
            public_url: Some("https://meals.example.kz/".into()),
            ..ConsoleInput::default()
        };
        let config =
            ConsoleConfig::resolve(input, false, jsonwebtoken::Algorithm::RS256).expect("resolves");
        let s = ConsoleSettings::resolve(&config, "127.0.0.1:8080".parse().expect("addr"), &tls);
        assert!(s.secure_cookies);
        assert!(
            s.oidc.is_none(),
            "no issuer, no demo: sign-in not configured"
        );
        assert_eq!(s.console_url(), "https://meals.example.kz/console/");

        // The server's own TLS listener: an https public URL by default, Secure cookies.
        let mut config = ConsoleConfig::resolve(
            ConsoleInput::default(),
            true,
            jsonwebtoken::Algorithm::EdDSA,
        )
        .expect("resolves");
        config.https_listener = true;
        let s = ConsoleSettings::resolve(&config, "127.0.0.1:8443".parse().expect("addr"), &tls);
        assert_eq!(s.public_url, "https://127.0.0.1:8443");
        assert!(s.secure_cookies);
    }

    #[test]
    fn an_issuer_must_be_an_http_or_https_url() {
        let issuer = |url: &str| ConsoleInput {
            oidc_issuer: Some(url.into()),
            ..ConsoleInput::default()
        };
        let resolve =
            |url: &str| ConsoleConfig::resolve(issuer(url), false, jsonwebtoken::Algorithm::EdDSA);
        assert!(resolve("ftp://idp.example").is_err());
        let config = resolve("https://idp.example/").expect("https issuer");
        assert_eq!(config.oidc_issuer.as_deref(), Some("https://idp.example"));
    }
}
