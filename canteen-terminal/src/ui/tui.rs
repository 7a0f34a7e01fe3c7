//! `--ui tui`: the canteen worker's full-screen view (ratatui over crossterm).
//!
//! A big green or red panel with the result, the student's name and class and the reason in
//! Russian and Kazakh; today's count, the link to the server, unsent meals, the roster size
//! and both scanners; the last few decisions. The decision loop only updates a shared
//! [`View`] and wakes the drawing thread, so a slow terminal never delays a decision. The
//! drawing thread also reads the keyboard: Ctrl+C asks the terminal to quit.

use std::io;
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use std::io::Write;

use ratatui::crossterm::event::{self, Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};
use ratatui::Frame;
use shared::time::ASTANA;
use time::OffsetDateTime;

use super::sound::BeepMode;
use super::view::{DeskView, Link, Shown, View, RECENT};
use super::{CounterView, StartInfo, Ui};
use crate::reason::{Denial, ACCEPT_KK, ACCEPT_RU};
use crate::scanner::{DeviceKind, DeviceState};
use crate::sync::SyncReport;
use crate::terminal::Verdict;

/// How often the screen is redrawn without events (the clock, fading results).
const TICK: Duration = Duration::from_millis(250);

/// The full-screen UI. Dropping it restores the terminal.
pub struct TuiUi {
    view: Arc<Mutex<View>>,
    wake: Option<Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl TuiUi {
    /// Takes over the terminal; sends `quit` to `events` when the worker presses Ctrl+C.
    pub fn start<E: Send + 'static>(
        events: Sender<E>,
        quit: E,
        keys: impl Fn(KeyEvent) -> Option<E> + Send + 'static,
        beep: BeepMode,
    ) -> io::Result<Self> {
        let mut terminal = ratatui::try_init().inspect_err(|_| ratatui::restore())?;
        let view = Arc::new(Mutex::new(View::default()));
        let (wake, woken) = mpsc::channel::<()>();
        let shared = Arc::clone(&view);
        let thread = std::thread::Builder::new()
            .name("tui".into())
            .spawn(move || {
                let mut quit = Some(quit);
                let mut rung = 0;
                while !matches!(
                    woken.recv_timeout(TICK),
                    Err(RecvTimeoutError::Disconnected)
                ) {
                    if read_keys(&events, &keys) {
                        if let Some(quit) = quit.take() {
                            let _ = events.send(quit);
                        }
                    }
                    let view = shared
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .clone();
                    let now = view.corrected(OffsetDateTime::now_utc());
                    if let Err(error) =
                        terminal.draw(|frame| draw(frame, &view, now, Instant::now()))
                    {
                        tracing::error!(%error, "cannot draw the screen");
                        break;
                    }
                    if let Some((seq, sound)) = view.beep.filter(|(seq, _)| *seq != rung) {
                        rung = seq;
                        let bytes = beep.bytes(sound);
                        let out = terminal.backend_mut();
                        if let Err(error) =
                            out.write_all(bytes.as_bytes()).and_then(|()| out.flush())
                        {
                            tracing::warn!(%error, "cannot beep");
                        }
                    }
                }
                ratatui::restore();
            })?;
        Ok(Self {
            view,
            wake: Some(wake),
            thread: Some(thread),
        })
    }

    fn update(&mut self, change: impl FnOnce(&mut View)) -> io::Result<()> {
        change(&mut self.view.lock().unwrap_or_else(PoisonError::into_inner));
        match &self.wake {
            Some(wake) if wake.send(()).is_ok() => Ok(()),
            _ => Err(io::Error::other("the screen is gone")),
        }
    }
}

impl Drop for TuiUi {
    fn drop(&mut self) {
        drop(self.wake.take());
        if let Some(thread) = self.thread.take() {
            if thread.join().is_err() {
                ratatui::restore();
            }
        }
    }
}

/// Drains pending keyboard events, passing the worker's keys on through `keys`; true if
/// one of them was Ctrl+C.
fn read_keys<E>(events: &Sender<E>, keys: &impl Fn(KeyEvent) -> Option<E>) -> bool {
    let mut pressed = false;
    while matches!(event::poll(Duration::ZERO), Ok(true)) {
        let Ok(Event::Key(key)) = event::read() else {
            continue;
        };
        if key.kind != KeyEventKind::Press {
            continue;
        }
        if key.modifiers.contains(KeyModifiers::CONTROL)
            && matches!(key.code, KeyCode::Char('c') | KeyCode::Char('C'))
        {
            pressed = true;
        } else if let Some(event) = keys(key) {
            let _ = events.send(event);
        }
    }
    pressed
}

