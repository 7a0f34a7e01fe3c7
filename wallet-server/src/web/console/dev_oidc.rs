//! `--demo` only: the development identity provider as a minimal OpenID Connect provider
//! (discovery, an authorize page where you pick a role and a demo school, a token endpoint
//! checking PKCE, JWKS), so the demo console signs in through the same client code as
//! production. Not mounted without `--demo`.

use std::collections::HashMap;
use std::sync::Mutex;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Json, Router};
use maud::html;
use serde::Deserialize;
use time::OffsetDateTime;

use super::error::{bare_page, ConsoleError};
use super::oidc::challenge;
use super::session::{constant_time_eq, random_token};
use crate::demo::{DEMO_SCHOOL_BIN, OTHER_SCHOOL_BIN};
use crate::domain::Role;
use crate::web::AppState;

/// An issued, not yet redeemed authorization code.
#[derive(Debug, Clone)]
pub struct DevCode {
    client_id: String,
    redirect_uri: String,
    code_challenge: String,
    nonce: String,
    role: Role,
    school: String,
    expires_at: OffsetDateTime,
}

/// Codes waiting for the token endpoint (one use each, two minutes).
pub type DevCodes = Mutex<HashMap<String, DevCode>>;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/dev/oidc/.well-known/openid-configuration", get(discovery))
        .route("/dev/oidc/jwks", get(jwks))
        .route("/dev/oidc/authorize", get(authorize_page).post(authorize))
        .route("/dev/oidc/token", axum::routing::post(token))
}

fn issuer(state: &AppState) -> String {
    format!("{}/dev/oidc", state.console.public_url)
}

async fn discovery(State(state): State<AppState>) -> Json<serde_json::Value> {
    let iss = issuer(&state);
    Json(serde_json::json!({
        "issuer": iss,
        "authorization_endpoint": format!("{iss}/authorize"),
        "token_endpoint": format!("{iss}/token"),
        "jwks_uri": format!("{iss}/jwks"),
        "response_types_supported": ["code"],
        "grant_types_supported": ["authorization_code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["EdDSA"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["none", "client_secret_post"],
    }))
}

async fn jwks(State(state): State<AppState>) -> Result<Json<serde_json::Value>, ConsoleError> {
    let tools = state.demo.as_ref().ok_or(ConsoleError::NotFound)?;
    Ok(Json(tools.idp.jwks()))
}

/// The authorization request, as the console sends it.
#[derive(Debug, Clone, Deserialize)]
pub struct AuthRequest {
    #[serde(default)]
    response_type: String,
    #[serde(default)]
    client_id: String,
    #[serde(default)]
    redirect_uri: String,
    #[serde(default)]
    state: String,
    #[serde(default)]
    nonce: String,
    #[serde(default)]
    code_challenge: String,
    #[serde(default)]
    code_challenge_method: String,
    /// Chosen on the page: `social_pedagogue` or `director`.
    #[serde(default)]
    role: Option<String>,
    /// Chosen on the page: a demo school's BIN.
    #[serde(default)]
    school: Option<String>,
}

/// Only the console's own client, redirect and S256 are accepted.
fn check(state: &AppState, req: &AuthRequest) -> Result<(), ConsoleError> {
    let client = state.console.oidc.as_ref().ok_or(ConsoleError::NotFound)?;
    let ok = req.response_type == "code"
        && req.client_id == client.client_id
        && req.redirect_uri == client.redirect_url
        && req.code_challenge_method == "S256"
        && req.code_challenge.len() == 43
        && !req.state.is_empty()
        && !req.nonce.is_empty();
    if ok {
        Ok(())
    } else {
        Err(ConsoleError::BadRequest)
    }
}

async fn authorize_page(
    State(state): State<AppState>,
    Query(req): Query<AuthRequest>,
) -> Result<Response, ConsoleError> {
    check(&state, &req)?;
    let mut schools = Vec::new();
    for bin in [DEMO_SCHOOL_BIN, OTHER_SCHOOL_BIN] {
        let parsed = bin.parse().map_err(|_| ConsoleError::Internal)?;
        if let Some(s) = state.store.school(parsed).await? {
            schools.push((bin, s.name));
        }
    }
    let hidden = [
        ("response_type", &req.response_type),
        ("client_id", &req.client_id),
        ("redirect_uri", &req.redirect_uri),
        ("state", &req.state),
        ("nonce", &req.nonce),
        ("code_challenge", &req.code_challenge),
        ("code_challenge_method", &req.code_challenge_method),
    ];
    let page = bare_page(
        "Демо-вход / Демо кіру",
        html! {
            h1 { "Демо-вход " span lang="kk" { "/ Демо кіру" } }
            p class="notice" {
                "Учебный поставщик входа: только в режиме --demo. Выберите роль и школу. "
                span lang="kk" { "Оқу кіру жүйесі: тек --demo режимінде. Рөл мен мектепті таңдаңыз." }
            }
            form method="post" action="/dev/oidc/authorize" class="stack" {
                @for (name, value) in hidden {
                    input type="hidden" name=(name) value=(value);
                }
                fieldset {
                    legend { "Роль / Рөл" }
                    label { input type="radio" name="role" value="social_pedagogue" checked; " Социальный педагог / Әлеуметтік педагог" }
                    label { input type="radio" name="role" value="director"; " Директор" }
                }
                label for="school" { "Школа / Мектеп" }
                select id="school" name="school" {
                    @for (bin, name) in &schools {
                        option value=(bin) { (name) " — БИН " (bin) }
                    }
                }
                button type="submit" id="demo-sign-in" { "Войти / Кіру" }
            }
        },
    );
    Ok((super::layout::html_headers(), page).into_response())
}

async fn authorize(
    State(state): State<AppState>,
    Form(req): Form<AuthRequest>,
) -> Result<Response, ConsoleError> {
    check(&state, &req)?;
    let tools = state.demo.as_ref().ok_or(ConsoleError::NotFound)?;
    let role = match req.role.as_deref() {
        Some("social_pedagogue") => Role::SocialPedagogue,
        Some("director") => Role::Director,
        _ => return Err(ConsoleError::BadRequest),
    };
    let school = req.school.clone().unwrap_or_default();
    if ![DEMO_SCHOOL_BIN, OTHER_SCHOOL_BIN].contains(&school.as_str()) {
        return Err(ConsoleError::BadRequest);
    }
    let code = random_token()?;
    let entry = DevCode {
        client_id: req.client_id.clone(),
        redirect_uri: req.redirect_uri.clone(),
        code_challenge: req.code_challenge.clone(),
        nonce: req.nonce.clone(),
        role,
        school,
        expires_at: state.clock.now() + time::Duration::minutes(2),
    };
    tools
        .oidc_codes
        .lock()
        .map_err(|_| ConsoleError::Internal)?
        .insert(code.clone(), entry);
    let target = reqwest::Url::parse_with_params(
        &req.redirect_uri,
        &[("code", code.as_str()), ("state", req.state.as_str())],
    )
    .map_err(|_| ConsoleError::BadRequest)?;
    Ok(Redirect::to(target.as_str()).into_response())
}

/// The demo person signed in with a role, as the `name` claim gives it.
fn demo_name(role: Role) -> &'static str {
    match role {
        Role::Director => "Сейткали Айгуль Бекболатовна",
        _ => "Нұрланова Сәуле Маратқызы",
    }
}

