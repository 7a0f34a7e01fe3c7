//! School staff and their canteen terminals: enrollment codes, the list of terminals with
//! their last contact and unsent meals, revocation, and the school's meal slots.

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use shared::sync::MealSlot;
use shared::SlotName;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::school::staff_actor;
use super::ApiPath;
use super::{rfc3339, ApiJson};
use crate::web::auth::SchoolStaff;
use crate::web::error::{ApiError, ErrorBody};
use crate::web::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_enrollment_code, list_terminals))
        .routes(routes!(revoke_terminal))
        .routes(routes!(get_meal_slots, set_meal_slots))
}

#[derive(Serialize, ToSchema)]
pub struct EnrollmentCodeCreated {
    /// Type this into the new terminal (`--enroll CODE`). Shown once; only a hash is kept.
    pub code: String,
    #[schema(format = DateTime)]
    pub expires_at: String,
}

/// Create a one-time enrollment code for a new canteen terminal of this school.
#[utoipa::path(post, path = "/v1/schools/{bin}/terminals", tag = "school",
    params(("bin" = String, Path, pattern = r"^[0-9]{12}$", description = "The school's BIN")),
    security(("bearer" = [])),
    responses((status = 201, body = EnrollmentCodeCreated), (status = 404, body = ErrorBody)))]
async fn create_enrollment_code(
    State(state): State<AppState>,
    staff: SchoolStaff,
    ApiPath(bin): ApiPath<String>,
) -> Result<(StatusCode, ApiJson<EnrollmentCodeCreated>), ApiError> {
    let bin = staff.own_school(&bin)?;
    state
        .store
        .school(bin)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let (code, record) = crate::services::school_terminals::create_enrollment_code(
        &*state.store,
        &*state.clock,
        state.enrollment_code_ttl,
        bin,
        staff_actor(&staff),
    )
    .await
    .map_err(|e| match e {
        crate::services::school_terminals::TerminalAdminError::Store(e) => ApiError::from(e),
        e => {
            tracing::error!(error = %e, "enrollment code");
            ApiError::internal()
        }
    })?;
    Ok((
        StatusCode::CREATED,
        ApiJson(EnrollmentCodeCreated {
            code,
            expires_at: rfc3339(record.expires_at),
        }),
    ))
}

#[derive(Serialize, ToSchema)]
pub struct TerminalView {
    #[schema(format = Uuid)]
    pub id: String,
    pub name: String,
    #[schema(format = DateTime)]
    pub enrolled_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = DateTime)]
    pub revoked_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = DateTime)]
    pub last_seen_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = DateTime)]
    pub last_push_at: Option<String>,
    /// Meals the terminal still held after its last push.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unsent: Option<i64>,
}

#[derive(Serialize, ToSchema)]
#[schema(as = TerminalList)] // not `Terminals`: see `openapi_contract` on schema names
pub struct Terminals {
    pub terminals: Vec<TerminalView>,
}

/// The school's terminals, with their last contact and unsent meals.
#[utoipa::path(get, path = "/v1/schools/{bin}/terminals", tag = "school",
    params(("bin" = String, Path, pattern = r"^[0-9]{12}$", description = "The school's BIN")),
    security(("bearer" = [])),
    responses((status = 200, body = Terminals), (status = 404, body = ErrorBody)))]
async fn list_terminals(
    State(state): State<AppState>,
    staff: SchoolStaff,
    ApiPath(bin): ApiPath<String>,
) -> Result<ApiJson<Terminals>, ApiError> {
    let bin = staff.own_school(&bin)?;
    let terminals = state.store.terminals_of_school(bin).await?;
    Ok(ApiJson(Terminals {
        terminals: terminals
            .into_iter()
            .map(|t| TerminalView {
                id: t.id.to_string(),
                name: t.name,
                enrolled_at: rfc3339(t.enrolled_at),
                revoked_at: t.revoked_at.map(rfc3339),
                last_seen_at: t.last_seen_at.map(rfc3339),
                last_push_at: t.last_push_at.map(rfc3339),
                unsent: t.unsent_reported,
            })
            .collect(),
    }))
}

/// Revoke a terminal: its device token stops working at once (401).
#[utoipa::path(post, path = "/v1/schools/{bin}/terminals/{id}/revoke", tag = "school",
    params(("bin" = String, Path, pattern = r"^[0-9]{12}$", description = "The school's BIN"),
        ("id" = String, Path, format = Uuid, description = "Terminal id")),
    security(("bearer" = [])),
    responses((status = 204, description = "Revoked (or already revoked)"),
        (status = 404, body = ErrorBody)))]
