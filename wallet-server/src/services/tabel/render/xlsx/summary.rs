//! The summary under the grid on «Табель»: label | value (tiyn for money) | tenge, as
//! formulas over the grid where a number follows from it (meals, students fed, amount,
//! payable) with the табель's own numbers as cached results; then pointers to the list
//! sheets and the signature lines.

use rust_xlsxwriter::utility::{cell_range, row_col_to_cell};
use rust_xlsxwriter::{Format, Formula, Worksheet, XlsxError};

use super::main_sheet::Grid;
use super::styles::Styles;
use crate::domain::tabel::Tabel;
use crate::services::tabel::render::tenge_plain;

/// The summary: label | value (tiyn for money) | tenge, two rows under the grid.
pub(super) fn summary(
    ws: &mut Worksheet,
    t: &Tabel,
    s: &Styles,
    g: &Grid,
) -> Result<(), XlsxError> {
    let mut r = g.foot + 2;
    ws.write_string_with_format(r, 1, "Итоги", &s.bold)?;
    ws.write_string_with_format(r, 2, "Значение", &s.bold)?;
    ws.write_string_with_format(r, 3, "Тенге", &s.bold)?;
    r += 1;
    let (r, amount_row) = month_totals(ws, t, s, g, r)?;
    let r = payable(ws, t, s, amount_row, r)?;
    notes_and_signatures(ws, t, r)
}

/// Meals, students fed, price and the month's amount from row `r`; returns the next row and
/// the amount's row.
fn month_totals(
    ws: &mut Worksheet,
    t: &Tabel,
    s: &Styles,
    g: &Grid,
    mut r: u32,
) -> Result<(u32, u32), XlsxError> {
    let total_cell = row_col_to_cell(g.foot, g.total_col);
    let meals_row = r;
    ws.write_string(r, 1, "Питаний за месяц")?;
    ws.write_formula_with_format(
        r,
        2,
        Formula::new(format!("={total_cell}")).set_result(t.totals.meals.to_string()),
        &s.integer,
    )?;
    r += 1;
    ws.write_string(r, 1, "Получили питание (учащихся)")?;
    let fed = if g.n == 0 {
        Formula::new("=0")
    } else {
        Formula::new(format!(
            "=COUNTIF({},\">0\")",
            cell_range(g.first, g.total_col, g.foot - 1, g.total_col)
        ))
    };
    ws.write_formula_with_format(
        r,
        2,
        fed.set_result(t.totals.students_fed.to_string()),
        &s.integer,
    )?;
    r += 1;
    let price_row = r;
    ws.write_string(r, 1, "Цена одного питания, тиын")?;
    ws.write_number_with_format(r, 2, t.totals.meal_price_tiyn as f64, &s.integer)?;
    tenge_cell(ws, r, t.totals.meal_price_tiyn, &s.tenge)?;
    r += 1;
    let amount_row = r;
    ws.write_string(r, 1, "Сумма за месяц, тиын")?;
    ws.write_formula_with_format(
        r,
        2,
        Formula::new(format!(
            "={}*{}",
            row_col_to_cell(meals_row, 2),
            row_col_to_cell(price_row, 2)
        ))
        .set_result(t.totals.amount_tiyn.to_string()),
        &s.integer,
    )?;
    tenge_cell(ws, r, t.totals.amount_tiyn, &s.tenge)?;
    r += 1;
    Ok((r, amount_row))
}

/// Any adjustment for an earlier month, then the payable total (amount plus adjustment) from
/// row `r`; returns the row after a blank one.
fn payable(
    ws: &mut Worksheet,
    t: &Tabel,
    s: &Styles,
    amount_row: u32,
    mut r: u32,
) -> Result<u32, XlsxError> {
    let mut payable = format!("={}", row_col_to_cell(amount_row, 2));
    if let Some(adj) = &t.adjustments {
        ws.write_string(r, 1, format!("Корректировка за {}: питаний", adj.month))?;
        ws.write_number_with_format(r, 2, adj.meals, &s.integer)?;
        r += 1;
        ws.write_string(r, 1, format!("Корректировка за {}, тиын", adj.month))?;
        ws.write_number_with_format(r, 2, adj.amount_tiyn as f64, &s.integer)?;
        tenge_cell(ws, r, adj.amount_tiyn, &s.tenge)?;
        payable.push_str(&format!("+{}", row_col_to_cell(r, 2)));
        r += 1;
    }
    ws.write_string_with_format(r, 1, "Итого к оплате, тиын", &s.bold)?;
    ws.write_formula_with_format(
        r,
        2,
        Formula::new(payable).set_result(t.payable_tiyn.to_string()),
        &s.integer_bold,
    )?;
    tenge_cell(ws, r, t.payable_tiyn, &s.tenge_bold)?;
    Ok(r + 2)
}

/// Pointers to the list sheets (when they exist) and the signature lines, from row `r`.
fn notes_and_signatures(ws: &mut Worksheet, t: &Tabel, mut r: u32) -> Result<(), XlsxError> {
    if !t.excluded.is_empty() {
        ws.write_string(
            r,
            1,
            format!(
                "Не учтено (повторы и отклонённые): {} — см. лист «Не учтено»",
                t.excluded.len()
            ),
        )?;
        r += 1;
    }
    if !t.unbilled.is_empty() {
        ws.write_string(
            r,
            1,
            format!(
                "Не оплачивается (питание в неучебный день): {} — см. лист «Не оплачено»",
                t.unbilled.len()
            ),
        )?;
        r += 1;
    }
    if let Some(adj) = &t.adjustments {
        ws.write_string(
            r,
            1,
            format!(
                "Корректировка за {}: {} — см. лист «Корректировки»",
                adj.month, adj.meals
            ),
        )?;
        r += 1;
    }
    r += 1;
    ws.write_string(
        r,
        1,
        "Социальный педагог ____________ / ____________________ /",
    )?;
    r += 2;
    ws.write_string(
        r,
        1,
        "Директор ____________ / ____________________ /   М.П.",
    )?;
    Ok(())
}

/// Tenge in column D from the tiyn in column C of the same row.
pub(super) fn tenge_cell(
    ws: &mut Worksheet,
    row: u32,
    tiyn: i64,
    format: &Format,
) -> Result<(), XlsxError> {
    let f = Formula::new(format!("={}/100", row_col_to_cell(row, 2))).set_result(tenge_plain(tiyn));
    ws.write_formula_with_format(row, 3, f, format)?;
    Ok(())
}
