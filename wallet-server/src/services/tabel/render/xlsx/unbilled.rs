//! Sheet «Не оплачено»: meals on non-school days (weekends, holidays, transfers, school
//! breaks), recorded but outside the amount until the director confirms them.

use rust_xlsxwriter::{Worksheet, XlsxError};

use super::lists::list_header;
use super::styles::Styles;
use super::write_text;
use crate::domain::tabel::Tabel;
use crate::services::tabel::render::{category_ru, day_status_ru, slot_ru, UNBILLED_TITLE};

pub(super) fn unbilled_sheet(t: &Tabel, s: &Styles) -> Result<Worksheet, XlsxError> {
    let mut ws = Worksheet::new();
    ws.set_name("Не оплачено")?;
    ws.set_landscape();
    ws.set_paper_size(9);
    ws.write_string_with_format(
        0,
        0,
        format!("{UNBILLED_TITLE} ({})", t.unbilled.len()),
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
            "День",
            "Код события",
        ],
        s,
    )?;
    for (col, width) in [11.0, 34.0, 7.0, 20.0, 12.0, 20.0, 38.0].iter().enumerate() {
        ws.set_column_width(col as u16, *width)?;
    }
    for (i, m) in t.unbilled.iter().enumerate() {
        let r = 3 + i as u32;
        ws.write_string_with_format(r, 0, m.service_day.to_string(), &s.center)?;
        write_text(&mut ws, r, 1, &m.student.full_name, &s.text)?;
        write_text(&mut ws, r, 2, &m.student.class_label, &s.center)?;
        ws.write_string_with_format(r, 3, category_ru(m.student.category), &s.text)?;
        write_text(&mut ws, r, 4, &slot_ru(&m.slot), &s.text)?;
        ws.write_string_with_format(r, 5, day_status_ru(m.day), &s.text)?;
        ws.write_string_with_format(r, 6, m.event_id.to_string(), &s.text)?;
    }
    Ok(ws)
}
