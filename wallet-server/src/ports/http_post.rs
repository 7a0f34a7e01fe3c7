//! `MessageSink`: how reports and complaints leave the outbox for the systems they are
//! addressed to — the daily report to NOBD, a complaint to e-Otinish.
//!
//! The one adapter, [`HttpPost`], posts the message body (already JSON) to a configured
//! `https://` (or `http://`) URL with `Idempotency-Key: <outbox message id>` and `X-Message-Kind: <kind>`
//! (`report`, `status`, `notice`, `complaint`), and reads answers as the SMS
//! gateway's are read: 2xx and 409 (already have it) are delivered; 408, 429 and 5xx are
//! retried with backoff; other 4xx are permanent refusals. A delivery retried after a crash
//! between the acknowledgement and our record of it carries the same key, so the receiver
//! drops the duplicate.
//!
//! There is deliberately no logging adapter: one that marked a report `sent` would claim
//! NOBD has it. Without a URL, messages of that kind stay `pending` in the outbox (visible
//! on `/dev/outbox`) and leave once a URL is configured.

use std::time::Duration;

use async_trait::async_trait;
use shared::http::{explain, ClientTls};

use super::DeliveryError;
use crate::domain::outbox::OutboxMessage;

/// Delivers outbox messages of one kind to the system they are addressed to.
#[async_trait]
pub trait MessageSink: Send + Sync {
    /// Delivers one message; `Ok` means the receiver has it (or already had it, by its key).
    async fn deliver(&self, message: &OutboxMessage) -> Result<(), DeliveryError>;
    /// A short name for logs.
    fn name(&self) -> &'static str;
}

/// Posts a message's JSON body to a URL with `Idempotency-Key: <id>`.
#[derive(Debug, Clone)]
pub struct HttpPost {
    client: reqwest::Client,
    url: String,
    name: &'static str,
}

impl HttpPost {
    /// A receiver called `name` (for logs and errors) at `url` (`https://…` or `http://…`)
    /// speaking `tls`, with a per-request timeout.
    pub fn new(
        name: &'static str,
        url: &str,
        timeout: Duration,
        tls: &ClientTls,
    ) -> Result<HttpPost, reqwest::Error> {
        let client = tls
            .builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .build()?;
        Ok(HttpPost {
            client,
            url: url.to_string(),
            name,
        })
    }
}

/// What an HTTP answer means for a delivery.
pub fn read_status(receiver: &str, status: reqwest::StatusCode) -> Result<(), DeliveryError> {
    match status.as_u16() {
        200..=299 | 409 => Ok(()),
        408 | 429 | 500..=599 => Err(DeliveryError::Retry(format!(
            "{receiver} answered {status}"
        ))),
        _ => Err(DeliveryError::Permanent(format!(
            "{receiver} answered {status}"
        ))),
    }
}

#[async_trait]
impl MessageSink for HttpPost {
    async fn deliver(&self, m: &OutboxMessage) -> Result<(), DeliveryError> {
        let response = self
            .client
            .post(&self.url)
            .header("idempotency-key", m.id.to_string())
            // One NOBD URL takes reports, statuses and notices: the kind says which.
            .header("x-message-kind", m.kind.as_str())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(m.body.clone())
            .send()
            .await
            .map_err(|e| {
                let why = explain(&e.without_url());
                DeliveryError::Retry(format!("{} unreachable: {why}", self.name))
            })?;
        read_status(self.name, response.status())
    }

    fn name(&self) -> &'static str {
        self.name
    }
}

#[cfg(test)]
#[path = "http_post_tests.rs"]
mod tests;
