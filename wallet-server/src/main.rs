//! `wallet-server`: parse configuration, set up logging, open the store, serve.

use std::io::IsTerminal;

use anyhow::Context;
use clap::Parser;
use tracing_subscriber::EnvFilter;
use wallet_server::config::{Cli, Config, LogFormat};
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

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::resolve(Cli::parse())?;
    init_logging(config.log_format);
    let state = app::build_state(&config).await?;
    let database = match &config.database_url {
        Some(url) if url.starts_with("postgres") => "PostgreSQL (DATABASE_URL)".to_string(),
        Some(url) => url.clone(),
        None => config.data_dir.join("wallet.db").display().to_string(),
    };
    if state.demo.is_some() {
        demo::seed(&state).await.context("seeding demo data")?;
    }
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let addr = listener.local_addr().context("reading the bound address")?;
    tracing::info!(%addr, backend = state.store.backend().as_str(), demo = config.demo, "serving");
    if config.demo {
        println!("{}", demo::banner(addr, &database));
    } else {
        println!("wallet-server listening on http://{addr}");
    }
    app::serve(listener, state).await
}
