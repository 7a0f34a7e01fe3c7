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

use ratatui::crossterm::event::{self, Event, KeyCode, KeyEventKind, KeyModifiers};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};
use ratatui::Frame;
use shared::time::ASTANA;
use time::OffsetDateTime;

use super::view::{Link, View};
use super::{StartInfo, Ui};
use crate::reason::{ACCEPT_KK, ACCEPT_RU};
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
    pub fn start<E: Send + 'static>(events: Sender<E>, quit: E) -> io::Result<Self> {
        let mut terminal = ratatui::try_init().inspect_err(|_| ratatui::restore())?;
        let view = Arc::new(Mutex::new(View::default()));
        let (wake, woken) = mpsc::channel::<()>();
        let shared = Arc::clone(&view);
        let thread = std::thread::Builder::new()
            .name("tui".into())
            .spawn(move || {
                let mut quit = Some(quit);
                while !matches!(
                    woken.recv_timeout(TICK),
                    Err(RecvTimeoutError::Disconnected)
                ) {
                    if ctrl_c_pressed() {
                        if let Some(quit) = quit.take() {
                            let _ = events.send(quit);
                        }
                    }
                    let view = shared
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .clone();
                    let now = OffsetDateTime::now_utc();
                    if let Err(error) =
                        terminal.draw(|frame| draw(frame, &view, now, Instant::now()))
                    {
                        tracing::error!(%error, "cannot draw the screen");
                        break;
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

/// Drains pending keyboard events; true if one of them was Ctrl+C.
fn ctrl_c_pressed() -> bool {
    let mut pressed = false;
    while matches!(event::poll(Duration::ZERO), Ok(true)) {
        if let Ok(Event::Key(key)) = event::read() {
            pressed |= key.kind == KeyEventKind::Press
                && key.modifiers.contains(KeyModifiers::CONTROL)
                && matches!(key.code, KeyCode::Char('c') | KeyCode::Char('C'));
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
    let [header, panel, status, warning, recent, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(9),
        Constraint::Length(2),
        Constraint::Length(1),
        Constraint::Length(view.recent.len().min(6) as u16 + 2),
        Constraint::Length(1),
    ])
    .areas(frame.area());
    draw_header(frame, header, view, now);
    draw_panel(frame, panel, view.current(instant));
    draw_status(frame, status, view);
    if let Some(w) = view.warning {
        let text = format!("⚠ {} · {}", w.ru(), w.kk());
        let style = Style::new()
            .fg(Color::Black)
            .bg(Color::Yellow)
            .add_modifier(Modifier::BOLD);
        frame.render_widget(Paragraph::new(text).style(style).centered(), warning);
    }
    draw_recent(frame, recent, view);
    let hint = "Ctrl+C — выход · шығу";
    frame.render_widget(
        Paragraph::new(hint).style(Style::new().fg(Color::DarkGray)),
        footer,
    );
}

fn draw_header(frame: &mut Frame<'_>, area: Rect, view: &View, now: OffsetDateTime) {
    let local = now.to_offset(ASTANA);
    let clock = format!(
        "{:02}:{:02}:{:02}",
        local.hour(),
        local.minute(),
        local.second()
    );
    let (ru, kk) = view.link.labels();
    let link_color = match view.link {
        Link::Online => Color::Green,
        Link::Starting => Color::Gray,
        Link::Offline | Link::Revoked | Link::NotEnrolled => Color::Red,
    };
    let line = Line::from(vec![
        Span::styled(
            format!(" {clock} "),
            Style::new().add_modifier(Modifier::BOLD),
        ),
        Span::raw(format!(" {} ", view.school)),
        Span::styled(format!(" ● {ru} · {kk} "), Style::new().fg(link_color)),
    ]);
    frame.render_widget(Paragraph::new(line), area);
}

/// The big panel: the fresh result, or an invitation to scan.
fn draw_panel(frame: &mut Frame<'_>, area: Rect, verdict: Option<&Verdict>) {
    let (color, lines) = match verdict {
        None => (
            Color::DarkGray,
            vec![
                Line::from("Поднесите QR-код или карту"),
                Line::from("QR-кодты немесе картаны жақындатыңыз"),
            ],
        ),
        Some(v) => (
            if v.accepted() {
                Color::Green
            } else {
                Color::Red
            },
            panel_lines(v),
        ),
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
    frame.render_widget(Paragraph::new(lines).style(style).centered(), text_area);
}

fn panel_lines(v: &Verdict) -> Vec<Line<'static>> {
    let headline = if v.accepted() {
        "✔  ПРИНЯТО  ·  ҚАБЫЛДАНДЫ"
    } else {
        "✘  ОТКАЗ  ·  ҚАБЫЛДАНБАДЫ"
    };
    let mut lines = vec![Line::from(headline), Line::from("")];
    match &v.student {
        Some(s) => {
            lines.push(Line::from(s.name.clone()));
            lines.push(Line::from(format!("Класс / Сынып: {}", s.class_label)));
        }
        None => lines.push(Line::from("")),
    }
    lines.push(Line::from(""));
    match v.denial {
        Some(d) => {
            lines.push(Line::from(d.ru()));
            lines.push(Line::from(d.kk()));
        }
        None => lines.push(Line::from(format!("{ACCEPT_RU} · {ACCEPT_KK}"))),
    }
    lines
}

fn device_label(name: &str, state: Option<DeviceState>) -> Span<'static> {
    let (text, color) = match state {
        Some(DeviceState::Connected | DeviceState::Reconnected) => ("✔", Color::Green),
        Some(DeviceState::Disconnected) => ("✘ отключён · ажыратулы", Color::Red),
        None => ("—", Color::DarkGray),
    };
    Span::styled(format!(" {name}: {text} "), Style::new().fg(color))
}

fn draw_status(frame: &mut Frame<'_>, area: Rect, view: &View) {
    let counts = Line::from(vec![
        Span::styled(
            format!(" Сегодня / Бүгін: {} ", view.today),
            Style::new().add_modifier(Modifier::BOLD),
        ),
        Span::raw(format!(" Не отправлено / Жіберілмеген: {} ", view.unsent)),
        Span::raw(format!(" Учеников / Оқушылар: {} ", view.roster)),
    ]);
    let devices = Line::from(vec![
        device_label("QR", view.qr),
        device_label("Карта", view.card),
    ]);
    frame.render_widget(Paragraph::new(vec![counts, devices]), area);
}

fn draw_recent(frame: &mut Frame<'_>, area: Rect, view: &View) {
    let lines: Vec<Line<'_>> = view
        .recent
        .iter()
        .map(|v| {
            let local = v.at.to_offset(ASTANA);
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
                Span::raw(format!("{:02}:{:02} ", local.hour(), local.minute())),
                Span::styled(format!("{mark} "), Style::new().fg(color)),
                Span::raw(format!("{who} {why}")),
            ])
        })
        .collect();
    let block = Block::bordered().title(" Последние · Соңғылар ");
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
            }),
            card_uid: None,
            event_id: None,
            slot: None,
            service_day: date!(2026 - 09 - 01),
            today: 42,
            at: datetime!(2026-09-01 07:05 UTC),
            warning: None,
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
