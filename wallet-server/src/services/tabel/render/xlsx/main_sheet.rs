//! Sheet «Табель»: the title lines and the grid (one row per student, one column per day,
//! weekends and holidays shaded), with `SUM` formulas for each student's total and each
//! day's total whose cached results are the табель's own numbers.

use rust_xlsxwriter::utility::cell_range;
use rust_xlsxwriter::{Format, Formula, Worksheet, XlsxError};

use super::styles::Styles;
use super::summary::summary;
use super::write_text;
use crate::domain::tabel::Tabel;
use crate::services::tabel::render::{astana_time, category_ru, day_label, month_ru, slots_note};
use crate::services::tabel::render::{TITLE, TITLE_KK};

/// The first day column (after №, ФИО, Класс, Категория).
const FIRST_DAY_COL: u16 = 4;
/// Columns kept in view when scrolling right: №, ФИО, Класс.
const FROZEN_COLS: u16 = 3;

/// Where the grid sits on the sheet.
pub(super) struct Grid {
    /// The header row.
    header: u32,
    /// The first student row.
    pub(super) first: u32,
    /// Students (rows).
    pub(super) n: u32,
    /// The per-day totals row, just under the last student.
    pub(super) foot: u32,
    /// The column of per-student totals, after the last day.
    pub(super) total_col: u16,
    last_day_col: u16,
}

/// Sheet «Табель»: title lines, the grid with its totals, then the summary.
pub(super) fn main_sheet(t: &Tabel, s: &Styles) -> Result<Worksheet, XlsxError> {
    let mut ws = Worksheet::new();
    ws.set_name("Табель")?;
    ws.set_landscape();
    ws.set_paper_size(9); // A4
    ws.set_print_fit_to_pages(1, 0);

    let header = title_lines(&mut ws, t, s)?;
    let days = t.days.len() as u16;
    let total_col = FIRST_DAY_COL + days;
    let first = header + 1;
    let n = t.rows.len() as u32;
    let g = Grid {
        header,
        first,
        n,
        foot: first + n,
        total_col,
        last_day_col: total_col - 1,
    };
    grid_header(&mut ws, t, s, &g)?;
    student_rows(&mut ws, t, s, &g)?;
    day_totals(&mut ws, t, s, &g)?;
    ws.set_freeze_panes(g.first, FROZEN_COLS)?;
    ws.set_repeat_rows(g.header, g.header)?;
    summary(&mut ws, t, s, &g)?;
    Ok(ws)
}

/// The title lines at the top; returns the row after them, where the grid's header goes.
fn title_lines(ws: &mut Worksheet, t: &Tabel, s: &Styles) -> Result<u32, XlsxError> {
    // Title lines: few, because they stay frozen above the grid.
    let stamp = match &t.approval {
        Some(a) => format!(
            "Утверждён: {}, утвердил: {}. Контрольная сумма (SHA-256): {}",
            astana_time(a.approved_at),
            a.approved_by,
            a.content_hash
        ),
        None => format!("Не утверждён (черновик от {})", astana_time(t.generated_at)),
    };
    let lines: Vec<(String, &Format)> = vec![
        (format!("{TITLE} ({TITLE_KK})"), &s.title),
        (
            format!(
                "Организация образования: {}   БИН: {}   Месяц: {} ({})",
                t.school.name,
                t.school.bin,
                month_ru(t.month),
                t.month
            ),
            &s.bold,
        ),
        (stamp, &s.italic),
        (
            format!(
                "{} Серым — выходные, оранжевым — праздничные дни.",
                slots_note(t)
            ),
            &s.italic,
        ),
    ];
    for (i, (line, format)) in lines.iter().enumerate() {
        write_text(ws, i as u32, 0, line, format)?;
    }
    Ok(lines.len() as u32)
}

