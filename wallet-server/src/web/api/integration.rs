//! Integrations (PEP, NOBD, e-Otinish): the monthly eligibility lists come in here, and the
//! outbox of outgoing messages can be inspected.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::gas_list::AnyList;
use super::{rfc3339, ApiJson};
use crate::domain::audit::Actor;
use crate::domain::consent::ConsentState;
use crate::domain::list::{ListRequest, Reception, RowOutcome, ValidRow};
use crate::domain::outbox::{OutboxKind, OutboxState};
use crate::services::lists::{self, ReceiveError, Received};
use crate::web::auth::Integration;
use crate::web::error::{ApiError, ErrorBody};
use crate::web::AppState;

/// `max_list_bytes` bounds an eligibility list (`--max-list-bytes`): a school of 5,000
/// students with two representatives each is about 2.5 MB of JSON, above the general request
/// limit (`--max-body-bytes`).
pub fn routes(max_list_bytes: usize) -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(receive_list))
        // The route's own limit wins over the general one applied around the router.
        .layer(axum::extract::DefaultBodyLimit::max(max_list_bytes))
        .routes(routes!(outbox))
}

#[derive(Serialize, ToSchema)]
pub struct AcceptedRow {
    pub index: usize,
    pub iin_masked: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = Uuid)]
    pub voucher_id: Option<String>,
    /// `voucher_formed` or `awaiting_consent`; gas also `no_phone` (and, for a recipient
    /// already on the month's list, where their conversation stands: `refused`,
    /// `timed_out`).
    pub status: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<&'static str>,
    /// For rows that need a parent's consent: where the SMS conversation stands —
    /// `pending` (the start SMS went out), `reminded`, `agreed`, `refused`, `timed_out`,
    /// `no_phone` (no number: the process ended), or `lookup_failed` (the phone directory
    /// did not answer; send the list again later).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consent: Option<&'static str>,
}

#[derive(Serialize, ToSchema)]
pub struct RejectedRow {
    pub index: usize,
    /// Masked IIN, when the row's IIN was readable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iin_masked: Option<String>,
    /// `invalid_iin`, `missing_name`, `invalid_grade`, `unknown_category`,
    /// `primary_outside_grades_1_4` (category `primary` with a grade other than 1–4),
    /// `missing_class`, `no_representative`, `invalid_representative`, `duplicate_in_list`,
    /// `claimed_by_other_school`; gas: `invalid_iin`, `duplicate_in_list`, `lookup_failed`
    /// (the phone directory did not answer; send the list again).
    pub reason: &'static str,
}

#[derive(Serialize, ToSchema)]
pub struct ListResult {
    #[schema(format = Uuid)]
    pub list_id: String,
    pub accepted: Vec<AcceptedRow>,
    pub rejected: Vec<RejectedRow>,
    /// Vouchers revoked because their students are no longer on this school's list.
    pub revoked: usize,
}

fn content_hash(req: &ListRequest) -> String {
    let canonical = serde_json::to_vec(req).unwrap_or_default();
    let digest = ring::digest::digest(&ring::digest::SHA256, &canonical);
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// Receive a monthly list — a school's approved list of students (`school_meals`), or a
/// region's gas recipients (`gas`, from SDU) — every row accepted or rejected with a reason.
/// A gas row's `status` is `awaiting_consent` (the start SMS goes on the 7th at 09:00, or
/// at once from then until the 14th) or `no_phone`.
#[utoipa::path(post, path = "/v1/integration/eligibility-lists", tag = "integration",
    request_body = AnyList,
    security(("bearer" = [])),
    responses((status = 200, body = ListResult),
        (status = 422, description = "The list as a whole is unusable; nothing was stored: \
            `outside_programme` (no day of the list's month is in the programme's dates), \
            `list_too_far_ahead` (the month is more than one month after the current one in \
            Astana), `after_update_deadline` (gas: the month's list after the 14th), \
            `invalid_list` (anything else)", body = ErrorBody)))]
