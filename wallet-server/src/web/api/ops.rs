//! Operations endpoints: liveness, readiness (the database answers), Prometheus metrics.
//! `/openapi.json` is mounted by the router, which owns the generated document.

use axum::extract::State;
use axum::http::header::{ACCEPT, CONTENT_TYPE};
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::ApiJson;
use crate::metrics::Format;
use crate::services;
use crate::web::error::ApiError;
use crate::web::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(readyz))
        .routes(routes!(metrics))
}

#[derive(Serialize, ToSchema)]
pub struct Health {
    status: &'static str,
}

#[derive(Serialize, ToSchema)]
pub struct Readiness {
    status: &'static str,
    database: &'static str,
}

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "ops",
    responses((status = 200, body = Health)))]
async fn healthz() -> ApiJson<Health> {
    ApiJson(Health { status: "ok" })
}

/// Longest wait for the database's answer to the readiness check.
const READY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// The process can serve: its database answers.
#[utoipa::path(get, path = "/readyz", tag = "ops",
    responses((status = 200, body = Readiness), (status = 503, body = crate::web::error::ErrorBody)))]
async fn readyz(State(state): State<AppState>) -> Result<ApiJson<Readiness>, ApiError> {
    // Bounded: a database that is down must make this answer 503 quickly, not hang for
    // the pool's whole connection wait.
    match tokio::time::timeout(READY_TIMEOUT, state.store.ping()).await {
        Ok(Ok(())) => Ok(ApiJson(Readiness {
            status: "ready",
            database: state.store.backend().as_str(),
        })),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness check failed");
            Err(ApiError::unavailable("the database does not answer"))
        }
        Err(_) => {
            tracing::warn!("readiness check timed out");
            Err(ApiError::unavailable("the database does not answer"))
        }
    }
}

/// Prometheus metrics: text format 0.0.4, or OpenMetrics 1.0 when asked for.
///
/// Every family has help text. The format follows `Accept`: `application/openmetrics-text`
/// (when preferred over the rest) gets OpenMetrics 1.0; anything else, or no `Accept`, the
/// Prometheus text format 0.0.4. Store-derived gauges are read at scrape time, each within
/// 2 s.
#[utoipa::path(get, path = "/metrics", tag = "ops",
    responses((status = 200, description = "The metrics, in the format `Accept` asks for: \
        `text/plain; version=0.0.4; charset=utf-8` or \
        `application/openmetrics-text; version=1.0.0; charset=utf-8`", content(
        (String = "text/plain"),
        (String = "application/openmetrics-text")))))]
async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> impl IntoResponse {
    let accept = headers
        .get(ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let format = exposition_format(accept);
    let snapshot = services::ops::snapshot(state.store.as_ref(), state.clock.now()).await;
    (
        [(CONTENT_TYPE, format.content_type())],
        state.metrics.render(&snapshot, format),
    )
}

/// OpenMetrics only when the scraper prefers it to the text format.
fn exposition_format(accept: &str) -> Format {
    super::accept::preferred(accept, |media| match media {
        "application/openmetrics-text" => Some(Format::OpenMetrics),
        "text/plain" | "text/*" | "*/*" => Some(Format::Text004),
        _ => None,
    })
    .unwrap_or(Format::Text004)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openmetrics_only_when_preferred() {
        let prometheus = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;\
                          version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
        assert_eq!(exposition_format(prometheus), Format::OpenMetrics);
        assert_eq!(
            exposition_format("text/plain; version=0.0.4"),
            Format::Text004
        );
        assert_eq!(exposition_format(""), Format::Text004);
        assert_eq!(exposition_format("*/*"), Format::Text004);
        assert_eq!(exposition_format("application/json"), Format::Text004);
        assert_eq!(
            exposition_format("text/plain;q=0.9, application/openmetrics-text;q=0.5"),
            Format::Text004
        );
        assert_eq!(
            exposition_format("application/openmetrics-text;q=0"),
            Format::Text004
        );
    }
}
