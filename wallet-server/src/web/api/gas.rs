//! Gas vouchers on the wire: the recipient's account check and activation in the wallet,
//! the provider's routes (activations of a month, discounts, office activation) and the
//! integration role's norms per region. Handlers parse, call `services::monthly` and shape
//! the answer; [`From<MonthlyError>`] is the one mapping of its refusals to statuses.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use shared::time::YearMonth;
use shared::{Iin, VoucherId};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::wallet::{voucher_id, WalletVoucher};
use super::{ApiJson, ApiPath};
use crate::domain::audit::Actor;
use crate::domain::gas::{mask_address, mask_holder, parse_account, Discount, Norm, Region};
use crate::domain::monthly_records::ActivatedVoucher;
use crate::services::monthly::{self, Activator, DiscountItem, MonthlyError};
use crate::web::auth::{Integration, Parent, ProviderOperator, ProviderSystem};
use crate::web::error::{ApiError, ErrorBody};
use crate::web::AppState;

/// A month's discounts of a region run to thousands of items, above the general request
/// limit: they get the eligibility lists' limit (`--max-list-bytes`).
pub fn routes(max_list_bytes: usize) -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(discounts))
        // The route's own limit wins over the general one applied around the router.
        .layer(axum::extract::DefaultBodyLimit::max(max_list_bytes))
        .routes(routes!(check_account))
        .routes(routes!(activations))
        .routes(routes!(office_activate))
        .routes(routes!(put_norm))
}

impl From<MonthlyError> for ApiError {
    fn from(e: MonthlyError) -> Self {
        let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
        let message = e.to_string();
        match e {
            MonthlyError::List(r) => ApiError::new(unprocessable, r.code(), message),
            MonthlyError::NotFound => ApiError::not_found(),
            MonthlyError::UnknownAccount => {
                ApiError::new(StatusCode::NOT_FOUND, "unknown_account", message)
            }
            MonthlyError::AccountTaken => ApiError::conflict("account_taken", message),
            MonthlyError::OutsideActivationWindow => {
                ApiError::conflict("outside_activation_window", message)
            }
            MonthlyError::OfferNotAccepted => {
                ApiError::new(unprocessable, "offer_not_accepted", message)
            }
            MonthlyError::NotUsable(state) => {
                let code = match state {
                    crate::domain::voucher::VoucherState::Activated => "voucher_activated",
                    _ => "voucher_expired",
                };
                ApiError::conflict(code, message)
            }
            MonthlyError::ProviderUnavailable(_) => {
                ApiError::unavailable("the gas provider does not answer; try again later")
            }
            MonthlyError::Store(e) => e.into(),
        }
    }
}

/// A personal account number as typed; anything but 6–20 digits is unknown to the provider.
fn account_of(raw: &str) -> Result<String, ApiError> {
    parse_account(raw).ok_or_else(|| MonthlyError::UnknownAccount.into())
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountIn {
    /// The gas personal account (лицевой счет): 6–20 digits.
    #[schema(max_length = 40)]
    pub personal_account: String,
}

#[derive(Serialize, ToSchema)]
pub struct AccountOut {
    pub number: String,
    pub holder_masked: String,
    pub address_masked: String,
}

#[derive(Serialize, ToSchema)]
pub struct Offer {
    pub text: &'static str,
}

#[derive(Serialize, ToSchema)]
pub struct AccountCheck {
    pub account: AccountOut,
    pub offer: Offer,
}

/// Check a personal account for a gas voucher: the provider's (masked) details and the
/// public offer to accept before activation.
#[utoipa::path(post, path = "/v1/wallet/vouchers/{id}/account", tag = "wallet",
    params(("id" = String, Path, format = Uuid, description = "Gas voucher id")),
    request_body = AccountIn,
    security(("bearer" = [])),
    responses((status = 200, body = AccountCheck),
        (status = 404, description = "`not_found` (no such voucher of the recipient) or \
            `unknown_account` (the provider has no such personal account; try again)",
            body = ErrorBody),
        (status = 409, description = "`account_taken`: the account already has an activated \
            voucher this month", body = ErrorBody),
        (status = 503, description = "the provider does not answer", body = ErrorBody)))]
