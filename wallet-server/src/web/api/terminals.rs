//! Canteen terminals: enrollment with a one-time code, roster pulls, meal pushes
//! (DESIGN.md §5; the messages are `shared::sync`). A terminal sees only its own school.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use shared::sync::{
    EnrollRequest, EnrollResponse, MealBatch, MealBatchResult, RosterEntry, SchoolInfo,
    SyncResponse, MAX_BATCH,
};
use shared::Label;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::ApiJson;
use crate::domain::programme_dates::ProgrammeDates;
use crate::domain::terminal::{NewTerminal, RosterRow};
use crate::domain::voucher::VoucherState;
use crate::services::{counter, enrollment, meals};
use crate::store::StoreError;
use crate::web::auth::TerminalCaller;
use crate::web::error::{ApiError, ErrorBody};
use crate::web::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(enroll))
        .routes(routes!(sync))
        .routes(routes!(push_meals))
}

/// Enroll a new terminal with a one-time code from school staff; returns its device token.
#[utoipa::path(post, path = "/v1/terminals/enroll", tag = "terminal",
    request_body = EnrollRequest, security(()),
    responses((status = 200, body = EnrollResponse),
        (status = 404, description = "unknown code", body = ErrorBody),
        (status = 409, description = "code_used or code_expired", body = ErrorBody)))]
async fn enroll(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<EnrollRequest>,
) -> Result<ApiJson<EnrollResponse>, ApiError> {
    let name = req
        .name
        .map(Label::into_string)
        .unwrap_or_else(|| "terminal".to_string());
    let token = enrollment::new_device_token().map_err(|e| {
        tracing::error!(error = %e, "device token");
        ApiError::internal()
    })?;
    let terminal = NewTerminal {
        id: uuid::Uuid::now_v7(),
        name,
        token_hash: enrollment::hash_token(&token),
    };
    let now = state.clock.now();
    let school = state
        .store
        .enroll_terminal(&enrollment::hash_code(&req.code), &terminal, now)
        .await
        .map_err(|e| match e {
            StoreError::NotFound => ApiError::new(
                StatusCode::NOT_FOUND,
                "unknown_code",
                "no such enrollment code",
            ),
            StoreError::Conflict { current } if current == "used" => {
                ApiError::conflict("code_used", "this enrollment code was already used")
            }
            StoreError::Conflict { .. } => ApiError::conflict(
                "code_expired",
                "this enrollment code has expired; ask for a new one",
            ),
            other => other.into(),
        })?;
    tracing::info!(school = %school.bin, terminal = %terminal.id, "terminal enrolled");
    Ok(ApiJson(EnrollResponse {
        terminal_id: terminal.id,
        token,
        school: SchoolInfo {
            bin: school.bin,
            name: school.name,
        },
    }))
}

/// Cursors count up from 0; a negative one was never handed out (and is documented so).
fn check_cursor(cursor: i64) -> Result<(), ApiError> {
    if cursor < 0 {
        return Err(ApiError::bad_request(
            "invalid_query",
            "cursor is 0 or a cursor from an earlier pull",
        ));
    }
    Ok(())
}

/// What a batch must be before any of it is recorded.
fn check_batch(batch: &MealBatch) -> Result<(), ApiError> {
    if batch.events.len() > MAX_BATCH || batch.voids.len() > MAX_BATCH {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "batch_too_large",
            format!("at most {MAX_BATCH} events and {MAX_BATCH} voids per push"),
        ));
    }
    // The count is kept as a 64-bit signed integer (and documented so); a larger one is
    // not a count a terminal can have, and is refused rather than silently dropped.
    if batch
        .unsent_after
        .is_some_and(|n| i64::try_from(n).is_err())
    {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
            format!("unsent_after is at most {}", i64::MAX),
        ));
    }
    Ok(())
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SyncQuery {
    /// The cursor from the previous pull; 0 (or absent) for the whole roster.
    #[serde(default)]
    #[param(minimum = 0)]
    pub cursor: i64,
    /// The `meals_cursor` of the previous pull: other terminals' meals of today after it
    /// come in `meals_seen` (0 or absent: all of today's).
    #[serde(default)]
    #[param(minimum = 0)]
    pub meals_after: i64,
}

