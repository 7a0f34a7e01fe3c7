//! School staff and the canteen counter (issue 19): today's progress with manual meals per
//! worker, voiding a meal, the shifts of classes and a student's alert line. Staff reach only
//! their own school (another BIN answers 404; the store's SQL names the school too).

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use shared::counter::{Progress, Shift, VoidVerdict};
use shared::{AlertLine, ClassLabel, Iin, Label};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::school::staff_actor;
use super::ApiJson;
use super::ApiPath;
use crate::services::counter;
use crate::web::auth::SchoolStaff;
use crate::web::error::{ApiError, ErrorBody};
use crate::web::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(today))
        .routes(routes!(void_meal))
        .routes(routes!(class_shifts, set_class_shift))
        .routes(routes!(set_alert_line))
}

/// Manual meals one worker served today.
#[derive(Serialize, ToSchema)]
pub struct WorkerManual {
    /// The name the worker signed in with at the terminal (absent: nobody was signed in).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub worker: Option<String>,
    pub meals: u32,
}

#[derive(Serialize, ToSchema)]
pub struct CounterToday {
    pub progress: Progress,
    pub manual_per_worker: Vec<WorkerManual>,
}

/// Today's progress of the whole school (served and expected per slot and class) and the
/// manual meals each worker served today.
#[utoipa::path(get, path = "/v1/schools/{bin}/counter/today", tag = "school",
    params(("bin" = String, Path, pattern = r"^[0-9]{12}$", description = "The school's BIN")),
    security(("bearer" = [])),
    responses((status = 200, body = CounterToday), (status = 404, body = ErrorBody)))]
async fn today(
    State(state): State<AppState>,
    staff: SchoolStaff,
    ApiPath(bin): ApiPath<String>,
) -> Result<ApiJson<CounterToday>, ApiError> {
    let bin = staff.own_school(&bin)?;
    let progress = counter::today(state.store.as_ref(), bin, state.clock.now()).await?;
    let manual = state
        .store
        .manual_meals_per_worker(bin, progress.service_day)
        .await?;
    Ok(ApiJson(CounterToday {
        progress,
        manual_per_worker: manual
            .into_iter()
            .map(|m| WorkerManual {
                worker: m.worker,
                meals: m.meals,
            })
            .collect(),
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VoidRequest {
    /// Why the meal is taken back (required).
    pub reason: Label,
}

#[derive(Serialize, ToSchema)]
pub struct VoidAnswer {
    /// `voided` (the meal left its month's табель) or `adjustment` (the month was approved:
    /// the next month's табель takes it off).
    pub status: VoidVerdict,
}

/// Void a meal of this school served by mistake (any time; audited). Voiding it again
/// answers the same.
#[utoipa::path(post, path = "/v1/schools/{bin}/meals/{event_id}/void", tag = "school",
    params(("bin" = String, Path, pattern = r"^[0-9]{12}$", description = "The school's BIN"),
        ("event_id" = String, Path, format = Uuid, description = "The meal's event id")),
    request_body = VoidRequest,
    security(("bearer" = [])),
    responses((status = 200, body = VoidAnswer),
        (status = 404, description = "No such school or meal of it", body = ErrorBody),
        (status = 422, description = "invalid_body: no reason", body = ErrorBody)))]
async fn void_meal(
    State(state): State<AppState>,
    staff: SchoolStaff,
    ApiPath((bin, event_id)): ApiPath<(String, uuid::Uuid)>,
    ApiJson(req): ApiJson<VoidRequest>,
) -> Result<ApiJson<VoidAnswer>, ApiError> {
    let bin = staff.own_school(&bin)?;
    let status = counter::void_meal(
        state.store.as_ref(),
        bin,
        event_id,
        &req.reason,
        &staff_actor(&staff),
        state.clock.now(),
    )
    .await?;
    tracing::info!(school = %bin, %event_id, ?status, "meal voided by staff");
    Ok(ApiJson(VoidAnswer { status }))
}

#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClassShiftView {
    pub class_label: ClassLabel,
    /// 1–3; absent (or null) when setting: the class eats in any slot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shift: Option<Shift>,
}

#[derive(Serialize, ToSchema)]
pub struct ClassShifts {
    pub classes: Vec<ClassShiftView>,
}

/// The shifts staff gave the school's classes (classes without one eat in any slot).
#[utoipa::path(get, path = "/v1/schools/{bin}/class-shifts", tag = "school",
    params(("bin" = String, Path, pattern = r"^[0-9]{12}$", description = "The school's BIN")),
    security(("bearer" = [])),
    responses((status = 200, body = ClassShifts), (status = 404, body = ErrorBody)))]
