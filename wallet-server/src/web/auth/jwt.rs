//! Verification of access tokens (JWT) issued by the identity provider.
//!
//! Everything that makes a token trustworthy is pinned: one asymmetric algorithm (chosen by
//! configuration, never by the token), the issuer, the audience, and the expiry. `alg: none`
//! and HMAC tokens are refused whatever key they claim, which closes algorithm confusion.

use std::collections::HashMap;

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::{Deserialize, Serialize};

use super::verified::VerifiedTokens;
use super::Role;

/// The claims we read from an access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// A parent's IIN, a staff member's or system's subject id.
    pub sub: String,
    pub role: Role,
    /// BIN of the school, for school staff.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub school: Option<String>,
    pub iss: String,
    pub aud: String,
    pub exp: i64,
    #[serde(default)]
    pub iat: i64,
    /// The person's full name, when the identity provider gives it (OpenID `name`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// OpenID `given_name` and `family_name`: the name in parts, used when `name` is absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub given_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family_name: Option<String>,
}

/// The longest name we keep from a token (a stamp line, not a document).
const NAME_MAX_CHARS: usize = 200;

impl Claims {
    /// The person's name from the identity provider's claims: `name`, else `family_name
    /// given_name` (a register's order), else none. Control characters are dropped and the
    /// length bounded; a blank claim counts as absent.
    pub fn display_name(&self) -> Option<String> {
        let clean = |s: &str| -> Option<String> {
            let text: String = s
                .chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .collect::<String>()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ");
            let text: String = text.chars().take(NAME_MAX_CHARS).collect();
            (!text.is_empty()).then_some(text)
        };
        if let Some(name) = self.name.as_deref().and_then(clean) {
            return Some(name);
        }
        let parts = [self.family_name.as_deref(), self.given_name.as_deref()];
        let joined: Vec<String> = parts.into_iter().flatten().filter_map(clean).collect();
        clean(&joined.join(" "))
    }
}

/// Why the verifier could not be built from its configuration.
#[derive(Debug, thiserror::Error)]
pub enum KeySetupError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is not a usable {alg:?} public key: {source}")]
    Key {
        path: String,
        alg: Algorithm,
        source: jsonwebtoken::errors::Error,
    },
    #[error("{path} is not a JWKS document: {source}")]
    Jwks {
        path: String,
        source: serde_json::Error,
    },
    #[error("{path} holds no key with a `kid` usable for {alg:?}")]
    EmptyJwks { path: String, alg: Algorithm },
}

/// Why a token was refused. Shown to clients only as a short reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("missing bearer token")]
    Missing,
    #[error("token is expired")]
    Expired,
    #[error("token is not valid: {0}")]
    Invalid(String),
}

enum Keys {
    Single(DecodingKey),
    ByKid(HashMap<String, DecodingKey>),
}

/// Verifies access tokens against pinned algorithm, issuer, audience and keys.
pub struct JwtVerifier {
    keys: Keys,
    validation: Validation,
    verified: VerifiedTokens,
}

impl std::fmt::Debug for JwtVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtVerifier")
            .field("algorithms", &self.validation.algorithms)
            .finish_non_exhaustive()
    }
}

fn validation(alg: Algorithm, issuer: &str, audience: &str) -> Validation {
    let mut v = Validation::new(alg);
    v.algorithms = vec![alg];
    v.set_issuer(&[issuer]);
    v.set_audience(&[audience]);
    v.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    v.validate_exp = true;
    v.validate_nbf = true;
    v.leeway = 30;
    v
}

impl JwtVerifier {
    /// A verifier for one known key.
    pub fn with_key(key: DecodingKey, alg: Algorithm, issuer: &str, audience: &str) -> Self {
        JwtVerifier {
            keys: Keys::Single(key),
            validation: validation(alg, issuer, audience),
            verified: VerifiedTokens::default(),
        }
    }

