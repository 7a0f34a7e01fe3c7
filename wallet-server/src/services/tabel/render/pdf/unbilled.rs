//! The list of meals on non-school days that are not billed (awaiting the director's
//! confirmation), after the excluded meals; nothing when there are none.

use super::layout::{Align, Layout};
use super::lists::{list_table, list_title};
use super::table::{table, RowStyle};
use crate::domain::tabel::Tabel;
use crate::services::tabel::render::{
    category_ru, date_ru, day_status_ru, group_thousands, slot_ru, UNBILLED_TITLE,
};

pub(super) fn unbilled(l: &mut Layout, t: &Tabel) {
    if t.unbilled.is_empty() {
        return;
    }
    list_title(
        l,
        format!(
            "{UNBILLED_TITLE} — {}",
            group_thousands(t.unbilled.len() as u64)
        ),
    );
    let spec = list_table(&[
        ("№", 22.0, Align::Right),
        ("Дата", 50.0, Align::Center),
        ("ФИО обучающегося", 170.0, Align::Left),
        ("Класс", 32.0, Align::Center),
        ("Категория", 82.0, Align::Left),
        ("Приём пищи", 62.0, Align::Left),
        ("День", 90.0, Align::Left),
    ]);
    let rows = t.unbilled.iter().enumerate().map(|(i, m)| {
        (
            vec![
                (i + 1).to_string(),
                date_ru(m.service_day),
                m.student.full_name.clone(),
                m.student.class_label.clone(),
                category_ru(m.student.category).to_string(),
                slot_ru(&m.slot),
                day_status_ru(m.day).to_string(),
            ],
            RowStyle::Body,
        )
    });
    table(l, &spec, rows);
    l.y += 6.0;
}
