//! `canteen-terminal`: the binary. Reads the configuration file into the environment, parses
//! the command line, sets up logging (stderr, or a file when the full-screen view owns the
//! terminal) and hands over to [`canteen_terminal::run`].

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use canteen_terminal::cli::{Cli, UiMode};
use clap::Parser;
use tracing_subscriber::EnvFilter;

fn main() -> std::process::ExitCode {
    if let Err(error) = canteen_terminal::config::apply_config_file() {
        eprintln!("canteen-terminal: {error}");
        return std::process::ExitCode::FAILURE;
    }
    let cli = Cli::parse();
    if let Err(error) = init_logging(&cli) {
        eprintln!("canteen-terminal: {error:#}");
        return std::process::ExitCode::FAILURE;
    }
    match canteen_terminal::run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("{error:#}");
            eprintln!("canteen-terminal: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Where logs go: `--log-file`; else `<db>.log` when the full-screen view will own the
/// terminal stderr is on; else stderr.
fn log_path(cli: &Cli) -> Option<PathBuf> {
    let screen =
        cli.ui == UiMode::Tui && std::io::stdout().is_terminal() && std::io::stderr().is_terminal();
    cli.log_file.clone().or_else(|| {
        screen.then(|| {
            let mut path = cli.db.clone().into_os_string();
            path.push(".log");
            PathBuf::from(path)
        })
    })
}

fn init_logging(cli: &Cli) -> anyhow::Result<()> {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    match log_path(cli) {
        Some(path) => {
            let file = open_log(&path)?;
            tracing_subscriber::fmt()
                .with_env_filter(filter)
                .with_ansi(false)
                .with_writer(Mutex::new(file))
                .init();
        }
        None => tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_ansi(std::io::stderr().is_terminal())
            .with_writer(std::io::stderr)
            .init(),
    }
    Ok(())
}

/// Opens the log file for appending, owner-only when created.
fn open_log(path: &Path) -> anyhow::Result<std::fs::File> {
    use anyhow::Context;
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        shared::private_file::create_dir(parent)
            .with_context(|| format!("creating the log directory {}", parent.display()))?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
        .open(path)
        .with_context(|| format!("opening the log file {}", path.display()))
}
