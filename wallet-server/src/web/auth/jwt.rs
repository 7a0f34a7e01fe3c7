//! Verification of access tokens (JWT) issued by the identity provider.
//!
//! Everything that makes a token trustworthy is pinned: one asymmetric algorithm (chosen by
//! configuration, never by the token), the issuer, the audience, and the expiry. `alg: none`
//! and HMAC tokens are refused whatever key they claim, which closes algorithm confusion.
//!
//! `aud` may be one audience or a list of them (RFC 7519 §4.1.3); ours must be among them.
//! A header with `crit` (RFC 7515 §4.1.11) is refused: it names extensions the recipient
//! must understand, and we understand none (`jsonwebtoken` ignores the parameter, so the
//! header is read here first). Every refusal is one [`TokenError`]: a stable code and a
//! plain sentence, never a parser's message.

use std::collections::HashMap;

use base64::Engine;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::{Deserialize, Serialize};

use super::refusal::TokenError;
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
    /// One audience or several (RFC 7519 §4.1.3); ours is among them once verified.
    pub aud: Audience,
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

/// The `aud` claim: one audience (a string) or several (an array of strings), as RFC 7519
/// §4.1.3 allows and identity providers such as Keycloak send. Written back as it came: one
/// audience as a string, several as an array.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Audience(Vec<String>);

impl Audience {
    /// A single audience.
    pub fn one(audience: impl Into<String>) -> Self {
        Audience(vec![audience.into()])
    }

    /// Whether `audience` is among the token's audiences.
    pub fn contains(&self, audience: &str) -> bool {
        self.0.iter().any(|a| a == audience)
    }

    /// The audiences, in the token's order.
    pub fn as_slice(&self) -> &[String] {
        &self.0
    }
}

impl Serialize for Audience {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0.as_slice() {
            [one] => serializer.serialize_str(one),
            many => many.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for Audience {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum OneOrMany {
            One(String),
            Many(Vec<String>),
        }
        Ok(match OneOrMany::deserialize(deserializer)? {
            OneOrMany::One(one) => Audience(vec![one]),
            OneOrMany::Many(many) => Audience(many),
        })
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
    #[error("{path} holds no key usable for {alg:?}")]
    EmptyJwks { path: String, alg: Algorithm },
}

enum Keys {
    Single(DecodingKey),
    /// A JWKS: a token names its key by `kid`; a token without `kid` may use the set's only
    /// key (OpenID Connect Core §10.1 asks for `kid` only when a set holds several).
    Set {
        by_kid: HashMap<String, DecodingKey>,
        only: Option<DecodingKey>,
    },
}

/// Verifies access tokens against pinned algorithm, issuer, audience and keys.
pub struct JwtVerifier {
    keys: Keys,
    /// The one algorithm accepted, as tokens name it in `alg` (`EdDSA`, `RS256`…).
    algorithm: String,
    audience: String,
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

/// The name of `alg` as a JOSE header gives it.
fn algorithm_name(alg: Algorithm) -> String {
    serde_json::to_value(alg)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_else(|| format!("{alg:?}"))
}

impl JwtVerifier {
    fn new(keys: Keys, alg: Algorithm, issuer: &str, audience: &str) -> Self {
        JwtVerifier {
            keys,
            algorithm: algorithm_name(alg),
            audience: audience.to_string(),
            validation: validation(alg, issuer, audience),
            verified: VerifiedTokens::default(),
        }
    }

