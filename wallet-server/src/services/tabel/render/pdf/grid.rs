//! The grid: one row per student, one column per day of the month (weekends and holidays
//! shaded), a total per student and a per-day totals row, then the legend of shades and
//! meal slots under it.

use super::layout::{Align, Layout};
use super::table::{table, Col, RowStyle, Table};
use super::{CONTENT_W, HOLIDAY, INK, MARGIN, PAGE_W, WEEKEND};
use crate::domain::tabel::Tabel;
use crate::services::tabel::render::{category_ru, day_mark, slots_note};

/// Draws the grid with its totals row, then the legend.
pub(super) fn grid(l: &mut Layout, t: &Tabel) {
    let spec = grid_table(t);
    let students = t.rows.iter().enumerate().map(|(i, row)| {
        let mut cells = Vec::with_capacity(t.days.len() + 5);
        cells.push((i + 1).to_string());
        cells.push(row.student.full_name.clone());
        cells.push(row.student.class_label.clone());
        cells.push(category_ru(row.student.category).to_string());
        cells.extend(t.days.iter().map(|d| count(row.marks.get(&d.date))));
        cells.push(row.total.to_string());
        (cells, RowStyle::Body)
    });
    let mut foot = vec![
        String::new(),
        "Итого за день".to_string(),
        String::new(),
        String::new(),
    ];
    foot.extend(t.days.iter().map(|d| count(t.per_day.get(&d.date))));
    foot.push(t.totals.meals.to_string());
    table(
        l,
        &spec,
        students.chain(std::iter::once((foot, RowStyle::Foot))),
    );
    legend(l, t);
}

/// A day's count as a cell: empty for none.
fn count(n: Option<&u32>) -> String {
    match n {
        Some(&n) if n > 0 => n.to_string(),
        _ => String::new(),
    }
}

/// The grid's columns and header: the student columns, the days sharing what width is left,
/// and the total.
fn grid_table(t: &Tabel) -> Table {
    const NO: f32 = 18.0;
    const NAME: f32 = 126.0;
    const CLASS: f32 = 26.0;
    const CATEGORY: f32 = 68.0;
    const TOTAL: f32 = 26.0;
    let days = t.days.len().max(1) as f32;
    let day_w = (CONTENT_W - NO - NAME - CLASS - CATEGORY - TOTAL) / days;
    let body = 6.5;
    let col = |w: f32, align: Align, size: f32, shade| Col {
        w,
        align,
        size,
        shade,
    };
    let mut cols = vec![
        col(NO, Align::Right, body, None),
        col(NAME, Align::Left, body, None),
        col(CLASS, Align::Center, body, None),
        col(CATEGORY, Align::Left, 5.6, None),
    ];
    let mut head = vec![
        vec!["№".to_string()],
        vec!["ФИО обучающегося".to_string()],
        vec!["Класс".to_string()],
        vec!["Категория".to_string()],
    ];
    for d in &t.days {
        let shade = if d.holiday {
            Some(HOLIDAY)
        } else if d.weekend || d.school_break {
            Some(WEEKEND)
        } else {
            None
        };
        cols.push(col(day_w, Align::Center, body, shade));
        let mut lines = vec![d.date.day().to_string()];
        if let Some(mark) = day_mark(d) {
            lines.push(mark.to_string());
        }
        head.push(lines);
    }
    cols.push(col(TOTAL, Align::Center, body, None));
    head.push(vec!["Итого".to_string()]);
    Table {
        cols,
        head,
        head_size: 6.5,
        head_h: 18.0,
        row_h: 10.5,
    }
}

/// The shade swatches (weekend, holiday) and the note on meal slots, on one line.
fn legend(l: &mut Layout, t: &Tabel) {
    l.ensure(12.0);
    let y = l.y + 3.0;
    let baseline = y + 6.0;
    let mut x = MARGIN;
    for (shade, label) in [(WEEKEND, "выходной"), (HOLIDAY, "праздничный день")]
    {
        l.rect(shade, x, y + 0.5, 9.0, 7.0);
        l.text_in(
            x + 12.0,
            90.0,
            baseline,
            6.5,
            false,
            INK,
            label.into(),
            Align::Left,
        );
        x += 12.0 + l.fonts.regular.width(label, 6.5) + 10.0;
    }
    l.text_in(
        x,
        PAGE_W - MARGIN - x,
        baseline,
        6.5,
        false,
        INK,
        slots_note(t),
        Align::Left,
    );
    l.y = y + 12.0;
}
