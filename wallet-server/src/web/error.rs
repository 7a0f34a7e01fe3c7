//! One error type for the whole HTTP surface, rendered as
//! `{"error": {"code": "...", "message": "..."}}` with a fitting status.
//!
//! Handlers return `Result<_, ApiError>`; services' and the store's errors convert into it.
//! Internal details go to the log, never to the client.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::store::StoreError;

/// An error answered to a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    /// Stable machine-readable code, e.g. `token_expired`, `voucher_revoked`.
    pub code: &'static str,
    /// A sentence for people.
    pub message: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    pub code: String,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    /// Also used for things that exist but the caller may not see: never a hint.
    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "no such resource")
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, message)
    }

    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error; it has been logged",
        )
    }

    /// 429 with `Retry-After` (whole seconds, at least 1): the one shape of every limit.
    pub fn too_many_requests(
        code: &'static str,
        message: impl Into<String>,
        retry_after: time::Duration,
    ) -> Response {
        let seconds = retry_after.whole_seconds().max(1);
        let mut response = Self::new(StatusCode::TOO_MANY_REQUESTS, code, message).into_response();
        if let Ok(v) = axum::http::HeaderValue::from_str(&seconds.to_string()) {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, v);
        }
        response
    }

    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.to_string(),
                message: self.message,
            },
        };
        let mut response = (self.status, axum::Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            // RFC 6750 §3: a 401 names the scheme; an error code only when a token was sent.
            let challenge = if self.code == "token_missing" {
                "Bearer"
            } else {
                "Bearer error=\"invalid_token\""
            };
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static(challenge),
            );
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ApiError::not_found(),
            StoreError::Conflict { current } => ApiError::conflict(
                "state_conflict",
                format!("the record changed meanwhile; it is now {current}"),
            ),
            other if other.is_unavailable() => {
                tracing::warn!(error = %other, "the database is unavailable");
                ApiError::unavailable("the database is not reachable right now; try again shortly")
            }
            other => {
                tracing::error!(error = %other, "storage failure");
                ApiError::internal()
            }
        }
    }
}

/// A date from outside: 422 `invalid_date` when it is not `YYYY-MM-DD`, 422
/// `date_out_of_range` when its year is outside the years the service handles.
impl From<shared::time::DateTextError> for ApiError {
    fn from(e: shared::time::DateTextError) -> Self {
        let code = match e {
            shared::time::DateTextError::Malformed(_) => "invalid_date",
            shared::time::DateTextError::OutOfRange(_) => "date_out_of_range",
        };
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, e.to_string())
    }
}

impl From<crate::services::feedback::FeedbackError> for ApiError {
    fn from(e: crate::services::feedback::FeedbackError) -> Self {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, e.code(), e.to_string())
    }
}

impl From<crate::services::vouchers::VoucherError> for ApiError {
    fn from(e: crate::services::vouchers::VoucherError) -> Self {
        use crate::services::vouchers::VoucherError as E;
        match e {
            E::NotFound => ApiError::not_found(),
            E::Expired => ApiError::conflict("voucher_expired", e.to_string()),
            E::Revoked => ApiError::conflict("voucher_revoked", e.to_string()),
            E::NotActivated => ApiError::conflict("voucher_not_activated", e.to_string()),
            E::NotYetValid(_) => ApiError::conflict("voucher_not_yet_valid", e.to_string()),
            E::Store(s) => s.into(),
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        let (code, status) = match &r {
            JsonRejection::MissingJsonContentType(_) => {
                ("unsupported_media_type", StatusCode::UNSUPPORTED_MEDIA_TYPE)
            }
            JsonRejection::JsonSyntaxError(_) => ("malformed_json", StatusCode::BAD_REQUEST),
            JsonRejection::JsonDataError(_) => ("invalid_body", StatusCode::UNPROCESSABLE_ENTITY),
            _ if r.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                ("payload_too_large", StatusCode::PAYLOAD_TOO_LARGE)
            }
            _ => ("bad_request", r.status()),
        };
        ApiError::new(status, code, r.body_text())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        ApiError::bad_request("invalid_query", r.body_text())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_database_that_cannot_be_reached_is_503_anything_else_stays_500() {
        for e in [
            sqlx::Error::PoolTimedOut,
            sqlx::Error::PoolClosed,
            sqlx::Error::Io(std::io::Error::from(std::io::ErrorKind::ConnectionRefused)),
        ] {
            let api = ApiError::from(StoreError::Database(e));
            assert_eq!(
                (api.status, api.code),
                (StatusCode::SERVICE_UNAVAILABLE, "unavailable")
            );
        }
        let api = ApiError::from(StoreError::Database(sqlx::Error::RowNotFound));
        assert_eq!(api.status, StatusCode::INTERNAL_SERVER_ERROR);
        let api = ApiError::from(StoreError::Corrupt("bad".into()));
        assert_eq!(api.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!StoreError::NotFound.is_unavailable());
    }

    #[test]
    fn a_401_names_the_bearer_scheme_and_an_error_only_when_a_token_was_sent() {
        let challenge = |code| {
            ApiError::new(StatusCode::UNAUTHORIZED, code, "refused")
                .into_response()
                .headers()
                .get(axum::http::header::WWW_AUTHENTICATE)
                .map(|v| v.to_str().expect("ascii").to_string())
        };
        assert_eq!(challenge("token_missing").as_deref(), Some("Bearer"));
        assert_eq!(
            challenge("token_expired").as_deref(),
            Some("Bearer error=\"invalid_token\"")
        );
        let forbidden = ApiError::new(StatusCode::FORBIDDEN, "forbidden", "no").into_response();
        assert!(forbidden
            .headers()
            .get(axum::http::header::WWW_AUTHENTICATE)
            .is_none());
    }
}
