//! Sheet «Ручные отметки»: the month's counted meals served by hand (the child had neither
//! card nor phone), with the worker's reason and name (issue 19).

use rust_xlsxwriter::{Worksheet, XlsxError};

use super::lists::list_header;
use super::styles::Styles;
use super::write_text;
use crate::domain::tabel::Tabel;
use crate::services::tabel::render::{category_ru, slot_ru, MANUAL_TITLE};

pub(super) fn manual_sheet(t: &Tabel, s: &Styles) -> Result<Worksheet, XlsxError> {
    let mut ws = Worksheet::new();
    ws.set_name("Ручные отметки")?;
    ws.set_landscape();
    ws.set_paper_size(9);
    ws.write_string_with_format(
        0,
        0,
        format!("{MANUAL_TITLE} ({})", t.manual.len()),
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
            "Причина",
            "Работник",
        ],
        s,
    )?;
    for (col, width) in [11.0, 34.0, 7.0, 20.0, 12.0, 34.0, 24.0].iter().enumerate() {
        ws.set_column_width(col as u16, *width)?;
    }
    for (i, m) in t.manual.iter().enumerate() {
        let r = 3 + i as u32;
        ws.write_string_with_format(r, 0, m.service_day.to_string(), &s.center)?;
        write_text(&mut ws, r, 1, &m.student.full_name, &s.text)?;
        write_text(&mut ws, r, 2, &m.student.class_label, &s.center)?;
        ws.write_string_with_format(r, 3, category_ru(m.student.category), &s.text)?;
        write_text(&mut ws, r, 4, &slot_ru(&m.slot), &s.text)?;
        write_text(&mut ws, r, 5, &m.reason, &s.text)?;
        write_text(&mut ws, r, 6, m.worker.as_deref().unwrap_or(""), &s.text)?;
    }
    Ok(ws)
}
