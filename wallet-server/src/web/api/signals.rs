//! Signals of misuse for the integration role (issue 19): every school's signals of a day,
//! `GET /v1/integration/signals?day=…`, and computing a day again, `POST` on the same path.
//! Each signal is what was seen, with its evidence; never a verdict.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use time::Date;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::ApiJson;
use crate::domain::signals::{Evidence, SignalKind};
use crate::services::signals::{self, DenialError};
use crate::store::StoredSignal;
use crate::web::auth::Integration;
use crate::web::error::{ApiError, ErrorBody};
use crate::web::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(day_signals, compute_signals))
}

/// A push with too many refused scans stores nothing of them (422 `too_many_denials`).
impl From<DenialError> for ApiError {
    fn from(e: DenialError) -> Self {
        match e {
            DenialError::TooMany => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "too_many_denials",
                e.to_string(),
            ),
            DenialError::Store(e) => e.into(),
        }
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DayQuery {
    /// `YYYY-MM-DD` (Astana).
    #[param(format = Date)]
    pub day: String,
}

/// One signal of one school.
#[derive(Serialize, ToSchema)]
pub struct SignalView {
    /// The school's BIN.
    pub school: String,
    #[schema(format = Date)]
    pub day: String,
    pub kind: SignalKind,
    /// Tells two signals of one kind apart: a masked nonce, voucher or parent key, a
    /// terminal's name, `outside_slots`, `non_school_day` or `school`.
    pub subject: String,
    /// What was seen (at most 20 items): times, terminals (another school's unnamed),
    /// masked ids, a note code.
    pub evidence: Vec<Evidence>,
    #[schema(format = DateTime)]
    pub computed_at: String,
}

impl From<StoredSignal> for SignalView {
    fn from(s: StoredSignal) -> Self {
        SignalView {
            school: s.signal.school.to_string(),
            day: s.signal.day.to_string(),
            kind: s.signal.kind,
            subject: s.signal.subject,
            evidence: s.signal.evidence,
            computed_at: super::rfc3339(s.computed_at),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct DaySignals {
    #[schema(format = Date)]
    pub day: String,
    /// By school, kind and subject.
    pub signals: Vec<SignalView>,
}

/// A day from the query: a day that has not begun has no signals.
fn past_or_today(state: &AppState, query: &DayQuery) -> Result<Date, ApiError> {
    let day = shared::time::parse_date(&query.day)?;
    if day > shared::time::service_day(state.clock.now()) {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "date_in_future",
            "a day that has not begun has no signals",
        ));
    }
    Ok(day)
}

async fn answer(state: &AppState, day: Date) -> Result<ApiJson<DaySignals>, ApiError> {
    let stored = signals::of_day(state.store.as_ref(), day).await?;
    Ok(ApiJson(DaySignals {
        day: day.to_string(),
        signals: stored.into_iter().map(SignalView::from).collect(),
    }))
}

/// Every school's signals of misuse of one day, as the daily job (or the last
/// `POST` on the same path) found them.
#[utoipa::path(get, path = "/v1/integration/signals", tag = "integration",
    params(DayQuery),
    security(("bearer" = [])),
    responses((status = 200, body = DaySignals),
        (status = 400, description = "invalid_query (an unknown or missing parameter)", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 422, description = "invalid_date (not YYYY-MM-DD), date_out_of_range (a year \
            outside 2000 to 2100) or date_in_future", body = ErrorBody)))]
async fn day_signals(
    State(state): State<AppState>,
    _caller: Integration,
    query: Result<Query<DayQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<ApiJson<DaySignals>, ApiError> {
    let Query(query) = query?;
    let day = past_or_today(&state, &query)?;
    answer(&state, day).await
}

/// Computes a day's signals again (every school), replacing what was stored, and answers
/// them: after late pushes, or for today so far.
#[utoipa::path(post, path = "/v1/integration/signals", tag = "integration",
    params(DayQuery),
    security(("bearer" = [])),
    responses((status = 200, body = DaySignals),
        (status = 400, description = "invalid_query (an unknown or missing parameter)", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 422, description = "invalid_date (not YYYY-MM-DD), date_out_of_range (a year \
            outside 2000 to 2100) or date_in_future", body = ErrorBody)))]
async fn compute_signals(
    State(state): State<AppState>,
    _caller: Integration,
    query: Result<Query<DayQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<ApiJson<DaySignals>, ApiError> {
    let Query(query) = query?;
    let day = past_or_today(&state, &query)?;
    signals::compute_day(state.store.as_ref(), day, state.clock.now()).await?;
    answer(&state, day).await
}
