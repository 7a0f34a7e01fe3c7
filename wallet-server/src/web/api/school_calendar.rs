//! The school calendar for school staff: the school's calendar of a school year (its week,
//! region, breaks in force, declared dates and every day off), and — for the director — the
//! school's five- or six-day week, its own breaks, and the confirmation of a meal served on
//! a non-school day so that the табель bills it.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::calendar::{
    new_break, parse_key, parse_year, year_or_now, BreakJson, DeclaredDayJson, YearQuery,
};
use super::school::staff_actor;
use super::{ApiJson, ApiPath};
use crate::domain::calendar::{BreakScope, CalendarChange, SchoolWeek};
use crate::services::calendar;
use crate::services::tabel::off_day::{self, ConfirmError};
use crate::web::auth::SchoolStaff;
use crate::web::error::{ApiError, ErrorBody};
use crate::web::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(school_calendar))
        .routes(routes!(set_week))
        .routes(routes!(set_school_break, remove_school_break))
        .routes(routes!(confirm_meal))
}

impl From<ConfirmError> for ApiError {
    fn from(e: ConfirmError) -> Self {
        let unprocessable =
            |code| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, e.to_string());
        match &e {
            ConfirmError::NotFound(_) => ApiError::not_found(),
            ConfirmError::SchoolDay(_) => unprocessable("not_off_day"),
            ConfirmError::NotAccepted(_) => unprocessable("not_billable"),
            ConfirmError::MonthApproved(_) => ApiError::conflict("month_approved", e.to_string()),
            ConfirmError::Store(_) => match e {
                ConfirmError::Store(s) => s.into(),
                _ => ApiError::internal(),
            },
        }
    }
}

/// A day that is not a school day.
#[derive(Serialize, ToSchema)]
pub struct DayOffJson {
    pub date: String,
    /// `rest_day`, `holiday`, `day_off` (a transfer) or `school_break`.
    pub status: String,
}

/// A school's calendar for one school year.
#[derive(Serialize, ToSchema)]
pub struct SchoolCalendarJson {
    pub school_year: String,
    /// 5 or 6.
    pub days_per_week: u8,
    pub region: Option<String>,
    /// The breaks in force for this school (a region's or the school's own replace the
    /// national break of the same key).
    pub breaks: Vec<BreakJson>,
    pub declared: Vec<DeclaredDayJson>,
    pub days_off: Vec<DayOffJson>,
    pub school_days: u32,
}

/// The school's calendar of a school year.
#[utoipa::path(get, path = "/v1/schools/{bin}/calendar", tag = "school",
    params(("bin" = String, Path, pattern = r"^[0-9]{12}$", description = "The school's BIN"), YearQuery),
    security(("bearer" = [])),
    responses((status = 200, body = SchoolCalendarJson), (status = 404, body = ErrorBody),
        (status = 422, description = "invalid_school_year", body = ErrorBody)))]
async fn school_calendar(
    State(state): State<AppState>,
    staff: SchoolStaff,
    ApiPath(bin): ApiPath<String>,
    query: Result<Query<YearQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<ApiJson<SchoolCalendarJson>, ApiError> {
    let bin = staff.own_school(&bin)?;
    let Query(q) = query?;
    let year = year_or_now(&state, q.school_year.as_deref())?;
    let view = calendar::school_calendar(&*state.store, bin, year).await?;
    Ok(ApiJson(SchoolCalendarJson {
        school_year: view.school_year.to_string(),
        days_per_week: view.week.days(),
        region: view.region.map(|r| r.to_string()),
        breaks: view.breaks.iter().map(BreakJson::from).collect(),
        declared: view.declared.iter().map(DeclaredDayJson::from).collect(),
        days_off: view
            .days_off
            .iter()
            .map(|d| DayOffJson {
                date: d.date.to_string(),
                status: d.status.to_string(),
            })
            .collect(),
        school_days: view.school_days,
    }))
}

#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WeekBody {
    /// `YYYY-YYYY`.
    pub school_year: String,
    /// 5 (Monday to Friday) or 6 (Monday to Saturday).
    #[schema(minimum = 5, maximum = 6)]
    pub days_per_week: u8,
}

/// The director sets the school's five- or six-day week for a school year (refused once a
/// month of that year is approved).
#[utoipa::path(put, path = "/v1/schools/{bin}/calendar/week", tag = "school",
    params(("bin" = String, Path, pattern = r"^[0-9]{12}$", description = "The school's BIN")),
    request_body = WeekBody, security(("bearer" = [])),
    responses((status = 200, body = WeekBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, description = "month_approved", body = ErrorBody),
        (status = 422, description = "invalid_week or invalid_school_year", body = ErrorBody)))]
async fn set_week(
    State(state): State<AppState>,
    staff: SchoolStaff,
    ApiPath(bin): ApiPath<String>,
    ApiJson(req): ApiJson<WeekBody>,
) -> Result<ApiJson<WeekBody>, ApiError> {
    let school = staff.own_school(&bin)?;
    staff.require_director()?;
    let school_year = parse_year(&req.school_year)?;
    let week = SchoolWeek::from_days(req.days_per_week).ok_or_else(|| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_week",
            "days_per_week is 5 or 6",
        )
    })?;
    let change = CalendarChange::SetWeek {
        school,
        school_year,
        week,
    };
    calendar::change(
        &*state.store,
        &change,
        staff_actor(&staff),
        state.clock.now(),
    )
    .await?;
    Ok(ApiJson(req))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SchoolBreakBody {
    pub from: String,
    pub to: String,
}

