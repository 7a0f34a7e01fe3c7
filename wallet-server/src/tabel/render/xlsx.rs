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

use rust_xlsxwriter::utility::{cell_range, row_col_to_cell};
use rust_xlsxwriter::{
    Color, DocProperties, ExcelDateTime, Format, FormatAlign, FormatBorder, Formula, Workbook,
    Worksheet, XlsxError,
};

use super::{
    astana_time, category_ru, day_label, month_ru, reason_ru, slot_ru, slots_note, status_ru,
    tenge_plain, RenderError, TITLE, TITLE_KK,
};
use crate::tabel::Tabel;

/// Shade of weekend columns.
const WEEKEND: u32 = 0xD9D9D9;
/// Shade of holiday columns.
const HOLIDAY: u32 = 0xF8CBAD;
/// Shade of header and totals cells.
const HEAD: u32 = 0xDDEBF7;

/// The first day column (after №, ФИО, Класс, Категория).
const FIRST_DAY_COL: u16 = 4;
/// Columns kept in view when scrolling right: №, ФИО, Класс.
const FROZEN_COLS: u16 = 3;

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
    book.push_worksheet(main_sheet(tabel, &styles)?);
    if !tabel.excluded.is_empty() {
        book.push_worksheet(excluded_sheet(tabel, &styles)?);
    }
    if tabel.adjustments.is_some() {
        book.push_worksheet(adjustments_sheet(tabel, &styles)?);
    }
    Ok(book.save_to_buffer()?)
}

struct Styles {
    title: Format,
    bold: Format,
    italic: Format,
    head: Format,
    head_weekend: Format,
    head_holiday: Format,
    text: Format,
    center: Format,
    day: Format,
    day_weekend: Format,
    day_holiday: Format,
    total: Format,
    foot: Format,
    foot_label: Format,
    integer: Format,
    tenge: Format,
    integer_bold: Format,
    tenge_bold: Format,
}

impl Styles {
    fn new() -> Styles {
        let cell = Format::new()
            .set_border(FormatBorder::Thin)
            .set_border_color(Color::RGB(0xA6A6A6));
        let head = cell
            .clone()
            .set_bold()
            .set_align(FormatAlign::Center)
            .set_align(FormatAlign::VerticalCenter)
            .set_text_wrap()
            .set_background_color(Color::RGB(HEAD));
        let day = cell.clone().set_align(FormatAlign::Center);
        let foot = cell
            .clone()
            .set_bold()
            .set_align(FormatAlign::Center)
            .set_background_color(Color::RGB(HEAD));
        Styles {
            title: Format::new().set_bold().set_font_size(14),
            bold: Format::new().set_bold(),
            italic: Format::new().set_italic(),
            head_weekend: head.clone().set_background_color(Color::RGB(WEEKEND)),
            head_holiday: head.clone().set_background_color(Color::RGB(HOLIDAY)),
            head,
            text: cell.clone(),
            center: cell.clone().set_align(FormatAlign::Center),
            day_weekend: day.clone().set_background_color(Color::RGB(WEEKEND)),
            day_holiday: day.clone().set_background_color(Color::RGB(HOLIDAY)),
            day,
            total: cell.clone().set_bold().set_align(FormatAlign::Center),
            foot_label: foot.clone().set_align(FormatAlign::Left),
            foot,
            integer: Format::new().set_num_format("0"),
            tenge: Format::new().set_num_format("#,##0.00"),
            integer_bold: Format::new().set_num_format("0").set_bold(),
            tenge_bold: Format::new().set_num_format("#,##0.00").set_bold(),
        }
    }
}

