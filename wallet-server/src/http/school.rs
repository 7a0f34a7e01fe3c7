//! School staff: their school's students and voucher states. Staff reach only their own
//! school; another school's BIN answers 404.

use axum::extract::{Path, State};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::wallet::SchoolRef;
use super::ApiJson;
use crate::app::AppState;
use crate::auth::SchoolStaff;
use crate::error::ApiError;
use crate::vouchers::VoucherState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(school_vouchers))
}

#[derive(Serialize, ToSchema)]
pub struct SchoolStudent {
    /// Masked IIN (`0412******21`): enough to tell students apart on screen.
    pub iin_masked: String,
    pub full_name: String,
    pub class_label: String,
}

#[derive(Serialize, ToSchema)]
pub struct SchoolVoucher {
    pub id: String,
    pub state: VoucherState,
    pub student: SchoolStudent,
    pub valid_from: String,
    pub valid_until: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub activated_at: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct SchoolVouchers {
    pub school: SchoolRef,
    pub vouchers: Vec<SchoolVoucher>,
}

/// Students of the school and the states of their vouchers, by class then name.
#[utoipa::path(get, path = "/v1/schools/{bin}/vouchers", tag = "school",
    params(("bin" = String, Path, description = "The school's BIN")),
    security(("bearer" = [])),
    responses((status = 200, body = SchoolVouchers), (status = 404, body = crate::error::ErrorBody)))]
async fn school_vouchers(
    State(state): State<AppState>,
    staff: SchoolStaff,
    Path(bin): Path<String>,
) -> Result<ApiJson<SchoolVouchers>, ApiError> {
    let bin = staff.own_school(&bin)?;
    let school = state
        .store
        .school(bin)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let vouchers = state.store.vouchers_of_school(bin).await?;
    let vouchers = vouchers
        .into_iter()
        .map(|v| SchoolVoucher {
            id: v.voucher.id.to_string(),
            state: v.voucher.state,
            student: SchoolStudent {
                iin_masked: v.voucher.student.to_string(),
                full_name: v.student_name,
                class_label: v.class_label,
            },
            valid_from: v.voucher.valid_from.to_string(),
            valid_until: v.voucher.valid_until.to_string(),
            activated_at: v.voucher.activated_at.and_then(|t| {
                t.format(&time::format_description::well_known::Rfc3339)
                    .ok()
            }),
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
