//! The list sheets after «Табель»: «Не учтено» (repeats and meals rejected at sync) and
//! «Корректировки» (an approved month's meals that arrived late, with their amount).

use rust_xlsxwriter::{Worksheet, XlsxError};

use super::styles::Styles;
use super::summary::tenge_cell;
use super::write_text;
use crate::domain::tabel::Tabel;
use crate::services::tabel::render::{
    adjustments_title, category_ru, late_note, month_ru, reason_ru, slot_ru, status_ru,
};

/// A list sheet's header row at `row`, frozen above the list.
pub(super) fn list_header(
    ws: &mut Worksheet,
    row: u32,
    labels: &[&str],
    s: &Styles,
) -> Result<(), XlsxError> {
    for (col, label) in labels.iter().enumerate() {
        ws.write_string_with_format(row, col as u16, *label, &s.head)?;
    }
    ws.set_freeze_panes(row + 1, 0)?;
    Ok(())
}

/// Sheet «Не учтено»: the meals left out of the табель, with status and reason.
pub(super) fn excluded_sheet(t: &Tabel, s: &Styles) -> Result<Worksheet, XlsxError> {
    let mut ws = Worksheet::new();
    ws.set_name("Не учтено")?;
    ws.set_landscape();
    ws.set_paper_size(9);
    ws.write_string_with_format(
        0,
        0,
        format!(
            "Не учтено в табеле за {}: повторы и питания, отклонённые при синхронизации ({})",
            month_ru(t.month),
            t.excluded.len()
        ),
        &s.bold,
    )?;
    list_header(
        &mut ws,
        2,
        &[
            "Дата",
            "ФИО",
            "Класс",
            "Категория",
            "Приём пищи",
            "Статус",
            "Причина",
            "Код причины",
        ],
        s,
    )?;
    for (col, width) in [11.0, 34.0, 7.0, 20.0, 12.0, 11.0, 32.0, 20.0]
        .iter()
        .enumerate()
    {
        ws.set_column_width(col as u16, *width)?;
    }
    for (i, m) in t.excluded.iter().enumerate() {
        let r = 3 + i as u32;
        ws.write_string_with_format(r, 0, m.service_day.to_string(), &s.center)?;
        write_text(&mut ws, r, 1, &m.student.full_name, &s.text)?;
        write_text(&mut ws, r, 2, &m.student.class_label, &s.center)?;
        ws.write_string_with_format(r, 3, category_ru(m.student.category), &s.text)?;
        write_text(&mut ws, r, 4, &slot_ru(&m.slot), &s.text)?;
        ws.write_string_with_format(r, 5, status_ru(m.status), &s.text)?;
        ws.write_string_with_format(r, 6, reason_ru(m.reason.as_deref()), &s.text)?;
        ws.write_string_with_format(r, 7, m.reason.as_deref().unwrap_or(""), &s.text)?;
    }
    Ok(ws)
}

/// Sheet «Корректировки»: an earlier month's meals that arrived after its approval, and
/// their count and amount.
pub(super) fn adjustments_sheet(t: &Tabel, s: &Styles) -> Result<Worksheet, XlsxError> {
    let mut ws = Worksheet::new();
    ws.set_name("Корректировки")?;
    ws.set_landscape();
    ws.set_paper_size(9);
    let Some(adj) = &t.adjustments else {
        return Ok(ws);
    };
    ws.write_string_with_format(
        0,
        0,
        format!("{} ({})", adjustments_title(adj), adj.month),
        &s.bold,
    )?;
    list_header(
        &mut ws,
        2,
        &[
            "Дата",
            "ФИО",
            "Класс",
            "Категория",
            "Приём пищи",
            "Поступило",
        ],
        s,
    )?;
    for (col, width) in [11.0, 34.0, 7.0, 20.0, 12.0, 24.0].iter().enumerate() {
        ws.set_column_width(col as u16, *width)?;
    }
    for (i, m) in adj.rows.iter().enumerate() {
        let r = 3 + i as u32;
        ws.write_string_with_format(r, 0, m.service_day.to_string(), &s.center)?;
        write_text(&mut ws, r, 1, &m.student.full_name, &s.text)?;
        write_text(&mut ws, r, 2, &m.student.class_label, &s.center)?;
        ws.write_string_with_format(r, 3, category_ru(m.student.category), &s.text)?;
        write_text(&mut ws, r, 4, &slot_ru(&m.slot), &s.text)?;
        write_text(&mut ws, r, 5, &late_note(m), &s.text)?;
    }
    let mut r = 4 + adj.rows.len() as u32;
    ws.write_string_with_format(r, 1, "Питаний", &s.bold)?;
    ws.write_number_with_format(r, 2, adj.meals, &s.integer_bold)?;
    r += 1;
    if adj.voided > 0 {
        ws.write_string_with_format(r, 1, "Аннулировано", &s.bold)?;
        ws.write_number_with_format(r, 2, adj.voided, &s.integer_bold)?;
        r += 1;
    }
    ws.write_string_with_format(r, 1, "Сумма, тиын", &s.bold)?;
    ws.write_number_with_format(r, 2, adj.amount_tiyn as f64, &s.integer_bold)?;
    tenge_cell(&mut ws, r, adj.amount_tiyn, &s.tenge_bold)?;
    Ok(ws)
}
