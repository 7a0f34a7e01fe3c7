//! The gas provider (QazaqGaz Aimaq): its personal accounts, and where a month's activated
//! vouchers go on the 26th.
//!
//! Over HTTP (`--provider-url`/`PROVIDER_URL`): `GET <URL>/accounts/{number}` answers
//! `200 {"number","holder","address"}` or `404`; the outbox posts `activations` messages to
//! `<URL>/activations` through [`HttpPost`] (idempotency key = message id). `--demo` without
//! a URL brings [`DemoProvider`]: a few accounts in memory (printed in the banner), and an
//! activations sink that keeps what it received.

use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use serde::Deserialize;
use shared::http::{explain, ClientTls};

use super::{DeliveryError, HttpPost, MessageSink};
use crate::domain::gas::mask_account;
use crate::domain::outbox::OutboxMessage;

/// A personal account as the provider knows it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ProviderAccount {
    pub number: String,
    pub holder: String,
    pub address: String,
}

/// The provider did not answer (or answered something unusable): try again later.
#[derive(Debug, Clone, thiserror::Error)]
#[error("the gas provider did not answer: {0}")]
pub struct ProviderUnavailable(pub String);

/// The provider's account lookup.
#[async_trait]
pub trait GasProvider: Send + Sync {
    /// The account `number`, `None` when the provider has none.
    async fn account(&self, number: &str) -> Result<Option<ProviderAccount>, ProviderUnavailable>;
}

/// The provider over HTTP.
#[derive(Debug, Clone)]
pub struct HttpProvider {
    client: reqwest::Client,
    base: String,
}

impl HttpProvider {
    pub fn new(
        url: &str,
        timeout: Duration,
        tls: &ClientTls,
    ) -> Result<HttpProvider, reqwest::Error> {
        let client = tls
            .builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .build()?;
        Ok(HttpProvider {
            client,
            base: url.trim_end_matches('/').to_string(),
        })
    }

    /// The sink of `activations` messages: `POST <URL>/activations`.
    pub fn activations_sink(
        url: &str,
        timeout: Duration,
        tls: &ClientTls,
    ) -> Result<HttpPost, reqwest::Error> {
        let url = format!("{}/activations", url.trim_end_matches('/'));
        HttpPost::new("gas provider", &url, timeout, tls)
    }
}

#[async_trait]
impl GasProvider for HttpProvider {
    async fn account(&self, number: &str) -> Result<Option<ProviderAccount>, ProviderUnavailable> {
        // `number` is digits only (parsed at the edge), safe in a path.
        let url = format!("{}/accounts/{number}", self.base);
        let response = self.client.get(&url).send().await.map_err(|e| {
            ProviderUnavailable(format!("unreachable: {}", explain(&e.without_url())))
        })?;
        match response.status().as_u16() {
            200 => response
                .json::<ProviderAccount>()
                .await
                .map(Some)
                .map_err(|_| ProviderUnavailable("an account that does not parse".into())),
            404 => Ok(None),
            other => {
                tracing::warn!(account = %mask_account(number), status = other, "gas provider refused an account lookup");
                Err(ProviderUnavailable(format!("answered {other}")))
            }
        }
    }
}

/// `--demo`'s provider: fixed accounts, and the activations it received.
#[derive(Debug)]
pub struct DemoProvider {
    accounts: Vec<ProviderAccount>,
    received: Mutex<Vec<String>>,
}

impl DemoProvider {
    pub fn new() -> DemoProvider {
        let account = |number: &str, holder: &str, address: &str| ProviderAccount {
            number: number.into(),
            holder: holder.into(),
            address: address.into(),
        };
        DemoProvider {
            accounts: vec![
                account(
                    "1000000001",
                    "Иванова Айгуль Серикқызы",
                    "г. Шымкент, ул. Абая, д. 12",
                ),
                account(
                    "1000000002",
                    "Ахметов Нурлан",
                    "г. Шымкент, мкр. Нурсат, д. 5, кв. 17",
                ),
                account(
                    "2000000001",
                    "Петрова Анна Ивановна",
                    "г. Уральск, ул. Достык, д. 3",
                ),
            ],
            received: Mutex::new(Vec::new()),
        }
    }

    /// The account numbers, for the banner.
    pub fn numbers(&self) -> Vec<&str> {
        self.accounts.iter().map(|a| a.number.as_str()).collect()
    }

    /// The bodies of the activations messages it received (idempotent by message id).
    pub fn received(&self) -> Vec<String> {
        self.received.lock().map(|r| r.clone()).unwrap_or_default()
    }
}

impl Default for DemoProvider {
    fn default() -> Self {
        DemoProvider::new()
    }
}

#[async_trait]
impl GasProvider for DemoProvider {
    async fn account(&self, number: &str) -> Result<Option<ProviderAccount>, ProviderUnavailable> {
        Ok(self.accounts.iter().find(|a| a.number == number).cloned())
    }
}

#[async_trait]
impl MessageSink for DemoProvider {
    async fn deliver(&self, m: &OutboxMessage) -> Result<(), DeliveryError> {
        let mut received = self
            .received
            .lock()
            .map_err(|_| DeliveryError::Retry("demo provider poisoned".into()))?;
        received.push(m.body.clone());
        tracing::info!(id = %m.id, "demo gas provider received the month's activations");
        Ok(())
    }

    fn name(&self) -> &'static str {
        "demo gas provider"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_demo_provider_knows_its_accounts_only() {
        let p = DemoProvider::new();
        let found = p.account("1000000001").await.expect("answers");
        assert_eq!(
            found.map(|a| a.holder),
            Some("Иванова Айгуль Серикқызы".into())
        );
        assert_eq!(p.account("9999999999").await.expect("answers"), None);
        assert_eq!(p.numbers().len(), 3);
    }

    #[tokio::test]
    async fn a_provider_that_does_not_answer_is_unavailable_not_unknown() {
        // A port nobody listens on any more: the connection is refused.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        drop(listener);
        let timeout = Duration::from_secs(2);
        let p = HttpProvider::new(&url, timeout, &crate::ports::tls()).expect("client");
        assert!(p.account("1000000001").await.is_err());
    }
}
