//! `SmsGateway`: how an SMS from the outbox leaves the building.
//!
//! Every delivery carries the outbox message id as its idempotency key (the
//! `Idempotency-Key` header and the `id` field): a delivery retried after a crash between
//! the gateway's acknowledgement and our record of it is the same message to the gateway,
//! which de-duplicates by the key. Adapters: logging (the default) and HTTP (when a gateway
//! URL is configured: `https://` through `shared::http`, or `http://` on a trusted network).

use std::time::Duration;

use async_trait::async_trait;
use shared::http::{explain, ClientTls};
use uuid::Uuid;

use super::mask_phone;

/// One SMS to deliver.
#[derive(Debug, Clone, Copy)]
pub struct Sms<'a> {
    /// The outbox message id: the idempotency key.
    pub id: Uuid,
    /// `7XXXXXXXXXX`.
    pub to: &'a str,
    pub text: &'a str,
}

/// Why a delivery did not happen.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeliveryError {
    /// Try again later (network, timeout, 5xx, 429).
    #[error("temporary failure: {0}")]
    Retry(String),
    /// The gateway refused the message itself; retrying cannot help.
    #[error("refused: {0}")]
    Permanent(String),
}

/// Delivers SMS.
#[async_trait]
pub trait SmsGateway: Send + Sync {
    /// Delivers one SMS; `Ok` means the gateway has it (or already had it, by its key).
    async fn send(&self, sms: &Sms<'_>) -> Result<(), DeliveryError>;
    /// A short name for logs.
    fn name(&self) -> &'static str;
}

/// Writes a line per SMS to the log (never the text, and the number masked).
#[derive(Debug, Default, Clone, Copy)]
pub struct LoggingSmsGateway;

#[async_trait]
impl SmsGateway for LoggingSmsGateway {
    async fn send(&self, sms: &Sms<'_>) -> Result<(), DeliveryError> {
        tracing::info!(
            id = %sms.id,
            to = %mask_phone(sms.to),
            chars = sms.text.chars().count(),
            "SMS handed to the logging gateway"
        );
        Ok(())
    }

    fn name(&self) -> &'static str {
        "logging"
    }
}

/// Posts `{"id", "to", "text"}` as JSON to the gateway's URL with `Idempotency-Key: <id>`.
/// 2xx and 409 (already have it) are delivered; 408, 429 and 5xx are retried; other 4xx
/// are permanent refusals.
#[derive(Debug, Clone)]
pub struct HttpSmsGateway {
    client: reqwest::Client,
    url: String,
}

impl HttpSmsGateway {
    /// A gateway at `url` (`https://…` or `http://…`) speaking `tls`, with a per-request
    /// timeout.
    pub fn new(
        url: &str,
        timeout: Duration,
        tls: &ClientTls,
    ) -> Result<HttpSmsGateway, reqwest::Error> {
        let client = tls
            .builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .build()?;
        Ok(HttpSmsGateway {
            client,
            url: url.to_string(),
        })
    }
}

#[async_trait]
impl SmsGateway for HttpSmsGateway {
    async fn send(&self, sms: &Sms<'_>) -> Result<(), DeliveryError> {
        let body = serde_json::json!({"id": sms.id, "to": sms.to, "text": sms.text});
        let response = self
            .client
            .post(&self.url)
            .header("idempotency-key", sms.id.to_string())
            .json(&body)
            .send()
            .await
            .map_err(|e| {
                DeliveryError::Retry(format!(
                    "gateway unreachable: {}",
                    explain(&e.without_url())
                ))
            })?;
        let status = response.status();
        match status.as_u16() {
            200..=299 | 409 => Ok(()),
            408 | 429 | 500..=599 => {
                Err(DeliveryError::Retry(format!("gateway answered {status}")))
            }
            _ => Err(DeliveryError::Permanent(format!(
                "gateway answered {status}"
            ))),
        }
    }

    fn name(&self) -> &'static str {
        "http"
    }
}
