//! Counters of business events, incremented by the web handlers from what a use case
//! answered (the services stay free of metrics). Labels are closed sets of words — verdicts
//! and reason codes — never a person, a voucher or a free text.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;
use shared::sync::{MealResult, MealVerdict};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
    /// A reason code, `none` when the outcome needs none.
    reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PassLabels {
    outcome: &'static str,
}

/// What became of a pass request that reached the minting step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MintOutcome {
    Minted,
    /// Over the per-voucher limit: answered 429.
    RateLimited,
}

impl MintOutcome {
    fn as_str(self) -> &'static str {
        match self {
            MintOutcome::Minted => "minted",
            MintOutcome::RateLimited => "rate_limited",
        }
    }
}

const NO_REASON: &str = "none";

pub(super) struct EventCounters {
    meals: Family<OutcomeLabels, Counter>,
    passes: Family<PassLabels, Counter>,
    list_rows: Family<OutcomeLabels, Counter>,
}

impl EventCounters {
    pub(super) fn register(registry: &mut Registry) -> Self {
        fn family<L>(registry: &mut Registry, name: &str, help: &str) -> Family<L, Counter>
        where
            L: EncodeLabelSet
                + Clone
                + std::hash::Hash
                + Eq
                + std::fmt::Debug
                + Send
                + Sync
                + 'static,
        {
            let f = Family::<L, Counter>::default();
            registry.register(name, help, f.clone());
            f
        }
        let counters = EventCounters {
            meals: family(
                registry,
                "meals",
                "Meal verdicts answered to terminal pushes, by outcome (accepted, duplicate, \
                 rejected) and reason code; a push the terminal replays is counted again",
            ),
            passes: family(
                registry,
                "pass_mints",
                "Pass requests that reached the mint, by outcome (minted, or rate_limited: 429)",
            ),
            list_rows: family(
                registry,
                "list_rows",
                "Eligibility-list rows received, by outcome (accepted, rejected) and reason code",
            ),
        };
        // Known series start at zero, so rates and alerts see them before the first event.
        for outcome in [MintOutcome::Minted, MintOutcome::RateLimited] {
            let _ = counters.passes.get_or_create(&PassLabels {
                outcome: outcome.as_str(),
            });
        }
        for verdict in ["accepted", "duplicate"] {
            let _ = counters.meals.get_or_create(&labels(verdict, None));
        }
        let _ = counters.list_rows.get_or_create(&labels("accepted", None));
        counters
    }

    pub(super) fn meals(&self, results: &[MealResult]) {
        for r in results {
            let outcome = match r.status {
                MealVerdict::Accepted => "accepted",
                MealVerdict::Duplicate => "duplicate",
                MealVerdict::Rejected => "rejected",
            };
            // A duplicate's reason (`already_ate`) says nothing more than its outcome.
            let reason = (r.status == MealVerdict::Rejected)
                .then_some(r.reason.as_deref())
                .flatten();
            self.meals.get_or_create(&labels(outcome, reason)).inc();
        }
    }

    pub(super) fn pass(&self, outcome: MintOutcome) {
        self.passes
            .get_or_create(&PassLabels {
                outcome: outcome.as_str(),
            })
            .inc();
    }

    pub(super) fn list_rows(&self, accepted: usize, rejected_reasons: &[&'static str]) {
        let n = u64::try_from(accepted).unwrap_or(u64::MAX);
        self.list_rows
            .get_or_create(&labels("accepted", None))
            .inc_by(n);
        for reason in rejected_reasons {
            self.list_rows
                .get_or_create(&labels("rejected", Some(reason)))
                .inc();
        }
    }
}

fn labels(outcome: &'static str, reason: Option<&str>) -> OutcomeLabels {
    OutcomeLabels {
        outcome,
        reason: reason.unwrap_or(NO_REASON).to_string(),
    }
}