impl Ui for TuiUi {
    fn start(&mut self, info: &StartInfo) -> io::Result<()> {
        self.update(|view| view.on_start(info))
    }

    fn decision(&mut self, verdict: &Verdict) -> io::Result<()> {
        self.update(|view| view.on_decision(verdict, Instant::now()))
    }

    fn unreadable(&mut self, device: DeviceKind, _: OffsetDateTime) -> io::Result<()> {
        self.update(|view| view.on_unreadable(device, Instant::now()))
    }

    fn voided(&mut self, _: uuid::Uuid, note: &str) -> io::Result<()> {
        self.update(|view| view.on_note(note, Instant::now()))
    }

    fn counter(&mut self, counter: &CounterView) -> io::Result<()> {
        self.update(|view| {
            view.worker.clone_from(&counter.worker);
            view.progress.clone_from(&counter.progress);
            view.desk.clone_from(&counter.desk);
        })
    }

    fn device(
        &mut self,
        device: DeviceKind,
        state: DeviceState,
        _: OffsetDateTime,
    ) -> io::Result<()> {
        self.update(|view| view.on_device(device, state))
    }

    fn sync(&mut self, report: &SyncReport, roster: u64, at: OffsetDateTime) -> io::Result<()> {
        self.update(|view| view.on_sync(report, roster, at))
    }
}

/// Draws the whole screen.
pub fn draw(frame: &mut Frame<'_>, view: &View, now: OffsetDateTime, instant: Instant) {
    let recent = view.recent_list(instant).count() as u16;
    let [header, banner, panel, status, progress, recent_area, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Min(8),
        Constraint::Length(2),
        Constraint::Length(1),
        Constraint::Length(recent.min(RECENT as u16) + 2),
        Constraint::Length(1),
    ])
    .areas(frame.area());
    draw_header(frame, header, view, now);
    draw_banner(frame, banner, view);
    match &view.desk {
        Some(desk) => draw_desk(frame, panel, desk),
        None => draw_panel(frame, panel, view, now, instant),
    }
    draw_status(frame, status, view, now);
    draw_progress(frame, progress, view);
    draw_recent(frame, recent_area, view, instant);
    let hint = "F2 поиск · F3 отмена · F4 кассир · Ctrl+C выход";
    frame.render_widget(
        Paragraph::new(hint).style(Style::new().fg(Color::DarkGray)),
        footer,
    );
}

/// The clock (server-corrected), the worker and the school; the school is cut, never the
/// rest.
fn draw_header(frame: &mut Frame<'_>, area: Rect, view: &View, now: OffsetDateTime) {
    let local = now.to_offset(ASTANA);
    let clock = format!(
        " {:02}:{:02}:{:02} ",
        local.hour(),
        local.minute(),
        local.second()
    );
    let worker = view
        .worker
        .as_ref()
        .map(|w| format!(" Кассир: {w} "))
        .unwrap_or_else(|| " Кассир не вошёл (F4) ".into());
    let [clock_area, worker_area, school_area] = Layout::horizontal([
        Constraint::Length(clock.chars().count() as u16),
        Constraint::Length(worker.chars().count() as u16),
        Constraint::Min(0),
    ])
    .areas(area);
    let bold = Style::new().add_modifier(Modifier::BOLD);
    frame.render_widget(Paragraph::new(clock).style(bold), clock_area);
    frame.render_widget(
        Paragraph::new(worker).style(Style::new().fg(Color::Cyan)),
        worker_area,
    );
    frame.render_widget(Paragraph::new(format!(" {}", view.school)), school_area);
}

