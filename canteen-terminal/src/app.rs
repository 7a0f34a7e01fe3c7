//! Wiring for the binary: opens the database, starts the sync thread, the device readers
//! and the screen, then runs the decision loop on the calling thread until the worker quits,
//! stdout goes away or something fatal happens.
//!
//! Everything reaches the decision loop as one [`AppEvent`] channel, so scans are decided
//! one at a time, in order, and never wait for the network or the screen. Under systemd the
//! loop also pings the watchdog, so a hung loop gets the service restarted.

use std::io::{self, IsTerminal};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use shared::systemd::Watchdog;
use shared::time::{Clock, SystemClock};

use crate::cli::{Cli, UiMode};
use crate::scanner::port::{DeviceReader, PortConfig};
use crate::scanner::{CardFrames, DeviceKind, QrFrames, ScannerEvent};
use crate::store::Store;
use crate::sync::{self, HttpServer, Pace, SyncConfig, SyncHandle, SyncReport, Syncer};
use crate::terminal::{Settings, Terminal};
use crate::ui::{PlainUi, StartInfo, TuiUi, Ui};

/// Everything the decision loop reacts to.
#[derive(Debug)]
pub enum AppEvent {
    Scanner(ScannerEvent),
    Sync(SyncReport),
    /// The worker asked to quit (Ctrl+C in the full-screen view).
    Quit,
}

impl From<ScannerEvent> for AppEvent {
    fn from(event: ScannerEvent) -> Self {
        AppEvent::Scanner(event)
    }
}

impl From<SyncReport> for AppEvent {
    fn from(report: SyncReport) -> Self {
        AppEvent::Sync(report)
    }
}

/// Runs the terminal. See the module docs.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    let clock: Arc<dyn Clock> = if cli.demo_clock_shift_secs == 0 {
        Arc::new(SystemClock)
    } else {
        tracing::warn!(
            shift_secs = cli.demo_clock_shift_secs,
            "the clock runs ahead of the system clock (--demo-clock-shift-secs; testing only)"
        );
        Arc::new(AheadClock(time::Duration::seconds(i64::from(
            cli.demo_clock_shift_secs,
        ))))
    };
    let mut terminal = open_terminal(&cli, Arc::clone(&clock))?;
    let (tx, rx) = mpsc::channel::<AppEvent>();

    let sync_config = SyncConfig {
        server_url: cli.server.clone(),
        school: cli.school,
        enroll_code: cli.enroll.clone(),
        terminal_name: cli.terminal_name.clone(),
        batch_size: sync::BATCH_SIZE,
    };
    let tls = shared::http::ClientTls::load(&cli.tls_options())
        .context("setting up TLS for the server connection")?;
    let server = HttpServer::new(
        &cli.server,
        Duration::from_secs(cli.http_timeout_secs),
        &tls,
    )
    .context("setting up the HTTP client")?;
    let sync_store = Store::open(&cli.db).context("opening the database for the sync")?;
    let syncer = Syncer::new(server, sync_store, clock, sync_config);
    let pace = Pace {
        interval: Duration::from_millis(cli.sync_interval_ms),
        backoff_min: Duration::from_millis(cli.sync_backoff_min_ms),
        backoff_max: Duration::from_millis(cli.sync_backoff_max_ms),
    };
    let sync = sync::spawn(syncer, pace, tx.clone()).context("starting the sync thread")?;

    let mut ui = open_ui(cli.ui, &tx)?;
    ui.start(&start_info(&mut terminal)?)
        .context("writing to the screen")?;
    let readers = spawn_readers(&cli, &tx)?;
    drop(tx);
    if let Err(error) = shared::systemd::ready() {
        tracing::warn!(%error, "cannot tell systemd the terminal is ready");
    }
    let result = serve(&rx, &mut terminal, ui.as_mut(), &sync);
    drop(readers);
    result
}

/// The system clock run ahead by a fixed amount (`--demo-clock-shift-secs`, drills only).
struct AheadClock(time::Duration);

impl Clock for AheadClock {
    fn now(&self) -> time::OffsetDateTime {
        SystemClock.now().saturating_add(self.0)
    }
}