async fn class_shifts(
    State(state): State<AppState>,
    staff: SchoolStaff,
    ApiPath(bin): ApiPath<String>,
) -> Result<ApiJson<ClassShifts>, ApiError> {
    let bin = staff.own_school(&bin)?;
    let classes = state
        .store
        .class_shifts(bin)
        .await?
        .into_iter()
        .map(|c| {
            let class_label = c.class_label.parse().map_err(|e| {
                tracing::error!(error = %e, "stored class label");
                ApiError::internal()
            })?;
            Ok(ClassShiftView {
                class_label,
                shift: Some(c.shift),
            })
        })
        .collect::<Result<_, ApiError>>()?;
    Ok(ApiJson(ClassShifts { classes }))
}

/// Give a class its shift (or none); its students reach the terminals with the next pull.
#[utoipa::path(put, path = "/v1/schools/{bin}/class-shifts", tag = "school",
    params(("bin" = String, Path, pattern = r"^[0-9]{12}$", description = "The school's BIN")),
    request_body = ClassShiftView,
    security(("bearer" = [])),
    responses((status = 204, description = "Set"), (status = 404, body = ErrorBody),
        (status = 422, description = "invalid_body: a shift is 1, 2 or 3", body = ErrorBody)))]
async fn set_class_shift(
    State(state): State<AppState>,
    staff: SchoolStaff,
    ApiPath(bin): ApiPath<String>,
    ApiJson(req): ApiJson<ClassShiftView>,
) -> Result<StatusCode, ApiError> {
    let bin = staff.own_school(&bin)?;
    counter::set_class_shift(
        state.store.as_ref(),
        bin,
        &req.class_label,
        req.shift,
        &staff_actor(&staff),
        state.clock.now(),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AlertRequest {
    /// At most 200 characters, one line (e.g. an allergy); absent or null clears it.
    #[serde(default)]
    pub line: Option<AlertLine>,
}

/// Set or clear a student's alert line, shown at this school's terminals on every scan of
/// that student (audited).
#[utoipa::path(put, path = "/v1/schools/{bin}/students/{iin}/alert", tag = "school",
    params(("bin" = String, Path, pattern = r"^[0-9]{12}$", description = "The school's BIN"),
        ("iin" = String, Path, pattern = r"^[0-9]{12}$", description = "The student's IIN")),
    request_body = AlertRequest,
    security(("bearer" = [])),
    responses((status = 204, description = "Set or cleared"),
        (status = 404, description = "No such school or student of it", body = ErrorBody),
        (status = 422, description = "invalid_iin or invalid_body", body = ErrorBody)))]
async fn set_alert_line(
    State(state): State<AppState>,
    staff: SchoolStaff,
    ApiPath((bin, iin)): ApiPath<(String, String)>,
    ApiJson(req): ApiJson<AlertRequest>,
) -> Result<StatusCode, ApiError> {
    let bin = staff.own_school(&bin)?;
    let student: Iin = iin.parse().map_err(|_| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_iin",
            "not a valid IIN",
        )
    })?;
    counter::set_alert_line(
        state.store.as_ref(),
        bin,
        student,
        req.line.as_ref(),
        &staff_actor(&staff),
        state.clock.now(),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