/// The director sets a break of the school's own (replacing the national or regional break
/// of the same key for this school).
#[utoipa::path(put, path = "/v1/schools/{bin}/calendar/breaks/{school_year}/{key}", tag = "school",
    params(("bin" = String, Path, pattern = r"^[0-9]{12}$", description = "The school's BIN"),
        ("school_year" = String, Path, description = "YYYY-YYYY", pattern = r"^[0-9]{4}-[0-9]{4}$"),
        ("key" = String, Path, description = "The break's key", pattern = r"^[a-z0-9_]{2,40}$")),
    request_body = SchoolBreakBody, security(("bearer" = [])),
    responses((status = 200, body = BreakJson), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, description = "month_approved", body = ErrorBody),
        (status = 422, description = "invalid_break, invalid_date or date_out_of_range", body = ErrorBody)))]
async fn set_school_break(
    State(state): State<AppState>,
    staff: SchoolStaff,
    ApiPath((bin, year, key)): ApiPath<(String, String, String)>,
    ApiJson(req): ApiJson<SchoolBreakBody>,
) -> Result<ApiJson<BreakJson>, ApiError> {
    let school = staff.own_school(&bin)?;
    staff.require_director()?;
    let b = new_break(
        parse_year(&year)?,
        parse_key(&key)?,
        BreakScope::School(school),
        &req.from,
        &req.to,
    )?;
    let change = CalendarChange::SetBreak(b.clone());
    calendar::change(
        &*state.store,
        &change,
        staff_actor(&staff),
        state.clock.now(),
    )
    .await?;
    Ok(ApiJson(BreakJson::from(&b)))
}

/// The director removes a break of the school's own.
#[utoipa::path(delete, path = "/v1/schools/{bin}/calendar/breaks/{school_year}/{key}", tag = "school",
    params(("bin" = String, Path, pattern = r"^[0-9]{12}$", description = "The school's BIN"),
        ("school_year" = String, Path, description = "YYYY-YYYY", pattern = r"^[0-9]{4}-[0-9]{4}$"),
        ("key" = String, Path, description = "The break's key", pattern = r"^[a-z0-9_]{2,40}$")),
    security(("bearer" = [])),
    responses((status = 204, description = "Removed"), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, description = "month_approved", body = ErrorBody),
        (status = 422, description = "invalid_school_year or invalid_break", body = ErrorBody)))]
async fn remove_school_break(
    State(state): State<AppState>,
    staff: SchoolStaff,
    ApiPath((bin, year, key)): ApiPath<(String, String, String)>,
) -> Result<StatusCode, ApiError> {
    let school = staff.own_school(&bin)?;
    staff.require_director()?;
    let change = CalendarChange::RemoveBreak {
        school_year: parse_year(&year)?,
        key: parse_key(&key)?,
        scope: BreakScope::School(school),
    };
    calendar::change(
        &*state.store,
        &change,
        staff_actor(&staff),
        state.clock.now(),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// What a confirmation did.
#[derive(Serialize, ToSchema)]
pub struct ConfirmedJson {
    pub event_id: String,
    pub service_day: String,
    /// Why the day is not a school day.
    pub day: String,
    /// `false` when it had been confirmed before.
    pub newly_confirmed: bool,
}

/// The director confirms a meal served on a non-school day: the табель bills it from now on
/// (audited). Refused for a meal on a school day, a meal that is not billable, or an
/// approved month.
#[utoipa::path(post, path = "/v1/schools/{bin}/tabel/{month}/unbilled/{event_id}/confirm", tag = "school",
    params(("bin" = String, Path, pattern = r"^[0-9]{12}$", description = "The school's BIN"),
        ("month" = String, Path, description = "YYYY-MM", pattern = r"^[0-9]{4}-(0[1-9]|1[0-2])$"),
        ("event_id" = String, Path, description = "The meal's event id (from the табель's `unbilled` list)")),
    security(("bearer" = [])),
    responses((status = 200, body = ConfirmedJson), (status = 403, description = "Only the director confirms", body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "month_approved", body = ErrorBody),
        (status = 422, description = "not_off_day or not_billable", body = ErrorBody)))]
async fn confirm_meal(
    State(state): State<AppState>,
    staff: SchoolStaff,
    ApiPath((bin, month, event)): ApiPath<(String, String, String)>,
) -> Result<ApiJson<ConfirmedJson>, ApiError> {
    let school = staff.own_school(&bin)?;
    staff.require_director()?;
    let month: shared::time::YearMonth =
        month.parse().map_err(|e: shared::time::YearMonthError| {
            ApiError::bad_request("invalid_month", e.to_string())
        })?;
    let event_id: uuid::Uuid = event.parse().map_err(|_| ApiError::not_found())?;
    let done = off_day::confirm_off_day_meal(
        &*state.store,
        school,
        month,
        event_id,
        staff_actor(&staff),
        state.clock.now(),
    )
    .await?;
    tracing::info!(%school, %month, %event_id, "meal on a non-school day confirmed");
    Ok(ApiJson(ConfirmedJson {
        event_id: event_id.to_string(),
        service_day: done.service_day.to_string(),
        day: done.day.to_string(),
        newly_confirmed: done.new,
    }))
}
