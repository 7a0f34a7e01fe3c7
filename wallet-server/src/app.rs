//! The composition root: builds the web state, the ports and the workers from the
//! configuration, and serves with graceful shutdown.

use std::sync::Arc;

use anyhow::Context;
use shared::time::{Clock, ShiftedClock, SystemClock};
use tokio::net::TcpListener;

use crate::config::{Config, JwtKeySource};
use crate::domain::voucher::SchoolYearRule;
use crate::metrics::Metrics;
use crate::services::passes::keys::SharedKeyRing;
use crate::services::passes::mint::MintLimiter;
use crate::store;
use crate::web::auth::{DevIdentityProvider, JwtVerifier};
use crate::web::{AppParts, AppState, DemoTools};

/// Builds the state from configuration: opens the store, loads or generates keys; the
/// outside services are reached with `outbound` TLS ([`outbound_tls`]).
pub async fn build_state(
    config: &Config,
    outbound: &shared::http::ClientTls,
) -> anyhow::Result<AppParts> {
    // The data directory holds the SQLite database and, by default, the pass keys (and the
    // demo's signing key): checked (owner-only, writable) before any is opened, so a problem
    // names the directory.
    if config.database_url.is_none()
        || config.demo
        || config.pass_keys_file.starts_with(&config.data_dir)
    {
        shared::private_file::check_data_dir(&config.data_dir)?;
    }
    let database = match &config.database_url {
        Some(_) => "the database (DATABASE_URL)".to_string(),
        None => format!(
            "the database {}",
            config.data_dir.join("wallet.db").display()
        ),
    };
    let store = store::open(config.database_url.as_deref(), &config.data_dir)
        .await
        .with_context(|| format!("opening {database}"))?;
    let (verifier, demo, clock): (JwtVerifier, _, Arc<dyn Clock>) = match &config.jwt_keys {
        JwtKeySource::DemoGenerated => {
            let (idp, verifier) = DevIdentityProvider::kept_in(
                &config.data_dir,
                &config.jwt_issuer,
                &config.jwt_audience,
            )?;
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
    let programme_dates = config.programme_dates.dates(clock.now());
    let gas = crate::domain::gas::rules(config.gas_programme_dates.dates(clock.now()));
    Ok(AppParts {
        meal_pushes: crate::services::meals::meal_pushes(store.clone(), programme_dates),
        store,
        keys,
        mint_limiter: Arc::new(MintLimiter::new(
            config.pass_mint_limit,
            time::Duration::seconds(i64::from(config.pass_mint_window_secs)),
        )),
        mint_notes: Default::default(),
        enrollment_code_ttl: time::Duration::hours(24),
        meal_price_tiyn: config.meal_price_tiyn,
        clock,
        verifier: Arc::new(verifier),
        metrics: Arc::new(Metrics::new()),
        school_year: SchoolYearRule::default(),
        programme_dates,
        gas,
        max_body_bytes: config.max_body_bytes,
        max_list_bytes: config.max_list_bytes,
        demo: if config.demo { demo } else { None },
        ports: Arc::new(crate::ports::Ports::configured(
            &crate::ports::PortSettings {
                sms_gateway_url: config.sms_gateway_url.as_deref(),
                bmg_url: config.bmg_url.as_deref(),
                nobd_url: config.nobd_url.as_deref(),
                eotinish_url: config.eotinish_url.as_deref(),
                provider_url: config.provider_url.as_deref(),
                demo_provider: config.demo,
                wallet_link: &config.wallet_link,
                stall: config.demo_stall,
                tls: outbound,
            },
        )?),
        console: Arc::new(crate::web::console::ConsoleSettings::resolve(
            &config.console,
            config.listen,
            outbound,
        )),
    })
}

/// Outbound TLS of every call the server makes (`shared::http`): the system's CAs plus
/// `--ca-file`.
pub fn outbound_tls(config: &Config) -> anyhow::Result<shared::http::ClientTls> {
    shared::http::ClientTls::load(&shared::http::TlsOptions {
        ca_file: config.ca_file.clone(),
        identity: None,
    })
    .context("setting up outbound TLS")
}

/// The TLS listener's acceptor when `--tls-cert` and `--tls-key` are set.
pub fn listener_tls(config: &Config) -> anyhow::Result<Option<tokio_rustls::TlsAcceptor>> {
    config
        .tls
        .as_ref()
        .map(|files| crate::web::tls::acceptor(files, crate::web::tls::CHECK_EVERY))
        .transpose()
        .context("setting up the TLS listener")
}

/// Serves until SIGINT or SIGTERM, then finishes the requests in flight. The scheduler and
/// the outbox worker run alongside and stop after their current item.
pub async fn serve(
    listener: TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    state: AppState,
) -> anyhow::Result<()> {
    let deps = state.deps();
    let gas = state.gas;
    let now = deps.clock.now();
    if let Err(e) = crate::services::reports::seed(deps.store.as_ref(), now).await {
        tracing::warn!(error = %e, "could not schedule today's daily report");
    }
    if let Err(e) = crate::services::tabel::notices::seed(deps.store.as_ref(), now).await {
        tracing::warn!(error = %e, "could not schedule the табель notices");
    }
    if let Err(e) = crate::services::signals::seed(deps.store.as_ref(), now).await {
        tracing::warn!(error = %e, "could not schedule the signals job");
    }
    use crate::jobs::TabelNotice;
    use crate::services::tabel::notices::Notice;
    let scheduler = crate::jobs::Scheduler::new(deps.clone())
        .with_handler(
            crate::domain::job::JobKind::DailyReport,
            Arc::new(crate::jobs::DailyReportJob),
        )
        .with_handler(
            crate::domain::job::JobKind::TabelReady,
            Arc::new(TabelNotice(Notice::Ready)),
        )
        .with_handler(
            crate::domain::job::JobKind::TabelReminder,
            Arc::new(TabelNotice(Notice::Reminder)),
        )
        .with_handler(
            crate::domain::job::JobKind::Signals,
            Arc::new(crate::jobs::SignalsJob),
        );
    let scheduler = with_monthly_handlers(scheduler, gas);
    let workers = crate::jobs::Workers::start(&deps, scheduler);
    let mint_notes = state.mint_notes.clone();
    let noting = tokio::spawn(mint_notes.clone().run(deps.store.clone()));
    let limiter = state.mint_limiter.clone();
    let counting = {
        let (limiter, store) = (limiter.clone(), deps.store.clone());
        tokio::spawn(async move { limiter.run(store).await })
    };
    let app = crate::web::router(state);
    let watchdog = tell_systemd_ready();
    let served = crate::web::listen::serve(listener, app, tls, shutdown_signal())
        .await
        .context("serving HTTP");
    if let Some(watchdog) = watchdog {
        watchdog.abort();
    }
    workers.stop(std::time::Duration::from_secs(5)).await;
    noting.abort();
    counting.abort();
    // A graceful stop keeps the last second's mint notes and counts too.
    mint_notes.flush(deps.store.as_ref()).await;
    limiter.flush(deps.store.as_ref()).await;
    served
}

/// The jobs of the monthly programmes (gas), each with its rules.
fn with_monthly_handlers(
    scheduler: crate::jobs::Scheduler,
    gas: crate::domain::monthly::MonthlyRules,
) -> crate::jobs::Scheduler {
    use crate::domain::job::JobKind;
    use crate::jobs::{MonthlyHandover, MonthlyRemind, MonthlyTimeout};
    scheduler
        .with_handler(JobKind::MonthlyRemind, Arc::new(MonthlyRemind(gas)))
        .with_handler(JobKind::MonthlyTimeout, Arc::new(MonthlyTimeout))
        .with_handler(JobKind::MonthlyHandover, Arc::new(MonthlyHandover(gas)))
}

/// Under systemd (`Type=notify`): says the server is ready and, when a watchdog is armed,
/// pings it from a task on the runtime, so a runtime that stops scheduling tasks gets the
/// service restarted. A no-op otherwise.
fn tell_systemd_ready() -> Option<tokio::task::JoinHandle<()>> {
    if let Err(error) = shared::systemd::ready() {
        tracing::warn!(%error, "cannot tell systemd the server is ready");
    }
    let mut watchdog = shared::systemd::Watchdog::from_env()?;
    Some(tokio::spawn(async move {
        let mut tick = tokio::time::interval(watchdog.interval());
        loop {
            tick.tick().await;
            if let Err(error) = watchdog.ping() {
                tracing::warn!(%error, "cannot ping the systemd watchdog");
            }
        }
    }))
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
    if let Err(error) = shared::systemd::stopping() {
        tracing::warn!(%error, "cannot tell systemd the server is stopping");
    }
}
