//! Meal prices per school and programme, set by the customer's integration (the akimat's
//! system): the табель multiplies billable meals by this price. Without one, the server's
//! `--meal-price-tiyn` applies.

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use shared::Bin;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{ApiJson, ApiPath};
use crate::domain::Programme;
use crate::web::auth::Integration;
use crate::web::error::{ApiError, ErrorBody};
use crate::web::AppState;

/// A meal above 100,000 tenge is a typo, not a price.
const MAX_PRICE_TIYN: i64 = 10_000_000;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(set_price))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PriceRequest {
    /// Price of one meal in tiyn (1/100 tenge).
    #[schema(minimum = 0, maximum = 10_000_000)]
    pub price_tiyn: i64,
}

#[derive(Serialize, ToSchema)]
pub struct Price {
    pub bin: String,
    pub programme: Programme,
    pub price_tiyn: i64,
}

/// Set the price of one school meal for a school (applies to табели built from now on;
/// approved months keep their frozen amounts).
#[utoipa::path(put, path = "/v1/integration/schools/{bin}/meal-price", tag = "integration",
    params(("bin" = String, Path, pattern = r"^[0-9]{12}$", description = "The school's BIN")),
    request_body = PriceRequest,
    security(("bearer" = [])),
    responses((status = 200, body = Price), (status = 404, body = ErrorBody),
        (status = 422, description = "invalid_price", body = ErrorBody)))]
async fn set_price(
    State(state): State<AppState>,
    _caller: Integration,
    ApiPath(bin): ApiPath<String>,
    ApiJson(req): ApiJson<PriceRequest>,
) -> Result<ApiJson<Price>, ApiError> {
    let bin: Bin = bin.parse().map_err(|_| ApiError::not_found())?;
    state
        .store
        .school(bin)
        .await?
        .ok_or_else(ApiError::not_found)?;
    if !(0..=MAX_PRICE_TIYN).contains(&req.price_tiyn) {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_price",
            format!("price_tiyn must be 0 to {MAX_PRICE_TIYN}"),
        ));
    }
    let programme = Programme::SchoolMeals;
    state
        .store
        .set_meal_price(bin, programme, req.price_tiyn, state.clock.now())
        .await?;
    tracing::info!(school = %bin, price_tiyn = req.price_tiyn, "meal price set");
    Ok(ApiJson(Price {
        bin: bin.to_string(),
        programme,
        price_tiyn: req.price_tiyn,
    }))
}
