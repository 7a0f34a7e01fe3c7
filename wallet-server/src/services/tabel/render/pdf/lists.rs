//! The lists after the summary, as tables that flow over pages: the meals left out of the
//! табель (repeats and those rejected at sync) and the adjustments (meals for an approved
//! month that arrived after its approval).

use super::layout::{Align, Layout};
use super::table::{table, Col, RowStyle, Table};
use crate::domain::tabel::Tabel;
use crate::services::tabel::render::{
    adjustments_title, category_ru, date_ru, group_thousands, late_note, reason_ru, slot_ru,
    status_ru, tenge_ru,
};

/// The meals not counted in the табель, with their status and reason; nothing when none.
pub(super) fn excluded(l: &mut Layout, t: &Tabel) {
    if t.excluded.is_empty() {
        return;
    }
    list_title(
        l,
        format!(
            "Не учтено в табеле: повторы и питания, отклонённые при синхронизации — {}",
            group_thousands(t.excluded.len() as u64)
        ),
    );
    let spec = list_table(&[
        ("№", 22.0, Align::Right),
        ("Дата", 50.0, Align::Center),
        ("ФИО обучающегося", 170.0, Align::Left),
        ("Класс", 32.0, Align::Center),
        ("Категория", 82.0, Align::Left),
        ("Приём пищи", 62.0, Align::Left),
        ("Статус", 58.0, Align::Left),
        ("Причина", 200.0, Align::Left),
    ]);
    let rows = t.excluded.iter().enumerate().map(|(i, m)| {
        (
            vec![
                (i + 1).to_string(),
                date_ru(m.service_day),
                m.student.full_name.clone(),
                m.student.class_label.clone(),
                category_ru(m.student.category).to_string(),
                slot_ru(&m.slot),
                status_ru(m.status).to_string(),
                reason_ru(m.reason.as_deref()),
            ],
            RowStyle::Body,
        )
    });
    table(l, &spec, rows);
    l.y += 6.0;
}

/// The adjustments for an earlier approved month, with when each meal arrived; nothing when
/// there are none.
pub(super) fn adjustments(l: &mut Layout, t: &Tabel) {
    let Some(adj) = &t.adjustments else {
        return;
    };
    list_title(
        l,
        format!("{} — {}", adjustments_title(adj), tenge_ru(adj.amount_tiyn)),
    );
    let spec = list_table(&[
        ("№", 22.0, Align::Right),
        ("Дата", 50.0, Align::Center),
        ("ФИО обучающегося", 170.0, Align::Left),
        ("Класс", 32.0, Align::Center),
        ("Категория", 82.0, Align::Left),
        ("Приём пищи", 62.0, Align::Left),
        ("Поступило", 110.0, Align::Left),
    ]);
    let rows = adj.rows.iter().enumerate().map(|(i, m)| {
        (
            vec![
                (i + 1).to_string(),
                date_ru(m.service_day),
                m.student.full_name.clone(),
                m.student.class_label.clone(),
                category_ru(m.student.category).to_string(),
                slot_ru(&m.slot),
                late_note(m),
            ],
            RowStyle::Body,
        )
    });
    table(l, &spec, rows);
    l.y += 6.0;
}

/// A list's bold title, on a new page unless the title, the header and a row fit here.
pub(super) fn list_title(l: &mut Layout, title: String) {
    l.ensure(14.0 + 14.0 + 10.0);
    l.y += 4.0;
    l.line(title, 9.0, true, 14.0);
}

/// A list's table: plain columns `(header, width, alignment)` with a one-line header.
pub(super) fn list_table(cols: &[(&str, f32, Align)]) -> Table {
    Table {
        cols: cols
            .iter()
            .map(|&(_, w, align)| Col {
                w,
                align,
                size: 6.5,
                shade: None,
            })
            .collect(),
        head: cols.iter().map(|&(h, _, _)| vec![h.to_string()]).collect(),
        head_size: 6.5,
        head_h: 12.0,
        row_h: 10.0,
    }
}