    /// A verifier for one known key.
    pub fn with_key(key: DecodingKey, alg: Algorithm, issuer: &str, audience: &str) -> Self {
        JwtVerifier::new(Keys::Single(key), alg, issuer, audience)
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

    /// A verifier for the keys of a JWKS file; tokens name one by `kid` (or the file holds
    /// only one).
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
        let mut keys = Vec::new();
        for jwk in &set.keys {
            let Ok(key) = DecodingKey::from_jwk(jwk) else {
                continue;
            };
            // A JWK that names an algorithm must name ours.
            let usable = jwk
                .common
                .key_algorithm
                .is_none_or(|a| format!("{a:?}") == format!("{alg:?}"));
            if usable {
                keys.push((jwk.common.key_id.clone(), key));
            }
        }
        let only = match keys.as_slice() {
            [] => return Err(KeySetupError::EmptyJwks { path: shown, alg }),
            [(_, key)] => Some(key.clone()),
            _ => None,
        };
        let by_kid = keys
            .into_iter()
            .filter_map(|(kid, key)| Some((kid?, key)))
            .collect();
        Ok(JwtVerifier::new(
            Keys::Set { by_kid, only },
            alg,
            issuer,
            audience,
        ))
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
    ///
    /// In order: the token's shape and header (`token_malformed`), the algorithm it names
    /// (`token_algorithm`), `crit` (`token_critical_header`), the key (`token_unknown_key`),
    /// the signature, then expiry, issuer and audience, then the claims `T` needs
    /// (`token_claims`).
    pub fn verify_as<T: serde::de::DeserializeOwned>(&self, token: &str) -> Result<T, TokenError> {
        let unverified = Unverified::read(token).ok_or(TokenError::Malformed)?;
        let header = &unverified.header;
        if header.get("alg").and_then(|a| a.as_str()) != Some(self.algorithm.as_str()) {
            return Err(TokenError::Algorithm);
        }
        if header.contains_key("crit") {
            // Any `crit` names extensions we would have to understand (we understand
            // none); an empty or non-list one is itself invalid (RFC 7515 §4.1.11).
            return Err(TokenError::CriticalHeader);
        }
        let key = match &self.keys {
            Keys::Single(key) => key,
            Keys::Set { by_kid, only } => match header.get("kid") {
                None => only.as_ref(),
                Some(_) => unverified.kid().and_then(|kid| by_kid.get(kid)),
            }
            .ok_or(TokenError::UnknownKey)?,
        };
        let claims = jsonwebtoken::decode::<serde_json::Value>(token, key, &self.validation)
            .map_err(|e| refusal(e.kind()))?
            .claims;
        let audience_ok = serde_json::from_value::<Audience>(claims["aud"].clone())
            .is_ok_and(|aud| aud.contains(&self.audience));
        if !audience_ok {
            return Err(TokenError::Audience);
        }
        serde_json::from_value(claims).map_err(|_| TokenError::Claims(CLAIMS_UNUSABLE))
    }
}

/// The sentence of a token whose claims are not what this service reads.
pub(super) const CLAIMS_UNUSABLE: &str =
    "the token lacks a claim this service needs (sub, role, exp) or one of them is not usable";

/// What `jsonwebtoken`'s refusal means, as one of our codes.
fn refusal(kind: &ErrorKind) -> TokenError {
    match kind {
        ErrorKind::ExpiredSignature => TokenError::Expired,
        ErrorKind::ImmatureSignature => TokenError::NotYetValid,
        ErrorKind::InvalidIssuer => TokenError::Issuer,
        ErrorKind::InvalidAudience => TokenError::Audience,
        ErrorKind::MissingRequiredClaim(claim) => match claim.as_str() {
            "iss" => TokenError::Issuer,
            "aud" => TokenError::Audience,
            _ => TokenError::Claims(CLAIMS_UNUSABLE),
        },
        ErrorKind::InvalidAlgorithm | ErrorKind::MissingAlgorithm => TokenError::Algorithm,
        ErrorKind::InvalidSignature
        | ErrorKind::Crypto(_)
        | ErrorKind::InvalidEcdsaKey
        | ErrorKind::InvalidRsaKey(_)
        | ErrorKind::InvalidKeyFormat => TokenError::Signature,
        _ => TokenError::Malformed,
    }
}

/// A token read without any check: its JOSE header, and its payload when that is a JSON
/// object. Only for choosing the key, refusing what the header asks for, and naming a
/// refused token's `kid` and `iss` in the log — never for trusting anything.
#[derive(Debug)]
pub(super) struct Unverified {
    pub header: serde_json::Map<String, serde_json::Value>,
    pub payload: Option<serde_json::Map<String, serde_json::Value>>,
}

impl Unverified {
    /// `None` unless the token is three base64url segments whose first is a JSON object.
    pub fn read(token: &str) -> Option<Unverified> {
        let mut segments = token.split('.');
        let (header, payload, _signature) = (segments.next()?, segments.next()?, segments.next()?);
        if segments.next().is_some() {
            return None;
        }
        let object = |segment: &str| {
            let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(segment)
                .ok()?;
            match serde_json::from_slice(&bytes).ok()? {
                serde_json::Value::Object(map) => Some(map),
                _ => None,
            }
        };
        Some(Unverified {
            header: object(header)?,
            payload: object(payload),
        })
    }

    /// The header's `kid`, when it is a string.
    pub fn kid(&self) -> Option<&str> {
        self.header.get("kid").and_then(|k| k.as_str())
    }

    /// The payload's `iss`, when it is a string (as claimed: not verified).
    pub fn iss(&self) -> Option<&str> {
        self.payload.as_ref()?.get("iss").and_then(|i| i.as_str())
    }
}
