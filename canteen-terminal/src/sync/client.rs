//! The three calls the terminal makes to the wallet server (`shared::sync`), behind the
//! [`Server`] trait so the sync state machine is tested without a network, and their HTTP
//! implementation [`HttpServer`] (blocking reqwest built by `shared::http`: https:// with
//! the system's CAs plus `--ca-file` and an optional client certificate, or plain http://).
//! A TLS failure reads as a sentence an operator can act on ("the server's TLS certificate
//! is not trusted …") ahead of the error chain.
//!
//! Failures are sorted by what the sync should do about them: retry later
//! ([`ServerError::Unreachable`], [`ServerError::Failed`], [`ServerError::BadAnswer`]),
//! stop ([`ServerError::Unauthorized`]), or give up on an enrollment code
//! ([`ServerError::Refused`]).

use std::time::Duration;

use reqwest::blocking::{Client, RequestBuilder, Response};
use reqwest::StatusCode;
use serde::de::DeserializeOwned;
use shared::http::ClientTls;
use shared::sync::{EnrollRequest, EnrollResponse, MealBatch, MealBatchResult, SyncResponse};

use crate::store::DeviceToken;

/// Why a call to the server did not give an answer to use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ServerError {
    /// No HTTP answer at all: network down, server down, timeout.
    #[error("server unreachable: {0}")]
    Unreachable(String),
    /// 401: the device token is unknown or revoked.
    #[error("the server refused this terminal's token (revoked or unknown)")]
    Unauthorized,
    /// Another 4xx: the request itself was refused (e.g. a used or expired enrollment code).
    #[error("the server refused the request ({status} {code}): {message}")]
    Refused {
        status: u16,
        code: String,
        message: String,
    },
    /// 5xx: the server failed; try again later.
    #[error("the server failed ({status}): {message}")]
    Failed { status: u16, message: String },
    /// An answer that does not parse as the expected message.
    #[error("unexpected answer from the server: {0}")]
    BadAnswer(String),
}

/// The wallet server as the sync sees it.
pub trait Server {
    /// `POST /v1/terminals/enroll`.
    fn enroll(&self, request: &EnrollRequest) -> Result<EnrollResponse, ServerError>;

    /// `GET /v1/terminals/sync?cursor=N[&meals_after=M]` (`meals_after` only once the
    /// server has given a meals cursor, so an older server is never sent it).
    fn pull(
        &self,
        token: &DeviceToken,
        cursor: i64,
        meals_after: Option<i64>,
    ) -> Result<SyncResponse, ServerError>;

    /// `GET /healthz`: whether the server answers at all (the cheap probe while offline).
    fn healthy(&self) -> bool;

    /// `POST /v1/terminals/meals`.
    fn push(&self, token: &DeviceToken, batch: &MealBatch) -> Result<MealBatchResult, ServerError>;
}

/// The wallet server over HTTP.
#[derive(Debug, Clone)]
pub struct HttpServer {
    client: Client,
    base: String,
}

impl HttpServer {
    /// A client for the server at `base_url` (`https://host[:port]` or `http://…`) speaking
    /// `tls`, giving up on a call after `timeout`.
    pub fn new(base_url: &str, timeout: Duration, tls: &ClientTls) -> Result<Self, ServerError> {
        let client = tls
            .blocking_builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .user_agent(concat!("canteen-terminal/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ServerError::Unreachable(e.to_string()))?;
        Ok(Self {
            client,
            base: base_url.trim_end_matches('/').to_owned(),
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

impl Server for HttpServer {
    fn enroll(&self, request: &EnrollRequest) -> Result<EnrollResponse, ServerError> {
        let call = self
            .client
            .post(self.url("/v1/terminals/enroll"))
            .json(request);
        answer(call)
    }

    fn pull(
        &self,
        token: &DeviceToken,
        cursor: i64,
        meals_after: Option<i64>,
    ) -> Result<SyncResponse, ServerError> {
        let mut call = self
            .client
            .get(self.url("/v1/terminals/sync"))
            .query(&[("cursor", cursor)]);
        if let Some(after) = meals_after {
            call = call.query(&[("meals_after", after)]);
        }
        answer(call.bearer_auth(token.expose()))
    }

    fn healthy(&self) -> bool {
        self.client
            .get(self.url("/healthz"))
            .timeout(Duration::from_secs(2))
            .send()
            .is_ok_and(|answer| answer.status().is_success())
    }

    fn push(&self, token: &DeviceToken, batch: &MealBatch) -> Result<MealBatchResult, ServerError> {
        let call = self
            .client
            .post(self.url("/v1/terminals/meals"))
            .json(batch)
            .bearer_auth(token.expose());
        answer(call)
    }
}

/// Sends a request and reads its answer as `T`, sorting failures.
fn answer<T: DeserializeOwned>(call: RequestBuilder) -> Result<T, ServerError> {
    let response = call
        .send()
        .map_err(|e| ServerError::Unreachable(chain(e)))?;
    let status = response.status();
    if status.is_success() {
        return response
            .json()
            .map_err(|e| ServerError::BadAnswer(chain(e)));
    }
    Err(error_of(status, response))
}

/// An error with its causes (`error sending request: … : Connection refused`), without the
/// URL, led by a plain sentence when TLS failed.
fn chain(error: reqwest::Error) -> String {
    shared::http::explain(&error.without_url())
}

fn error_of(status: StatusCode, response: Response) -> ServerError {
    if status == StatusCode::UNAUTHORIZED {
        return ServerError::Unauthorized;
    }
    let body = response.text().unwrap_or_default();
    let (code, message) = error_body(&body);
    if status.is_client_error() {
        ServerError::Refused {
            status: status.as_u16(),
            code,
            message,
        }
    } else {
        ServerError::Failed {
            status: status.as_u16(),
            message: if code.is_empty() {
                message
            } else {
                format!("{code}: {message}")
            },
        }
    }
}

/// `(code, message)` of a `{"error": {"code", "message"}}` body; the raw text (shortened)
/// when the body is something else.
pub fn error_body(body: &str) -> (String, String) {
    let parsed: Option<serde_json::Value> = serde_json::from_str(body).ok();
    let field = |name: &str| {
        parsed
            .as_ref()
            .and_then(|v| v["error"][name].as_str())
            .map(str::to_owned)
    };
    match (field("code"), field("message")) {
        (Some(code), message) => (code, message.unwrap_or_default()),
        (None, _) => (String::new(), body.chars().take(200).collect()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bodies_are_read_leniently() {
        assert_eq!(
            error_body(r#"{"error":{"code":"code_used","message":"already used"}}"#),
            ("code_used".into(), "already used".into())
        );
        assert_eq!(
            error_body(r#"{"error":{"code":"gone"}}"#),
            ("gone".into(), String::new())
        );
        assert_eq!(
            error_body("Bad Gateway"),
            (String::new(), "Bad Gateway".into())
        );
    }

    #[test]
    fn an_unreachable_server_is_reported_as_such() {
        // Port 9 (discard) on localhost: nothing listens in a test environment.
        let tls = ClientTls::system().expect("TLS settings");
        let server =
            HttpServer::new("http://127.0.0.1:9/", Duration::from_secs(2), &tls).expect("client");
        assert_eq!(server.url("/v1/x"), "http://127.0.0.1:9/v1/x");
        let token = DeviceToken::new("t".into());
        match server.pull(&token, 0, None) {
            Err(ServerError::Unreachable(message)) => {
                assert!(message.contains("onnect"), "{message}");
                assert!(!message.contains("127.0.0.1:9/v1"), "{message}");
            }
            other => panic!("{other:?}"),
        }
    }
}