/// The grid's header row and its column widths.
fn grid_header(ws: &mut Worksheet, t: &Tabel, s: &Styles, g: &Grid) -> Result<(), XlsxError> {
    let header = g.header;
    ws.set_row_height(header, 30)?;
    for (col, label) in ["№", "ФИО", "Класс", "Категория"].iter().enumerate() {
        ws.write_string_with_format(header, col as u16, *label, &s.head)?;
    }
    ws.set_column_width(0, 5)?;
    ws.set_column_width(1, 34)?;
    ws.set_column_width(2, 7)?;
    ws.set_column_width(3, 20)?;
    for (i, d) in t.days.iter().enumerate() {
        let col = FIRST_DAY_COL + i as u16;
        let format = if d.holiday {
            &s.head_holiday
        } else if d.weekend || d.school_break {
            &s.head_weekend
        } else {
            &s.head
        };
        ws.write_string_with_format(header, col, day_label(d).replace(' ', "\n"), format)?;
        ws.set_column_width(col, 4.3)?;
    }
    ws.write_string_with_format(header, g.total_col, "Итого", &s.head)?;
    ws.set_column_width(g.total_col, 7)?;
    Ok(())
}

/// One row per student: the counts per day and a `SUM` of them.
fn student_rows(ws: &mut Worksheet, t: &Tabel, s: &Styles, g: &Grid) -> Result<(), XlsxError> {
    let day_formats: Vec<&Format> = t
        .days
        .iter()
        .map(|d| {
            if d.holiday {
                &s.day_holiday
            } else if d.weekend || d.school_break {
                &s.day_weekend
            } else {
                &s.day
            }
        })
        .collect();
    for (i, row) in t.rows.iter().enumerate() {
        let r = g.first + i as u32;
        ws.write_number_with_format(r, 0, (i + 1) as f64, &s.center)?;
        write_text(ws, r, 1, &row.student.full_name, &s.text)?;
        write_text(ws, r, 2, &row.student.class_label, &s.center)?;
        ws.write_string_with_format(r, 3, category_ru(row.student.category), &s.text)?;
        for (j, d) in t.days.iter().enumerate() {
            let col = FIRST_DAY_COL + j as u16;
            match row.marks.get(&d.date).copied().filter(|&c| c > 0) {
                Some(c) => ws.write_number_with_format(r, col, c, day_formats[j])?,
                None => ws.write_blank(r, col, day_formats[j])?,
            };
        }
        let sum = Formula::new(format!(
            "=SUM({})",
            cell_range(r, FIRST_DAY_COL, r, g.last_day_col)
        ))
        .set_result(row.total.to_string());
        ws.write_formula_with_format(r, g.total_col, sum, &s.total)?;
    }
    Ok(())
}

/// The per-day totals row under the students, and the month's total in its last cell.
fn day_totals(ws: &mut Worksheet, t: &Tabel, s: &Styles, g: &Grid) -> Result<(), XlsxError> {
    let foot = g.foot;
    ws.write_blank(foot, 0, &s.foot)?;
    ws.write_string_with_format(foot, 1, "Итого за день", &s.foot_label)?;
    ws.write_blank(foot, 2, &s.foot)?;
    ws.write_blank(foot, 3, &s.foot)?;
    for (j, d) in t.days.iter().enumerate() {
        let col = FIRST_DAY_COL + j as u16;
        let value = t.per_day.get(&d.date).copied().unwrap_or(0);
        column_sum(ws, foot, col, g.first, g.n, value, &s.foot)?;
    }
    column_sum(ws, foot, g.total_col, g.first, g.n, t.totals.meals, &s.foot)?;
    Ok(())
}

/// `=SUM(column of the grid)` with the табель's value as the cached result.
fn column_sum(
    ws: &mut Worksheet,
    row: u32,
    col: u16,
    first: u32,
    n: u32,
    value: u32,
    format: &Format,
) -> Result<(), XlsxError> {
    if n == 0 {
        ws.write_number_with_format(row, col, value, format)?;
    } else {
        let sum = Formula::new(format!(
            "=SUM({})",
            cell_range(first, col, first + n - 1, col)
        ))
        .set_result(value.to_string());
        ws.write_formula_with_format(row, col, sum, format)?;
    }
    Ok(())
}