#[derive(Debug, Deserialize)]
struct TokenRequest {
    #[serde(default)]
    grant_type: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    redirect_uri: String,
    #[serde(default)]
    client_id: String,
    #[serde(default)]
    code_verifier: String,
}

fn grant_error(what: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(serde_json::json!({"error": "invalid_grant", "error_description": what})),
    )
        .into_response()
}

async fn token(State(state): State<AppState>, Form(req): Form<TokenRequest>) -> Response {
    let Some(tools) = state.demo.as_ref() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    if req.grant_type != "authorization_code" {
        return grant_error("only authorization_code");
    }
    // One use: the code is gone whatever happens next.
    let entry = match tools.oidc_codes.lock() {
        Ok(mut codes) => codes.remove(&req.code),
        Err(_) => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    };
    let now = state.clock.now();
    let Some(entry) = entry.filter(|e| e.expires_at > now) else {
        return grant_error("unknown, used or expired code");
    };
    let pkce = challenge(&req.code_verifier);
    if req.client_id != entry.client_id
        || req.redirect_uri != entry.redirect_uri
        || !constant_time_eq(pkce.as_bytes(), entry.code_challenge.as_bytes())
    {
        return grant_error("client, redirect or PKCE verifier does not match");
    }
    let mut claims = serde_json::Map::new();
    claims.insert(
        "sub".into(),
        format!("demo-{}-{}", entry.role, entry.school).into(),
    );
    claims.insert("role".into(), entry.role.to_string().into());
    claims.insert("school".into(), entry.school.clone().into());
    claims.insert("nonce".into(), entry.nonce.clone().into());
    // A real identity provider names the person; the demo one names each role's demo person.
    claims.insert("name".into(), demo_name(entry.role).into());
    // Real time, as the verifier checks it (see `/dev/token`).
    let signed_at = time::OffsetDateTime::now_utc();
    match tools
        .idp
        .issue_id_token(claims, &issuer(&state), &entry.client_id, signed_at)
    {
        Ok(id_token) => Json(serde_json::json!({
            "access_token": id_token, "token_type": "Bearer", "expires_in": 600, "id_token": id_token,
        }))
        .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "dev OIDC: signing an id token failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}
