//! Ports: the server's doors to the outside world, each a trait with a local default
//! adapter and an HTTP adapter used when a URL is configured.
//!
//! Every HTTP adapter's client comes from `shared::http` (rustls on ring, the system's CAs
//! plus `--ca-file`), so `https://` URLs are verified the same way everywhere.
//!
//! - `SmsGateway` (`sms`): delivers SMS from the outbox; logging by default.
//! - `PhoneDirectory` (`phones`): BMG, the number to ask for consent; the list's phones by
//!   default.
//! - `MessageSink` (`http_post`): delivers daily reports to NOBD and complaints to
//!   e-Otinish by HTTP POST; no local default — without a URL those messages stay `pending`.
//! - `outbox`: the delivery worker that takes messages from the durable outbox to the
//!   gateway or sink of their kind.
//!
//! [`Ports`] bundles the configured adapters with the wake-ups the workers listen to.

pub mod http_post;
pub mod outbox;
pub mod phones;
pub mod provider;
pub mod sms;
pub mod stall;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

pub use http_post::{HttpPost, MessageSink};
pub use phones::{Contact, HttpPhoneDirectory, ListPhoneDirectory, LookupError, PhoneDirectory};
pub use provider::{DemoProvider, GasProvider, HttpProvider, ProviderAccount, ProviderUnavailable};
pub use sms::{DeliveryError, HttpSmsGateway, LoggingSmsGateway, Sms, SmsGateway};

pub use stall::StallPoint;

/// How long an HTTP adapter waits for an answer.
pub const HTTP_TIMEOUT: Duration = Duration::from_secs(10);

/// The configured adapters and the workers' wake-ups. One per process.
pub struct Ports {
    pub sms: Arc<dyn SmsGateway>,
    pub phones: Arc<dyn PhoneDirectory>,
    /// NOBD, for `report`, `status` and `notice` messages; `None`: they stay `pending`.
    pub nobd: Option<Arc<dyn MessageSink>>,
    /// e-Otinish, for `complaint` messages; `None`: complaints stay `pending`.
    pub eotinish: Option<Arc<dyn MessageSink>>,
    /// The gas provider's accounts; `None`: account checks answer 503.
    pub provider: Option<Arc<dyn GasProvider>>,
    /// The gas provider, for `activations` messages; `None`: they stay `pending`.
    pub provider_sink: Option<Arc<dyn MessageSink>>,
    /// `--demo` without `--provider-url`: the built-in provider (for the banner).
    pub demo_provider: Option<Arc<DemoProvider>>,
    /// The wallet link in the confirmation SMS.
    pub wallet_link: String,
    /// `--demo` test knob: where a worker stalls (to be killed there).
    pub stall: Option<StallPoint>,
    /// Names this process in job and outbox leases.
    pub worker_id: String,
    wake_jobs: Notify,
    wake_outbox: Notify,
}

impl std::fmt::Debug for Ports {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ports")
            .field("sms", &self.sms.name())
            .field("nobd", &self.nobd.as_ref().map(|s| s.name()))
            .field("eotinish", &self.eotinish.as_ref().map(|s| s.name()))
            .field("wallet_link", &self.wallet_link)
            .field("stall", &self.stall)
            .field("worker_id", &self.worker_id)
            .finish_non_exhaustive()
    }
}

impl Default for Ports {
    /// Logging SMS, the list's phones, the order's wallet link.
    fn default() -> Self {
        Ports::new(
            Arc::new(LoggingSmsGateway),
            Arc::new(ListPhoneDirectory),
            crate::domain::consent::texts::DEFAULT_WALLET_LINK.to_string(),
        )
    }
}

/// Where the outside services are, as configured; `None` means the built-in stand-in
/// (SMS written to the log, phones taken from the list, no report or complaint sink).
#[derive(Debug, Clone, Copy)]
pub struct PortSettings<'a> {
    pub sms_gateway_url: Option<&'a str>,
    pub bmg_url: Option<&'a str>,
    pub nobd_url: Option<&'a str>,
    pub eotinish_url: Option<&'a str>,
    /// The gas provider (`GET /accounts/{n}`, `POST /activations`).
    pub provider_url: Option<&'a str>,
    /// Without `provider_url`: bring the built-in demo provider.
    pub demo_provider: bool,
    pub wallet_link: &'a str,
    pub stall: Option<StallPoint>,
    /// Outbound TLS of every HTTP adapter.
    pub tls: &'a shared::http::ClientTls,
}

/// An adapter that cannot be built from its settings.
#[derive(Debug, thiserror::Error)]
#[error("cannot set up the {what} adapter: {source}")]
pub struct PortSetupError {
    what: &'static str,
    source: reqwest::Error,
}

/// Tests: outbound TLS with the system's roots only.
#[cfg(test)]
pub(crate) fn tls() -> shared::http::ClientTls {
    shared::http::ClientTls::system().expect("outbound TLS settings")
}

