//! `--demo` only: a development identity provider and a movable clock. These routes are not
//! mounted without `--demo`, so they answer 404 in production.

use axum::extract::State;
use serde::{Deserialize, Serialize};
use shared::{Bin, Iin};
use time::OffsetDateTime;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::ApiJson;
use crate::domain::Role;
use crate::web::error::ApiError;
use crate::web::{AppState, DemoTools};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(token))
        .routes(routes!(clock))
}

fn demo(state: &AppState) -> Result<&DemoTools, ApiError> {
    state.demo.as_deref().ok_or_else(ApiError::not_found)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    /// A parent's IIN, or any subject id for staff and integrations.
    sub: String,
    role: Role,
    /// The school's BIN, required for `social_pedagogue` and `director`.
    school: Option<String>,
    /// The person's full name (the OpenID `name` claim), e.g. the director who approves a
    /// табель.
    #[schema(max_length = 200)]
    name: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct TokenResponse {
    token: String,
}

/// Issue a signed access token (demo only).
#[utoipa::path(post, path = "/dev/token", tag = "dev", request_body = TokenRequest,
    responses((status = 200, body = TokenResponse), (status = 400, body = crate::web::error::ErrorBody)))]
async fn token(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<TokenRequest>,
) -> Result<ApiJson<TokenResponse>, ApiError> {
    let tools = demo(&state)?;
    if req.role == Role::Parent && req.sub.parse::<Iin>().is_err() {
        return Err(ApiError::bad_request(
            "invalid_sub",
            "for role parent, `sub` must be a valid IIN",
        ));
    }
    let staff = matches!(req.role, Role::SocialPedagogue | Role::Director);
    match (&req.school, staff) {
        (Some(bin), true) if bin.parse::<Bin>().is_ok() => {}
        (_, true) => {
            return Err(ApiError::bad_request(
                "invalid_school",
                "school staff tokens need `school`: a valid BIN",
            ))
        }
        (Some(_), false) => {
            return Err(ApiError::bad_request(
                "invalid_school",
                "only school staff tokens carry `school`",
            ))
        }
        (None, false) => {}
    }
    if req.name.as_deref().is_some_and(|n| n.chars().count() > 200) {
        return Err(ApiError::bad_request(
            "invalid_name",
            "`name` must be at most 200 characters",
        ));
    }
    if req.sub.trim().is_empty() {
        return Err(ApiError::bad_request(
            "invalid_sub",
            "`sub` must not be empty",
        ));
    }
    // Signed in real time, not the demo clock: the verifier checks `exp` against the
    // machine's clock, and a demo clock started in the past would mint expired tokens.
    let token = tools
        .idp
        .issue_named(
            &req.sub,
            req.role,
            req.school.as_deref(),
            req.name.as_deref(),
            OffsetDateTime::now_utc(),
        )
        .map_err(|e| {
            tracing::error!(error = %e, "signing a demo token failed");
            ApiError::internal()
        })?;
    Ok(ApiJson(TokenResponse { token }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClockRequest {
    /// The new current time, RFC 3339; must not be earlier than the current one.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    now: OffsetDateTime,
}

#[derive(Serialize, ToSchema)]
pub struct ClockResponse {
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    now: OffsetDateTime,
}

/// Move the server's clock forward (demo only), e.g. to pass a deadline.
#[utoipa::path(post, path = "/dev/clock", tag = "dev", request_body = ClockRequest,
    responses((status = 200, body = ClockResponse), (status = 409, body = crate::web::error::ErrorBody)))]
async fn clock(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<ClockRequest>,
) -> Result<ApiJson<ClockResponse>, ApiError> {
    let tools = demo(&state)?;
    tools.clock.set(req.now).map_err(|e| {
        ApiError::conflict(
            "clock_backwards",
            format!(
                "the clock only moves forward: {} is before {}",
                rfc3339(e.requested),
                rfc3339(e.now)
            ),
        )
    })?;
    tracing::info!(now = %req.now, "demo clock moved");
    // Deadlines that came due with the move run now, not at the next poll.
    state.ports.wake_jobs();
    state.ports.wake_outbox();
    Ok(ApiJson(ClockResponse {
        now: state.clock.now(),
    }))
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| t.to_string())
}
