//! Integration routes of the consent conversation: the SMS gateway hands over a parent's
//! reply, and operators can see the conversations and the durable jobs.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{rfc3339, ApiJson};
use crate::domain::consent::ConsentRequest;
use crate::domain::consent::ConsentState;
use crate::domain::job::JobKind;
use crate::domain::job::JobState;
use crate::domain::list::normalize_phone;
use crate::ports::mask_phone;
use crate::services::consent::{self, ReplyOutcome};
use crate::web::auth::Integration;
use crate::web::error::{ApiError, ErrorBody};
use crate::web::AppState;

/// Longest reply text accepted, in characters (ten SMS segments of Cyrillic text).
pub const MAX_TEXT_CHARS: usize = 700;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(inbound))
        .routes(routes!(consents))
        .routes(routes!(jobs))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InboundSms {
    /// The sender: `+7 701 …`, `8701…` or `7701…` (a Kazakh mobile number).
    #[schema(pattern = r"^[-+ ()]*([78][-+ ()]*)?7[-+ ()]*[04-7]([-+ ()]*[0-9]){8}[-+ ()]*$")]
    pub phone: String,
    /// At most 700 characters; no control characters but line breaks and tabs.
    #[schema(
        max_length = 700,
        pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*$"
    )]
    pub text: String,
}

#[derive(Serialize, ToSchema)]
pub struct InboundResult {
    /// `agreed`, `refused`, `help_sent` (neither `3#1` nor `3#2`), or `ignored` (no open
    /// conversation for this number).
    pub outcome: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = Uuid)]
    pub consent_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = Uuid)]
    pub voucher_id: Option<String>,
}

fn unprocessable(code: &'static str, message: &str) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
}

/// Checks the sender and the text; the normalised phone.
fn validate(sms: &InboundSms) -> Result<String, ApiError> {
    let phone = normalize_phone(&sms.phone).ok_or_else(|| {
        unprocessable(
            "invalid_phone",
            "phone must be a Kazakh mobile number (+7 7XX XXX XX XX or 87XXXXXXXXX)",
        )
    })?;
    if sms.text.chars().count() > MAX_TEXT_CHARS {
        return Err(unprocessable(
            "text_too_long",
            &format!("an SMS reply holds at most {MAX_TEXT_CHARS} characters"),
        ));
    }
    let binary = sms
        .text
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'));
    if binary {
        return Err(unprocessable(
            "invalid_text",
            "the text holds control characters",
        ));
    }
    Ok(phone)
}

/// A parent's SMS reply: `3#1` agrees (the voucher is formed, a confirmation SMS goes out),
/// `3#2` refuses, anything else gets a help SMS. Matched to the oldest open school-meals
/// conversation of the number, else its open gas conversation of the month; a number with
/// none is logged and ignored.
#[utoipa::path(post, path = "/v1/integration/sms/inbound", tag = "integration",
    request_body = InboundSms,
    security(("bearer" = [])),
    responses((status = 200, body = InboundResult),
        (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn inbound(
    State(state): State<AppState>,
    _caller: Integration,
    ApiJson(sms): ApiJson<InboundSms>,
) -> Result<ApiJson<InboundResult>, ApiError> {
    let phone = validate(&sms).inspect_err(|e| {
        tracing::info!(code = e.code, from = %mask_phone(&sms.phone), "inbound SMS refused");
    })?;
    let deps = state.deps();
    let mut outcome = consent::handle_reply(&deps, &phone, &sms.text).await?;
    if outcome == ReplyOutcome::Ignored {
        // No school-meals conversation open: the number's gas conversation, if any.
        let gas = crate::services::monthly::handle_reply(&deps, &state.gas, &phone, &sms.text);
        outcome = gas.await?.unwrap_or(ReplyOutcome::Ignored);
    }
    deps.flush_outbox().await;
    let id = |u: uuid::Uuid| Some(u.to_string());
    Ok(ApiJson(match outcome {
        ReplyOutcome::Agreed { consent, voucher } => InboundResult {
            outcome: "agreed",
            consent_id: id(consent),
            voucher_id: voucher.map(|v| v.to_string()),
        },
        ReplyOutcome::Refused { consent } => InboundResult {
            outcome: "refused",
            consent_id: id(consent),
            voucher_id: None,
        },
        ReplyOutcome::HelpSent { consent } => InboundResult {
            outcome: "help_sent",
            consent_id: id(consent),
            voucher_id: None,
        },
        ReplyOutcome::Ignored => InboundResult {
            outcome: "ignored",
            consent_id: None,
            voucher_id: None,
        },
    }))
}

#[derive(Deserialize, ToSchema, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// At most this many, newest first (1–1000, default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
}

fn limit(
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<i64, ApiError> {
    let Query(query) = query?;
    let limit = query.limit.unwrap_or(100);
    if (1..=1000).contains(&limit) {
        Ok(limit)
    } else {
        Err(ApiError::bad_request(
            "invalid_query",
            "limit must be 1 to 1000",
        ))
    }
}

#[derive(Serialize, ToSchema)]
pub struct ConsentEntry {
    #[schema(format = Uuid)]
    pub id: String,
    pub programme: String,
    pub student: ConsentStudent,
    pub school_bin: String,
    /// `YYYY-MM`: the month of the list that started this conversation (a parent who refused
    /// or stayed silent is asked again for a later month's list).
    pub month: String,
    /// `pending`, `reminded`, `agreed`, `refused`, `timed_out` or `no_phone`.
    pub state: ConsentState,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone_masked: Option<String>,
    pub language: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = DateTime)]
    pub reminded_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = DateTime)]
    pub finished_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = Uuid)]
    pub voucher_id: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ConsentStudent {
    pub iin_masked: String,
    pub full_name: String,
}

