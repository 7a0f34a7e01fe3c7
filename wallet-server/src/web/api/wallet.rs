//! The parent's wallet: vouchers of the children they represent, activation, passes,
//! history and feedback. A voucher the parent does not represent answers exactly like one
//! that does not exist: 404.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use shared::text::optional_maybe_blank_schema;
use shared::{FreeText, MaybeBlank, VoucherId};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::gas::{activate_gas, ActivateIn};
use super::ApiPath;
use super::{rfc3339, ApiJson};
use crate::domain::feedback::{ComplaintLimit, FeedbackStored};
use crate::domain::meal::{MealMethod, MealStatus};
use crate::domain::monthly::{day_of, MonthlyRules};
use crate::domain::monthly_records::MonthlyVoucher;
use crate::domain::voucher::{VoucherState, VoucherView};
use crate::services::feedback;
use crate::services::vouchers;
use crate::web::auth::Parent;
use crate::web::error::{ApiError, ErrorBody};
use crate::web::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_vouchers))
        .routes(routes!(activate))
        .routes(routes!(history))
        .routes(routes!(give_feedback))
}

#[derive(Serialize, ToSchema)]
pub struct StudentRef {
    pub full_name: String,
    pub class_label: String,
}

#[derive(Serialize, ToSchema)]
pub struct SchoolRef {
    pub bin: String,
    pub name: String,
}

#[derive(Serialize, ToSchema)]
pub struct WalletVoucher {
    #[schema(format = Uuid)]
    pub id: String,
    pub state: VoucherState,
    pub programme: crate::domain::Programme,
    /// School meals only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub student: Option<StudentRef>,
    /// School meals only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub school: Option<SchoolRef>,
    /// Monthly programmes (gas): the voucher's month, `YYYY-MM`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub period: Option<String>,
    /// First day of validity (YYYY-MM-DD, Astana).
    #[schema(format = Date)]
    pub valid_from: String,
    /// Last day of validity, inclusive (YYYY-MM-DD, Astana).
    #[schema(format = Date)]
    pub valid_until: String,
    /// School meals: billable meals eaten on this voucher in the current month (Astana).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub meals_this_month: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = DateTime)]
    pub activated_at: Option<String>,
    /// Gas: the discount the provider applied, once it has sent it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub discount: Option<DiscountOut>,
}

/// A gas discount as the recipient sees it.
#[derive(Serialize, ToSchema)]
pub struct DiscountOut {
    pub tiyn: i64,
    pub volume_m3: f64,
    pub norm_m3: f64,
}

impl WalletVoucher {
    /// A monthly programme's voucher as the wallet shows it at `now`.
    pub(super) fn of_monthly(
        rules: &MonthlyRules,
        v: MonthlyVoucher,
        now: time::OffsetDateTime,
    ) -> WalletVoucher {
        WalletVoucher {
            id: v.id.to_string(),
            state: v.state_at(now),
            programme: v.programme,
            student: None,
            school: None,
            period: Some(v.month.to_string()),
            valid_from: day_of(v.month, rules.days.activate_from).to_string(),
            valid_until: v.valid_until.to_string(),
            meals_this_month: None,
            activated_at: v.activated_at.map(rfc3339),
            discount: v.discount.map(|d| DiscountOut {
                tiyn: d.discount_tiyn,
                volume_m3: d.volume_m3,
                norm_m3: d.norm_m3,
            }),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct WalletVouchers {
    pub vouchers: Vec<WalletVoucher>,
}

impl From<VoucherView> for WalletVoucher {
    fn from(v: VoucherView) -> Self {
        WalletVoucher {
            id: v.voucher.id.to_string(),
            state: v.voucher.state,
            programme: v.voucher.programme,
            student: Some(StudentRef {
                full_name: v.student_name,
                class_label: v.class_label,
            }),
            school: Some(SchoolRef {
                bin: v.voucher.school.to_string(),
                name: v.school_name,
            }),
            period: None,
            valid_from: v.voucher.valid_from.to_string(),
            valid_until: v.voucher.valid_until.to_string(),
            meals_this_month: Some(v.meals_this_month),
            activated_at: v.voucher.activated_at.map(rfc3339),
            discount: None,
        }
    }
}

/// Parses a voucher id from the path; a malformed one is simply not found.
pub(super) fn voucher_id(raw: &str) -> Result<VoucherId, ApiError> {
    raw.parse().map_err(|_| ApiError::not_found())
}

/// The signed-in parent's vouchers: school meals for the children they represent, and
/// their own gas vouchers.
#[utoipa::path(get, path = "/v1/wallet/vouchers", tag = "wallet",
    security(("bearer" = [])),
    responses((status = 200, body = WalletVouchers), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody)))]
