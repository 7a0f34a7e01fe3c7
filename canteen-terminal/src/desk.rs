//! The counter's dialogs, driven by the worker's keys (issue 19): sign in with a name (F4),
//! find a child by name or class and serve by hand with a reason (F2), take back one of this
//! terminal's meals of the last minutes with a reason (F3).
//!
//! A [`Desk`] is a small state machine on the decision loop's thread: a key in, maybe an
//! [`Action`] out for the loop to carry out on the [`crate::terminal::Terminal`]; what it
//! shows is a [`DeskView`]. Keys never reach the decision of a scan: scans keep being
//! decided while a dialog is open.

use shared::{Label, VoucherId};
use uuid::Uuid;

use crate::decide::Student;
use crate::store::Voidable;
use crate::ui::DeskView;

/// A key the worker pressed (what the dialogs understand of a keyboard).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    Char(char),
    Backspace,
    Enter,
    Esc,
    Up,
    Down,
    /// F2: find a child; F3: void a meal; F4: sign in.
    F(u8),
}

/// What the decision loop should do after a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Search the roster for this text and call [`Desk::found`].
    Search(String),
    /// List the meals that can be voided and call [`Desk::voidable`].
    ListVoidable,
    Serve {
        voucher: VoucherId,
        reason: Label,
    },
    Void {
        event_id: Uuid,
        reason: Label,
    },
    SignIn(Option<Label>),
}

/// Reasons offered for a manual meal; the last one asks for typed text.
pub const MANUAL_REASONS: [&str; 4] = [
    "Забыл(а) карту и телефон",
    "Карта не читается",
    "Код не открывается на телефоне",
    "Другое (ввести)",
];
/// Reasons offered for a void; the last one asks for typed text.
pub const VOID_REASONS: [&str; 3] = ["Ошибка кассира", "Питание не выдано", "Другое (ввести)"];

#[derive(Debug, Clone)]
enum Step {
    SignIn(String),
    Lookup {
        query: String,
        found: Vec<Student>,
    },
    ManualReason(Student),
    VoidPick(Vec<Voidable>),
    VoidReason(Voidable),
    /// Typing a reason of one's own for a serve or a void.
    Typed {
        text: String,
        then: Box<Step>,
    },
}

/// The counter's dialog state.
#[derive(Debug, Clone, Default)]
pub struct Desk {
    step: Option<Step>,
    selected: usize,
    note: Option<String>,
}

impl Desk {
    /// Whether a dialog is open.
    pub fn is_open(&self) -> bool {
        self.step.is_some()
    }

    /// Closes any dialog with a note for the worker (shown next time one opens).
    pub fn close(&mut self, note: Option<String>) {
        self.step = None;
        self.selected = 0;
        self.note = note;
    }

    /// Shows a note in the open dialog.
    pub fn note(&mut self, note: String) {
        self.note = Some(note);
    }

    /// The search results for the typed text.
    pub fn found(&mut self, students: Vec<Student>) {
        if let Some(Step::Lookup { found, .. }) = &mut self.step {
            *found = students;
            self.selected = 0;
        }
    }

    /// The meals that can be voided now.
    pub fn voidable(&mut self, meals: Vec<Voidable>) {
        self.note = meals
            .is_empty()
            .then(|| "Нет питаний за последние 5 минут".to_owned());
        self.step = Some(Step::VoidPick(meals));
        self.selected = 0;
    }

    /// One key; the action the loop must take, if any.
    pub fn key(&mut self, key: Key) -> Option<Action> {
        match (key, self.step.take()) {
            (Key::F(4), _) => self.open(Step::SignIn(String::new()), None),
            (Key::F(2), _) => self.open(
                Step::Lookup {
                    query: String::new(),
                    found: Vec::new(),
                },
                None,
            ),
            (Key::F(3), _) => Some(Action::ListVoidable),
            (Key::Esc, _) | (_, None) => {
                self.close(None);
                None
            }
            (key, Some(step)) => self.on(step, key),
        }
    }

    fn open(&mut self, step: Step, action: Option<Action>) -> Option<Action> {
        self.step = Some(step);
        self.selected = 0;
        self.note = None;
        action
    }

