//! The counter's dialogs key by key: a manual serve with a chosen and with a typed reason,
//! a void, a sign-in and sign-out, Esc closing everything.

use super::*;
use time::macros::datetime;

fn student() -> Student {
    Student {
        voucher_id: VoucherId::new(),
        name: "Аружан Б.".into(),
        class_label: "2А".into(),
        active: true,
        valid_from: time::Date::MIN,
        valid_until: time::macros::date!(2027 - 05 - 31),
        entitled: None,
        shift: None,
        alert: Some("Аллергия: орехи".into()),
    }
}

fn typed(desk: &mut Desk, text: &str) -> Vec<Action> {
    text.chars()
        .filter_map(|c| desk.key(Key::Char(c)))
        .collect()
}

#[test]
fn a_manual_serve_finds_the_child_and_asks_a_reason() {
    let mut desk = Desk::default();
    assert_eq!(desk.key(Key::F(2)), None);
    assert!(desk.is_open());
    let searches = typed(&mut desk, "ару");
    assert_eq!(searches.last(), Some(&Action::Search("ару".into())));
    let child = student();
    desk.found(vec![child.clone()]);
    let view = desk.view().expect("open");
    assert_eq!(view.input.as_deref(), Some("ару"));
    assert!(
        view.choices[0].contains("Аружан Б. · 2А ⚠ Аллергия"),
        "{view:?}"
    );
    assert_eq!(desk.key(Key::Enter), None, "a reason comes first");
    assert_eq!(
        desk.view().expect("reasons").choices.len(),
        MANUAL_REASONS.len()
    );
    assert_eq!(
        desk.key(Key::Enter),
        Some(Action::Serve {
            voucher: child.voucher_id,
            reason: MANUAL_REASONS[0].parse().expect("label"),
        })
    );
    assert!(!desk.is_open());
}

#[test]
fn a_typed_reason_and_a_void() {
    let mut desk = Desk::default();
    desk.key(Key::F(2));
    let child = student();
    desk.found(vec![child.clone()]);
    desk.key(Key::Enter);
    for _ in 0..MANUAL_REASONS.len() {
        desk.key(Key::Down);
    }
    assert_eq!(desk.key(Key::Enter), None, "the last reason asks for text");
    assert_eq!(desk.key(Key::Enter), None, "an empty reason is refused");
    assert_eq!(
        desk.view().and_then(|v| v.note).as_deref(),
        Some("Введите причину")
    );
    typed(&mut desk, "Новенькая");
    assert_eq!(
        desk.key(Key::Enter),
        Some(Action::Serve {
            voucher: child.voucher_id,
            reason: "Новенькая".parse().expect("label"),
        })
    );

    assert_eq!(desk.key(Key::F(3)), Some(Action::ListVoidable));
    let meal = Voidable {
        event_id: Uuid::now_v7(),
        student_name: "Аружан Б.".into(),
        class_label: "2А".into(),
        slot: "обед".into(),
        served_at: datetime!(2026-09-01 07:03 UTC),
    };
    desk.voidable(vec![meal.clone()]);
    assert!(desk.view().expect("list").choices[0].starts_with("12:03 Аружан Б."));
    desk.key(Key::Enter);
    assert_eq!(
        desk.key(Key::Enter),
        Some(Action::Void {
            event_id: meal.event_id,
            reason: VOID_REASONS[0].parse().expect("label"),
        })
    );
}

#[test]
fn sign_in_sign_out_and_escape() {
    let mut desk = Desk::default();
    desk.key(Key::F(4));
    typed(&mut desk, "Гульнар");
    desk.key(Key::Backspace);
    assert_eq!(
        desk.key(Key::Enter),
        Some(Action::SignIn(Some("Гульна".parse().expect("label"))))
    );
    desk.key(Key::F(4));
    assert_eq!(desk.key(Key::Enter), Some(Action::SignIn(None)));
    desk.key(Key::F(2));
    assert_eq!(desk.key(Key::Esc), None);
    assert!(!desk.is_open() && desk.view().is_none());
}