/// The link to the server on a full-width line of its own: a long school name cannot push
/// it out, and offline it is a red banner with the time of the last sync and the unsent
/// meals.
fn draw_banner(frame: &mut Frame<'_>, area: Rect, view: &View) {
    let (ru, kk) = view.link.labels();
    let synced = view
        .last_sync
        .map(|at| {
            let local = at.to_offset(ASTANA);
            format!("синхр. {:02}:{:02}", local.hour(), local.minute())
        })
        .unwrap_or_else(|| "синхр. не было".into());
    let (style, text) = match view.link {
        Link::Online => (
            Style::new().fg(Color::Black).bg(Color::Green),
            format!(" ● {ru} · {kk} · {synced} · не отправлено: {}", view.unsent),
        ),
        Link::Starting => (
            Style::new().fg(Color::Black).bg(Color::Gray),
            format!(" … {ru} · {kk} · {synced} · не отправлено: {}", view.unsent),
        ),
        Link::Offline | Link::Revoked | Link::NotEnrolled => (
            Style::new()
                .fg(Color::White)
                .bg(Color::Red)
                .add_modifier(Modifier::BOLD),
            format!(
                " ✘ {} · {kk} · {synced} · НЕ ОТПРАВЛЕНО: {}",
                ru.to_uppercase(),
                view.unsent
            ),
        ),
    };
    frame.render_widget(Paragraph::new(text).style(style), area);
}

/// The big panel: the fresh result, a failed read, or what to do now.
fn draw_panel(
    frame: &mut Frame<'_>,
    area: Rect,
    view: &View,
    now: OffsetDateTime,
    instant: Instant,
) {
    let (color, lines) = match view.current(instant) {
        Some(Shown::Verdict(v)) => (
            if v.accepted() {
                Color::Green
            } else {
                Color::Red
            },
            panel_lines(v, now),
        ),
        Some(Shown::Note(note)) => (Color::Blue, vec![Line::from(note.clone())]),
        Some(Shown::Unreadable(_)) => (
            Color::Magenta,
            vec![
                Line::from("?  НЕ ПРОЧИТАНО  ·  ОҚЫЛМАДЫ"),
                Line::from(""),
                Line::from("Поднесите код или карту ещё раз"),
                Line::from("Кодты немесе картаны қайта жақындатыңыз"),
            ],
        ),
        None => idle_lines(view),
    };
    let style = Style::new()
        .bg(color)
        .fg(Color::White)
        .add_modifier(Modifier::BOLD);
    let block = Block::bordered().style(style);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let height = lines.len() as u16;
    let top = inner.y + inner.height.saturating_sub(height) / 2;
    let text_area = Rect::new(inner.x, top, inner.width, height.min(inner.height));
    frame.render_widget(
        Paragraph::new(lines)
            .style(style)
            .centered()
            .wrap(ratatui::widgets::Wrap { trim: true }),
        text_area,
    );
}

/// The invitation to scan, naming only the devices that are there.
fn idle_lines(view: &View) -> (Color, Vec<Line<'static>>) {
    let up = |state: Option<DeviceState>| {
        matches!(
            state,
            Some(DeviceState::Connected | DeviceState::Reconnected)
        )
    };
    let (ru, kk) = match (up(view.qr), up(view.card)) {
        (true, true) => (
            "Поднесите QR-код или карту",
            "QR-кодты немесе картаны жақындатыңыз",
        ),
        (true, false) => ("Поднесите QR-код", "QR-кодты жақындатыңыз"),
        (false, true) => ("Поднесите карту", "Картаны жақындатыңыз"),
        (false, false) => {
            return (
                Color::Yellow,
                vec![
                    Line::from("Сканер не подключён"),
                    Line::from("Сканер қосылмаған"),
                    Line::from(""),
                    Line::from("Проверьте кабель сканера · F2 — поиск по имени"),
                ],
            )
        }
    };
    (Color::DarkGray, vec![Line::from(ru), Line::from(kk)])
}

fn hh_mm(at: OffsetDateTime) -> String {
    let local = at.to_offset(ASTANA);
    format!("{:02}:{:02}", local.hour(), local.minute())
}