    fn on(&mut self, step: Step, key: Key) -> Option<Action> {
        let count = self.choices_of(&step).len();
        match key {
            Key::Up => self.selected = self.selected.saturating_sub(1),
            Key::Down if self.selected + 1 < count => self.selected += 1,
            _ => {}
        }
        match (step, key) {
            (Step::SignIn(mut name), Key::Char(c)) => {
                name.push(c);
                self.step = Some(Step::SignIn(name));
                None
            }
            (Step::SignIn(mut name), Key::Backspace) => {
                name.pop();
                self.step = Some(Step::SignIn(name));
                None
            }
            (Step::SignIn(name), Key::Enter) => {
                self.close(None);
                Some(Action::SignIn(name.parse().ok()))
            }
            (Step::Lookup { mut query, found }, Key::Char(c)) => {
                query.push(c);
                self.step = Some(Step::Lookup {
                    query: query.clone(),
                    found,
                });
                Some(Action::Search(query))
            }
            (Step::Lookup { mut query, found }, Key::Backspace) => {
                query.pop();
                self.step = Some(Step::Lookup {
                    query: query.clone(),
                    found,
                });
                Some(Action::Search(query))
            }
            (Step::Lookup { found, .. }, Key::Enter) if self.selected < found.len() => {
                let student = found[self.selected].clone();
                self.open(Step::ManualReason(student), None)
            }
            (Step::ManualReason(student), Key::Enter) => {
                self.pick_reason(&MANUAL_REASONS, Step::ManualReason(student))
            }
            (Step::VoidPick(meals), Key::Enter) if self.selected < meals.len() => {
                let meal = meals[self.selected].clone();
                self.open(Step::VoidReason(meal), None)
            }
            (Step::VoidReason(meal), Key::Enter) => {
                self.pick_reason(&VOID_REASONS, Step::VoidReason(meal))
            }
            (Step::Typed { mut text, then }, Key::Char(c)) => {
                text.push(c);
                self.step = Some(Step::Typed { text, then });
                None
            }
            (Step::Typed { mut text, then }, Key::Backspace) => {
                text.pop();
                self.step = Some(Step::Typed { text, then });
                None
            }
            (Step::Typed { text, then }, Key::Enter) => match text.parse::<Label>() {
                Ok(reason) => self.finish(*then, reason),
                Err(_) => {
                    self.note = Some("Введите причину".into());
                    self.step = Some(Step::Typed { text, then });
                    None
                }
            },
            (step, _) => {
                self.step = Some(step);
                None
            }
        }
    }

    /// The reason chosen from `reasons` (the last one: type it).
    fn pick_reason(&mut self, reasons: &[&str], step: Step) -> Option<Action> {
        if self.selected + 1 >= reasons.len() {
            let then = Box::new(step);
            return self.open(
                Step::Typed {
                    text: String::new(),
                    then,
                },
                None,
            );
        }
        match reasons[self.selected].parse::<Label>() {
            Ok(reason) => self.finish(step, reason),
            Err(_) => None,
        }
    }

    fn finish(&mut self, step: Step, reason: Label) -> Option<Action> {
        self.close(None);
        match step {
            Step::ManualReason(student) => Some(Action::Serve {
                voucher: student.voucher_id,
                reason,
            }),
            Step::VoidReason(meal) => Some(Action::Void {
                event_id: meal.event_id,
                reason,
            }),
            _ => None,
        }
    }

    fn choices_of(&self, step: &Step) -> Vec<String> {
        match step {
            Step::SignIn(_) => Vec::new(),
            Step::Lookup { found, .. } => found
                .iter()
                .map(|s| {
                    let alert = s
                        .alert
                        .as_deref()
                        .map(|a| format!(" ⚠ {a}"))
                        .unwrap_or_default();
                    format!("{} · {}{alert}", s.name, s.class_label)
                })
                .collect(),
            Step::ManualReason(_) => MANUAL_REASONS.iter().map(|r| (*r).to_owned()).collect(),
            Step::VoidPick(meals) => meals
                .iter()
                .map(|m| {
                    let local = m.served_at.to_offset(shared::time::ASTANA);
                    format!(
                        "{:02}:{:02} {} · {} · {}",
                        local.hour(),
                        local.minute(),
                        m.student_name,
                        m.class_label,
                        m.slot
                    )
                })
                .collect(),
            Step::VoidReason(_) => VOID_REASONS.iter().map(|r| (*r).to_owned()).collect(),
            Step::Typed { .. } => Vec::new(),
        }
    }

    /// What the screen shows for the open dialog.
    pub fn view(&self) -> Option<DeskView> {
        let step = self.step.as_ref()?;
        let (title, input, hint) = match step {
            Step::SignIn(name) => (
                "Вход кассира: имя".to_owned(),
                Some(name.clone()),
                "Enter — войти (пусто — выйти) · Esc — назад",
            ),
            Step::Lookup { query, .. } => (
                "Поиск ученика: имя или класс".to_owned(),
                Some(query.clone()),
                "↑↓ выбрать · Enter — выдать вручную · Esc — назад",
            ),
            Step::ManualReason(s) => (
                format!("Выдать вручную: {} · {} — причина", s.name, s.class_label),
                None,
                "↑↓ выбрать · Enter — выдать · Esc — назад",
            ),
            Step::VoidPick(_) => (
                "Отмена питания (последние 5 минут)".to_owned(),
                None,
                "↑↓ выбрать · Enter — отменить · Esc — назад",
            ),
            Step::VoidReason(m) => (
                format!("Отменить питание: {} — причина", m.student_name),
                None,
                "↑↓ выбрать · Enter — отменить · Esc — назад",
            ),
            Step::Typed { text, .. } => (
                "Причина".to_owned(),
                Some(text.clone()),
                "Enter — готово · Esc — назад",
            ),
        };
        Some(DeskView {
            title,
            input,
            choices: self.choices_of(step),
            selected: self.selected,
            hint: hint.to_owned(),
            note: self.note.clone(),
        })
    }
}

#[cfg(test)]
#[path = "desk_tests.rs"]
mod tests;
