//! `POST /v1/wallet/vouchers/{id}/passes`: mint a dynamic QR pass and answer it as PNG, SVG
//! or JSON, whichever the `Accept` header prefers.

use axum::extract::{FromRequestParts, State};
use axum::http::header::{ACCEPT, CACHE_CONTROL, CONTENT_TYPE};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::binary::Binary;
use super::rfc3339;
use super::wallet::voucher_id;
use super::ApiPath;
use crate::metrics::MintOutcome;
use crate::services::passes::{self, mint, render, IssueError};
use crate::web::auth::Parent;
use crate::web::error::{ApiError, ErrorBody};
use crate::web::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(mint_pass))
        .routes(routes!(pass_keys))
}

/// The public keys passes are verified with (current and recently rotated ones).
#[derive(Serialize, ToSchema)]
pub struct PassKeys {
    /// Ed25519 public keys, hex, with their key ids.
    pub keys: Vec<shared::pass::PublicKey>,
    /// The key new passes are signed with.
    pub current: String,
}

/// Public verification keys of passes. Public by nature: anyone may verify a pass.
#[utoipa::path(get, path = "/v1/pass-keys", tag = "wallet", security(()),
    responses((status = 200, body = PassKeys)))]
async fn pass_keys(State(state): State<AppState>) -> super::ApiJson<PassKeys> {
    let ring = state.keys.read();
    super::ApiJson(PassKeys {
        keys: ring.published(),
        current: ring.current().kid().to_string(),
    })
}

/// Pixels per QR module in PNG passes: crisp on a phone screen, ~420 px square.
const PNG_MODULE_PX: u32 = 8;

/// The pass as JSON (DESIGN.md §7.1).
#[derive(Serialize, ToSchema)]
pub struct PassJson {
    /// The QR text, `SW1:…`.
    pub text: String,
    #[schema(format = DateTime)]
    pub valid_from: String,
    #[schema(format = DateTime)]
    pub valid_until: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum PassFormat {
    Json,
    Png,
    Svg,
}

/// The format the request's `Accept` header prefers, `None` when it accepts none of ours;
/// read where the header lies (the headers are not copied). Refused by the handler, after
/// the voucher id: a malformed id answers the same whatever the client accepts.
pub(super) struct Wanted(Option<PassFormat>);

impl<S: Send + Sync> FromRequestParts<S> for Wanted {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let accept = parts.headers.get(ACCEPT).and_then(|v| v.to_str().ok());
        Ok(Wanted(negotiate(accept)))
    }
}

/// Picks the best format the client accepts (quality values honoured, JSON when the client
/// does not say); `None` when it accepts none of ours.
pub(super) fn negotiate(accept: Option<&str>) -> Option<PassFormat> {
    let Some(accept) = accept.filter(|a| !a.trim().is_empty()) else {
        return Some(PassFormat::Json);
    };
    super::accept::preferred(accept, |media| match media {
        "application/json" | "application/*" | "*/*" => Some(PassFormat::Json),
        "image/png" | "image/*" => Some(PassFormat::Png),
        "image/svg+xml" => Some(PassFormat::Svg),
        _ => None,
    })
}

/// Mint a pass for an activated voucher: PNG (`image/png`), SVG (`image/svg+xml`) or JSON.
#[utoipa::path(post, path = "/v1/wallet/vouchers/{id}/passes", tag = "wallet",
    params(("id" = String, Path, format = Uuid, description = "Voucher id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The pass", content(
            (PassJson = "application/json"),
            (inline(Binary) = "image/png"),
            (String = "image/svg+xml")),
            headers(
                ("cache-control" = String, description = "`no-store`: a pass is never cached"),
                ("pass-valid-until" = String, description = "End of the pass' validity (RFC 3339)"))),
        (status = 404, body = ErrorBody),
        (status = 406, description = "No acceptable format", body = ErrorBody),
        (status = 409, description = "voucher_not_activated, voucher_expired, voucher_revoked, \
            or outside_programme (today is outside the programme's dates: nothing is minted)", body = ErrorBody),
        (status = 429, description = "Too many passes for this voucher; see Retry-After", body = ErrorBody,
            headers(("retry-after" = String, description = "Seconds until the next pass may be minted")))))]