/// Opens the database and refuses to run for another school than the one enrolled.
fn open_terminal(cli: &Cli, clock: Arc<dyn Clock>) -> anyhow::Result<Terminal> {
    let store = Store::open(&cli.db)
        .with_context(|| format!("opening the database {}", cli.db.display()))?;
    let state = store.state().context("reading the terminal state")?;
    if let Some(enrolled) = state.school.filter(|school| *school != cli.school) {
        bail!(
            "this terminal is enrolled for school {enrolled} (database {}), not for --school {}; \
             refusing to run",
            cli.db.display(),
            cli.school
        );
    }
    match (
        state.enrolled(),
        state.revoked_at.is_some(),
        cli.enroll.is_some(),
    ) {
        (true, false, true) => tracing::info!("already enrolled; --enroll is ignored"),
        (false, _, false) => tracing::warn!(
            "this terminal is not enrolled: start it with --enroll CODE (from the school \
             console); until then every scan is denied"
        ),
        _ => {}
    }
    let settings = Settings {
        school: cli.school,
        leeway: time::Duration::seconds(i64::from(cli.pass_leeway_secs)),
        roster_max_age: time::Duration::hours(i64::from(cli.roster_max_age_hours)),
    };
    Terminal::new(store, clock, settings).context("loading the roster")
}

fn open_ui(mode: UiMode, tx: &mpsc::Sender<AppEvent>) -> anyhow::Result<Box<dyn Ui>> {
    if mode == UiMode::Tui {
        if io::stdout().is_terminal() {
            let tui = TuiUi::start(tx.clone(), AppEvent::Quit).context("starting the screen")?;
            return Ok(Box::new(tui));
        }
        eprintln!(
            "canteen-terminal: stdout is not a terminal; using --ui plain (JSON lines) instead \
             of the full-screen view"
        );
    }
    Ok(Box::new(PlainUi::new(io::stdout())))
}

fn start_info(terminal: &mut Terminal) -> anyhow::Result<StartInfo> {
    let now = terminal.now();
    let today = terminal.today(now);
    let unsent = terminal.store().unsent_count()?;
    let snapshot = terminal.snapshot();
    let state = &snapshot.state;
    Ok(StartInfo {
        school: state.school.unwrap_or(terminal.settings().school),
        school_name: state.school_name.clone(),
        terminal_id: state.terminal_id,
        enrolled: state.enrolled(),
        revoked: state.revoked_at.is_some(),
        roster: snapshot.roster_active,
        unsent,
        today,
        last_roster_at: state.last_roster_at,
        at: now,
    })
}

fn spawn_readers(cli: &Cli, tx: &mpsc::Sender<AppEvent>) -> anyhow::Result<Vec<DeviceReader>> {
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
    Ok(readers)
}

/// The next event; with a systemd watchdog, waits no longer than the next ping is due and
/// pings when it is, so the pings come from this loop and stop when it hangs. `None` once
/// every sender is gone.
fn next_event(rx: &Receiver<AppEvent>, watchdog: Option<&mut Watchdog>) -> Option<AppEvent> {
    let Some(watchdog) = watchdog else {
        return rx.recv().ok();
    };
    loop {
        let event = rx.recv_timeout(watchdog.until_due(Instant::now()));
        if let Err(error) = watchdog.ping_if_due() {
            tracing::warn!(%error, "cannot ping the systemd watchdog");
        }
        match event {
            Ok(event) => return Some(event),
            Err(RecvTimeoutError::Timeout) => continue,
            Err(RecvTimeoutError::Disconnected) => return None,
        }
    }
}

/// The decision loop.
fn serve(
    rx: &Receiver<AppEvent>,
    terminal: &mut Terminal,
    ui: &mut dyn Ui,
    sync: &SyncHandle,
) -> anyhow::Result<()> {
    let mut watchdog = Watchdog::from_env();
    while let Some(event) = next_event(rx, watchdog.as_mut()) {
        let shown = match event {
            AppEvent::Scanner(ScannerEvent::Scan { scan, at }) => {
                ui.scan(&scan, at).and_then(|()| {
                    let verdict = terminal.handle_scan(&scan);
                    if verdict.accepted() {
                        sync.nudge();
                    }
                    ui.decision(&verdict)
                })
            }
            AppEvent::Scanner(ScannerEvent::Device { device, state }) => {
                ui.device(device, state, terminal.now())
            }
            AppEvent::Sync(report) => {
                terminal.refresh();
                let roster = terminal.snapshot().roster_active;
                let shown = ui.sync(&report, roster, terminal.now());
                if let Some(reason) = report.outcome.fatal() {
                    bail!(reason);
                }
                shown
            }
            AppEvent::Quit => return Ok(()),
        };
        match shown {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return Ok(()),
            Err(e) => return Err(e).context("writing to the screen"),
        }
    }
    Ok(())
}
