//! The табель as an Excel workbook.
//!
//! Sheet «Табель»: title lines (school, BIN, month, approval stamp), the grid with its header
//! row frozen together with the №/ФИО/Класс columns, day columns shaded on weekends (grey)
//! and holidays (orange), per-student and per-day totals as `SUM` formulas whose cached
//! results are the табель's own numbers, and the summary below the grid. Money is written
//! twice: tiyn (integer, authoritative) and tenge (`=tiyn/100`, two decimals).
//! Sheets «Не учтено» (duplicates and meals rejected at sync) and «Корректировки» (the
//! previous month's late meals) follow when there is something to list.
//!
//! Document properties carry a title and the generation time, never a person's name.
//!
//! Every cell whose text comes from input (names, class labels, slot names, the title lines
//! that quote them) goes through [`write_text`]: the CSV's `safe_cell` rule, so a name such
//! as `=HYPERLINK(…)` reads `'=HYPERLINK(…)` in both downloads and stays text when copied
//! elsewhere, and never more characters than a cell holds.
//!
//! This file assembles the workbook; `styles` holds the cell formats, `main_sheet` the title
//! and grid of «Табель», `summary` the totals under the grid, and `lists` the two list sheets.

mod lists;
mod main_sheet;
mod manual;
mod styles;
mod summary;
mod unbilled;

use rust_xlsxwriter::{DocProperties, ExcelDateTime, Format, Workbook, Worksheet, XlsxError};

use super::{month_ru, safe_cell, RenderError, TITLE};
use crate::domain::tabel::Tabel;
use styles::Styles;

/// Renders the табель as XLSX bytes.
pub fn render(tabel: &Tabel) -> Result<Vec<u8>, RenderError> {
    let mut book = Workbook::new();
    let created = ExcelDateTime::from_timestamp(tabel.generated_at.unix_timestamp())?;
    book.set_properties(
        &DocProperties::new()
            .set_title(format!(
                "{TITLE} — {} — {}",
                tabel.school.bin,
                month_ru(tabel.month)
            ))
            .set_subject(format!("{}, {}", tabel.school.name, tabel.month))
            .set_creation_datetime(&created),
    );
    let styles = Styles::new();
    book.push_worksheet(main_sheet::main_sheet(tabel, &styles)?);
    if !tabel.excluded.is_empty() {
        book.push_worksheet(lists::excluded_sheet(tabel, &styles)?);
    }
    if !tabel.unbilled.is_empty() {
        book.push_worksheet(unbilled::unbilled_sheet(tabel, &styles)?);
    }
    if !tabel.manual.is_empty() {
        book.push_worksheet(manual::manual_sheet(tabel, &styles)?);
    }
    if tabel.adjustments.is_some() {
        book.push_worksheet(lists::adjustments_sheet(tabel, &styles)?);
    }
    Ok(book.save_to_buffer()?)
}

/// Most characters an Excel cell holds.
const MAX_CELL_CHARS: usize = 32_767;

/// Writes text from input into a cell: defused like the CSV's cells (`safe_cell`), and cut
/// to what a cell holds (input is bounded far below; this keeps a long title line from
/// failing the whole download).
fn write_text(
    ws: &mut Worksheet,
    row: u32,
    col: u16,
    text: &str,
    format: &Format,
) -> Result<(), XlsxError> {
    let cell = safe_cell(text);
    let cell = match cell.char_indices().nth(MAX_CELL_CHARS) {
        Some((end, _)) => &cell[..end],
        None => &cell[..],
    };
    ws.write_string_with_format(row, col, cell, format)?;
    Ok(())
}
