//! Signing in and out: the sign-in page, the start of the OpenID authorization-code flow
//! (state, nonce and PKCE verifier in a short-lived cookie), the callback that checks them
//! and opens a session, and sign-out.

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;

use crate::domain::consent::Language;
use crate::store::ConsoleSession;
use crate::web::console::error::{bare_page, ConsoleError};
use crate::web::console::i18n::T;
use crate::web::console::layout::html_headers;
use crate::web::console::oidc::{self, Pending};
use crate::web::console::session::{
    cookie, random_token, set_cookie, set_cookie_header, sha256_hex, ConsoleForm, Staff,
    SESSION_COOKIE,
};
use crate::web::AppState;

/// The cookie of a sign-in in progress (state, nonce, PKCE verifier).
const AUTH_COOKIE: &str = "sw_console_auth";

#[derive(Deserialize)]
pub struct SignInQuery {
    #[serde(default)]
    expired: Option<String>,
    #[serde(default)]
    out: Option<String>,
}

fn both(t: T) -> maud::Markup {
    html! { (t.get(Language::Ru)) br; span lang="kk" { (t.get(Language::Kk)) } }
}

/// The sign-in page (both languages: nobody is known yet).
pub async fn page(State(state): State<AppState>, Query(q): Query<SignInQuery>) -> Response {
    let configured = state.console.oidc.is_some();
    let markup = bare_page(
        T::SignInTitle.get(Language::Ru),
        html! {
            h1 { (T::SignInTitle.get(Language::Ru)) br; span lang="kk" { (T::SignInTitle.get(Language::Kk)) } }
            @if q.expired.is_some() { p class="flash problem" role="alert" { (both(T::SessionExpired)) } }
            @if q.out.is_some() { p class="flash done" role="status" { (both(T::SignedOut)) } }
            p { (both(T::SignInText)) }
            @if configured {
                p { a class="button" id="sign-in" href="/console/auth/start" {
                    (T::SignInButton.get(Language::Ru)) " / " (T::SignInButton.get(Language::Kk))
                } }
            } @else {
                p class="error" { (both(T::SignInNotConfigured)) }
            }
        },
    );
    (html_headers(), markup).into_response()
}

/// Starts the authorization-code flow at the identity provider.
pub async fn start(State(state): State<AppState>) -> Result<Response, ConsoleError> {
    let client = state.console.oidc.as_ref().ok_or(ConsoleError::NotFound)?;
    let doc = oidc::discover(client).await.map_err(|e| {
        tracing::warn!(error = %e, "console sign-in: discovery failed");
        ConsoleError::SignInFailed
    })?;
    let pending = Pending {
        state: random_token()?,
        nonce: random_token()?,
        verifier: random_token()?,
    };
    let target = oidc::authorization_url(&doc, client, &pending).map_err(|e| {
        tracing::warn!(error = %e, "console sign-in: bad authorization endpoint");
        ConsoleError::SignInFailed
    })?;
    let secure = state.console.secure_cookies;
    let cookie = set_cookie(
        AUTH_COOKIE,
        &pending.to_cookie(),
        "/console/auth",
        600,
        secure,
    );
    Ok((set_cookie_header(cookie), Redirect::to(&target)).into_response())
}

#[derive(Deserialize)]
pub struct Callback {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    state: Option<String>,
}

/// The provider sends the browser back: check `state`, redeem the code, open a session.
pub async fn callback(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(cb): Query<Callback>,
) -> Result<Response, ConsoleError> {
    let client = state.console.oidc.as_ref().ok_or(ConsoleError::NotFound)?;
    let pending = cookie(&headers, AUTH_COOKIE)
        .and_then(Pending::from_cookie)
        .ok_or(ConsoleError::SignInFailed)?;
    let (Some(code), Some(returned)) = (cb.code, cb.state) else {
        return Err(ConsoleError::SignInFailed);
    };
    if !crate::web::console::session::constant_time_eq(
        returned.as_bytes(),
        pending.state.as_bytes(),
    ) {
        tracing::warn!("console sign-in: state does not match");
        return Err(ConsoleError::SignInFailed);
    }
    let staff = async {
        let doc = oidc::discover(client).await?;
        oidc::finish(&doc, client, &code, &pending).await
    }
    .await
    .map_err(|e| {
        tracing::warn!(error = %e, "console sign-in failed");
        ConsoleError::SignInFailed
    })?;
    let id = random_token()?;
    let now = state.clock.now();
    let session = ConsoleSession {
        id_hash: sha256_hex(&id),
        subject: staff.sub,
        name: staff.name,
        role: staff.role,
        school: staff.school,
        csrf_token: random_token()?,
        created_at: now,
        expires_at: now + state.console.session_ttl,
    };
    state.store.create_console_session(&session).await?;
    tracing::info!(school = %session.school, role = %session.role, "console: staff signed in");
    let secure = state.console.secure_cookies;
    let max_age = state.console.session_ttl.whole_seconds();
    // Two cookies: `AppendHeaders`, since a header array would keep only the last one.
    let headers = axum::response::AppendHeaders([
        (
            axum::http::header::SET_COOKIE,
            set_cookie(SESSION_COOKIE, &id, "/console", max_age, secure),
        ),
        (
            axum::http::header::SET_COOKIE,
            set_cookie(AUTH_COOKIE, "", "/console/auth", 0, secure),
        ),
    ]);
    let home = format!("/console/schools/{}/today", session.school);
    Ok((headers, Redirect::to(&home)).into_response())
}

#[derive(Deserialize)]
pub struct LogoutForm {
    #[serde(default)]
    csrf: String,
}

/// Ends the session (the form must carry its CSRF token).
pub async fn logout(
    State(state): State<AppState>,
    staff: Staff,
    ConsoleForm(form): ConsoleForm<LogoutForm>,
) -> Result<Response, ConsoleError> {
    staff.check_csrf(&form.csrf)?;
    state
        .store
        .delete_console_session(&staff.session.id_hash)
        .await?;
    let cookie = set_cookie(
        SESSION_COOKIE,
        "",
        "/console",
        0,
        state.console.secure_cookies,
    );
    Ok((
        set_cookie_header(cookie),
        Redirect::to("/console/login?out=1"),
    )
        .into_response())
}
