//! The табель as CSV: UTF-8 with a BOM so that Excel opens Cyrillic correctly, `;` between
//! fields (the list separator of Excel in the Russian and Kazakh locales), CRLF line ends.
//!
//! Layout, top to bottom:
//! 1. the grid's header: `№;ФИО;Класс;Категория;01;02;…;06 вс;…;Итого`;
//! 2. one line per student: the number of billable meals on each day (empty = none) and the
//!    month's total;
//! 3. `;Итого за день;;;…` with the meals of every day and of the month;
//! 4. after a blank line, `Итоги`: label;value lines — money lines carry the tiyn integer in
//!    the second field and tenge with two decimals and a decimal comma (`2400,00`, a number
//!    in a Russian- or Kazakh-locale spreadsheet) in the third;
//! 5. the excluded meals (duplicates, rejected at sync), the meals on non-school days not
//!    billed (awaiting the director's confirmation) and the adjustments, when any;
//! 6. the approval stamp, when approved.
//!
//! Times are Astana's, `06.12.2026 14:05`, as in the XLSX and PDF.
//!
//! Text that a spreadsheet would take for a formula gets a `'` in front (`safe_cell`, the
//! one rule every CSV export uses).

use super::{
    adjustments_title, astana_time, category_ru, day_label, day_status_ru, late_note, reason_ru,
    slot_ru, slots_note, status_ru, tenge_comma, RenderError, MANUAL_TITLE, TITLE, UNBILLED_TITLE,
};
use crate::domain::tabel::Tabel;

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Renders the табель as CSV bytes.
pub fn render(tabel: &Tabel) -> Result<Vec<u8>, RenderError> {
    let mut out = Vec::with_capacity(64 + tabel.rows.len() * 120);
    out.extend_from_slice(BOM);
    write_all(&mut out, tabel).map_err(|e| RenderError::Csv(e.to_string()))?;
    Ok(out)
}

type W<'a> = ::csv::Writer<&'a mut Vec<u8>>;

/// A writer of one section; sections are separated by an empty line (the csv crate writes
/// `""` for an empty record, so the blank line is written between writers).
fn section(
    out: &mut Vec<u8>,
    write: impl FnOnce(&mut W) -> Result<(), ::csv::Error>,
) -> Result<(), ::csv::Error> {
    if out.len() > BOM.len() {
        out.extend_from_slice(b"\r\n");
    }
    let mut w = ::csv::WriterBuilder::new()
        .delimiter(b';')
        .terminator(::csv::Terminator::CRLF)
        .flexible(true)
        .from_writer(out);
    write(&mut w)?;
    w.flush()?;
    Ok(())
}

fn write_all(out: &mut Vec<u8>, t: &Tabel) -> Result<(), ::csv::Error> {
    section(out, |w| grid(w, t))?;
    section(out, |w| summary(w, t))?;
    if !t.excluded.is_empty() {
        section(out, |w| excluded(w, t))?;
    }
    if !t.unbilled.is_empty() {
        section(out, |w| unbilled(w, t))?;
    }
    if !t.manual.is_empty() {
        section(out, |w| manual(w, t))?;
    }
    if t.adjustments.is_some() {
        section(out, |w| adjustments(w, t))?;
    }
    if t.approval.is_some() {
        section(out, |w| approval(w, t))?;
    }
    Ok(())
}

/// The grid: header, a line per student, the per-day totals.
fn grid(w: &mut W, t: &Tabel) -> Result<(), ::csv::Error> {
    let mut header: Vec<String> =
        vec!["№".into(), "ФИО".into(), "Класс".into(), "Категория".into()];
    header.extend(t.days.iter().map(day_label));
    header.push("Итого".into());
    w.write_record(&header)?;

    let mut line: Vec<String> = Vec::with_capacity(header.len());
    for (i, row) in t.rows.iter().enumerate() {
        line.clear();
        line.push((i + 1).to_string());
        line.push(text(&row.student.full_name));
        line.push(text(&row.student.class_label));
        line.push(category_ru(row.student.category).to_string());
        for day in &t.days {
            line.push(count(row.marks.get(&day.date).copied()));
        }
        line.push(row.total.to_string());
        w.write_record(&line)?;
    }
    line.clear();
    line.extend(["".into(), "Итого за день".into(), "".into(), "".into()]);
    for day in &t.days {
        line.push(count(t.per_day.get(&day.date).copied()));
    }
    line.push(t.totals.meals.to_string());
    w.write_record(&line)?;
    Ok(())
}

