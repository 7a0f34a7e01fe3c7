//! The list of the month's counted meals served by hand, with the worker's reason and name
//! (issue 19); nothing when there are none.

use super::layout::{Align, Layout};
use super::lists::{list_table, list_title};
use super::table::{table, RowStyle};
use crate::domain::tabel::Tabel;
use crate::services::tabel::render::{date_ru, group_thousands, slot_ru, MANUAL_TITLE};

pub(super) fn manual(l: &mut Layout, t: &Tabel) {
    if t.manual.is_empty() {
        return;
    }
    list_title(
        l,
        format!(
            "{MANUAL_TITLE} — {}",
            group_thousands(t.manual.len() as u64)
        ),
    );
    let spec = list_table(&[
        ("№", 22.0, Align::Right),
        ("Дата", 50.0, Align::Center),
        ("ФИО обучающегося", 160.0, Align::Left),
        ("Класс", 32.0, Align::Center),
        ("Приём пищи", 56.0, Align::Left),
        ("Причина", 150.0, Align::Left),
        ("Работник", 100.0, Align::Left),
    ]);
    let rows = t.manual.iter().enumerate().map(|(i, m)| {
        (
            vec![
                (i + 1).to_string(),
                date_ru(m.service_day),
                m.student.full_name.clone(),
                m.student.class_label.clone(),
                slot_ru(&m.slot),
                m.reason.clone(),
                m.worker.clone().unwrap_or_default(),
            ],
            RowStyle::Body,
        )
    });
    table(l, &spec, rows);
    l.y += 6.0;
}
