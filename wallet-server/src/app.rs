//! The running server: shared state, start-up (store, keys, demo seed) and serving with
//! graceful shutdown.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use shared::time::{Clock, ShiftedClock, SystemClock};
use tokio::net::TcpListener;

use crate::auth::{DevIdentityProvider, JwtVerifier};
use crate::config::{Config, JwtKeySource};
use crate::metrics::Metrics;
use crate::passes::keys::SharedKeyRing;
use crate::passes::mint::MintLimiter;
use crate::store::{self, Store};
use crate::vouchers::SchoolYearRule;

/// What `--demo` adds: the token signer and the movable clock.
#[derive(Debug)]
pub struct DemoTools {
    pub idp: DevIdentityProvider,
    pub clock: Arc<ShiftedClock>,
    /// The development OpenID provider's codes awaiting redemption (console sign-in).
    pub oidc_codes: crate::console::dev_oidc::DevCodes,
}

/// State every handler can reach. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub verifier: Arc<JwtVerifier>,
    pub metrics: Arc<Metrics>,
    pub school_year: SchoolYearRule,
    pub max_body_bytes: usize,
    /// The eligibility-list route's own body limit.
    pub max_list_bytes: usize,
    /// The pass signing keys (reloaded when `keys rotate` changes the file).
    pub keys: SharedKeyRing,
    pub mint_limiter: Arc<MintLimiter>,
    /// How long a terminal enrollment code stays usable.
    pub enrollment_code_ttl: time::Duration,
    /// Price of one meal unless the school has its own (tiyn).
    pub meal_price_tiyn: i64,
    /// Present only with `--demo`.
    pub demo: Option<Arc<DemoTools>>,
    /// SMS gateway, phone directory, wallet link, and the background workers' wake-ups.
    pub ports: Arc<crate::ports::Ports>,
    /// The school console's public URL and sign-in (resolved once the address is bound).
    pub console: Arc<crate::console::ConsoleSettings>,
}

impl axum::extract::FromRef<AppState> for Arc<Metrics> {
    fn from_ref(state: &AppState) -> Self {
        state.metrics.clone()
    }
}

/// Builds the state from configuration: opens the store, loads or generates keys.
pub async fn build_state(config: &Config) -> anyhow::Result<AppState> {
    let store = store::open(config.database_url.as_deref(), &config.data_dir)
        .await
        .context("opening the database")?;
    let (verifier, demo, clock): (JwtVerifier, _, Arc<dyn Clock>) = match &config.jwt_keys {
        JwtKeySource::DemoGenerated => {
            let (idp, verifier) =
                DevIdentityProvider::generate(&config.jwt_issuer, &config.jwt_audience)?;
            let clock = Arc::new(match config.demo_clock {
                Some(start) => ShiftedClock::starting_at(start),
                None => ShiftedClock::new(),
            });
            let tools = Arc::new(DemoTools {
                idp,
                clock: clock.clone(),
                oidc_codes: Default::default(),
            });
            (verifier, Some(tools), clock)
        }
        JwtKeySource::PemFile(path) => (
            JwtVerifier::from_pem_file(
                path,
                config.jwt_algorithm,
                &config.jwt_issuer,
                &config.jwt_audience,
            )?,
            None,
            Arc::new(SystemClock),
        ),
        JwtKeySource::JwksFile(path) => (
            JwtVerifier::from_jwks_file(
                path,
                config.jwt_algorithm,
                &config.jwt_issuer,
                &config.jwt_audience,
            )?,
            None,
            Arc::new(SystemClock),
        ),
    };
    let keys = SharedKeyRing::load_or_create(&config.pass_keys_file, clock.now())
        .with_context(|| format!("loading pass keys from {}", config.pass_keys_file.display()))?;
    keys.spawn_reloader(std::time::Duration::from_secs(30));
    Ok(AppState {
        store,
        keys,
        mint_limiter: Arc::new(MintLimiter::new(
            config.pass_mint_limit,
            time::Duration::seconds(i64::from(config.pass_mint_window_secs)),
        )),
        enrollment_code_ttl: time::Duration::hours(24),
        meal_price_tiyn: config.meal_price_tiyn,
        clock,
        verifier: Arc::new(verifier),
        metrics: Arc::new(Metrics::new()),
        school_year: SchoolYearRule::default(),
        max_body_bytes: config.max_body_bytes,
        max_list_bytes: config.max_list_bytes,
        demo: if config.demo { demo } else { None },
        ports: Arc::new(crate::ports::Ports::from_config(config)?),
        console: Arc::new(crate::console::ConsoleSettings::resolve(
            &config.console,
            config.listen,
        )),
    })
}

/// Serves until SIGINT or SIGTERM, then finishes the requests in flight. The scheduler and
/// the outbox worker run alongside and stop after their current item.
pub async fn serve(listener: TcpListener, state: AppState) -> anyhow::Result<()> {
    if let Err(e) = crate::reports::seed(&state).await {
        tracing::warn!(error = %e, "could not schedule today's daily report");
    }
    if let Err(e) = crate::tabel::notices::seed(&state).await {
        tracing::warn!(error = %e, "could not schedule the табель notices");
    }
    use crate::tabel::notices::{Notice, NoticeJob};
    let scheduler = crate::jobs::Scheduler::new(state.clone())
        .with_handler(
            crate::jobs::JobKind::DailyReport,
            Arc::new(crate::reports::DailyReportJob),
        )
        .with_handler(
            crate::jobs::JobKind::TabelReady,
            Arc::new(NoticeJob(Notice::Ready)),
        )
        .with_handler(
            crate::jobs::JobKind::TabelReminder,
            Arc::new(NoticeJob(Notice::Reminder)),
        );
    let workers = crate::jobs::Workers::start(&state, scheduler);
    let app = crate::http::router(state);
    let served = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await
    .context("serving HTTP");
    workers.stop(std::time::Duration::from_secs(5)).await;
    served
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}
