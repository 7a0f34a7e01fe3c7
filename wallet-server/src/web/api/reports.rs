//! The daily NOBD report for integrations: `GET /v1/integration/reports/daily?date=…`.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::ApiJson;
use crate::domain::report::DailyReport;
use crate::services::reports;
use crate::web::auth::Integration;
use crate::web::error::{ApiError, ErrorBody};
use crate::web::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(daily_report))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ReportQuery {
    /// `YYYY-MM-DD` (Astana).
    #[param(format = Date)]
    pub date: String,
}

/// The daily report to NOBD for one day: the stored one once the day's job has built it,
/// otherwise built from the current data.
#[utoipa::path(get, path = "/v1/integration/reports/daily", tag = "integration",
    params(ReportQuery),
    security(("bearer" = [])),
    responses((status = 200, body = DailyReport),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 422, description = "invalid_date (not YYYY-MM-DD), date_out_of_range (a year \
            outside 2000 to 2100) or date_in_future", body = ErrorBody)))]
async fn daily_report(
    State(state): State<AppState>,
    _caller: Integration,
    query: Result<Query<ReportQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<ApiJson<DailyReport>, ApiError> {
    let Query(query) = query?;
    let day = shared::time::parse_date(&query.date)?;
    if day > shared::time::service_day(state.clock.now()) {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "date_in_future",
            "there is no report for a day that has not begun",
        ));
    }
    Ok(ApiJson(
        reports::report_for(state.store.as_ref(), state.clock.as_ref(), day, false).await?,
    ))
}
