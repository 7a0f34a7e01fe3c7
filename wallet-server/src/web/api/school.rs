//! School staff: their school's students and voucher states, and ID card binding. Staff reach only their own school; another school's BIN answers 404.

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use shared::{CardUid, Iin};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::wallet::SchoolRef;
use super::ApiPath;
use super::{rfc3339, ApiJson};
use crate::domain::audit::Actor;
use crate::domain::terminal::CardBound;
use crate::domain::voucher::VoucherState;
use crate::domain::Category;
use crate::services::cards::{self, BindError};
use crate::web::auth::SchoolStaff;
use crate::web::error::{ApiError, ErrorBody};
use crate::web::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(school_vouchers))
        .routes(routes!(bind_card))
}

#[derive(Serialize, ToSchema)]
pub struct SchoolStudent {
    /// Masked IIN (`0412******21`): enough to tell students apart on screen.
    pub iin_masked: String,
    pub full_name: String,
    pub class_label: String,
    pub category: Category,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub card_uid: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct SchoolVoucher {
    #[schema(format = Uuid)]
    pub id: String,
    pub state: VoucherState,
    pub student: SchoolStudent,
    #[schema(format = Date)]
    pub valid_from: String,
    #[schema(format = Date)]
    pub valid_until: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = DateTime)]
    pub activated_at: Option<String>,
    /// Billable meals this month (Astana time).
    pub meals_this_month: i64,
    /// The BIN of the school the student moved to (this voucher was revoked for the move).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub moved_to: Option<String>,
    /// The BIN of the school the student moved from (this voucher was formed by the move).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub moved_from: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct SchoolVouchers {
    pub school: SchoolRef,
    pub vouchers: Vec<SchoolVoucher>,
}

pub(super) fn staff_actor(staff: &SchoolStaff) -> Actor {
    Actor::Staff {
        sub: staff.sub.clone(),
        school: staff.school,
    }
}

/// Students of the school with their categories, voucher states and activation dates, by
/// class then name.
#[utoipa::path(get, path = "/v1/schools/{bin}/vouchers", tag = "school",
    params(("bin" = String, Path, pattern = r"^[0-9]{12}$", description = "The school's BIN")),
    security(("bearer" = [])),
    responses((status = 200, body = SchoolVouchers), (status = 404, body = ErrorBody)))]
async fn school_vouchers(
    State(state): State<AppState>,
    staff: SchoolStaff,
    ApiPath(bin): ApiPath<String>,
) -> Result<ApiJson<SchoolVouchers>, ApiError> {
    let bin = staff.own_school(&bin)?;
    let school = state
        .store
        .school(bin)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let month = shared::time::month_of(state.clock.now());
    let mut vouchers = state.store.vouchers_of_school(bin, month).await?;
    // Grade order (1А, 2Б, 10А), not text order.
    vouchers.sort_by_cached_key(|v| {
        (
            crate::domain::class_order(&v.class_label),
            v.student_name.clone(),
        )
    });
    let vouchers = vouchers
        .into_iter()
        .map(|v| SchoolVoucher {
            id: v.voucher.id.to_string(),
            state: v.voucher.state,
            student: SchoolStudent {
                iin_masked: v.voucher.student.to_string(),
                full_name: v.student_name,
                class_label: v.class_label,
                category: v.category,
                card_uid: v.card.map(|c| c.to_string()),
            },
            valid_from: v.voucher.valid_from.to_string(),
            valid_until: v.voucher.valid_until.to_string(),
            activated_at: v.voucher.activated_at.map(rfc3339),
            meals_this_month: v.meals_this_month,
            moved_to: v.moved_to.map(|b| b.to_string()),
            moved_from: v.moved_from.map(|b| b.to_string()),
        })
        .collect();
    Ok(ApiJson(SchoolVouchers {
        school: SchoolRef {
            bin: school.bin.to_string(),
            name: school.name,
        },
        vouchers,
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BindCardRequest {
    /// 12 digits (with a valid check digit).
    #[schema(pattern = r"^[0-9]{12}$")]
    pub student_iin: String,
    /// 10 hex digits as the reader sends them (upper or lower case).
    #[schema(pattern = r"^[0-9A-Fa-f]{10}$")]
    pub card_uid: String,
}

#[derive(Serialize, ToSchema)]
pub struct CardBindingResult {
    pub card_uid: String,
    pub student_iin_masked: String,
    /// `bound` or `unchanged`.
    pub status: &'static str,
    /// The student's previous card, now unbound.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replaced: Option<String>,
}

fn unprocessable(code: &'static str, message: &str) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
}

/// Bind an ID card to a student of this school. A card bound to another student of this
/// school is refused; a card bound at another school is taken over (answered like a free card).
#[utoipa::path(post, path = "/v1/schools/{bin}/cards", tag = "school",
    params(("bin" = String, Path, pattern = r"^[0-9]{12}$", description = "The school's BIN")),
    request_body = BindCardRequest,
    security(("bearer" = [])),
    responses((status = 200, body = CardBindingResult),
        (status = 404, description = "No such school or student of it", body = ErrorBody),
        (status = 409, description = "card_taken: bound to another student of this school", body = ErrorBody),
        (status = 422, description = "invalid_iin or invalid_card_uid", body = ErrorBody)))]
async fn bind_card(
    State(state): State<AppState>,
    staff: SchoolStaff,
    ApiPath(bin): ApiPath<String>,
    ApiJson(req): ApiJson<BindCardRequest>,
) -> Result<ApiJson<CardBindingResult>, ApiError> {
    let bin = staff.own_school(&bin)?;
    let student: Iin = req
        .student_iin
        .parse()
        .map_err(|_| unprocessable("invalid_iin", "student_iin is not a valid IIN"))?;
    let card: CardUid = req
        .card_uid
        .parse()
        .map_err(|_| unprocessable("invalid_card_uid", "card_uid must be 10 hexadecimal digits"))?;
    let outcome = cards::bind(
        state.store.as_ref(),
        bin,
        student,
        card,
        staff_actor(&staff),
        state.clock.now(),
    )
    .await
    .map_err(|e| match e {
        BindError::Taken => ApiError::conflict("card_taken", e.to_string()),
        BindError::Store(e) => e.into(),
    })?;
    let (status, replaced) = match outcome {
        CardBound::Bound { replaced } => ("bound", replaced.map(|c| c.to_string())),
        CardBound::Unchanged => ("unchanged", None),
    };
    Ok(ApiJson(CardBindingResult {
        card_uid: card.to_string(),
        student_iin_masked: student.to_string(),
        status,
        replaced,
    }))
}
