//! The console's OpenID Connect client: authorization-code flow with PKCE (S256), `state`
//! and `nonce`. The discovery document and the provider's JWKS are fetched at each sign-in
//! (sign-ins are rare; a rotated key is picked up at once), and the id token is checked by
//! the same verifier as API tokens (pinned algorithm, issuer, audience = client id, expiry)
//! plus the nonce. The staff role and school come from its claims as for API tokens.

use base64::Engine;
use serde::Deserialize;
use shared::http::explain;

use super::settings::OidcClient;
use crate::domain::Role;
use crate::web::auth::{Audience, Claims, JwtVerifier, SchoolStaff, TokenError};

/// Why sign-in failed. Logged; the visitor sees a plain "sign-in failed" page.
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    #[error("identity provider unreachable or answered badly: {0}")]
    Provider(String),
    #[error("the discovery document names issuer {found:?}, expected {expected:?}")]
    Issuer { found: String, expected: String },
    #[error("the provider's keys (JWKS) are not usable: {0}")]
    Keys(String),
    #[error("id token refused ({code}): {0}", code = .0.code())]
    IdToken(TokenError),
    #[error("the id token's nonce does not match this sign-in")]
    Nonce,
    #[error("the id token is not a school staff member's: {0}")]
    NotStaff(String),
}

/// The provider's endpoints (`/.well-known/openid-configuration`).
#[derive(Debug, Clone, Deserialize)]
pub struct Discovery {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub jwks_uri: String,
}

/// What a sign-in in progress keeps in its short-lived cookie.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    pub state: String,
    pub nonce: String,
    pub verifier: String,
}

impl Pending {
    pub fn to_cookie(&self) -> String {
        format!("{}.{}.{}", self.state, self.nonce, self.verifier)
    }

    pub fn from_cookie(value: &str) -> Option<Pending> {
        let mut parts = value.split('.');
        let (state, nonce, verifier) = (parts.next()?, parts.next()?, parts.next()?);
        let ok = |s: &str| {
            s.len() >= 32
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        };
        (parts.next().is_none() && ok(state) && ok(nonce) && ok(verifier)).then(|| Pending {
            state: state.into(),
            nonce: nonce.into(),
            verifier: verifier.into(),
        })
    }
}

/// The PKCE S256 challenge of a verifier.
pub fn challenge(verifier: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, verifier.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest.as_ref())
}

/// A client to the provider, through `shared::http` (system CAs plus `--ca-file`).
fn http(client: &OidcClient) -> Result<reqwest::Client, OidcError> {
    client
        .tls
        .builder()
        .timeout(std::time::Duration::from_secs(10))
        .no_proxy()
        .build()
        .map_err(|e| OidcError::Provider(e.to_string()))
}

async fn get_json<T: serde::de::DeserializeOwned>(
    client: &OidcClient,
    url: &str,
) -> Result<T, OidcError> {
    let resp =
        http(client)?.get(url).send().await.map_err(|e| {
            OidcError::Provider(format!("GET {url}: {}", explain(&e.without_url())))
        })?;
    if !resp.status().is_success() {
        return Err(OidcError::Provider(format!("GET {url}: {}", resp.status())));
    }
    resp.json()
        .await
        .map_err(|e| OidcError::Provider(format!("GET {url}: {e}")))
}

/// Fetches and checks the discovery document.
pub async fn discover(client: &OidcClient) -> Result<Discovery, OidcError> {
    let url = format!("{}/.well-known/openid-configuration", client.issuer);
    let doc: Discovery = get_json(client, &url).await?;
    if doc.issuer.trim_end_matches('/') != client.issuer {
        return Err(OidcError::Issuer {
            found: doc.issuer,
            expected: client.issuer.clone(),
        });
    }
    Ok(doc)
}

/// Where to send the browser to sign in.
pub fn authorization_url(
    doc: &Discovery,
    client: &OidcClient,
    pending: &Pending,
) -> Result<String, OidcError> {
    let url = reqwest::Url::parse_with_params(
        &doc.authorization_endpoint,
        &[
            ("response_type", "code"),
            ("client_id", client.client_id.as_str()),
            ("redirect_uri", client.redirect_url.as_str()),
            // `profile`: the console shows the staff member's name from the id token.
            ("scope", "openid profile"),
            ("state", pending.state.as_str()),
            ("nonce", pending.nonce.as_str()),
            ("code_challenge", challenge(&pending.verifier).as_str()),
            ("code_challenge_method", "S256"),
        ],
    )
    .map_err(|e| OidcError::Provider(format!("authorization endpoint: {e}")))?;
    Ok(url.into())
}