async fn receive_list(
    State(state): State<AppState>,
    caller: Integration,
    ApiJson(req): ApiJson<AnyList>,
) -> Result<ApiJson<ListResult>, ApiError> {
    let req = match req {
        AnyList::School(req) => req,
        AnyList::Gas(gas) => {
            let by = Actor::Integration(caller.sub);
            return Ok(ApiJson(super::gas_list::receive(&state, gas, by).await?));
        }
    };
    let reception = Reception {
        received_at: state.clock.now(),
        received_by: Actor::Integration(caller.sub),
        school_year: &state.school_year,
        programme_dates: state.programme_dates,
        content_hash: content_hash(&req),
    };
    let Received {
        list,
        outcome,
        consents,
    } = lists::receive(&state.deps(), &req, reception)
        .await
        .map_err(|e| match e {
            ReceiveError::Invalid(e) => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, e.code(), e.to_string())
            }
            ReceiveError::Store(e) => e.into(),
        })?;
    // Rows by index, so a 10,000-row list is answered without a search per row.
    let by_index: HashMap<usize, &ValidRow> = list.rows.iter().map(|r| (r.index, r)).collect();
    let mut accepted = Vec::new();
    let mut rejected: Vec<RejectedRow> = list
        .rejected
        .iter()
        .map(|(index, iin, reason)| RejectedRow {
            index: *index,
            iin_masked: iin.map(|i| i.to_string()),
            reason: reason.code(),
        })
        .collect();
    for (index, row_outcome) in &outcome.rows {
        let row = by_index.get(index).copied();
        let iin_masked = row.map(|r| r.student.iin.to_string()).unwrap_or_default();
        let warnings = row.map(|r| r.warnings.clone()).unwrap_or_default();
        match row_outcome {
            RowOutcome::VoucherFormed(id) => accepted.push(AcceptedRow {
                index: *index,
                iin_masked,
                voucher_id: Some(id.to_string()),
                status: "voucher_formed",
                warnings,
                // A row that needs consent forms its voucher only on a parent's "yes" this
                // school year (also given at the school the student moved from).
                consent: row
                    .filter(|r| !r.forms_voucher)
                    .map(|_| ConsentState::Agreed.as_str()),
            }),
            RowOutcome::AwaitingConsent => {
                let consent = consents.get(index).copied().unwrap_or_default();
                accepted.push(AcceptedRow {
                    index: *index,
                    iin_masked,
                    voucher_id: consent.voucher.map(|v| v.to_string()),
                    status: consent.row_status(),
                    warnings,
                    consent: Some(consent.word()),
                })
            }
            RowOutcome::Rejected(reason) => rejected.push(RejectedRow {
                index: *index,
                iin_masked: Some(iin_masked),
                reason: reason.code(),
            }),
        }
    }
    accepted.sort_by_key(|r| r.index);
    rejected.sort_by_key(|r| r.index);
    let reasons: Vec<&'static str> = rejected.iter().map(|r| r.reason).collect();
    state.metrics.list_rows(accepted.len(), &reasons);
    tracing::info!(
        school = %list.school.bin,
        period = %list.period,
        accepted = accepted.len(),
        rejected = rejected.len(),
        revoked = outcome.revoked.len(),
        "eligibility list applied"
    );
    Ok(ApiJson(ListResult {
        list_id: list.id.to_string(),
        accepted,
        rejected,
        revoked: outcome.revoked.len(),
    }))
}

#[derive(Deserialize, ToSchema, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct OutboxQuery {
    /// At most this many messages, newest first (1–1000, default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct OutboxEntry {
    #[schema(format = Uuid)]
    pub id: String,
    pub kind: OutboxKind,
    pub to: String,
    pub text: String,
    pub state: OutboxState,
    pub attempts: i64,
    #[schema(format = DateTime)]
    pub created_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct Outbox {
    pub messages: Vec<OutboxEntry>,
}

/// Outgoing messages (SMS, reports, complaints) and their delivery state, newest first.
#[utoipa::path(get, path = "/v1/integration/outbox", tag = "integration",
    params(OutboxQuery),
    security(("bearer" = [])),
    responses((status = 200, body = Outbox), (status = 400, body = ErrorBody)))]
async fn outbox(
    State(state): State<AppState>,
    _caller: Integration,
    query: Result<Query<OutboxQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<ApiJson<Outbox>, ApiError> {
    let Query(query) = query?;
    let limit = query.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::bad_request(
            "invalid_query",
            "limit must be 1 to 1000",
        ));
    }
    let messages = state.store.outbox(limit).await?;
    Ok(ApiJson(Outbox {
        messages: messages
            .into_iter()
            .map(|m| OutboxEntry {
                id: m.id.to_string(),
                kind: m.kind,
                to: m.recipient,
                text: m.body,
                state: m.state,
                attempts: m.attempts,
                created_at: rfc3339(m.created_at),
            })
            .collect(),
    }))
}
