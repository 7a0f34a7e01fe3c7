//! The state every handler and page can reach: the services' dependencies plus what only
//! the web needs (token verifier, metrics, body limits, console settings, demo tools).

use std::sync::Arc;

use shared::time::{Clock, ShiftedClock};

use crate::domain::programme_dates::ProgrammeDates;
use crate::domain::voucher::SchoolYearRule;
use crate::metrics::Metrics;
use crate::services::passes::keys::SharedKeyRing;
use crate::services::passes::mint::MintLimiter;
use crate::services::Deps;
use crate::store::Store;
use crate::web::auth::{DevIdentityProvider, JwtVerifier};

/// What `--demo` adds: the token signer and the movable clock.
#[derive(Debug)]
pub struct DemoTools {
    pub idp: DevIdentityProvider,
    pub clock: Arc<ShiftedClock>,
    /// The development OpenID provider's codes awaiting redemption (console sign-in).
    pub oidc_codes: crate::web::console::dev_oidc::DevCodes,
}

/// State every handler can reach: one shared [`AppParts`]. Axum clones the state several
/// times per request (the router, each middleware, each extractor), so a clone is one
/// reference count, not one per part.
#[derive(Clone)]
pub struct AppState(Arc<AppParts>);

impl From<AppParts> for AppState {
    fn from(parts: AppParts) -> Self {
        AppState(Arc::new(parts))
    }
}

impl std::ops::Deref for AppState {
    type Target = AppParts;

    fn deref(&self) -> &AppParts {
        &self.0
    }
}

/// What the state is made of: the services' dependencies and the web's own settings.
pub struct AppParts {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub verifier: Arc<JwtVerifier>,
    pub metrics: Arc<Metrics>,
    pub school_year: SchoolYearRule,
    /// When the programme runs: nothing is formed, minted or billed outside these dates.
    pub programme_dates: ProgrammeDates,
    /// Meal pushes of this process, written by group commit (`services::meals`).
    pub meal_pushes: crate::services::meals::MealPushes,
    /// The gas programme's rules (its dates configured; `--demo`: around the demo clock).
    pub gas: crate::domain::monthly::MonthlyRules,
    pub max_body_bytes: usize,
    /// The eligibility-list route's own body limit.
    pub max_list_bytes: usize,
    /// The pass signing keys (reloaded when `keys rotate` changes the file).
    pub keys: SharedKeyRing,
    pub mint_limiter: Arc<MintLimiter>,
    /// First mints of the day, stored in batches for the signals (`services::mint_notes`).
    pub mint_notes: Arc<crate::services::mint_notes::MintNotes>,
    /// How long a terminal enrollment code stays usable.
    pub enrollment_code_ttl: time::Duration,
    /// Price of one meal unless the school has its own (tiyn).
    pub meal_price_tiyn: i64,
    /// Present only with `--demo`.
    pub demo: Option<Arc<DemoTools>>,
    /// SMS gateway, phone directory, wallet link, and the background workers' wake-ups.
    pub ports: Arc<crate::ports::Ports>,
    /// The school console's public URL and sign-in (resolved once the address is bound).
    pub console: Arc<crate::web::console::ConsoleSettings>,
}

impl AppParts {
    /// The parts a use case may touch (the store, the clock, the ports), for the services.
    pub fn deps(&self) -> Deps {
        Deps {
            store: self.store.clone(),
            clock: self.clock.clone(),
            ports: self.ports.clone(),
        }
    }
}

impl axum::extract::FromRef<AppState> for Arc<Metrics> {
    fn from_ref(state: &AppState) -> Self {
        state.metrics.clone()
    }
}