async fn revoke_terminal(
    State(state): State<AppState>,
    staff: SchoolStaff,
    ApiPath((bin, id)): ApiPath<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let bin = staff.own_school(&bin)?;
    let id: uuid::Uuid = id.parse().map_err(|_| ApiError::not_found())?;
    crate::services::school_terminals::revoke_terminal(
        &*state.store,
        &*state.clock,
        bin,
        id,
        staff_actor(&staff),
        "revoked by school staff",
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SlotView {
    pub name: SlotName,
    /// `HH:MM`, Astana time.
    #[schema(pattern = r"^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$")]
    pub start: String,
    /// `HH:MM`, Astana time, exclusive (`24:00` for the end of the day).
    #[schema(pattern = r"^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$")]
    pub end: String,
    /// The shift this slot serves (1–3); absent: every shift. A student of a class with
    /// another shift is refused here as `wrong_shift`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shift: Option<shared::counter::Shift>,
}

#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = SlotList)] // not `Slots`: see `openapi_contract` on schema names
pub struct Slots {
    /// At most 6, not overlapping, names unique.
    #[schema(max_items = 6)]
    pub slots: Vec<SlotView>,
}

fn hhmm(minute: u16) -> String {
    format!("{:02}:{:02}", minute / 60, minute % 60)
}

fn minute(text: &str) -> Option<u16> {
    let (h, m) = text.split_once(':')?;
    // Two ASCII digits each: `u16::from_str` alone would also take `+1`.
    let two_digits = |s: &str| s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit());
    if !two_digits(h) || !two_digits(m) {
        return None;
    }
    let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
    (m < 60 && (h < 24 || (h == 24 && m == 0))).then_some(h * 60 + m)
}

/// Checks slots: names unique and non-empty, start before end, no overlaps.
fn parse_slots(input: &[SlotView]) -> Result<Vec<MealSlot>, ApiError> {
    let bad = |m: &str| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_slots", m);
    let mut slots = Vec::with_capacity(input.len());
    for s in input {
        let name = s.name.as_str();
        let (Some(start), Some(end)) = (minute(&s.start), minute(&s.end)) else {
            return Err(bad("times are HH:MM, 00:00 to 24:00"));
        };
        if start >= end {
            return Err(bad("each slot needs a start before its end"));
        }
        slots.push(MealSlot {
            name: name.to_string(),
            start_minute: start,
            end_minute: end,
            shift: s.shift,
        });
    }
    slots.sort_by_key(|s| s.start_minute);
    let overlapping = slots
        .windows(2)
        .any(|w| w[0].end_minute > w[1].start_minute);
    let mut names: Vec<_> = slots.iter().map(|s| s.name.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    if overlapping || names.len() != slots.len() || slots.len() > 6 {
        return Err(bad(
            "slots must not overlap, names must differ, at most 6 slots",
        ));
    }
    Ok(slots)
}

/// The stored slots as the API shows them; a stored name the API would refuse is a fault.
fn slots_view(slots: &[MealSlot]) -> Result<Slots, ApiError> {
    let view = |s: &MealSlot| {
        let name = s.name.parse().map_err(|e| {
            tracing::error!(error = %e, "stored meal slot name");
            ApiError::internal()
        })?;
        Ok(SlotView {
            name,
            start: hhmm(s.start_minute),
            end: hhmm(s.end_minute),
            shift: s.shift,
        })
    };
    Ok(Slots {
        slots: slots.iter().map(view).collect::<Result<_, ApiError>>()?,
    })
}

/// The school's meal slots (one whole-day slot unless configured).
#[utoipa::path(get, path = "/v1/schools/{bin}/meal-slots", tag = "school",
    params(("bin" = String, Path, pattern = r"^[0-9]{12}$", description = "The school's BIN")),
    security(("bearer" = [])),
    responses((status = 200, body = Slots), (status = 404, body = ErrorBody)))]
async fn get_meal_slots(
    State(state): State<AppState>,
    staff: SchoolStaff,
    ApiPath(bin): ApiPath<String>,
) -> Result<ApiJson<Slots>, ApiError> {
    let bin = staff.own_school(&bin)?;
    let slots = crate::domain::meal::effective_slots(&state.store.meal_slots(bin).await?);
    Ok(ApiJson(slots_view(&slots)?))
}

/// Set the school's meal slots (e.g. breakfast 08:00–10:00, lunch 12:00–14:00); a scan
/// outside every slot is denied as `outside_hours`. An empty list restores the whole day.
#[utoipa::path(put, path = "/v1/schools/{bin}/meal-slots", tag = "school",
    params(("bin" = String, Path, pattern = r"^[0-9]{12}$", description = "The school's BIN")),
    request_body = Slots,
    security(("bearer" = [])),
    responses((status = 200, body = Slots), (status = 404, body = ErrorBody),
        (status = 422, description = "invalid_slots", body = ErrorBody)))]
async fn set_meal_slots(
    State(state): State<AppState>,
    staff: SchoolStaff,
    ApiPath(bin): ApiPath<String>,
    ApiJson(req): ApiJson<Slots>,
) -> Result<ApiJson<Slots>, ApiError> {
    let bin = staff.own_school(&bin)?;
    let slots = parse_slots(&req.slots)?;
    state.store.set_meal_slots(bin, &slots).await?;
    tracing::info!(school = %bin, slots = slots.len(), "meal slots set");
    Ok(ApiJson(slots_view(&crate::domain::meal::effective_slots(
        &slots,
    ))?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slot(name: &str, start: &str, end: &str) -> SlotView {
        SlotView {
            name: name.parse().expect("slot name"),
            start: start.into(),
            end: end.into(),
            shift: None,
        }
    }

    #[test]
    fn slots_are_checked() {
        let ok = parse_slots(&[
            slot("lunch", "12:00", "14:00"),
            slot("breakfast", "08:00", "10:00"),
        ])
        .expect("ok");
        assert_eq!(ok[0].name, "breakfast");
        assert_eq!((ok[1].start_minute, ok[1].end_minute), (720, 840));
        assert!(parse_slots(&[slot("day", "00:00", "24:00")]).is_ok());
        // 40 Cyrillic letters are 80 bytes: still a short name.
        assert!(parse_slots(&[slot(&"б".repeat(40), "08:00", "09:00")]).is_ok());
        for bad in [
            vec![slot("a", "10:00", "09:00")],
            vec![slot("a", "08:00", "10:00"), slot("b", "09:30", "11:00")],
            vec![slot("a", "08:00", "09:00"), slot("a", "10:00", "11:00")],
            vec![slot("a", "8:00", "09:00")],
            vec![slot("a", "24:30", "25:00")],
            vec![slot("a", "+8:00", "09:00")],
        ] {
            assert!(parse_slots(&bad).is_err());
        }
        assert_eq!(hhmm(1440), "24:00");
    }
}
