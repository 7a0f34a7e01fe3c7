//! The offline canteen terminal.
//!
//! For now it reads the two serial devices ([`scanner`]) and reports scans and device
//! changes ([`ui`]); the decision, the local store and the sync with the wallet server
//! land with the terminal issue. [`run`] wires the pieces for the binary.

pub mod cli;
pub mod scanner;
pub mod ui;

use std::sync::mpsc;
use std::time::Duration;

use anyhow::Context;

use cli::{Cli, UiMode};
use scanner::port::{DeviceReader, PortConfig};
use scanner::{CardFrames, DeviceKind, QrFrames};
use ui::PlainUi;

/// Runs the terminal until it is killed (or stdout goes away).
pub fn run(cli: Cli) -> anyhow::Result<()> {
    if cli.ui == UiMode::Tui {
        eprintln!(
            "canteen-terminal: the full-screen UI comes with the terminal issue; \
             using --ui plain (JSON lines on stdout) for now"
        );
    }
    tracing::info!(
        server = %cli.server,
        school = %cli.school,
        db = %cli.db.display(),
        enroll_code_given = cli.enroll.is_some(),
        "sync, local store and decisions land with the terminal issue; reading devices only"
    );

    let (tx, rx) = mpsc::channel();
    let mut readers = Vec::new();
    if let Some(path) = &cli.qr_port {
        let frames = QrFrames::new(cli.qr_line_ending, cli.qr_max_line);
        let config = PortConfig::new(path.as_str(), cli.qr_baud);
        let reader = DeviceReader::spawn(DeviceKind::Qr, config, frames, tx.clone())
            .context("starting the QR scanner reader")?;
        readers.push(reader);
    }
    if let Some(path) = &cli.card_port {
        let frames = CardFrames::new(Duration::from_millis(cli.card_debounce_ms));
        let config = PortConfig::new(path.as_str(), cli.card_baud);
        let reader = DeviceReader::spawn(DeviceKind::Card, config, frames, tx.clone())
            .context("starting the card reader")?;
        readers.push(reader);
    }
    drop(tx);

    let mut ui = PlainUi::new(std::io::stdout().lock());
    for event in rx {
        ui.show(&event).context("writing to stdout")?;
    }
    drop(readers);
    Ok(())
}
