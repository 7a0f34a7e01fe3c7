//! The HTTP surface: one router per audience, assembled here with the layers every request
//! passes (metrics, tracing, body limit, panic guard) and JSON errors for everything that
//! falls through (unknown route, wrong method).
//!
//! Routes are registered through `utoipa-axum`, so `/openapi.json` is generated from the
//! same code that serves the API and cannot drift from it.

mod accept;
mod binary;
mod calendar;
mod counter;
mod dev;
mod gas;
mod gas_list;
mod integration;
mod json;
mod openapi;
mod ops;
mod passes;
mod path;
mod prices;
mod reports;
mod school;
mod school_calendar;
mod school_terminals;
mod signals;
mod sms;
pub(crate) mod tabel;
mod terminals;
mod wallet;
mod wallet_events;

use std::any::Any;

use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Router;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;

pub use json::ApiJson;
pub use path::ApiPath;

use crate::web::error::ApiError;
use crate::web::AppState;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Social Wallet — free school meals",
        description = "Vouchers, dynamic QR passes, canteen terminals and табели."
    ),
    servers((url = "/", description = "The server this document was fetched from")),
    modifiers(&BearerAuth),
    tags(
        (name = "ops", description = "Health, readiness, metrics, this document"),
        (name = "wallet", description = "Parents in the eGov Mobile wallet"),
        (name = "school", description = "School staff"),
        (name = "integration", description = "PEP, NOBD, e-Otinish and other systems"),
        (name = "terminal", description = "Canteen terminals (device token)"),
        (name = "provider", description = "The gas provider (QazaqGaz Aimaq) and its offices"),
        (name = "dev", description = "Only with --demo"),
    )
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(format!(
                        "An access token of the identity provider. `aud` may be one audience \
                         or a list naming this service; a token with `crit` is refused. A \
                         refused token is answered 401 with one of these codes: {}.",
                        crate::web::auth::documented_codes("bearer")
                    )))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "device_token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(format!(
                        "A canteen terminal's device token from enrollment. A refused token \
                         is answered 401 with one of these codes: {}.",
                        crate::web::auth::documented_codes("device_token")
                    )))
                    .build(),
            ),
        );
    }
}

/// The routes this state serves, and their OpenAPI document.
pub fn api_router(state: &AppState) -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let (router, mut doc) = routes(state.max_list_bytes, state.demo.is_some()).split_for_parts();
    finish_document(&mut doc);
    (router, doc)
}

/// The OpenAPI document as a server serves it (`demo`: with the `/dev` routes), without a
/// server: for tests and tools that check the contract.
pub fn openapi_document(demo: bool) -> utoipa::openapi::OpenApi {
    // The list limit only sizes a body-limit layer; it does not show in the document.
    let mut doc = routes(1, demo).into_openapi();
    finish_document(&mut doc);
    doc
}

fn routes(max_list_bytes: usize, demo: bool) -> OpenApiRouter<AppState> {
    let api = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(openapi::public(ops::routes()))
        .merge(wallet::routes())
        .merge(passes::routes())
        .merge(school::routes())
        .merge(school_terminals::routes())
        .merge(counter::routes())
        .merge(tabel::routes())
        .merge(terminals::routes())
        .merge(sms::routes())
        .merge(integration::routes(max_list_bytes))
        .merge(reports::routes())
        .merge(prices::routes())
        .merge(calendar::routes())
        .merge(school_calendar::routes())
        .merge(signals::routes())
        .merge(wallet_events::routes())
        .merge(gas::routes(max_list_bytes));
    if demo {
        api.merge(openapi::public(dev::routes()))
    } else {
        api
    }
}

fn finish_document(doc: &mut utoipa::openapi::OpenApi) {
    // Errors every operation can answer (401/403/400/413/415/422/404), in one place.
    openapi::add_common_responses(doc);
    // Public operations as `security: []` (see `openapi`).
    openapi::explicit_public_security(doc);
}

/// The whole application: the API, the `pages` beside it (the school console's HTML, not in
/// the OpenAPI document), and what every request goes through (limits, metrics, tracing).
pub fn router(state: AppState, pages: Router<AppState>) -> Router {
    let (api, openapi) = api_router(&state);
    let openapi = std::sync::Arc::new(openapi);
    let max_body = state.max_body_bytes;
    let api = api.merge(pages);
    api.route(
        "/openapi.json",
        axum::routing::get(move || {
            let doc = openapi.clone();
            async move { axum::Json(doc.as_ref().clone()) }
        }),
    )
    .fallback(unknown_route)
    .method_not_allowed_fallback(method_not_allowed)
    .layer(DefaultBodyLimit::max(max_body))
    .layer(axum::middleware::from_fn_with_state(
        state.metrics.clone(),
        crate::metrics::track,
    ))
    .layer(
        TraceLayer::new_for_http()
            .make_span_with(|req: &axum::http::Request<axum::body::Body>| {
                let path = MaskedPath(req.uri().path());
                tracing::info_span!("http", method = %req.method(), %path)
            })
            .on_response(DefaultOnResponse::new().level(tracing::Level::INFO)),
    )
    .layer(CatchPanicLayer::custom(panic_response))
    .with_state(state)
}

/// An instant as RFC 3339 (UTC), the form every JSON answer uses.
pub(crate) fn rfc3339(t: time::OffsetDateTime) -> String {
    t.to_offset(time::UtcOffset::UTC)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| t.to_string())
}

/// No route takes an IIN in its path, but a client may still put one there (a typo, a
/// probe); it must not reach the log in full. Written only when the span is recorded: a
/// request whose span the log filters out costs nothing here.
struct MaskedPath<'a>(&'a str);

impl std::fmt::Display for MaskedPath<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, segment) in self.0.split('/').enumerate() {
            if i > 0 {
                f.write_str("/")?;
            }
            match segment.parse::<shared::Iin>() {
                Ok(iin) => write!(f, "{iin}")?,
                Err(_) => f.write_str(segment)?,
            }
        }
        Ok(())
    }
}

async fn unknown_route() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such route")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this route does not accept that method",
    )
}

fn panic_response(_: Box<dyn Any + Send + 'static>) -> Response {
    tracing::error!("a request handler panicked");
    ApiError::internal().into_response()
}

#[cfg(test)]
mod tests {
    #[test]
    fn iins_in_paths_are_masked_for_the_log() {
        assert_eq!(
            super::MaskedPath("/v1/wallet/vouchers/041206500121/history").to_string(),
            "/v1/wallet/vouchers/0412******21/history"
        );
        // A BIN-shaped segment that is not a valid IIN stays as it is.
        assert_eq!(
            super::MaskedPath("/v1/schools/050140001238/vouchers").to_string(),
            "/v1/schools/050140001238/vouchers"
        );
    }
}