async fn check_account(
    State(state): State<AppState>,
    parent: Parent,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<AccountIn>,
) -> Result<ApiJson<AccountCheck>, ApiError> {
    let id = voucher_id(&id)?;
    let account = account_of(&body.personal_account)?;
    let c = monthly::check_account(&state.deps(), parent.iin, id, &account).await?;
    Ok(ApiJson(AccountCheck {
        account: AccountOut {
            number: c.account.number,
            holder_masked: mask_holder(&c.account.holder),
            address_masked: mask_address(&c.account.address),
        },
        offer: Offer { text: c.offer },
    }))
}

/// The body of `POST /v1/wallet/vouchers/{id}/activate`: required for gas vouchers, ignored
/// for school-meals ones.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct ActivateIn {
    /// Gas: the personal account checked before.
    #[schema(max_length = 40)]
    pub personal_account: Option<String>,
    /// Gas: the recipient accepted the public offer; must be `true`.
    pub offer_accepted: Option<bool>,
}

/// Most characters of a personal account as sent (the schemas' `max_length` above).
const ACCOUNT_MAX_CHARS: usize = 40;

impl ActivateIn {
    /// The body as its schema promises it, for a voucher that ignores its fields (school
    /// meals): what a gas voucher would refuse by length is refused here too.
    pub(super) fn check_shape(&self) -> Result<(), ApiError> {
        match &self.personal_account {
            Some(a) if a.chars().count() > ACCOUNT_MAX_CHARS => Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_body",
                "personal_account has at most 40 characters",
            )),
            _ => Ok(()),
        }
    }
}

/// The wallet's activation of a gas voucher (called by the wallet's activate route).
pub(super) async fn activate_gas(
    state: &AppState,
    parent: &Parent,
    id: VoucherId,
    body: Result<ApiJson<ActivateIn>, ApiError>,
) -> Result<WalletVoucher, ApiError> {
    let ApiJson(body) = body?;
    let raw = body.personal_account.ok_or_else(|| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
            "a gas voucher is activated on a personal_account",
        )
    })?;
    if body.offer_accepted != Some(true) {
        return Err(MonthlyError::OfferNotAccepted.into());
    }
    let account = account_of(&raw)?;
    let by = Activator::Recipient(parent.iin);
    let v = monthly::activate(
        &state.deps(),
        &state.gas,
        by,
        Some(id),
        parent.iin,
        &account,
    )
    .await?;
    Ok(WalletVoucher::of_monthly(&state.gas, v, state.clock.now()))
}

#[derive(Deserialize, ToSchema, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct MonthQuery {
    /// `YYYY-MM`.
    #[param(pattern = r"^(20[0-9]{2}|2100)-(0[1-9]|1[0-2])$")]
    pub month: String,
}

#[derive(Serialize, ToSchema)]
pub struct Activations {
    pub month: String,
    pub vouchers: Vec<ActivatedVoucher>,
}

fn month_of(raw: &str, bad: impl Fn(&'static str) -> ApiError) -> Result<YearMonth, ApiError> {
    raw.parse().map_err(|_| bad("month must be YYYY-MM"))
}

/// The month's activated gas vouchers: the list the wallet sends on the 26th.
#[utoipa::path(get, path = "/v1/provider/activations", tag = "provider",
    params(MonthQuery),
    security(("bearer" = [])),
    responses((status = 200, body = Activations), (status = 400, body = ErrorBody)))]
