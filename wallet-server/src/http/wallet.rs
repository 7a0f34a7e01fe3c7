//! The parent's wallet: the vouchers of the children they represent.
//! A parent sees only their own children's vouchers; anything else does not exist for them.

use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::ApiJson;
use crate::app::AppState;
use crate::auth::Parent;
use crate::error::ApiError;
use crate::vouchers::{VoucherState, VoucherView};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_vouchers))
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
    pub id: String,
    pub state: VoucherState,
    pub programme: crate::domain::Programme,
    pub student: StudentRef,
    pub school: SchoolRef,
    /// First day of validity (YYYY-MM-DD, Astana).
    pub valid_from: String,
    /// Last day of validity, inclusive (YYYY-MM-DD, Astana).
    pub valid_until: String,
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
            student: StudentRef {
                full_name: v.student_name,
                class_label: v.class_label,
            },
            school: SchoolRef {
                bin: v.voucher.school.to_string(),
                name: v.school_name,
            },
            valid_from: v.voucher.valid_from.to_string(),
            valid_until: v.voucher.valid_until.to_string(),
        }
    }
}

/// The signed-in parent's vouchers.
#[utoipa::path(get, path = "/v1/wallet/vouchers", tag = "wallet",
    security(("bearer" = [])),
    responses((status = 200, body = WalletVouchers), (status = 401, body = crate::error::ErrorBody)))]
async fn list_vouchers(
    State(state): State<AppState>,
    parent: Parent,
) -> Result<ApiJson<WalletVouchers>, ApiError> {
    let views = state.store.vouchers_of_representative(parent.iin).await?;
    Ok(ApiJson(WalletVouchers {
        vouchers: views.into_iter().map(WalletVoucher::from).collect(),
    }))
}