/// A roster row as the terminal keeps it: activated vouchers stay, and the terminal decides
/// by their dates offline (a voucher valid from a day ahead starts on that day without a
/// pull; a month's list that ends an entitlement ends it on its day; the programme's last
/// day ends them all).
fn roster_entry(row: RosterRow, programme: &ProgrammeDates) -> RosterEntry {
    RosterEntry {
        voucher_id: row.voucher_id,
        student_name: row.student_name,
        class_label: row.class_label,
        card_uid: row.card,
        active: row.state == VoucherState::Activated,
        valid_from: row.valid_from,
        valid_until: row.valid_until,
        entitled: Some(programme.clip(&row.entitled)),
        shift: row.shift,
        alert: row.alert,
    }
}

/// Pull roster changes since the cursor, the pass keys, meal slots and the server's time,
/// with the whole school's progress today and the counted meals of today the school's other
/// terminals served after `meals_after`.
#[utoipa::path(get, path = "/v1/terminals/sync", tag = "terminal",
    params(SyncQuery),
    security(("device_token" = [])),
    responses((status = 200, body = SyncResponse),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn sync(
    State(state): State<AppState>,
    caller: TerminalCaller,
    query: Result<Query<SyncQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<ApiJson<SyncResponse>, ApiError> {
    let Query(query) = query?;
    check_cursor(query.cursor)?;
    check_cursor(query.meals_after)?;
    let school = caller.terminal.school;
    let now = state.clock.now();
    if caller.terminal.contact_is_news(now) {
        state.store.touch_terminal(caller.terminal.id, now).await?;
    }
    let page = state.store.roster_since(school, query.cursor).await?;
    let info = state
        .store
        .school(school)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let slots = crate::domain::meal::effective_slots(&state.store.meal_slots(school).await?);
    let keys = state.keys.read().published();
    let progress = counter::today(state.store.as_ref(), school, now).await?;
    let seen = state
        .store
        .meals_seen(
            school,
            caller.terminal.id,
            progress.service_day,
            query.meals_after,
        )
        .await?;
    Ok(ApiJson(SyncResponse {
        school: SchoolInfo {
            bin: info.bin,
            name: info.name,
        },
        cursor: page.cursor,
        full: page.full,
        roster: page
            .rows
            .into_iter()
            .map(|row| roster_entry(row, &state.programme_dates))
            .collect(),
        keys,
        slots,
        server_time: state.clock.now(),
        progress: Some(progress),
        meals_seen: seen.meals,
        meals_cursor: Some(seen.cursor),
    }))
}

/// Push meals recorded on the terminal. One result per event; replaying changes nothing.
#[utoipa::path(post, path = "/v1/terminals/meals", tag = "terminal",
    request_body = MealBatch,
    security(("device_token" = [])),
    responses((status = 200, body = MealBatchResult),
        (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn push_meals(
    State(state): State<AppState>,
    caller: TerminalCaller,
    ApiJson(batch): ApiJson<MealBatch>,
) -> Result<ApiJson<MealBatchResult>, ApiError> {
    check_batch(&batch)?;
    crate::services::signals::check_denials(&batch.denials)?;
    let now = state.clock.now();
    let answer = meals::push(&state.meal_pushes, &caller.terminal, batch, now).await?;
    state.metrics.meals_pushed(&answer.results);
    let accepted = answer
        .results
        .iter()
        .filter(|r| r.status == shared::sync::MealVerdict::Accepted)
        .count();
    tracing::info!(
        terminal = %caller.terminal.id,
        events = answer.results.len(),
        accepted,
        voids = answer.voids.len(),
        "meals pushed"
    );
    Ok(ApiJson(answer))
}

#[cfg(test)]
mod tests {
    use shared::sync::MealBatch;

    use super::{check_batch, check_cursor};

    #[test]
    fn a_negative_cursor_is_refused() {
        assert!(check_cursor(0).is_ok());
        assert!(check_cursor(42).is_ok());
        let refused = check_cursor(-1).expect_err("negative");
        assert_eq!(refused.status, axum::http::StatusCode::BAD_REQUEST);
        assert_eq!(refused.code, "invalid_query");
    }

    #[test]
    fn an_impossible_unsent_count_is_refused_not_dropped() {
        let batch = |unsent_after| MealBatch {
            events: Vec::new(),
            unsent_after,
            voids: Vec::new(),
            denials: Vec::new(),
        };
        assert!(check_batch(&batch(None)).is_ok());
        assert!(check_batch(&batch(Some(i64::MAX as u64))).is_ok());
        let refused = check_batch(&batch(Some(i64::MAX as u64 + 1))).expect_err("too large");
        assert_eq!(refused.status, axum::http::StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(refused.code, "invalid_body");
    }
}