fn panel_lines(v: &Verdict, now: OffsetDateTime) -> Vec<Line<'static>> {
    let headline = if v.accepted() {
        "✔  ПРИНЯТО  ·  ҚАБЫЛДАНДЫ"
    } else {
        "✘  ОТКАЗ  ·  ҚАБЫЛДАНБАДЫ"
    };
    let mut lines = vec![Line::from(headline)];
    if let Some(s) = &v.student {
        lines.push(Line::from(format!("{} · {}", s.name, s.class_label)));
    }
    match v.denial {
        Some(d) => {
            lines.push(Line::from(d.ru()));
            lines.push(Line::from(d.kk()));
        }
        None => lines.push(Line::from(format!("{ACCEPT_RU} · {ACCEPT_KK}"))),
    }
    if let Some(detail) = detail_line(v, now) {
        lines.push(Line::from(detail));
    }
    if let Some(alert) = v.student.as_ref().and_then(|s| s.alert.as_ref()) {
        lines.push(Line::from(Span::styled(
            format!("⚠ {alert}"),
            Style::new().fg(Color::Black).bg(Color::Yellow),
        )));
    }
    lines
}

/// What the worker needs to act on: the earlier meal, the card number, the manual reason.
fn detail_line(v: &Verdict, now: OffsetDateTime) -> Option<String> {
    if let Some(secs) = v.unshown_secs {
        let _ = now;
        return Some(format!(
            "Записано {secs} с назад на этом терминале — выдайте питание"
        ));
    }
    if let Some(earlier) = &v.earlier {
        let place = earlier.terminal.as_deref().unwrap_or("этот терминал");
        return Some(format!(
            "Уже ел(а) в {} · {} · {place}",
            hh_mm(earlier.served_at),
            earlier.slot
        ));
    }
    if let (Some(Denial::UnknownCard), Some(card)) = (v.denial, v.card_uid) {
        return Some(format!("Карта № {card}"));
    }
    v.manual_reason
        .as_ref()
        .map(|reason| format!("Выдано вручную: {reason}"))
}

fn device_label(name: &str, state: Option<DeviceState>) -> Span<'static> {
    let (text, color) = match state {
        Some(DeviceState::Connected | DeviceState::Reconnected) => ("✔", Color::Green),
        Some(DeviceState::Disconnected) => ("✘ отключён · ажыратулы", Color::Red),
        None => ("— нет", Color::DarkGray),
    };
    Span::styled(format!(" {name}: {text} "), Style::new().fg(color))
}

fn draw_status(frame: &mut Frame<'_>, area: Rect, view: &View, now: OffsetDateTime) {
    let unsent_style = if view.unsent > 0 {
        Style::new()
            .fg(Color::Black)
            .bg(Color::Yellow)
            .add_modifier(Modifier::BOLD)
    } else {
        Style::new()
    };
    let counts = Line::from(vec![
        Span::styled(
            format!(" Сегодня / Бүгін: {} ", view.today_at(now)),
            Style::new().add_modifier(Modifier::BOLD),
        ),
        Span::styled(format!(" Не отправлено: {} ", view.unsent), unsent_style),
        Span::raw(format!(" Учеников: {} ", view.roster)),
    ]);
    let mut devices = vec![
        device_label("QR", view.qr),
        device_label("Карта", view.card),
    ];
    if let Some(w) = view.warning {
        devices.push(Span::styled(
            format!(" ⚠ {} ", w.ru()),
            Style::new().fg(Color::Black).bg(Color::Yellow),
        ));
    }
    frame.render_widget(Paragraph::new(vec![counts, Line::from(devices)]), area);
}

/// Served / expected today per slot, then per class (the server's count of the whole
/// school when known, this terminal's own count offline).
fn draw_progress(frame: &mut Frame<'_>, area: Rect, view: &View) {
    let Some((progress, whole_school)) = &view.progress else {
        return;
    };
    let counts = progress
        .slots
        .iter()
        .chain(progress.classes.iter())
        .map(|c| format!("{} {}/{}", c.label, c.served, c.expected))
        .collect::<Vec<_>>()
        .join(" · ");
    let whose = if *whole_school {
        "школа"
    } else {
        "этот терминал"
    };
    frame.render_widget(
        Paragraph::new(format!(" Выдано ({whose}): {counts}")).style(Style::new().fg(Color::Cyan)),
        area,
    );
}