#[derive(Serialize, ToSchema)]
#[schema(as = ConsentList)] // not `Consents`: see `openapi_contract` on schema names
pub struct Consents {
    pub consents: Vec<ConsentEntry>,
}

fn consent_entry(c: ConsentRequest) -> ConsentEntry {
    ConsentEntry {
        id: c.id.to_string(),
        programme: c.programme.to_string(),
        student: ConsentStudent {
            iin_masked: c.student.to_string(),
            full_name: c.student_name,
        },
        school_bin: c.school.to_string(),
        month: c.month.to_string(),
        state: c.state,
        phone_masked: c.phone.as_deref().map(mask_phone),
        language: c.language.to_string(),
        reason: c.reason,
        created_at: rfc3339(c.created_at),
        reminded_at: c.reminded_at.map(rfc3339),
        finished_at: c.finished_at.map(rfc3339),
        voucher_id: c.voucher.map(|v| v.to_string()),
    }
}

/// Consent conversations and where each stands, newest first.
#[utoipa::path(get, path = "/v1/integration/consents", tag = "integration",
    params(ListQuery),
    security(("bearer" = [])),
    responses((status = 200, body = Consents), (status = 400, body = ErrorBody)))]
async fn consents(
    State(state): State<AppState>,
    _caller: Integration,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<ApiJson<Consents>, ApiError> {
    let limit = limit(query)?;
    let list = state.store.consent_requests(limit).await?;
    Ok(ApiJson(Consents {
        consents: list.into_iter().map(consent_entry).collect(),
    }))
}

#[derive(Serialize, ToSchema)]
pub struct JobEntry {
    #[schema(format = Uuid)]
    pub id: String,
    pub kind: JobKind,
    pub key: String,
    pub state: JobState,
    #[schema(format = DateTime)]
    pub due_at: String,
    pub attempts: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = DateTime)]
    pub finished_at: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[schema(as = JobList)] // not `Jobs`: see `openapi_contract` on schema names
pub struct Jobs {
    pub jobs: Vec<JobEntry>,
}

/// The scheduler's durable jobs (reminders, timeouts, expiry sweeps), latest due first.
#[utoipa::path(get, path = "/v1/integration/jobs", tag = "integration",
    params(ListQuery),
    security(("bearer" = [])),
    responses((status = 200, body = Jobs), (status = 400, body = ErrorBody)))]
async fn jobs(
    State(state): State<AppState>,
    _caller: Integration,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<ApiJson<Jobs>, ApiError> {
    let limit = limit(query)?;
    let jobs = state.store.jobs(limit).await?;
    Ok(ApiJson(Jobs {
        jobs: jobs
            .into_iter()
            .map(|j| JobEntry {
                id: j.id.to_string(),
                kind: j.kind,
                key: j.key,
                state: j.state,
                due_at: rfc3339(j.due_at),
                attempts: j.attempts,
                last_error: j.last_error,
                finished_at: j.finished_at.map(rfc3339),
            })
            .collect(),
    }))
}
