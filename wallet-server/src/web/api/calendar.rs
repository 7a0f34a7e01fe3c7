//! The school calendar for the integration (the Ministry's and akimats' systems): declared
//! national dates (moving holidays such as Kurban Ait, transfers of days off), school breaks
//! nationally, per region or per school, and each school's region. The rules and the refusal
//! of changes touching approved months are in `services::calendar`.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use shared::{Bin, Label};
use time::Date;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{ApiJson, ApiPath};
use crate::domain::audit::Actor;
use crate::domain::calendar::{
    BreakKey, BreakScope, CalendarChange, DeclaredDay, DeclaredKind, Region, SchoolBreak,
    SchoolYear,
};
use crate::services::calendar::{self, CalendarError};
use crate::web::auth::Integration;
use crate::web::error::{ApiError, ErrorBody};
use crate::web::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(national_calendar))
        .routes(routes!(declare_day, remove_day))
        .routes(routes!(set_break, remove_break))
        .routes(routes!(set_region))
}

impl From<CalendarError> for ApiError {
    fn from(e: CalendarError) -> Self {
        match e {
            CalendarError::ApprovedMonth(_) => ApiError::conflict("month_approved", e.to_string()),
            CalendarError::NotFound => ApiError::not_found(),
            CalendarError::Store(s) => s.into(),
        }
    }
}

fn unprocessable(code: &'static str, message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
}

pub(super) fn parse_date(raw: &str) -> Result<Date, ApiError> {
    Ok(shared::time::parse_date(raw)?)
}

pub(super) fn parse_year(raw: &str) -> Result<SchoolYear, ApiError> {
    raw.parse()
        .map_err(|e: crate::domain::calendar::CalendarWordError| {
            unprocessable("invalid_school_year", e.to_string())
        })
}

pub(super) fn parse_key(raw: &str) -> Result<BreakKey, ApiError> {
    raw.parse()
        .map_err(|e: crate::domain::calendar::CalendarWordError| {
            unprocessable("invalid_break_key", e.to_string())
        })
}

fn parse_region(raw: &str) -> Result<Region, ApiError> {
    raw.parse()
        .map_err(|e: crate::domain::calendar::CalendarWordError| {
            unprocessable("invalid_region", e.to_string())
        })
}

/// A break checked against its school year.
pub(super) fn new_break(
    year: SchoolYear,
    key: BreakKey,
    scope: BreakScope,
    from: &str,
    to: &str,
) -> Result<SchoolBreak, ApiError> {
    SchoolBreak::new(year, key, scope, parse_date(from)?, parse_date(to)?)
        .map_err(|e| unprocessable("invalid_break", e.to_string()))
}

/// A declared national date.
#[derive(Serialize, ToSchema)]
pub struct DeclaredDayJson {
    /// `YYYY-MM-DD`.
    pub date: String,
    /// `holiday`, `workday` (a rest day worked by a transfer) or `day_off` (a weekday off).
    pub kind: String,
    pub name: String,
}

impl From<&DeclaredDay> for DeclaredDayJson {
    fn from(d: &DeclaredDay) -> Self {
        DeclaredDayJson {
            date: d.date.to_string(),
            kind: d.kind.to_string(),
            name: d.name.clone(),
        }
    }
}

/// A school break, both ends included.
#[derive(Serialize, ToSchema)]
pub struct BreakJson {
    pub school_year: String,
    pub key: String,
    /// `national`, `region` or `school`.
    pub scope: String,
    pub region: Option<String>,
    pub school: Option<String>,
    pub from: String,
    pub to: String,
}

impl From<&SchoolBreak> for BreakJson {
    fn from(b: &SchoolBreak) -> Self {
        let (scope, region, school) = match &b.scope {
            BreakScope::National => ("national", None, None),
            BreakScope::Region(r) => ("region", Some(r.to_string()), None),
            BreakScope::School(s) => ("school", None, Some(s.to_string())),
        };
        BreakJson {
            school_year: b.school_year.to_string(),
            key: b.key.to_string(),
            scope: scope.into(),
            region,
            school,
            from: b.from.to_string(),
            to: b.to.to_string(),
        }
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct YearQuery {
    /// `YYYY-YYYY`, e.g. `2026-2027`; the current school year when omitted.
    #[serde(default)]
    #[param(pattern = r"^[0-9]{4}-[0-9]{4}$")]
    pub school_year: Option<String>,
}

pub(super) fn year_or_now(state: &AppState, raw: Option<&str>) -> Result<SchoolYear, ApiError> {
    match raw {
        Some(y) => parse_year(y),
        None => Ok(SchoolYear::of(shared::time::service_day(state.clock.now()))),
    }
}

/// A school year's national calendar: the declared dates and the breaks of every scope.
#[derive(Serialize, ToSchema)]
pub struct NationalCalendar {
    pub school_year: String,
    pub declared: Vec<DeclaredDayJson>,
    pub breaks: Vec<BreakJson>,
}

/// The declared dates and all breaks (national, regional, per school) of a school year.
/// The Labour Code's fixed holidays apply every year and are not listed.
#[utoipa::path(get, path = "/v1/integration/calendar", tag = "integration",
    params(YearQuery), security(("bearer" = [])),
    responses((status = 200, body = NationalCalendar),
        (status = 422, description = "invalid_school_year", body = ErrorBody)))]