async fn activations(
    State(state): State<AppState>,
    _caller: ProviderSystem,
    query: Result<Query<MonthQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<ApiJson<Activations>, ApiError> {
    let Query(q) = query?;
    let month = month_of(&q.month, |m| ApiError::bad_request("invalid_query", m))?;
    let vouchers = state.store.activations(state.gas.programme, month).await?;
    Ok(ApiJson(Activations {
        month: month.to_string(),
        vouchers,
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DiscountIn {
    #[schema(format = Uuid)]
    pub voucher_id: String,
    #[schema(minimum = 0)]
    pub volume_m3: f64,
    #[schema(minimum = 0)]
    pub norm_m3: f64,
    #[schema(minimum = 0)]
    pub benefit_tiyn_per_m3: i64,
    #[schema(minimum = 0)]
    pub discount_tiyn: i64,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DiscountsIn {
    /// `YYYY-MM`.
    #[schema(pattern = r"^(20[0-9]{2}|2100)-(0[1-9]|1[0-2])$")]
    pub month: String,
    #[schema(max_items = 10_000)]
    pub items: Vec<DiscountIn>,
}

impl DiscountsIn {
    /// Holds the body to its schema before any item is judged: a body that breaks it
    /// (more than 10,000 items, a voucher_id that is not a UUID, a negative number) is
    /// refused whole with 422, like any bad body; per-item reasons are for bodies that
    /// are well formed but disagree with the wallet.
    fn check_shape(&self) -> Result<(), ApiError> {
        let refuse = |m: &str| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_body", m);
        if self.items.len() > 10_000 {
            return Err(refuse("at most 10,000 items"));
        }
        for i in &self.items {
            if uuid::Uuid::parse_str(&i.voucher_id).is_err() {
                return Err(refuse("every voucher_id is a UUID"));
            }
            if i.volume_m3 < 0.0 || i.norm_m3 < 0.0 {
                return Err(refuse("volume_m3 and norm_m3 are not negative"));
            }
            if i.benefit_tiyn_per_m3 < 0 || i.discount_tiyn < 0 {
                return Err(refuse(
                    "benefit_tiyn_per_m3 and discount_tiyn are not negative",
                ));
            }
        }
        Ok(())
    }
}

#[derive(Serialize, ToSchema)]
pub struct DiscountResult {
    pub voucher_id: String,
    /// `accepted` or `rejected`.
    pub status: &'static str,
    /// Why rejected: `above_cap` (above benefit × the region's norm), `above_consumption`
    /// (above volume × benefit), `norm_mismatch`, `invalid_item`, `unknown_voucher`,
    /// `wrong_month`, `not_activated`, `no_norm`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
}

#[derive(Serialize, ToSchema)]
pub struct DiscountsOut {
    pub items: Vec<DiscountResult>,
}

/// The discounts the provider computed for a month's activated vouchers; each item is
/// accepted (and shown in the recipient's wallet) or rejected with a reason.
#[utoipa::path(post, path = "/v1/provider/discounts", tag = "provider",
    request_body = DiscountsIn,
    security(("bearer" = [])),
    responses((status = 200, body = DiscountsOut),
        (status = 422, description = "`invalid_month` or a body of the wrong shape", body = ErrorBody)))]
async fn discounts(
    State(state): State<AppState>,
    caller: ProviderSystem,
    ApiJson(body): ApiJson<DiscountsIn>,
) -> Result<ApiJson<DiscountsOut>, ApiError> {
    let month = month_of(&body.month, |m| {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_month", m)
    })?;
    body.check_shape()?;
    let items: Vec<DiscountItem> = body
        .items
        .iter()
        .map(|i| DiscountItem {
            voucher: i.voucher_id.parse().ok(),
            discount: Discount {
                volume_m3: i.volume_m3,
                norm_m3: i.norm_m3,
                benefit_tiyn_per_m3: i.benefit_tiyn_per_m3,
                discount_tiyn: i.discount_tiyn,
            },
        })
        .collect();
    let by = Actor::Provider(caller.sub);
    let verdicts = monthly::take_discounts(&state.deps(), &state.gas, month, &items, by).await?;
    let items = body
        .items
        .iter()
        .zip(verdicts)
        .map(|(i, v)| DiscountResult {
            voucher_id: i.voucher_id.clone(),
            status: if v.rejected.is_some() {
                "rejected"
            } else {
                "accepted"
            },
            reason: v.rejected,
        })
        .collect();
    Ok(ApiJson(DiscountsOut { items }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OfficeActivationIn {
    /// The recipient's IIN (12 digits).
    #[schema(pattern = r"^[0-9]{12}$")]
    pub iin: String,
    #[schema(max_length = 40)]
    pub personal_account: String,
}

#[derive(Serialize, ToSchema)]
pub struct OfficeActivation {
    #[schema(format = Uuid)]
    pub voucher_id: String,
    pub month: String,
    pub personal_account: String,
}

/// The provider's office activates the current month's gas voucher of a recipient without
/// a smartphone (item 23 of the order).
#[utoipa::path(post, path = "/v1/provider/vouchers/activate", tag = "provider",
    request_body = OfficeActivationIn,
    security(("bearer" = [])),
    responses((status = 200, body = OfficeActivation),
        (status = 404, description = "`not_found` (no voucher of this month for the IIN) or \
            `unknown_account`", body = ErrorBody),
        (status = 409, description = "`account_taken`, `outside_activation_window`, \
            `voucher_activated`, `voucher_expired`", body = ErrorBody),
        (status = 503, description = "the provider's account lookup does not answer",
            body = ErrorBody)))]
async fn office_activate(
    State(state): State<AppState>,
    caller: ProviderOperator,
    ApiJson(body): ApiJson<OfficeActivationIn>,
) -> Result<ApiJson<OfficeActivation>, ApiError> {
    let iin: Iin = body.iin.parse().map_err(|_| ApiError::not_found())?;
    let account = account_of(&body.personal_account)?;
    let by = Activator::Operator(caller.sub);
    let v = monthly::activate(&state.deps(), &state.gas, by, None, iin, &account).await?;
    Ok(ApiJson(OfficeActivation {
        voucher_id: v.id.to_string(),
        month: v.month.to_string(),
        personal_account: account,
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NormIn {
    /// The region's monthly norm of consumption, m³ (above 0, at most 100,000).
    #[schema(exclusive_minimum = 0, maximum = 100_000)]
    pub norm_m3: f64,
    /// The benefit per m³ in tiyn (1 to 100,000,000).
    #[schema(minimum = 1, maximum = 100_000_000)]
    pub benefit_tiyn_per_m3: i64,
}

#[derive(Serialize, ToSchema)]
pub struct NormOut {
    pub region: Region,
    pub norm_m3: f64,
    pub benefit_tiyn_per_m3: i64,
    /// The largest discount: benefit × norm.
    pub cap_tiyn: i64,
}

/// Set a region's monthly gas norm and benefit (`shymkent`, `west_kazakhstan`).
#[utoipa::path(put, path = "/v1/integration/gas/norms/{region}", tag = "integration",
    params(("region" = Region, Path, description = "The region")),
    request_body = NormIn,
    security(("bearer" = [])),
    responses((status = 200, body = NormOut),
        (status = 404, description = "no such region", body = ErrorBody),
        (status = 422, description = "`invalid_norm`", body = ErrorBody)))]
async fn put_norm(
    State(state): State<AppState>,
    caller: Integration,
    ApiPath(region): ApiPath<String>,
    ApiJson(body): ApiJson<NormIn>,
) -> Result<ApiJson<NormOut>, ApiError> {
    let region: Region = region.parse().map_err(|_| ApiError::not_found())?;
    let valid = body.norm_m3.is_finite()
        && body.norm_m3 > 0.0
        && body.norm_m3 <= 100_000.0
        && (1..=100_000_000).contains(&body.benefit_tiyn_per_m3);
    if !valid {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_norm",
            "norm_m3 must be above 0 and at most 100000; benefit_tiyn_per_m3 1 to 100000000",
        ));
    }
    let norm = Norm {
        norm_m3: body.norm_m3,
        benefit_tiyn_per_m3: body.benefit_tiyn_per_m3,
    };
    let by = Actor::Integration(caller.sub);
    monthly::put_norm(&state.deps(), &state.gas, region, norm, by).await?;
    Ok(ApiJson(NormOut {
        region,
        norm_m3: norm.norm_m3,
        benefit_tiyn_per_m3: norm.benefit_tiyn_per_m3,
        cap_tiyn: norm.cap_tiyn(),
    }))
}
