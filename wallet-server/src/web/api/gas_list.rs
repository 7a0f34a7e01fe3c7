//! The eligibility-list route's second programme: a body whose `programme` is `gas` is a
//! month's list of gas recipients of one region, answered in the school lists' shape.

use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::integration::{AcceptedRow, ListResult, RejectedRow};
use crate::domain::audit::Actor;
use crate::domain::gas::Region;
use crate::domain::list::ListRequest;
use crate::services::monthly::{self, MonthlyList, RecipientIn, RowResult};
use crate::web::error::ApiError;
use crate::web::AppState;

/// A month's list of gas recipients (from SDU through PEP).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GasListRequest {
    /// `gas`.
    #[schema(pattern = "^gas$")]
    pub programme: String,
    /// `YYYY-MM`.
    #[schema(pattern = r"^[0-9]{4}-(0[1-9]|1[0-2])$")]
    pub period: String,
    pub region: Region,
    /// At most 10,000 rows; a bad row is rejected on its own.
    #[schema(max_items = 10_000)]
    pub recipients: Vec<RecipientIn>,
}

/// A list of either programme, told apart by `programme`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(untagged)]
pub enum AnyList {
    School(ListRequest),
    Gas(GasListRequest),
}

impl<'de> Deserialize<'de> for AnyList {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let value = serde_json::Value::deserialize(d)?;
        // A school's list (it names a school) stays one whatever its `programme` says, and
        // is refused as before (`invalid_list`) when that is not `school_meals`.
        let gas = value.get("programme").and_then(|p| p.as_str()) == Some("gas");
        if gas && value.get("school").is_none() {
            serde_json::from_value(value)
                .map(AnyList::Gas)
                .map_err(D::Error::custom)
        } else {
            serde_json::from_value(value)
                .map(AnyList::School)
                .map_err(D::Error::custom)
        }
    }
}

/// Receives a gas list: refused whole (422) for a bad month or after the update deadline.
pub async fn receive(
    state: &AppState,
    req: GasListRequest,
    by: Actor,
) -> Result<ListResult, ApiError> {
    let invalid = |code, m: &str| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, m);
    let month = req
        .period
        .parse()
        .map_err(|_| invalid("invalid_list", "period must be YYYY-MM"))?;
    if req.recipients.len() > 10_000 {
        return Err(invalid("invalid_list", "at most 10,000 recipients"));
    }
    let (rows, mut results) = monthly::read_rows(&req.recipients);
    let list = MonthlyList {
        month,
        region: req.region,
        rows,
        received_by: by,
    };
    results.extend(monthly::receive_list(&state.deps(), &state.gas, list).await?);
    state.deps().flush_outbox().await;
    let iin_masked = |index: usize| {
        req.recipients
            .get(index)
            .and_then(|r| r.iin.trim().parse::<shared::Iin>().ok())
            .map(|i| i.to_string())
    };
    let mut accepted = Vec::new();
    let mut rejected = Vec::new();
    for r in results {
        match r {
            RowResult::Accepted { index, status } => accepted.push(AcceptedRow {
                index,
                iin_masked: iin_masked(index).unwrap_or_default(),
                voucher_id: None,
                status,
                warnings: Vec::new(),
                consent: None,
            }),
            RowResult::Rejected { index, reason } => rejected.push(RejectedRow {
                index,
                iin_masked: iin_masked(index),
                reason,
            }),
        }
    }
    accepted.sort_by_key(|r| r.index);
    rejected.sort_by_key(|r| r.index);
    tracing::info!(%month, region = %req.region, accepted = accepted.len(), rejected = rejected.len(), "gas list applied");
    Ok(ListResult {
        list_id: uuid::Uuid::now_v7().to_string(),
        accepted,
        rejected,
        revoked: 0,
    })
}