async fn list_vouchers(
    State(state): State<AppState>,
    parent: Parent,
) -> Result<ApiJson<WalletVouchers>, ApiError> {
    let month = shared::time::month_of(state.clock.now());
    let views = state
        .store
        .vouchers_of_representative(parent.iin, month)
        .await?;
    let now = state.clock.now();
    let monthly = state.store.monthly_vouchers_of(parent.iin).await?;
    let vouchers = views
        .into_iter()
        .map(WalletVoucher::from)
        .chain(
            monthly
                .into_iter()
                .map(|v| WalletVoucher::of_monthly(&state.gas, v, now)),
        )
        .collect();
    Ok(ApiJson(WalletVouchers { vouchers }))
}

/// Activate a voucher: `formed` → `activated`. Activating twice is harmless. A gas voucher
/// takes `{"personal_account","offer_accepted":true}` (checked before with `…/account`);
/// a school-meals voucher takes no body.
#[utoipa::path(post, path = "/v1/wallet/vouchers/{id}/activate", tag = "wallet",
    params(("id" = String, Path, format = Uuid, description = "Voucher id")),
    request_body(content = ActivateIn, description = "Gas vouchers: the personal account and the \
        accepted offer; school-meals vouchers: none (or `{}`)"),
    security(("bearer" = [])),
    responses((status = 200, body = WalletVoucher),
        (status = 404, description = "`not_found`, or for gas `unknown_account`",
            body = ErrorBody),
        (status = 409, description = "`voucher_expired`, `voucher_revoked`; gas: \
            `outside_activation_window` (before the 7th or after the 25th), `account_taken` \
            (the account has an activated voucher this month), `voucher_activated` (on \
            another account)", body = ErrorBody),
        (status = 422, description = "gas: `offer_not_accepted`, or no `personal_account`",
            body = ErrorBody),
        (status = 503, description = "gas: the provider does not answer", body = ErrorBody)))]
async fn activate(
    State(state): State<AppState>,
    parent: Parent,
    ApiPath(id): ApiPath<String>,
    headers: axum::http::HeaderMap,
    body: Result<ApiJson<ActivateIn>, ApiError>,
) -> Result<ApiJson<WalletVoucher>, ApiError> {
    let id = voucher_id(&id)?;
    if state.store.monthly_voucher(id).await?.is_some() {
        return Ok(ApiJson(activate_gas(&state, &parent, id, body).await?));
    }
    // A school-meals voucher needs no body; one that is sent must still be well formed
    // (bad input gets a clear error, never a silent success).
    let sent_body = headers.contains_key(axum::http::header::CONTENT_TYPE)
        || headers
            .get(axum::http::header::CONTENT_LENGTH)
            .is_some_and(|n| n.as_bytes() != b"0");
    if sent_body {
        body?.0.check_shape()?;
    }
    let view = vouchers::activate(state.store.as_ref(), parent.iin, id, state.clock.now()).await?;
    Ok(ApiJson(view.into()))
}