pub(super) async fn mint_pass(
    State(state): State<AppState>,
    parent: Parent,
    ApiPath(id): ApiPath<String>,
    Wanted(format): Wanted,
) -> Result<Response, ApiError> {
    let id = voucher_id(&id)?;
    let format = format.ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_ACCEPTABLE,
            "not_acceptable",
            "passes come as application/json, image/png or image/svg+xml",
        )
    })?;
    let now = state.clock.now();
    let minting = passes::Minting {
        keys: &state.keys,
        limiter: &state.mint_limiter,
        programme: state.programme_dates,
        notes: &state.mint_notes,
    };
    let issued = passes::issue(&state.store, &minting, parent.iin, id, now).await;
    let pass = match issued {
        Ok(pass) => pass,
        Err(IssueError::TooMany(retry_after)) => {
            state.metrics.pass(MintOutcome::RateLimited);
            return Ok(too_many(retry_after));
        }
        Err(IssueError::Voucher(e)) => return Err(e.into()),
        Err(IssueError::Store(e)) => return Err(e.into()),
        Err(e @ IssueError::OutsideProgramme(_)) => {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "outside_programme",
                e.to_string(),
            ))
        }
        Err(IssueError::Signing(e)) => {
            tracing::error!(error = %e, "minting a pass failed");
            return Err(ApiError::internal());
        }
    };
    state.metrics.pass(MintOutcome::Minted);
    // The access log has the request and the metric counts it: one info line per request is
    // enough at thousands of mints a second.
    tracing::debug!(voucher = %id, "pass minted");
    respond(format, pass)
}

fn respond(format: PassFormat, pass: mint::MintedPass) -> Result<Response, ApiError> {
    let render_failed = |e: render::RenderError| {
        tracing::error!(error = %e, "rendering a pass failed");
        ApiError::internal()
    };
    let valid_until = rfc3339(pass.valid_until);
    let (content_type, body) = match format {
        PassFormat::Json => {
            let json = PassJson {
                text: pass.text,
                valid_from: rfc3339(pass.valid_from),
                valid_until: valid_until.clone(),
            };
            let body = serde_json::to_vec(&json).map_err(|_| ApiError::internal())?;
            ("application/json", body)
        }
        PassFormat::Png => (
            "image/png",
            render::png(&pass.text, PNG_MODULE_PX).map_err(render_failed)?,
        ),
        PassFormat::Svg => (
            "image/svg+xml",
            render::svg(&pass.text).map_err(render_failed)?.into_bytes(),
        ),
    };
    let mut response = (StatusCode::OK, body).into_response();
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    // A pass is a bearer credential for today's meal: never cache it anywhere.
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(v) = HeaderValue::from_str(&valid_until) {
        headers.insert("pass-valid-until", v);
    }
    Ok(response)
}

fn too_many(retry_after: time::Duration) -> Response {
    let seconds = retry_after.whole_seconds().max(1);
    ApiError::too_many_requests(
        "too_many_passes",
        format!("too many passes for this voucher; try again in {seconds} s"),
        retry_after,
    )
}

#[cfg(test)]
mod tests {
    use super::{negotiate, PassFormat::*};

    #[test]
    fn accept_headers_pick_the_preferred_format() {
        assert_eq!(negotiate(None), Some(Json));
        assert_eq!(negotiate(Some("")), Some(Json));
        assert_eq!(negotiate(Some("image/png")), Some(Png));
        assert_eq!(negotiate(Some("image/svg+xml")), Some(Svg));
        assert_eq!(negotiate(Some("*/*")), Some(Json));
        assert_eq!(negotiate(Some("image/*")), Some(Png));
        assert_eq!(negotiate(Some("application/json, image/png")), Some(Json));
        assert_eq!(negotiate(Some("image/png;q=0.5, image/svg+xml")), Some(Svg));
        assert_eq!(negotiate(Some("text/html, image/png;q=0.1")), Some(Png));
        assert_eq!(negotiate(Some("IMAGE/PNG")), Some(Png));
        assert_eq!(negotiate(Some("text/html")), None);
        assert_eq!(negotiate(Some("image/png;q=0")), None);
    }
}