fn summary(w: &mut W, t: &Tabel) -> Result<(), ::csv::Error> {
    w.write_record([TITLE])?;
    w.write_record(["Организация образования", &text(&t.school.name)])?;
    w.write_record(["БИН", &t.school.bin.to_string()])?;
    w.write_record(["Месяц", &t.month.to_string()])?;
    w.write_record(["Примечание", &slots_note(t)])?;
    w.write_record(["Показатель", "Значение (тиын для сумм)", "Тенге"])?;
    w.write_record(["Питаний за месяц", &t.totals.meals.to_string()])?;
    w.write_record([
        "Получили питание (учащихся)",
        &t.totals.students_fed.to_string(),
    ])?;
    money(w, "Цена одного питания", t.totals.meal_price_tiyn)?;
    money(w, "Сумма за месяц", t.totals.amount_tiyn)?;
    if let Some(adj) = &t.adjustments {
        w.write_record([
            format!("Корректировка за {}: питаний", adj.month),
            adj.meals.to_string(),
        ])?;
        money(
            w,
            &format!("Корректировка за {}", adj.month),
            adj.amount_tiyn,
        )?;
    }
    money(w, "Итого к оплате", t.payable_tiyn)?;
    w.write_record(["Сформирован", &astana_time(t.generated_at)])?;
    Ok(())
}

/// Meals that are listed but not counted.
fn excluded(w: &mut W, t: &Tabel) -> Result<(), ::csv::Error> {
    w.write_record([
        "Не учтено (повторы и отклонённые при синхронизации)",
        &t.excluded.len().to_string(),
    ])?;
    w.write_record([
        "Дата",
        "ФИО",
        "Класс",
        "Категория",
        "Приём пищи",
        "Статус",
        "Причина",
        "Код причины",
    ])?;
    for m in &t.excluded {
        w.write_record([
            m.service_day.to_string(),
            text(&m.student.full_name),
            text(&m.student.class_label),
            category_ru(m.student.category).to_string(),
            text(&slot_ru(&m.slot)),
            status_ru(m.status).to_string(),
            text(&reason_ru(m.reason.as_deref())),
            text(m.reason.as_deref().unwrap_or("")),
        ])?;
    }
    Ok(())
}

/// Counted meals served by hand, with the worker's reason and name.
fn manual(w: &mut W, t: &Tabel) -> Result<(), ::csv::Error> {
    w.write_record([MANUAL_TITLE, &t.manual.len().to_string()])?;
    w.write_record([
        "Дата",
        "ФИО",
        "Класс",
        "Категория",
        "Приём пищи",
        "Причина",
        "Работник",
    ])?;
    for m in &t.manual {
        w.write_record([
            m.service_day.to_string(),
            text(&m.student.full_name),
            text(&m.student.class_label),
            category_ru(m.student.category).to_string(),
            text(&slot_ru(&m.slot)),
            text(&m.reason),
            text(m.worker.as_deref().unwrap_or("")),
        ])?;
    }
    Ok(())
}

/// Meals on non-school days, outside the amount until the director confirms them.
fn unbilled(w: &mut W, t: &Tabel) -> Result<(), ::csv::Error> {
    w.write_record([UNBILLED_TITLE, &t.unbilled.len().to_string()])?;
    w.write_record([
        "Дата",
        "ФИО",
        "Класс",
        "Категория",
        "Приём пищи",
        "День",
        "Код события",
    ])?;
    for m in &t.unbilled {
        w.write_record([
            m.service_day.to_string(),
            text(&m.student.full_name),
            text(&m.student.class_label),
            category_ru(m.student.category).to_string(),
            text(&slot_ru(&m.slot)),
            day_status_ru(m.day).to_string(),
            m.event_id.to_string(),
        ])?;
    }
    Ok(())
}

/// The previous month's late meals, paid with this one.
fn adjustments(w: &mut W, t: &Tabel) -> Result<(), ::csv::Error> {
    if let Some(adj) = &t.adjustments {
        w.write_record([
            adjustments_title(adj),
            adj.meals.to_string(),
            adj.voided.to_string(),
        ])?;
        w.write_record([
            "Дата",
            "ФИО",
            "Класс",
            "Категория",
            "Приём пищи",
            "Поступило",
        ])?;
        for m in &adj.rows {
            w.write_record([
                m.service_day.to_string(),
                text(&m.student.full_name),
                text(&m.student.class_label),
                category_ru(m.student.category).to_string(),
                text(&slot_ru(&m.slot)),
                text(&late_note(m)),
            ])?;
        }
    }
    Ok(())
}

/// The director's stamp.
fn approval(w: &mut W, t: &Tabel) -> Result<(), ::csv::Error> {
    if let Some(a) = &t.approval {
        w.write_record(["Утверждён", &astana_time(a.approved_at)])?;
        w.write_record(["Утвердил", &text(&a.approved_by)])?;
        w.write_record(["Контрольная сумма (SHA-256)", &a.content_hash])?;
    }
    Ok(())
}

/// A money line: label; tiyn; tenge.
fn money(w: &mut W, label: &str, tiyn: i64) -> Result<(), ::csv::Error> {
    w.write_record([
        format!("{label}, тиын"),
        tiyn.to_string(),
        tenge_comma(tiyn),
    ])
}

fn count(n: Option<u32>) -> String {
    match n {
        Some(n) if n > 0 => n.to_string(),
        _ => String::new(),
    }
}

/// Free text, defused against spreadsheet formula injection.
fn text(s: &str) -> String {
    super::safe_cell(s)
}