#[derive(Serialize, ToSchema)]
pub struct MealEntry {
    #[schema(format = Uuid)]
    pub event_id: String,
    /// When the meal was served (RFC 3339, UTC).
    #[schema(format = DateTime)]
    pub served_at: String,
    /// The service day (YYYY-MM-DD, Astana).
    #[schema(format = Date)]
    pub service_day: String,
    pub slot: String,
    pub method: MealMethod,
    pub status: MealStatus,
    pub school: SchoolBin,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct SchoolBin {
    pub bin: String,
}

#[derive(Serialize, ToSchema)]
pub struct History {
    pub meals: Vec<MealEntry>,
}

/// Meals recorded on this voucher, newest first.
#[utoipa::path(get, path = "/v1/wallet/vouchers/{id}/history", tag = "wallet",
    params(("id" = String, Path, format = Uuid, description = "Voucher id")),
    security(("bearer" = [])),
    responses((status = 200, body = History), (status = 404, body = ErrorBody)))]
async fn history(
    State(state): State<AppState>,
    parent: Parent,
    ApiPath(id): ApiPath<String>,
) -> Result<ApiJson<History>, ApiError> {
    let id = voucher_id(&id)?;
    let month = shared::time::month_of(state.clock.now());
    state
        .store
        .voucher_of_representative(id, parent.iin, month)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let meals = state.store.meals_of_voucher(id, parent.iin).await?;
    Ok(ApiJson(History {
        meals: meals
            .into_iter()
            .map(|m| MealEntry {
                event_id: m.event_id.to_string(),
                served_at: rfc3339(m.served_at),
                service_day: m.service_day.to_string(),
                slot: m.slot,
                method: m.method,
                status: m.status,
                school: SchoolBin {
                    bin: m.school.to_string(),
                },
                reason: m.reason,
            })
            .collect(),
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FeedbackRequest {
    /// 1 (bad) to 5 (excellent).
    #[schema(minimum = 1, maximum = 5)]
    pub rating: i64,
    /// Optional complaint, forwarded to e-Otinish; blank means none.
    #[serde(default)]
    #[schema(schema_with = optional_maybe_blank_schema::<FreeText>)]
    pub complaint: Option<MaybeBlank<FreeText>>,
}

#[derive(Serialize, ToSchema)]
pub struct FeedbackAccepted {
    #[schema(format = Uuid)]
    pub id: String,
    /// Whether a complaint was queued for e-Otinish.
    pub complaint_queued: bool,
}

/// Rate the service (1–5) and optionally complain; complaints go to e-Otinish via the outbox.
#[utoipa::path(post, path = "/v1/wallet/vouchers/{id}/feedback", tag = "wallet",
    params(("id" = String, Path, format = Uuid, description = "Voucher id")),
    request_body = FeedbackRequest,
    security(("bearer" = [])),
    responses((status = 201, body = FeedbackAccepted), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody),
        (status = 429, description = "too_many_complaints: this parent already complained about \
            this voucher 3 times today (Astana time); see Retry-After", body = ErrorBody,
            headers(("retry-after" = String, description = "Seconds until the next service day")))))]
async fn give_feedback(
    State(state): State<AppState>,
    parent: Parent,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<FeedbackRequest>,
) -> Result<Response, ApiError> {
    let id = voucher_id(&id)?;
    let now = state.clock.now();
    let complaint = req.complaint.and_then(MaybeBlank::into_option);
    let form = feedback::FeedbackForm::parse(req.rating, complaint)?;
    let view = state
        .store
        .voucher_of_representative(id, parent.iin, shared::time::month_of(now))
        .await?
        .ok_or_else(ApiError::not_found)?;
    let (record, outbox) = feedback::record(&view, parent.iin, form, now);
    let limit = ComplaintLimit::of_day(now);
    let stored = state
        .store
        .add_feedback(&record, outbox.as_ref(), &limit)
        .await?;
    if stored == FeedbackStored::ComplaintLimitReached {
        return Ok(ApiError::too_many_requests(
            "too_many_complaints",
            format!(
                "at most {} complaints about a voucher a day; the next one is taken tomorrow",
                limit.max
            ),
            limit.lifts_at - now,
        ));
    }
    let accepted = FeedbackAccepted {
        id: record.id.to_string(),
        complaint_queued: outbox.is_some(),
    };
    Ok((StatusCode::CREATED, ApiJson(accepted)).into_response())
}
