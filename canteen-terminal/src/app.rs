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
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use shared::systemd::Watchdog;
use shared::time::{Clock, SystemClock};

use crate::cli::{Cli, UiMode};
use crate::desk::{Action, Desk, Key};
use crate::scanner::port::{DeviceReader, PortConfig};
use crate::scanner::{CardFrames, DeviceKind, QrFrames, ScannerEvent};
use crate::store::Store;
use crate::store::VoidRefused;
use crate::sync::{self, HttpServer, Pace, SyncConfig, SyncHandle, SyncReport, Syncer};
use crate::terminal::{Settings, Terminal, Verdict, VoidError};
use crate::ui::sound::BeepMode;
use crate::ui::{CounterView, PlainUi, StartInfo, TuiUi, Ui};

/// Everything the decision loop reacts to.
#[derive(Debug)]
pub enum AppEvent {
    Scanner(ScannerEvent),
    Sync(SyncReport),
    /// A key the worker pressed in the full-screen view (the counter's dialogs).
    Key(Key),
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
        probe: Duration::from_millis(cli.sync_probe_ms),
    };
    let sync = sync::spawn(syncer, pace, tx.clone()).context("starting the sync thread")?;

    let beep = cli.beep.resolve(std::env::var("TERM").ok().as_deref());
    let mut ui = open_ui(cli.ui, beep, &tx)?;
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

fn open_ui(
    mode: UiMode,
    beep: BeepMode,
    tx: &mpsc::Sender<AppEvent>,
) -> anyhow::Result<Box<dyn Ui>> {
    if mode == UiMode::Tui {
        if io::stdout().is_terminal() {
            let tui = TuiUi::start(tx.clone(), AppEvent::Quit, key_of, beep)
                .context("starting the screen")?;
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
        clock_offset_ms: state.clock_offset_ms,
        worker: terminal.worker().map(|w| w.to_string()),
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

/// The worker's key as the counter's dialogs understand it.
fn key_of(key: KeyEvent) -> Option<AppEvent> {
    let key = match key.code {
        KeyCode::Char(c) => Key::Char(c),
        KeyCode::Backspace => Key::Backspace,
        KeyCode::Enter => Key::Enter,
        KeyCode::Esc => Key::Esc,
        KeyCode::Up => Key::Up,
        KeyCode::Down => Key::Down,
        KeyCode::F(n) => Key::F(n),
        _ => return None,
    };
    Some(AppEvent::Key(key))
}

/// The decision loop.
fn serve(
    rx: &Receiver<AppEvent>,
    terminal: &mut Terminal,
    ui: &mut dyn Ui,
    sync: &SyncHandle,
) -> anyhow::Result<()> {
    let mut watchdog = Watchdog::from_env();
    let mut desk = Desk::default();
    let mut online = false;
    show_counter(terminal, ui, &desk, online)?;
    while let Some(event) = next_event(rx, watchdog.as_mut()) {
        let shown = match event {
            AppEvent::Scanner(ScannerEvent::Scan { scan, at }) => {
                ui.scan(&scan, at).and_then(|()| {
                    let verdict = terminal.handle_scan(&scan);
                    shown(terminal, ui, sync, &verdict)?;
                    if verdict.accepted() {
                        show_counter(terminal, ui, &desk, online)?;
                    }
                    Ok(())
                })
            }
            AppEvent::Scanner(ScannerEvent::Unreadable { device, at }) => ui.unreadable(device, at),
            AppEvent::Scanner(ScannerEvent::Device { device, state }) => {
                ui.device(device, state, terminal.now())
            }
            AppEvent::Sync(report) => {
                terminal.refresh();
                online = report.outcome.is_ok();
                let roster = terminal.snapshot().roster_active;
                let shown = ui
                    .sync(&report, roster, terminal.now())
                    .and_then(|()| show_counter(terminal, ui, &desk, online));
                if let Some(reason) = report.outcome.fatal() {
                    bail!(reason);
                }
                shown
            }
            AppEvent::Key(key) => {
                let action = desk.key(key);
                act(terminal, ui, sync, &mut desk, action)
                    .and_then(|()| show_counter(terminal, ui, &desk, online))
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

/// Shows a verdict, then remembers the worker saw it (a crash before this offers the meal
/// again as "recorded N s ago").
fn shown(
    terminal: &Terminal,
    ui: &mut dyn Ui,
    sync: &SyncHandle,
    verdict: &Verdict,
) -> io::Result<()> {
    ui.decision(verdict)?;
    if verdict.accepted() {
        if let Some(id) = verdict.event_id {
            terminal.mark_shown(id);
        }
        sync.nudge();
    } else {
        terminal.keep_denial(verdict);
    }
    Ok(())
}

/// Carries out what a dialog asked for.
fn act(
    terminal: &mut Terminal,
    ui: &mut dyn Ui,
    sync: &SyncHandle,
    desk: &mut Desk,
    action: Option<Action>,
) -> io::Result<()> {
    let failed = |error: &dyn std::fmt::Display| {
        tracing::error!(%error, "counter action failed");
        "Ошибка терминала, повторите".to_owned()
    };
    match action {
        None => {}
        Some(Action::Search(query)) => match terminal.store().search_roster(&query, 50) {
            Ok(found) => desk.found(found),
            Err(error) => desk.note(failed(&error)),
        },
        Some(Action::ListVoidable) => match terminal.store().voidable(terminal.now()) {
            Ok(meals) => desk.voidable(meals),
            Err(error) => desk.close(Some(failed(&error))),
        },
        Some(Action::Serve { voucher, reason }) => {
            let verdict = terminal.serve_manually(voucher, reason);
            shown(terminal, ui, sync, &verdict)?;
        }
        Some(Action::Void { event_id, reason }) => {
            let note = match terminal.void(event_id, &reason) {
                Ok(()) => {
                    sync.nudge();
                    "Питание отменено".to_owned()
                }
                Err(VoidError::Refused(VoidRefused::TooLate)) => {
                    "Прошло больше 5 минут: отмена только в консоли школы".to_owned()
                }
                Err(VoidError::Refused(VoidRefused::UnknownMeal)) => {
                    "Питание не найдено или уже отменено".to_owned()
                }
                Err(VoidError::Store(error)) => failed(&error),
            };
            ui.voided(event_id, &note)?;
        }
        Some(Action::SignIn(worker)) => {
            if let Err(error) = terminal.sign_in(worker) {
                desk.close(Some(failed(&error)));
            }
        }
    }
    Ok(())
}

/// The worker, today's progress and the open dialog, to the screen.
fn show_counter(terminal: &Terminal, ui: &mut dyn Ui, desk: &Desk, online: bool) -> io::Result<()> {
    let day = shared::time::service_day(terminal.now());
    let store = terminal.store();
    let progress = match store.server_progress(day) {
        Ok(Some(progress)) if online => Some((progress, true)),
        _ => store.local_progress(day).ok().map(|p| (p, false)),
    };
    ui.counter(&CounterView {
        worker: terminal.worker().map(|w| w.to_string()),
        progress,
        desk: desk.view(),
    })
}
