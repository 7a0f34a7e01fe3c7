//! The табель for school staff: download in four formats, and the director's approval.

use axum::extract::{Query, State};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use shared::time::YearMonth;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::binary::Binary;
use super::school::staff_actor;
use super::ApiPath;
use crate::domain::tabel::Tabel;
use crate::services::tabel::render::{self, Format};
use crate::services::tabel::{self, TabelError};
use crate::web::auth::SchoolStaff;
use crate::web::error::{ApiError, ErrorBody};
use crate::web::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_tabel))
        .routes(routes!(approve_tabel))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct TabelQuery {
    /// `YYYY-MM`.
    #[param(pattern = r"^[0-9]{4}-(0[1-9]|1[0-2])$")]
    pub month: String,
    /// `json` (default), `csv`, `xlsx` or `pdf`.
    #[serde(default)]
    #[param(value_type = Option<TabelFormat>, inline)]
    pub format: Option<String>,
}

/// The formats a табель comes in (documentation of `format`).
#[derive(utoipa::ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
pub enum TabelFormat {
    Json,
    Csv,
    Xlsx,
    Pdf,
}

impl From<TabelError> for ApiError {
    fn from(e: TabelError) -> Self {
        let unprocessable =
            |code| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, e.to_string());
        match &e {
            TabelError::MonthInFuture(_) => unprocessable("month_in_future"),
            TabelError::MonthNotEnded(_) => unprocessable("month_not_ended"),
            TabelError::AlreadyApproved(_) => ApiError::conflict("already_approved", e.to_string()),
            TabelError::CorruptApproval(_) => {
                tracing::error!(error = %e, "frozen табель unreadable");
                ApiError::internal()
            }
            TabelError::Store(_) => match e {
                TabelError::Store(s) => s.into(),
                _ => ApiError::internal(),
            },
        }
    }
}

fn parse_month(raw: &str) -> Result<YearMonth, ApiError> {
    raw.parse().map_err(|e: shared::time::YearMonthError| {
        ApiError::bad_request("invalid_month", e.to_string())
    })
}

pub(crate) async fn respond(tabel: Tabel, format: Format) -> Result<Response, ApiError> {
    // A big school's PDF takes a while: render off the async workers.
    let (tabel, rendered) = tokio::task::spawn_blocking(move || {
        let rendered = render::render(&tabel, format);
        (tabel, rendered)
    })
    .await
    .map_err(|_| ApiError::internal())?;
    let bytes = rendered.map_err(|e| {
        tracing::error!(error = %e, "rendering a табель failed");
        ApiError::internal()
    })?;
    let mut response = (StatusCode::OK, bytes).into_response();
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    let file = format!(
        "attachment; filename=\"tabel-{}-{}.{}\"",
        tabel.school.bin,
        tabel.month,
        format.file_extension()
    );
    if let Ok(v) = HeaderValue::from_str(&file) {
        headers.insert(CONTENT_DISPOSITION, v);
    }
    Ok(response)
}

/// The табель of a month in JSON, CSV, XLSX or PDF; an approved month is the frozen one.
#[utoipa::path(get, path = "/v1/schools/{bin}/tabel", tag = "school",
    params(("bin" = String, Path, pattern = r"^[0-9]{12}$", description = "The school's BIN"), TabelQuery),
    security(("bearer" = [])),
    responses((status = 200, description = "The табель", content(
            (Tabel = "application/json"), (inline(Binary) = "text/csv"),
            (inline(Binary) = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
            (inline(Binary) = "application/pdf")),
            headers(("content-disposition" = String, description = "`attachment; filename=\"tabel-BIN-YYYY-MM.EXT\"`"))),
        (status = 400, description = "invalid_month or unknown_format", body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 422, description = "month_in_future", body = ErrorBody)))]
async fn get_tabel(
    State(state): State<AppState>,
    staff: SchoolStaff,
    ApiPath(bin): ApiPath<String>,
    query: Result<Query<TabelQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let bin = staff.own_school(&bin)?;
    let Query(query) = query?;
    let month = parse_month(&query.month)?;
    let format = match query.format.as_deref() {
        None => Format::Json,
        Some(f) => Format::parse(f).ok_or_else(|| {
            ApiError::bad_request("unknown_format", "format is json, csv, xlsx or pdf")
        })?,
    };
    let now = state.clock.now();
    let tabel =
        tabel::tabel_for(state.store.as_ref(), bin, month, now, state.meal_price_tiyn).await?;
    respond(tabel, format).await
}

/// The director approves a finished month: the табель is frozen with a content hash.
#[utoipa::path(post, path = "/v1/schools/{bin}/tabel/{month}/approve", tag = "school",
    params(("bin" = String, Path, pattern = r"^[0-9]{12}$", description = "The school's BIN"),
        ("month" = String, Path, description = "YYYY-MM", pattern = r"^[0-9]{4}-(0[1-9]|1[0-2])$")),
    security(("bearer" = [])),
    responses((status = 200, description = "The frozen табель (JSON) with its approval stamp", body = Tabel),
        (status = 403, description = "Only the director approves", body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "already_approved", body = ErrorBody),
        (status = 422, description = "month_not_ended or month_in_future", body = ErrorBody)))]
async fn approve_tabel(
    State(state): State<AppState>,
    staff: SchoolStaff,
    ApiPath((bin, month)): ApiPath<(String, String)>,
) -> Result<Response, ApiError> {
    let bin = staff.own_school(&bin)?;
    staff.require_director()?;
    let month = parse_month(&month)?;
    let now = state.clock.now();
    let tabel = tabel::approve(
        state.store.as_ref(),
        bin,
        month,
        tabel::Approver {
            actor: staff_actor(&staff),
            name: staff.name.clone(),
        },
        now,
        state.meal_price_tiyn,
    )
    .await?;
    tracing::info!(school = %bin, %month, meals = tabel.totals.meals, "табель approved");
    respond(tabel, Format::Json).await
}
