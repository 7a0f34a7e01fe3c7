//! Why a token was refused: a small closed set of stable codes, each with a plain sentence
//! for people, answered as `401 {"error": {"code", "message"}}`. No parser's message ever
//! reaches a client (nor the code): a client can act on the code, a person read the sentence.
//!
//! Each refusal is logged once, at info, by [`refuse`]: the code, and the token's `kid` and
//! `iss` when they can be read — never the token, its subject or a name.

use axum::http::StatusCode;

use super::jwt::Unverified;
use crate::web::error::ApiError;

/// Why a bearer token was refused (401).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// No `Authorization` header.
    #[error("no bearer token was sent")]
    Missing,
    /// Not `Bearer <token>`, or not three base64url segments with a JSON header.
    #[error("the Authorization header is not `Bearer <token>` with a well-formed token")]
    Malformed,
    /// `alg` is not the one algorithm this service accepts (`none`, HMAC, another one).
    #[error("the token is not signed with the algorithm this service accepts")]
    Algorithm,
    /// The header has `crit`: extensions we would have to understand (RFC 7515 §4.1.11).
    #[error("the token requires header extensions (crit) this service does not support")]
    CriticalHeader,
    /// No trusted key has the token's `kid` (or it names none where keys go by `kid`).
    #[error("the token names no signing key this service trusts")]
    UnknownKey,
    #[error("the token's signature does not verify")]
    Signature,
    #[error("the token has expired")]
    Expired,
    /// `nbf` is in the future.
    #[error("the token is not valid yet")]
    NotYetValid,
    /// `iss` is missing or not the trusted identity provider.
    #[error("the token was not issued by the identity provider this service trusts")]
    Issuer,
    /// `aud` is missing, empty, or does not name this service.
    #[error("the token is not meant for this service (audience)")]
    Audience,
    /// Verified, but a claim this service reads is missing or unusable (an unknown role, a
    /// parent's subject that is not an IIN, staff without a school). The sentence is ours.
    #[error("{0}")]
    Claims(&'static str),
    /// A canteen terminal's device token that was never issued or has been revoked.
    #[error("the device token is unknown or has been revoked")]
    UnknownDeviceToken,
}

impl TokenError {
    /// Every refusal, one of each (for tests and documentation).
    pub const ALL: [TokenError; 12] = [
        TokenError::Missing,
        TokenError::Malformed,
        TokenError::Algorithm,
        TokenError::CriticalHeader,
        TokenError::UnknownKey,
        TokenError::Signature,
        TokenError::Expired,
        TokenError::NotYetValid,
        TokenError::Issuer,
        TokenError::Audience,
        TokenError::Claims("a claim is not usable"),
        TokenError::UnknownDeviceToken,
    ];

    /// The stable machine-readable code of the 401 answer.
    pub fn code(&self) -> &'static str {
        match self {
            TokenError::Missing => "token_missing",
            TokenError::Malformed => "token_malformed",
            TokenError::Algorithm => "token_algorithm",
            TokenError::CriticalHeader => "token_critical_header",
            TokenError::UnknownKey => "token_unknown_key",
            TokenError::Signature => "token_signature",
            TokenError::Expired => "token_expired",
            TokenError::NotYetValid => "token_not_yet_valid",
            TokenError::Issuer => "token_issuer",
            TokenError::Audience => "token_audience",
            TokenError::Claims(_) => "token_claims",
            TokenError::UnknownDeviceToken => "token_unknown",
        }
    }
}

impl From<TokenError> for ApiError {
    fn from(e: TokenError) -> Self {
        ApiError::new(StatusCode::UNAUTHORIZED, e.code(), e.to_string())
    }
}

/// The refusals of a scheme: `bearer` (an identity provider's JWT) or `device_token` (a
/// canteen terminal's).
pub fn refusals(scheme: &str) -> Vec<TokenError> {
    TokenError::ALL
        .into_iter()
        .filter(|e| match e {
            TokenError::Missing | TokenError::Malformed => true,
            TokenError::UnknownDeviceToken => scheme == "device_token",
            _ => scheme == "bearer",
        })
        .collect()
}

/// The 401 codes of a scheme and what each means, for the OpenAPI document.
pub fn documented_codes(scheme: &str) -> String {
    refusals(scheme)
        .iter()
        .map(|e| match e {
            TokenError::Claims(_) => format!(
                "`{}`: a claim this service reads is missing or unusable (role, a parent's \
                 IIN, staff's school BIN)",
                e.code()
            ),
            _ => format!("`{}`: {e}", e.code()),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// The longest `kid` or `iss` logged; longer values are cut.
const LOGGED_MAX_CHARS: usize = 120;

/// What the log says about one refusal: the code, and the token's `kid` and `iss` (as the
/// token claims them, unverified) when readable. Nothing else of the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusalLog {
    pub reason: &'static str,
    pub kid: Option<String>,
    pub iss: Option<String>,
}

impl RefusalLog {
    pub fn new(token: Option<&str>, error: &TokenError) -> RefusalLog {
        // A device token is an opaque secret, not a JWT: nothing of it is read.
        let unverified = match error {
            TokenError::UnknownDeviceToken => None,
            _ => token.and_then(Unverified::read),
        };
        let shown = |value: Option<&str>| {
            let text: String = value?
                .chars()
                .take(LOGGED_MAX_CHARS)
                .map(|c| if c.is_control() { '?' } else { c })
                .collect();
            (!text.is_empty()).then_some(text)
        };
        RefusalLog {
            reason: error.code(),
            kid: shown(unverified.as_ref().and_then(Unverified::kid)),
            iss: shown(unverified.as_ref().and_then(Unverified::iss)),
        }
    }
}

/// Logs the refusal of `token` (one line, at info) and gives the 401 to answer.
pub fn refuse(token: Option<&str>, error: TokenError) -> ApiError {
    let log = RefusalLog::new(token, &error);
    tracing::info!(
        reason = log.reason,
        kid = log.kid.as_deref(),
        iss = log.iss.as_deref(),
        "bearer token refused"
    );
    error.into()
}