fn draw_recent(frame: &mut Frame<'_>, area: Rect, view: &View, instant: Instant) {
    let lines: Vec<Line<'_>> = view
        .recent_list(instant)
        .map(|v| {
            let (mark, color) = if v.accepted() {
                ("✔", Color::Green)
            } else {
                ("✘", Color::Red)
            };
            let who = v
                .student
                .as_ref()
                .map(|s| format!("{} ({})", s.name, s.class_label))
                .unwrap_or_default();
            let why = v.denial.map(|d| d.ru()).unwrap_or_default();
            Line::from(vec![
                Span::raw(format!("{} ", hh_mm(v.at))),
                Span::styled(format!("{mark} "), Style::new().fg(color)),
                Span::raw(format!("{who} {why}")),
            ])
        })
        .collect();
    let block = Block::bordered().title(" Последние · Соңғылар ");
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

/// A dialog of the counter in place of the panel.
fn draw_desk(frame: &mut Frame<'_>, area: Rect, desk: &DeskView) {
    let mut lines = Vec::new();
    if let Some(input) = &desk.input {
        lines.push(Line::from(format!("> {input}▏")));
    }
    let room = usize::from(area.height.saturating_sub(4));
    let first = desk.selected.saturating_sub(room.saturating_sub(1));
    for (i, choice) in desk.choices.iter().enumerate().skip(first).take(room) {
        let style = if i == desk.selected {
            Style::new().fg(Color::Black).bg(Color::Cyan)
        } else {
            Style::new()
        };
        lines.push(Line::from(Span::styled(format!(" {choice} "), style)));
    }
    if let Some(note) = &desk.note {
        lines.push(Line::from(Span::styled(
            note.clone(),
            Style::new().fg(Color::Yellow),
        )));
    }
    let block = Block::bordered()
        .title(format!(" {} ", desk.title))
        .title_bottom(format!(" {} ", desk.hint))
        .style(Style::new().fg(Color::White).bg(Color::Blue));
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decide::Student;
    use crate::reason::Denial;
    use ratatui::backend::TestBackend;
    use ratatui::Terminal;
    use shared::sync::Method;
    use shared::VoucherId;
    use time::macros::{date, datetime};

    fn screen(view: &View, instant: Instant) -> String {
        let mut terminal = Terminal::new(TestBackend::new(90, 30)).expect("backend");
        terminal
            .draw(|f| draw(f, view, datetime!(2026-09-01 07:05:09 UTC), instant))
            .expect("draw");
        let buffer = terminal.backend().buffer();
        let mut text = String::new();
        for y in 0..buffer.area.height {
            for x in 0..buffer.area.width {
                text.push_str(buffer[(x, y)].symbol());
            }
            text.push('\n');
        }
        text
    }

    fn verdict(denial: Option<Denial>) -> Verdict {
        Verdict {
            denial,
            method: Method::Qr,
            student: Some(Student {
                voucher_id: VoucherId::new(),
                name: "Айгерим С.".into(),
                class_label: "3А".into(),
                active: true,
                valid_until: date!(2027 - 05 - 31),
                valid_from: time::Date::MIN,
                entitled: None,
                shift: None,
                alert: Some("Аллергия: орехи".into()),
            }),
            card_uid: None,
            event_id: None,
            slot: None,
            service_day: date!(2026 - 09 - 01),
            today: 42,
            at: datetime!(2026-09-01 07:05 UTC),
            warning: None,
            earlier: None,
            unshown_secs: None,
            manual_reason: None,
        }
    }

    #[test]
    fn shows_the_result_the_student_and_the_state_of_things() {
        let mut view = View::default();
        let now = Instant::now();
        view.on_device(DeviceKind::Qr, DeviceState::Connected);
        view.on_device(DeviceKind::Card, DeviceState::Disconnected);
        view.on_decision(&verdict(None), now);
        let text = screen(&view, now);
        for expected in [
            "12:05:09",
            "ПРИНЯТО",
            "Айгерим С.",
            "3А",
            "Бүгін: 42",
            "Подключение",
            "ажыратулы",
        ] {
            assert!(text.contains(expected), "{expected} missing:\n{text}");
        }
        view.on_decision(&verdict(Some(Denial::AlreadyAte)), now);
        let text = screen(&view, now);
        for expected in [
            "ОТКАЗ",
            "Уже поел(а) сегодня",
            "Бүгін тамақтанған",
            "Последние",
        ] {
            assert!(text.contains(expected), "{expected} missing:\n{text}");
        }
        let later = screen(&view, now + Duration::from_secs(60));
        assert!(later.contains("Поднесите QR-код"), "{later}");
    }
}