    /// A verifier for the public key in a PEM file.
    pub fn from_pem_file(
        path: &std::path::Path,
        alg: Algorithm,
        issuer: &str,
        audience: &str,
    ) -> Result<Self, KeySetupError> {
        let shown = path.display().to_string();
        let pem = std::fs::read(path).map_err(|source| KeySetupError::Read {
            path: shown.clone(),
            source,
        })?;
        let key = match alg {
            Algorithm::EdDSA => DecodingKey::from_ed_pem(&pem),
            Algorithm::ES256 | Algorithm::ES384 => DecodingKey::from_ec_pem(&pem),
            _ => DecodingKey::from_rsa_pem(&pem),
        }
        .map_err(|source| KeySetupError::Key {
            path: shown,
            alg,
            source,
        })?;
        Ok(Self::with_key(key, alg, issuer, audience))
    }

    /// A verifier for the keys of a JWKS file; tokens must name one by `kid`.
    pub fn from_jwks_file(
        path: &std::path::Path,
        alg: Algorithm,
        issuer: &str,
        audience: &str,
    ) -> Result<Self, KeySetupError> {
        let shown = path.display().to_string();
        let text = std::fs::read(path).map_err(|source| KeySetupError::Read {
            path: shown.clone(),
            source,
        })?;
        Self::from_jwks_json(&text, &shown, alg, issuer, audience)
    }

    /// A verifier for the keys of a JWKS document (`source` names it in errors): a file,
    /// or an OpenID provider's `jwks_uri` as fetched by the school console.
    pub fn from_jwks_json(
        text: &[u8],
        source: &str,
        alg: Algorithm,
        issuer: &str,
        audience: &str,
    ) -> Result<Self, KeySetupError> {
        let shown = source.to_string();
        let set: JwkSet = serde_json::from_slice(text).map_err(|source| KeySetupError::Jwks {
            path: shown.clone(),
            source,
        })?;
        let mut keys = HashMap::new();
        for jwk in &set.keys {
            let (Some(kid), Ok(key)) = (&jwk.common.key_id, DecodingKey::from_jwk(jwk)) else {
                continue;
            };
            // A JWK that names an algorithm must name ours.
            let usable = jwk
                .common
                .key_algorithm
                .is_none_or(|a| format!("{a:?}") == format!("{alg:?}"));
            if usable {
                keys.insert(kid.clone(), key);
            }
        }
        if keys.is_empty() {
            return Err(KeySetupError::EmptyJwks { path: shown, alg });
        }
        Ok(JwtVerifier {
            keys: Keys::ByKid(keys),
            validation: validation(alg, issuer, audience),
            verified: VerifiedTokens::default(),
        })
    }

    /// Checks signature, algorithm, issuer, audience and expiry; returns the claims.
    /// A token verified before is answered from memory until it expires (see
    /// [`VerifiedTokens`]).
    pub fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        let now = jsonwebtoken::get_current_timestamp();
        if let Some(claims) = self.verified.get(token, now, self.validation.leeway) {
            return Ok(claims);
        }
        let claims: Claims = self.verify_as(token)?;
        self.verified.insert(token, &claims);
        Ok(claims)
    }

    /// The full check, every time (no memory), with the claims read as `T` (an OpenID id
    /// token carries a `nonce` besides the access token's claims).
    pub fn verify_as<T: serde::de::DeserializeOwned>(&self, token: &str) -> Result<T, TokenError> {
        let header =
            jsonwebtoken::decode_header(token).map_err(|e| TokenError::Invalid(e.to_string()))?;
        let key = match &self.keys {
            Keys::Single(key) => key,
            Keys::ByKid(keys) => header
                .kid
                .as_ref()
                .and_then(|kid| keys.get(kid))
                .ok_or_else(|| TokenError::Invalid("unknown key id".into()))?,
        };
        jsonwebtoken::decode::<T>(token, key, &self.validation)
            .map(|data| data.claims)
            .map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => TokenError::Expired,
                _ => TokenError::Invalid(e.to_string()),
            })
    }
}
