//! Prometheus metrics: a registry per server (not a global, so several servers can run in
//! one test process). Families are prefixed `wallet_` except the standard `process_*` ones.
//!
//! - `http`: requests counted and timed by route (middleware);
//! - `events`: business counters the web handlers increment from a use case's answer;
//! - `gauges`: store-derived gauges set at scrape time from an `OpsSnapshot`;
//! - `process`: memory and file descriptors from `/proc/self`;
//! - `exposition`: OpenMetrics 1.0 or the text format 0.0.4, as the scraper asks.

mod events;
mod exposition;
mod gauges;
mod http;
mod process;

use std::sync::Mutex;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::Registry;
use shared::sync::MealResult;

use crate::domain::ops::OpsSnapshot;
pub use events::MintOutcome;
pub use exposition::Format;
pub use http::track;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabels {
    version: &'static str,
}

/// The server's metrics.
pub struct Metrics {
    registry: Registry,
    http: http::HttpMetrics,
    events: events::EventCounters,
    gauges: gauges::StoreGauges,
    process: process::ProcessGauges,
    /// One scrape at a time sets the gauges and encodes them, so two concurrent scrapes
    /// never interleave their values.
    scrape: Mutex<()>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let process = process::ProcessGauges::register(&mut registry);
        let wallet = registry.sub_registry_with_prefix("wallet");
        wallet.register(
            "build",
            "The running build: version of wallet-server (always 1)",
            Info::new(BuildLabels {
                version: env!("CARGO_PKG_VERSION"),
            }),
        );
        let http = http::HttpMetrics::register(wallet);
        let events = events::EventCounters::register(wallet);
        let gauges = gauges::StoreGauges::register(wallet);
        Metrics {
            registry,
            http,
            events,
            gauges,
            process,
            scrape: Mutex::new(()),
        }
    }

    /// Counts the verdicts answered to a terminal's push.
    pub fn meals_pushed(&self, results: &[MealResult]) {
        self.events.meals(results);
    }

    /// Counts a pass request that reached the mint.
    pub fn pass(&self, outcome: MintOutcome) {
        self.events.pass(outcome);
    }

    /// Counts a received list's rows: how many were accepted, and each rejection's reason.
    pub fn list_rows(&self, accepted: usize, rejected_reasons: &[&'static str]) {
        self.events.list_rows(accepted, rejected_reasons);
    }

    /// Every family, with the scrape-time gauges set from `snapshot`, in `format`.
    pub fn render(&self, snapshot: &OpsSnapshot, format: Format) -> String {
        let _one_at_a_time = self.scrape.lock().unwrap_or_else(|e| e.into_inner());
        self.gauges.set(snapshot);
        self.process.refresh();
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            tracing::error!("encoding metrics failed");
        }
        match format {
            Format::OpenMetrics => out,
            Format::Text004 => exposition::text_004(&out),
        }
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