async fn national_calendar(
    State(state): State<AppState>,
    _caller: Integration,
    query: Result<Query<YearQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<ApiJson<NationalCalendar>, ApiError> {
    let Query(q) = query?;
    let year = year_or_now(&state, q.school_year.as_deref())?;
    let (days, breaks) = calendar::national_calendar(&*state.store, year).await?;
    Ok(ApiJson(NationalCalendar {
        school_year: year.to_string(),
        declared: days.iter().map(DeclaredDayJson::from).collect(),
        breaks: breaks.iter().map(BreakJson::from).collect(),
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DayRequest {
    /// `holiday`, `workday` or `day_off`.
    pub kind: DeclaredKind,
    /// E.g. `Курбан айт`, `перенос с 3 января`.
    pub name: Label,
}

/// Declare a national date: a moving holiday, or a transfer (a rest day that is worked, a
/// weekday off). Replaces an earlier declaration of the date.
#[utoipa::path(put, path = "/v1/integration/calendar/days/{date}", tag = "integration",
    params(("date" = String, Path, description = "YYYY-MM-DD", pattern = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")),
    request_body = DayRequest, security(("bearer" = [])),
    responses((status = 200, body = DeclaredDayJson),
        (status = 409, description = "month_approved: a school's табель of that month is approved", body = ErrorBody),
        (status = 422, description = "invalid_date, date_out_of_range, or invalid_body (e.g. the name)", body = ErrorBody)))]
async fn declare_day(
    State(state): State<AppState>,
    caller: Integration,
    ApiPath(date): ApiPath<String>,
    ApiJson(req): ApiJson<DayRequest>,
) -> Result<ApiJson<DeclaredDayJson>, ApiError> {
    let date = parse_date(&date)?;
    let day = DeclaredDay {
        date,
        kind: req.kind,
        name: req.name.into_string(),
    };
    let change = CalendarChange::DeclareDay(day.clone());
    calendar::change(
        &*state.store,
        &change,
        Actor::Integration(caller.sub),
        state.clock.now(),
    )
    .await?;
    Ok(ApiJson(DeclaredDayJson::from(&day)))
}

/// Remove a declaration.
#[utoipa::path(delete, path = "/v1/integration/calendar/days/{date}", tag = "integration",
    params(("date" = String, Path, description = "YYYY-MM-DD", pattern = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")), security(("bearer" = [])),
    responses((status = 204, description = "Removed"), (status = 404, body = ErrorBody),
        (status = 409, description = "month_approved", body = ErrorBody),
        (status = 422, description = "invalid_date or date_out_of_range", body = ErrorBody)))]
async fn remove_day(
    State(state): State<AppState>,
    caller: Integration,
    ApiPath(date): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    let change = CalendarChange::RemoveDay(parse_date(&date)?);
    calendar::change(
        &*state.store,
        &change,
        Actor::Integration(caller.sub),
        state.clock.now(),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BreakRequest {
    /// First day, `YYYY-MM-DD`.
    pub from: String,
    /// Last day (included), `YYYY-MM-DD`.
    pub to: String,
    /// A region's break (replaces the national break of the same key there).
    #[serde(default)]
    pub region: Option<String>,
    /// One school's break (replaces the national and regional ones of the same key).
    #[serde(default)]
    pub school: Option<String>,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ScopeQuery {
    /// The region whose break is removed (its slug, e.g. `almaty_city`).
    #[serde(default)]
    pub region: Option<String>,
    /// The school (BIN) whose own break is removed.
    #[serde(default)]
    pub school: Option<String>,
}

fn scope_of(region: Option<&str>, school: Option<&str>) -> Result<BreakScope, ApiError> {
    match (region, school) {
        (None, None) => Ok(BreakScope::National),
        (Some(r), None) => Ok(BreakScope::Region(parse_region(r)?)),
        (None, Some(s)) => {
            Ok(BreakScope::School(s.parse::<Bin>().map_err(|_| {
                unprocessable("invalid_school", "school is a 12-digit BIN")
            })?))
        }
        (Some(_), Some(_)) => Err(unprocessable(
            "invalid_scope",
            "a break is national, a region's or a school's: give region or school, not both",
        )),
    }
}

/// Set a school break (каникулы) for a school year: nationally, for a region or for one
/// school. The most specific break of a key is the one in force.
#[utoipa::path(put, path = "/v1/integration/calendar/breaks/{school_year}/{key}", tag = "integration",
    params(("school_year" = String, Path, description = "YYYY-YYYY", pattern = r"^[0-9]{4}-[0-9]{4}$"),
        ("key" = String, Path, description = "autumn, winter, spring, summer, first_grade, …", pattern = r"^[a-z0-9_]{2,40}$")),
    request_body = BreakRequest, security(("bearer" = [])),
    responses((status = 200, body = BreakJson), (status = 404, description = "unknown school", body = ErrorBody),
        (status = 409, description = "month_approved", body = ErrorBody),
        (status = 422, description = "invalid_break, invalid_date, date_out_of_range, invalid_region, invalid_scope", body = ErrorBody)))]
async fn set_break(
    State(state): State<AppState>,
    caller: Integration,
    ApiPath((year, key)): ApiPath<(String, String)>,
    ApiJson(req): ApiJson<BreakRequest>,
) -> Result<ApiJson<BreakJson>, ApiError> {
    let scope = scope_of(req.region.as_deref(), req.school.as_deref())?;
    let b = new_break(
        parse_year(&year)?,
        parse_key(&key)?,
        scope,
        &req.from,
        &req.to,
    )?;
    let change = CalendarChange::SetBreak(b.clone());
    calendar::change(
        &*state.store,
        &change,
        Actor::Integration(caller.sub),
        state.clock.now(),
    )
    .await?;
    Ok(ApiJson(BreakJson::from(&b)))
}

/// Remove a break of a scope (national without `region`/`school`).
#[utoipa::path(delete, path = "/v1/integration/calendar/breaks/{school_year}/{key}", tag = "integration",
    params(("school_year" = String, Path, description = "YYYY-YYYY", pattern = r"^[0-9]{4}-[0-9]{4}$"),
        ("key" = String, Path, description = "The break's key", pattern = r"^[a-z0-9_]{2,40}$"), ScopeQuery),
    security(("bearer" = [])),
    responses((status = 204, description = "Removed"), (status = 404, body = ErrorBody),
        (status = 409, description = "month_approved", body = ErrorBody),
        (status = 422, description = "invalid_school_year, invalid_break or invalid_scope", body = ErrorBody)))]
async fn remove_break(
    State(state): State<AppState>,
    caller: Integration,
    ApiPath((year, key)): ApiPath<(String, String)>,
    query: Result<Query<ScopeQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<StatusCode, ApiError> {
    let Query(q) = query?;
    let change = CalendarChange::RemoveBreak {
        school_year: parse_year(&year)?,
        key: parse_key(&key)?,
        scope: scope_of(q.region.as_deref(), q.school.as_deref())?,
    };
    calendar::change(
        &*state.store,
        &change,
        Actor::Integration(caller.sub),
        state.clock.now(),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegionBody {
    /// The region's slug (`almaty_city`, `shymkent`, …); `null` clears it.
    pub region: Option<String>,
}

/// Set the region of a school, which decides the regional breaks that apply to it.
#[utoipa::path(put, path = "/v1/integration/schools/{bin}/region", tag = "integration",
    params(("bin" = String, Path, pattern = r"^[0-9]{12}$", description = "The school's BIN")),
    request_body = RegionBody, security(("bearer" = [])),
    responses((status = 200, body = RegionBody), (status = 404, body = ErrorBody),
        (status = 409, description = "month_approved", body = ErrorBody),
        (status = 422, description = "invalid_region", body = ErrorBody)))]
async fn set_region(
    State(state): State<AppState>,
    caller: Integration,
    ApiPath(bin): ApiPath<String>,
    ApiJson(req): ApiJson<RegionBody>,
) -> Result<ApiJson<RegionBody>, ApiError> {
    let school: Bin = bin.parse().map_err(|_| ApiError::not_found())?;
    let region = req.region.as_deref().map(parse_region).transpose()?;
    let change = CalendarChange::SetRegion {
        school,
        region: region.clone(),
    };
    calendar::change(
        &*state.store,
        &change,
        Actor::Integration(caller.sub),
        state.clock.now(),
    )
    .await?;
    Ok(ApiJson(RegionBody {
        region: region.map(|r| r.to_string()),
    }))
}
