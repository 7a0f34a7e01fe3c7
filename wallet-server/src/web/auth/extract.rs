//! Axum extractors, one per audience. Each verifies the bearer token and the role, and
//! parses the identity in it (an IIN, a BIN) so handlers receive typed, trusted values.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use shared::{Bin, Iin};

use super::refusal::refuse;
use super::{Claims, Role, TokenError};
use crate::web::error::ApiError;
use crate::web::AppState;

/// The bearer token of the request: `Authorization: Bearer <token>` (scheme in any case).
fn bearer(parts: &Parts) -> Result<&str, TokenError> {
    let value = parts
        .headers
        .get(AUTHORIZATION)
        .ok_or(TokenError::Missing)?
        .to_str()
        .map_err(|_| TokenError::Malformed)?;
    let (scheme, token) = value.split_once(' ').ok_or(TokenError::Malformed)?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(TokenError::Malformed);
    }
    Ok(token.trim())
}

/// The verified claims of the request's token, accepted by `accept` (a role, a subject that
/// must parse…). A refusal is logged once and answered 401 with its code; `accept`'s other
/// answers (403) pass as they are.
fn authenticate<T>(
    parts: &Parts,
    state: &AppState,
    accept: impl FnOnce(Claims) -> Result<T, Refused>,
) -> Result<T, ApiError> {
    let token = bearer(parts).map_err(|e| refuse(None, e))?;
    let claims = state
        .verifier
        .verify(token)
        .map_err(|e| refuse(Some(token), e))?;
    accept(claims).map_err(|e| match e {
        Refused::Token(e) => refuse(Some(token), e),
        Refused::Other(e) => e,
    })
}

/// Why verified claims were not accepted: the token itself (401), or anything else (403).
enum Refused {
    Token(TokenError),
    Other(ApiError),
}

impl From<ApiError> for Refused {
    fn from(e: ApiError) -> Self {
        Refused::Other(e)
    }
}

impl From<TokenError> for Refused {
    fn from(e: TokenError) -> Self {
        Refused::Token(e)
    }
}

fn require_role(claims: &Claims, allowed: &[Role]) -> Result<(), ApiError> {
    if allowed.contains(&claims.role) {
        Ok(())
    } else {
        Err(ApiError::forbidden(format!(
            "role {} may not use this endpoint",
            claims.role
        )))
    }
}

/// A parent (or other legal representative) signed in to the wallet.
#[derive(Debug, Clone)]
pub struct Parent {
    pub iin: Iin,
}

impl FromRequestParts<AppState> for Parent {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        authenticate(parts, state, |claims| {
            require_role(&claims, &[Role::Parent])?;
            let iin = claims
                .sub
                .parse()
                .map_err(|_| TokenError::Claims("a parent token's subject must be an IIN"))?;
            Ok(Parent { iin })
        })
    }
}

/// School staff: a social pedagogue or a director of one school.
#[derive(Debug, Clone)]
pub struct SchoolStaff {
    pub sub: String,
    pub role: Role,
    pub school: Bin,
    /// The person's name from the token's claims (`Claims::display_name`), when given.
    pub name: Option<String>,
}

impl SchoolStaff {
    /// The school in the URL must be the caller's own; otherwise it does not exist for them.
    pub fn own_school(&self, bin_in_path: &str) -> Result<Bin, ApiError> {
        match bin_in_path.parse::<Bin>() {
            Ok(bin) if bin == self.school => Ok(bin),
            _ => Err(ApiError::not_found()),
        }
    }

    /// Staff from verified claims: role `social_pedagogue` or `director` and a valid
    /// `school` BIN. The API's bearer tokens and the console's OpenID sign-in both use it.
    pub fn from_claims(claims: Claims) -> Result<SchoolStaff, ApiError> {
        Self::accept(claims).map_err(|e| match e {
            Refused::Token(e) => e.into(),
            Refused::Other(e) => e,
        })
    }

    fn accept(claims: Claims) -> Result<SchoolStaff, Refused> {
        require_role(&claims, &[Role::SocialPedagogue, Role::Director])?;
        let school = claims
            .school
            .as_deref()
            .and_then(|s| s.parse().ok())
            .ok_or(TokenError::Claims(
                "a staff token must name its school by a valid BIN",
            ))?;
        Ok(SchoolStaff {
            name: claims.display_name(),
            sub: claims.sub,
            role: claims.role,
            school,
        })
    }

    pub fn require_director(&self) -> Result<(), ApiError> {
        if self.role == Role::Director {
            Ok(())
        } else {
            Err(ApiError::forbidden("only the director may do this"))
        }
    }
}

impl FromRequestParts<AppState> for SchoolStaff {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        authenticate(parts, state, SchoolStaff::accept)
    }
}

/// A system integration (PEP, NOBD, SMS gateway).
#[derive(Debug, Clone)]
pub struct Integration {
    pub sub: String,
}

impl FromRequestParts<AppState> for Integration {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        authenticate(parts, state, |claims| {
            require_role(&claims, &[Role::Integration])?;
            Ok(Integration { sub: claims.sub })
        })
    }
}

/// The gas provider's system (role `provider`).
#[derive(Debug, Clone)]
pub struct ProviderSystem {
    pub sub: String,
}

impl FromRequestParts<AppState> for ProviderSystem {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        authenticate(parts, state, |claims| {
            require_role(&claims, &[Role::Provider])?;
            Ok(ProviderSystem { sub: claims.sub })
        })
    }
}

/// An operator of the gas provider's office (role `provider_operator`).
#[derive(Debug, Clone)]
pub struct ProviderOperator {
    pub sub: String,
}

impl FromRequestParts<AppState> for ProviderOperator {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        authenticate(parts, state, |claims| {
            require_role(&claims, &[Role::ProviderOperator])?;
            Ok(ProviderOperator { sub: claims.sub })
        })
    }
}

/// A canteen terminal, by its device token (not a JWT). Revoked or unknown → 401.
#[derive(Debug, Clone)]
pub struct TerminalCaller {
    pub terminal: crate::domain::terminal::TerminalRecord,
}

impl FromRequestParts<AppState> for TerminalCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer(parts).map_err(|e| refuse(None, e))?;
        let hash = crate::services::enrollment::hash_token(token);
        let terminal = state
            .store
            .terminal_by_token(&hash)
            .await?
            .ok_or_else(|| refuse(None, TokenError::UnknownDeviceToken))?;
        Ok(TerminalCaller { terminal })
    }
}