impl Ports {
    pub fn new(
        sms: Arc<dyn SmsGateway>,
        phones: Arc<dyn PhoneDirectory>,
        wallet_link: String,
    ) -> Ports {
        Ports {
            sms,
            phones,
            nobd: None,
            eotinish: None,
            provider: None,
            provider_sink: None,
            demo_provider: None,
            wallet_link,
            stall: None,
            worker_id: format!("{}-{}", std::process::id(), uuid::Uuid::now_v7().simple()),
            wake_jobs: Notify::new(),
            wake_outbox: Notify::new(),
        }
    }

    /// The adapters the configuration asks for: HTTP where a URL is set.
    pub fn configured(config: &PortSettings<'_>) -> Result<Ports, PortSetupError> {
        let sms: Arc<dyn SmsGateway> = match config.sms_gateway_url {
            Some(url) => Arc::new(HttpSmsGateway::new(url, HTTP_TIMEOUT, config.tls).map_err(
                |source| PortSetupError {
                    what: "SMS gateway",
                    source,
                },
            )?),
            None => Arc::new(LoggingSmsGateway),
        };
        let phones: Arc<dyn PhoneDirectory> = match config.bmg_url {
            Some(url) => Arc::new(
                HttpPhoneDirectory::new(url, HTTP_TIMEOUT, config.tls).map_err(|source| {
                    PortSetupError {
                        what: "BMG",
                        source,
                    }
                })?,
            ),
            None => Arc::new(ListPhoneDirectory),
        };
        let sink = |what: &'static str, url: Option<&str>| {
            url.map(|url| -> Result<Arc<dyn MessageSink>, PortSetupError> {
                Ok(Arc::new(
                    HttpPost::new(what, url, HTTP_TIMEOUT, config.tls)
                        .map_err(|source| PortSetupError { what, source })?,
                ))
            })
            .transpose()
        };
        let mut ports = Ports::new(sms, phones, config.wallet_link.to_string());
        ports.nobd = sink("NOBD", config.nobd_url)?;
        ports.eotinish = sink("e-Otinish", config.eotinish_url)?;
        ports.stall = config.stall;
        ports.set_provider(config)?;
        Ok(ports)
    }

    /// The sink for messages of `kind`, if one is configured (never for SMS): NOBD takes
    /// the daily reports, the statuses going back to it, and the табель notices (NOBD is the
    /// school's own system, where its staff see them); e-Otinish the complaints.
    pub fn sink(&self, kind: crate::domain::outbox::OutboxKind) -> Option<&Arc<dyn MessageSink>> {
        use crate::domain::outbox::OutboxKind;
        match kind {
            OutboxKind::Report | OutboxKind::Status | OutboxKind::Notice => self.nobd.as_ref(),
            OutboxKind::Complaint => self.eotinish.as_ref(),
            OutboxKind::Activations => self.provider_sink.as_ref(),
            OutboxKind::Sms => None,
        }
    }

    /// The gas provider: over HTTP when a URL is set, else the demo's when asked for.
    fn set_provider(&mut self, config: &PortSettings<'_>) -> Result<(), PortSetupError> {
        let what = "gas provider";
        if let Some(url) = config.provider_url {
            let setup = |source| PortSetupError { what, source };
            let lookup = HttpProvider::new(url, HTTP_TIMEOUT, config.tls).map_err(setup)?;
            let sink =
                HttpProvider::activations_sink(url, HTTP_TIMEOUT, config.tls).map_err(setup)?;
            self.provider = Some(Arc::new(lookup));
            self.provider_sink = Some(Arc::new(sink));
        } else if config.demo_provider {
            let demo = Arc::new(DemoProvider::new());
            self.provider = Some(demo.clone());
            self.provider_sink = Some(demo.clone());
            self.demo_provider = Some(demo);
        }
        Ok(())
    }

    /// Tells the scheduler that due jobs may exist (e.g. the demo clock moved).
    pub fn wake_jobs(&self) {
        self.wake_jobs.notify_one();
    }

    /// Tells the outbox worker that messages are waiting.
    pub fn wake_outbox(&self) {
        self.wake_outbox.notify_one();
    }

    pub(crate) async fn jobs_woken(&self) {
        self.wake_jobs.notified().await
    }

    pub(crate) async fn outbox_woken(&self) {
        self.wake_outbox.notified().await
    }
}

/// A phone number for logs: `7701***4567`.
pub fn mask_phone(phone: &str) -> String {
    let digits: Vec<char> = phone.chars().filter(char::is_ascii_digit).collect();
    if digits.len() < 8 {
        return "***".into();
    }
    let head: String = digits[..4].iter().collect();
    let tail: String = digits[digits.len() - 4..].iter().collect();
    format!("{head}***{tail}")
}

#[cfg(test)]
mod http_tests;
#[cfg(test)]
mod tests {
    #[test]
    fn phones_are_masked_for_logs() {
        assert_eq!(super::mask_phone("77011234567"), "7701***4567");
        assert_eq!(super::mask_phone("+7 701 123 45 67"), "7701***4567");
        assert_eq!(super::mask_phone("12345"), "***");
    }
}
