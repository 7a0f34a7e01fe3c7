//! `wallet-server`: parse configuration, set up logging, open the store, serve — or run an
//! administrative command (`wallet-server keys rotate|list`) and exit.

use std::io::IsTerminal;

use anyhow::Context;
use clap::Parser;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use tracing_subscriber::EnvFilter;
use wallet_server::config::{Cli, Command, Config, KeysAction, LogFormat};
use wallet_server::services::passes::keys::PassKeyRing;
use wallet_server::{app, demo};

fn init_logging(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}

/// glibc gives each thread that allocates its own malloc arena (up to 8 per core), and
/// memory freed in one arena is rarely returned or reused by another. A server whose work
/// hops between runtime workers, SQLite's connection threads and blocking renders then holds
/// several copies of its peak: under the lunch-rush load the resident size fell from 136 MB
/// to 76 MB with two arenas, at no measurable cost in throughput (BENCHMARKS.md).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn limit_malloc_arenas() {
    // SAFETY: mallopt only sets an allocator parameter; called before any other thread
    // exists, so no allocation races with it.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn limit_malloc_arenas() {}

fn main() -> anyhow::Result<()> {
    limit_malloc_arenas();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?
        .block_on(run())
}

async fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if let Some(Command::Keys { action }) = &cli.command {
        return keys_command(&cli, action);
    }
    let config = Config::resolve(cli)?;
    init_logging(config.log_format);
    let outbound = app::outbound_tls(&config)?;
    let mut parts = app::build_state(&config, &outbound).await?;
    let tls = app::listener_tls(&config)?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    let database = match &config.database_url {
        Some(url) if url.starts_with("postgres") => "PostgreSQL (DATABASE_URL)".to_string(),
        Some(url) => url.clone(),
        None => config.data_dir.join("wallet.db").display().to_string(),
    };
    let demo_info = match parts.demo {
        Some(_) => {
            demo::gas::seed(&parts.deps(), &parts.gas)
                .await
                .context("seeding the demo's gas norms")?;
            Some(
                demo::seed(&parts.deps(), &parts.school_year, parts.programme_dates)
                    .await
                    .context("seeding demo data")?,
            )
        }
        None => None,
    };
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let addr = listener.local_addr().context("reading the bound address")?;
    // The console's URLs (and the demo's sign-in issuer) need the port actually bound.
    parts.console = std::sync::Arc::new(wallet_server::web::console::ConsoleSettings::resolve(
        &config.console,
        addr,
        &outbound,
    ));
    let state = wallet_server::web::AppState::from(parts);
    tracing::info!(%addr, backend = state.store.backend().as_str(), demo = config.demo,
        programme_first_day = %state.programme_dates.first_day(),
        programme_last_day = %state.programme_dates.last_day(), "serving");
    if let Some(info) = &demo_info {
        let period = shared::time::month_of(state.clock.now()).to_string();
        let console = state.console.console_url();
        let base = format!("{scheme}://{addr}");
        println!(
            "{}",
            demo::banner(&base, &database, info, &period, &console)
        );
        if let Some(provider) = &state.ports.demo_provider {
            let month = shared::time::month_of(state.clock.now());
            println!("{}", demo::gas::banner(&base, month, &provider.numbers()));
        }
    } else {
        println!("wallet-server listening on {scheme}://{addr}");
        println!("school console: {}", state.console.console_url());
    }
    app::serve(listener, tls, state).await
}

/// `wallet-server keys …`: works on the key file alone (no database, no JWT settings).
fn keys_command(cli: &Cli, action: &KeysAction) -> anyhow::Result<()> {
    let path = Config::resolve_pass_keys_file(cli)?;
    match action {
        KeysAction::Rotate { retain_days } => {
            let retention = time::Duration::days(i64::from(*retain_days));
            let rotation =
                PassKeyRing::rotate_with_retention(&path, OffsetDateTime::now_utc(), retention)?;
            println!("new current pass key: {}", rotation.kid);
            if let Some(previous) = rotation.previous {
                println!("retired: {previous} (still verifies passes)");
            }
            let days = if *retain_days == 1 { "day" } else { "days" };
            println!(
                "keys kept: {} ({} pruned: retired more than {retain_days} {days} ago)",
                rotation.kept,
                rotation.pruned.len()
            );
            println!("key file: {}", path.display());
        }
        KeysAction::List => {
            for key in PassKeyRing::list(&path)? {
                let retired = match key.retired_at {
                    Some(t) => t.format(&Rfc3339)?,
                    None => "-".into(),
                };
                let line = format!(
                    "{}  created {}  retired {:<20}  {}",
                    key.kid,
                    key.created_at.format(&Rfc3339)?,
                    retired,
                    if key.current { "current" } else { "" }
                );
                println!("{}", line.trim_end());
            }
        }
    }
    Ok(())
}