#[derive(Deserialize)]
struct TokenAnswer {
    id_token: String,
}

/// What the console reads from an id token (`aud` may be a string or a list there; the
/// verifier has checked it already, so it is not read again).
#[derive(Deserialize)]
struct IdClaims {
    sub: String,
    role: Role,
    #[serde(default)]
    school: Option<String>,
    #[serde(default)]
    nonce: Option<String>,
    exp: i64,
    #[serde(default)]
    iat: i64,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    given_name: Option<String>,
    #[serde(default)]
    family_name: Option<String>,
}

/// Exchanges the code at the token endpoint and checks the id token; the staff member.
pub async fn finish(
    doc: &Discovery,
    client: &OidcClient,
    code: &str,
    pending: &Pending,
) -> Result<SchoolStaff, OidcError> {
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", client.redirect_url.as_str()),
        ("client_id", client.client_id.as_str()),
        ("code_verifier", pending.verifier.as_str()),
    ];
    if let Some(secret) = &client.client_secret {
        form.push(("client_secret", secret.as_str()));
    }
    let body = form
        .iter()
        .map(|(k, v)| format!("{k}={}", urlencode(v)))
        .collect::<Vec<_>>()
        .join("&");
    let resp = http(client)?
        .post(&doc.token_endpoint)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("accept", "application/json")
        .body(body)
        .send()
        .await
        .map_err(|e| OidcError::Provider(format!("token endpoint: {}", explain(&e))))?;
    if !resp.status().is_success() {
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        return Err(OidcError::Provider(format!(
            "token endpoint: {status} {text}"
        )));
    }
    let answer: TokenAnswer = resp
        .json()
        .await
        .map_err(|e| OidcError::Provider(format!("token endpoint: {e}")))?;
    let jwks = http(client)?
        .get(&doc.jwks_uri)
        .send()
        .await
        .and_then(|r| r.error_for_status())
        .map_err(|e| OidcError::Provider(format!("JWKS: {e}")))?
        .bytes()
        .await
        .map_err(|e| OidcError::Provider(format!("JWKS: {e}")))?;
    let verifier = JwtVerifier::from_jwks_json(
        &jwks,
        &doc.jwks_uri,
        client.algorithm,
        &client.issuer,
        &client.client_id,
    )
    .map_err(|e| OidcError::Keys(e.to_string()))?;
    let claims: IdClaims = verifier
        .verify_as(&answer.id_token)
        .map_err(OidcError::IdToken)?;
    let nonce_ok = claims
        .nonce
        .as_deref()
        .is_some_and(|n| super::session::constant_time_eq(n.as_bytes(), pending.nonce.as_bytes()));
    if !nonce_ok {
        return Err(OidcError::Nonce);
    }
    let claims = Claims {
        sub: claims.sub,
        role: claims.role,
        school: claims.school,
        iss: client.issuer.clone(),
        aud: Audience::one(client.client_id.as_str()),
        exp: claims.exp,
        iat: claims.iat,
        name: claims.name,
        given_name: claims.given_name,
        family_name: claims.family_name,
    };
    SchoolStaff::from_claims(claims).map_err(|e| OidcError::NotStaff(e.message))
}

/// `application/x-www-form-urlencoded` escaping of one value.
pub fn urlencode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_s256_matches_rfc_7636() {
        // RFC 7636, appendix B.
        assert_eq!(
            challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn the_pending_cookie_round_trips_and_refuses_junk() {
        let token = "a".repeat(43);
        let p = Pending {
            state: token.clone(),
            nonce: token.replace('a', "b"),
            verifier: token.replace('a', "c"),
        };
        assert_eq!(Pending::from_cookie(&p.to_cookie()), Some(p));
        assert_eq!(Pending::from_cookie("short.short.short"), None);
        assert_eq!(Pending::from_cookie(&format!("{token}.{token}")), None);
        assert_eq!(
            Pending::from_cookie(&format!("{token}.{token}.{token};x")),
            None
        );
    }

    #[test]
    fn form_values_are_escaped() {
        assert_eq!(urlencode("a b&c=d/é"), "a%20b%26c%3Dd%2F%C3%A9");
    }
}
