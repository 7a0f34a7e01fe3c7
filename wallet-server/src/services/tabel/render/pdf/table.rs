//! Tables that flow over pages: a tinted header row repeated on every page, body and
//! totals rows, column shades and rules drawn when each page's part of the table closes.

use super::layout::{Align, Layout};
use super::{Rgb, BOTTOM, HEAD, INK, MARGIN};

/// A column: its width, alignment, text size and shade.
pub(super) struct Col {
    pub(super) w: f32,
    pub(super) align: Align,
    pub(super) size: f32,
    /// Background of the whole column (weekend, holiday).
    pub(super) shade: Option<Rgb>,
}

/// The shape of a table: columns, header cells and row heights.
pub(super) struct Table {
    pub(super) cols: Vec<Col>,
    /// Header cells, each one or more stacked lines.
    pub(super) head: Vec<Vec<String>>,
    pub(super) head_size: f32,
    pub(super) head_h: f32,
    pub(super) row_h: f32,
}

#[derive(Clone, Copy, PartialEq)]
pub(super) enum RowStyle {
    Body,
    /// Bold on a tinted background (totals).
    Foot,
}

impl Table {
    fn width(&self) -> f32 {
        self.cols.iter().map(|c| c.w).sum()
    }

    fn xs(&self) -> Vec<f32> {
        let mut x = MARGIN;
        let mut xs = Vec::with_capacity(self.cols.len() + 1);
        for c in &self.cols {
            xs.push(x);
            x += c.w;
        }
        xs.push(x);
        xs
    }
}

/// Draws a table at the cursor; rows flow over pages with the header repeated.
pub(super) fn table(
    l: &mut Layout,
    t: &Table,
    rows: impl Iterator<Item = (Vec<String>, RowStyle)>,
) {
    let xs = t.xs();
    let width = t.width();
    l.ensure(t.head_h + t.row_h);
    let mut top = table_head(l, t, &xs, width);
    for (cells, style) in rows {
        if l.y + t.row_h > BOTTOM {
            table_close(l, t, &xs, width, top);
            l.new_page();
            top = table_head(l, t, &xs, width);
        }
        let y = l.y;
        if style == RowStyle::Foot {
            l.rect(HEAD, MARGIN, y, width, t.row_h);
        }
        let bold = style == RowStyle::Foot;
        let baseline = y + t.row_h / 2.0 + t.cols[0].size * 0.36;
        for (i, text) in cells.into_iter().enumerate() {
            let Some(col) = t.cols.get(i) else { break };
            let pad = 1.5;
            l.text_in(
                xs[i] + pad,
                col.w - 2.0 * pad,
                baseline,
                col.size,
                bold,
                INK,
                text,
                col.align,
            );
        }
        l.y += t.row_h;
        l.hline(MARGIN, MARGIN + width, l.y, 0.25);
    }
    table_close(l, t, &xs, width, top);
}

/// The header row; returns the top of this page's part of the table.
fn table_head(l: &mut Layout, t: &Table, xs: &[f32], width: f32) -> f32 {
    let top = l.y;
    l.rect(HEAD, MARGIN, top, width, t.head_h);
    for (i, lines) in t.head.iter().enumerate() {
        let n = lines.len().max(1) as f32;
        let lead = t.head_size * 1.15;
        let first = top + (t.head_h - lead * n) / 2.0 + t.head_size * 0.9;
        for (k, line) in lines.iter().enumerate() {
            let size = if k == 0 {
                t.head_size
            } else {
                t.head_size * 0.85
            };
            l.text_in(
                xs[i] + 1.0,
                t.cols[i].w - 2.0,
                first + k as f32 * lead,
                size,
                k == 0,
                INK,
                line.clone(),
                Align::Center,
            );
        }
    }
    l.y = top + t.head_h;
    l.hline(MARGIN, MARGIN + width, l.y, 0.5);
    top
}

/// Column shades, vertical rules and the frame of this page's part of the table.
fn table_close(l: &mut Layout, t: &Table, xs: &[f32], width: f32, top: f32) {
    let bottom = l.y;
    for (i, c) in t.cols.iter().enumerate() {
        if let Some(shade) = c.shade {
            l.rect(shade, xs[i], top, c.w, bottom - top);
        }
    }
    for (i, x) in xs.iter().enumerate() {
        let outer = i == 0 || i == xs.len() - 1;
        l.vline(*x, top, bottom, if outer { 0.6 } else { 0.25 });
    }
    l.hline(MARGIN, MARGIN + width, top, 0.6);
    l.hline(MARGIN, MARGIN + width, bottom, 0.6);
}
