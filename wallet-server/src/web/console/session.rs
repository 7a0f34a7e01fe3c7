//! Console sessions: a random id in an `HttpOnly; SameSite=Lax` cookie (`Secure` when the
//! public URL is https), its SHA-256 in the store with an expiry, a CSRF token per session
//! that every form carries and every POST checks (constant-time), and the signed-in staff
//! member as an extractor. No session, or an expired one, sends the browser to sign-in.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue};
use axum::Form;
use base64::Engine;
use ring::rand::SecureRandom;
use serde::de::DeserializeOwned;
use shared::Bin;

use super::error::ConsoleError;
use crate::domain::audit::Actor;
use crate::domain::consent::Language;
use crate::domain::Role;
use crate::store::ConsoleSession;
use crate::web::AppState;

/// The session cookie.
pub const SESSION_COOKIE: &str = "sw_console";

/// 32 random bytes, URL-safe base64 (43 characters).
pub fn random_token() -> Result<String, ConsoleError> {
    let mut bytes = [0u8; 32];
    ring::rand::SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| ConsoleError::Internal)?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// SHA-256 of a text, hex.
pub fn sha256_hex(text: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, text.as_bytes());
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// Equal without telling through timing how much of the two agrees.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A cookie's value from the request.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v)
}

/// A `Set-Cookie` value; `max_age` 0 deletes the cookie.
pub fn set_cookie(name: &str, value: &str, path: &str, max_age: i64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let text =
        format!("{name}={value}; Path={path}; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}");
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static("invalid=1"))
}

/// `(SET_COOKIE, value)` for a response tuple.
pub fn set_cookie_header(value: HeaderValue) -> [(axum::http::HeaderName, HeaderValue); 1] {
    [(SET_COOKIE, value)]
}

/// The signed-in staff member of this request.
#[derive(Debug, Clone)]
pub struct Staff {
    pub session: ConsoleSession,
    pub lang: Language,
}

impl Staff {
    /// The school in the URL must be the staff member's own; otherwise there is no such page.
    pub fn own_school(&self, bin_in_path: &str) -> Result<Bin, ConsoleError> {
        match bin_in_path.parse::<Bin>() {
            Ok(bin) if bin == self.session.school => Ok(bin),
            _ => Err(ConsoleError::NotFound),
        }
    }

    pub fn is_director(&self) -> bool {
        self.session.role == Role::Director
    }

    /// The form's token must be this session's.
    pub fn check_csrf(&self, token: &str) -> Result<(), ConsoleError> {
        if constant_time_eq(token.as_bytes(), self.session.csrf_token.as_bytes()) {
            Ok(())
        } else {
            tracing::warn!(school = %self.session.school, "console: form refused (CSRF token)");
            Err(ConsoleError::Csrf)
        }
    }

    /// Who did it, for the audit log.
    pub fn actor(&self) -> Actor {
        Actor::Staff {
            sub: self.session.subject.clone(),
            school: self.session.school,
        }
    }
}

impl FromRequestParts<AppState> for Staff {
    type Rejection = ConsoleError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ConsoleError> {
        let id = cookie(&parts.headers, SESSION_COOKIE).ok_or(ConsoleError::SignIn)?;
        let session = state
            .store
            .console_session(&sha256_hex(id), state.clock.now())
            .await?
            .ok_or(ConsoleError::SignIn)?;
        let lang = state
            .store
            .staff_language(&session.subject)
            .await?
            .unwrap_or(Language::Ru);
        Ok(Staff { session, lang })
    }
}

/// A submitted form whose fields all have defaults; anything unreadable is a clear page,
/// not a bare text rejection.
pub struct ConsoleForm<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequest<AppState> for ConsoleForm<T> {
    type Rejection = ConsoleError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ConsoleError> {
        match Form::<T>::from_request(req, state).await {
            Ok(Form(value)) => Ok(ConsoleForm(value)),
            Err(_) => Err(ConsoleError::BadRequest),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_compared_whole() {
        let (a, b) = (random_token().expect("a"), random_token().expect("b"));
        assert_eq!(a.len(), 43);
        assert_ne!(a, b);
        assert!(constant_time_eq(a.as_bytes(), a.clone().as_bytes()));
        assert!(!constant_time_eq(a.as_bytes(), b.as_bytes()));
        assert!(!constant_time_eq(a.as_bytes(), &a.as_bytes()[..42]));
        assert!(!constant_time_eq(b"", a.as_bytes()));
    }

    #[test]
    fn cookies_are_http_only_lax_and_secure_over_tls() {
        let plain = set_cookie("s", "v", "/console", 60, false);
        assert_eq!(
            plain.to_str().expect("text"),
            "s=v; Path=/console; Max-Age=60; HttpOnly; SameSite=Lax"
        );
        let tls = set_cookie("s", "v", "/console", 60, true);
        assert!(tls.to_str().expect("text").ends_with("; Secure"));
    }

    #[test]
    fn the_cookie_is_found_among_others() {
        let req = axum::http::Request::builder()
            .header(COOKIE, "a=1; sw_console=abc; b=2")
            .body(())
            .expect("request");
        let (parts, ()) = req.into_parts();
        assert_eq!(cookie(&parts.headers, SESSION_COOKIE), Some("abc"));
        assert_eq!(cookie(&parts.headers, "c"), None);
    }
}