fn main_sheet(t: &Tabel, s: &Styles) -> Result<Worksheet, XlsxError> {
    let mut ws = Worksheet::new();
    ws.set_name("Табель")?;
    ws.set_landscape();
    ws.set_paper_size(9); // A4
    ws.set_print_fit_to_pages(1, 0);

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
        ws.write_string_with_format(i as u32, 0, line, format)?;
    }

    // The grid.
    let header = lines.len() as u32;
    let days = t.days.len() as u16;
    let total_col = FIRST_DAY_COL + days;
    let last_day_col = total_col - 1;
    let first = header + 1;
    let n = t.rows.len() as u32;
    let foot = first + n;

    ws.set_row_height(header, 30)?;
    for (col, label) in ["№", "ФИО", "Класс", "Категория"].iter().enumerate() {
        ws.write_string_with_format(header, col as u16, *label, &s.head)?;
    }
    ws.set_column_width(0, 5)?;
    ws.set_column_width(1, 34)?;
    ws.set_column_width(2, 7)?;
    ws.set_column_width(3, 20)?;
    let day_formats: Vec<&Format> = t
        .days
        .iter()
        .map(|d| {
            if d.holiday {
                &s.day_holiday
            } else if d.weekend {
                &s.day_weekend
            } else {
                &s.day
            }
        })
        .collect();
    for (i, d) in t.days.iter().enumerate() {
        let col = FIRST_DAY_COL + i as u16;
        let format = if d.holiday {
            &s.head_holiday
        } else if d.weekend {
            &s.head_weekend
        } else {
            &s.head
        };
        ws.write_string_with_format(header, col, day_label(d).replace(' ', "\n"), format)?;
        ws.set_column_width(col, 4.3)?;
    }
    ws.write_string_with_format(header, total_col, "Итого", &s.head)?;
    ws.set_column_width(total_col, 7)?;

    for (i, row) in t.rows.iter().enumerate() {
        let r = first + i as u32;
        ws.write_number_with_format(r, 0, (i + 1) as f64, &s.center)?;
        ws.write_string_with_format(r, 1, &row.student.full_name, &s.text)?;
        ws.write_string_with_format(r, 2, &row.student.class_label, &s.center)?;
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
            cell_range(r, FIRST_DAY_COL, r, last_day_col)
        ))
        .set_result(row.total.to_string());
        ws.write_formula_with_format(r, total_col, sum, &s.total)?;
    }

    // Per-day totals.
    ws.write_blank(foot, 0, &s.foot)?;
    ws.write_string_with_format(foot, 1, "Итого за день", &s.foot_label)?;
    ws.write_blank(foot, 2, &s.foot)?;
    ws.write_blank(foot, 3, &s.foot)?;
    for (j, d) in t.days.iter().enumerate() {
        let col = FIRST_DAY_COL + j as u16;
        let value = t.per_day.get(&d.date).copied().unwrap_or(0);
        column_sum(&mut ws, foot, col, first, n, value, &s.foot)?;
    }
    column_sum(&mut ws, foot, total_col, first, n, t.totals.meals, &s.foot)?;

    ws.set_freeze_panes(first, FROZEN_COLS)?;
    ws.set_repeat_rows(header, header)?;

    // The summary: label | value (tiyn for money) | tenge.
    let mut r = foot + 2;
    ws.write_string_with_format(r, 1, "Итоги", &s.bold)?;
    ws.write_string_with_format(r, 2, "Значение", &s.bold)?;
    ws.write_string_with_format(r, 3, "Тенге", &s.bold)?;
    r += 1;
    let total_cell = row_col_to_cell(foot, total_col);
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
    let fed = if n == 0 {
        Formula::new("=0")
    } else {
        Formula::new(format!(
            "=COUNTIF({},\">0\")",
            cell_range(first, total_col, foot - 1, total_col)
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
    tenge_cell(&mut ws, r, t.totals.meal_price_tiyn, &s.tenge)?;
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
    tenge_cell(&mut ws, r, t.totals.amount_tiyn, &s.tenge)?;
    r += 1;
    let mut payable = format!("={}", row_col_to_cell(amount_row, 2));
    if let Some(adj) = &t.adjustments {
        ws.write_string(r, 1, format!("Корректировка за {}: питаний", adj.month))?;
        ws.write_number_with_format(r, 2, adj.meals, &s.integer)?;
        r += 1;
        ws.write_string(r, 1, format!("Корректировка за {}, тиын", adj.month))?;
        ws.write_number_with_format(r, 2, adj.amount_tiyn as f64, &s.integer)?;
        tenge_cell(&mut ws, r, adj.amount_tiyn, &s.tenge)?;
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
    tenge_cell(&mut ws, r, t.payable_tiyn, &s.tenge_bold)?;
    r += 2;
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
    Ok(ws)
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

/// Tenge in column D from the tiyn in column C of the same row.
fn tenge_cell(ws: &mut Worksheet, row: u32, tiyn: i64, format: &Format) -> Result<(), XlsxError> {
    let f = Formula::new(format!("={}/100", row_col_to_cell(row, 2))).set_result(tenge_plain(tiyn));
    ws.write_formula_with_format(row, 3, f, format)?;
    Ok(())
}

fn list_header(ws: &mut Worksheet, row: u32, labels: &[&str], s: &Styles) -> Result<(), XlsxError> {
    for (col, label) in labels.iter().enumerate() {
        ws.write_string_with_format(row, col as u16, *label, &s.head)?;
    }
    ws.set_freeze_panes(row + 1, 0)?;
    Ok(())
}

fn excluded_sheet(t: &Tabel, s: &Styles) -> Result<Worksheet, XlsxError> {
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
        ws.write_string_with_format(r, 1, &m.student.full_name, &s.text)?;
        ws.write_string_with_format(r, 2, &m.student.class_label, &s.center)?;
        ws.write_string_with_format(r, 3, category_ru(m.student.category), &s.text)?;
        ws.write_string_with_format(r, 4, slot_ru(&m.slot), &s.text)?;
        ws.write_string_with_format(r, 5, status_ru(m.status), &s.text)?;
        ws.write_string_with_format(r, 6, reason_ru(m.reason.as_deref()), &s.text)?;
        ws.write_string_with_format(r, 7, m.reason.as_deref().unwrap_or(""), &s.text)?;
    }
    Ok(ws)
}

fn adjustments_sheet(t: &Tabel, s: &Styles) -> Result<Worksheet, XlsxError> {
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
        format!(
            "Корректировка: питания за {} ({}), поступившие после утверждения табеля",
            month_ru(adj.month),
            adj.month
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
        ws.write_string_with_format(r, 1, &m.student.full_name, &s.text)?;
        ws.write_string_with_format(r, 2, &m.student.class_label, &s.center)?;
        ws.write_string_with_format(r, 3, category_ru(m.student.category), &s.text)?;
        ws.write_string_with_format(r, 4, slot_ru(&m.slot), &s.text)?;
        ws.write_string_with_format(r, 5, astana_time(m.received_at), &s.text)?;
    }
    let mut r = 4 + adj.rows.len() as u32;
    ws.write_string_with_format(r, 1, "Питаний", &s.bold)?;
    ws.write_number_with_format(r, 2, adj.meals, &s.integer_bold)?;
    r += 1;
    ws.write_string_with_format(r, 1, "Сумма, тиын", &s.bold)?;
    ws.write_number_with_format(r, 2, adj.amount_tiyn as f64, &s.integer_bold)?;
    tenge_cell(&mut ws, r, adj.amount_tiyn, &s.tenge_bold)?;
    Ok(ws)
}
