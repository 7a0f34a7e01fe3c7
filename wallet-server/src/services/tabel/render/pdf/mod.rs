//! The табель as a printable PDF: A4 landscape, DejaVu Sans Condensed embedded (subset) so
//! Cyrillic and Kazakh letters and `₸` render on any machine.
//!
//! Every page repeats the heading (title, school, BIN, month, approval stamp or «черновик»)
//! and the grid's column header; the pages are numbered «Лист N из M». After the grid come
//! the per-day totals, the summary (meals, students fed, price, amount, adjustments,
//! payable), the excluded meals and the adjustments as tables that flow over pages, and the
//! signature lines of the social pedagogue and the director with «М.П.».
//!
//! Text is laid out here (one font, left-to-right, no shaping needed for Cyrillic and
//! digits): glyphs and advances come from the font's `cmap` and `hmtx` through `skrifa`, so
//! widths are known for alignment and for shortening long names with «…». The layout is
//! collected per page first (so the page count is known for the footer) and then drawn with
//! `krilla`: backgrounds, then grid lines (one path per page), then text. Linear in the
//! number of rows.
//!
//! This file holds the entry point and the page geometry and colours; the pieces are:
//! `font` (measuring text), `layout` (the per-page collection of shapes and text), `table`
//! (tables that flow over pages), the sections in document order (`heading`, `grid`,
//! `summary`, `lists`, `signatures`), and `emit` (drawing the collected pages with `krilla`).

mod emit;
mod font;
mod grid;
mod heading;
mod layout;
mod lists;
mod manual;
mod signatures;
mod summary;
mod table;
mod unbilled;

use super::{astana_time, RenderError};
use crate::domain::tabel::Tabel;
use font::Fonts;
use layout::Layout;

/// A4 landscape, in points.
const PAGE_W: f32 = 841.89;
const PAGE_H: f32 = 595.28;
const MARGIN: f32 = 22.0;
/// Where content stops; the footer is below.
const BOTTOM: f32 = PAGE_H - MARGIN - 8.0;
const CONTENT_W: f32 = PAGE_W - 2.0 * MARGIN;

type Rgb = (u8, u8, u8);
const INK: Rgb = (0, 0, 0);
const GREY_TEXT: Rgb = (90, 90, 90);
const RULE: Rgb = (140, 140, 140);
/// Weekend columns.
const WEEKEND: Rgb = (217, 217, 217);
/// Holiday columns.
const HOLIDAY: Rgb = (248, 203, 173);
/// Header and totals cells.
const HEAD: Rgb = (221, 235, 247);

/// Renders the табель as PDF bytes.
pub fn render(tabel: &Tabel) -> Result<Vec<u8>, RenderError> {
    let fonts = Fonts::load()?;
    let mut layout = Layout::new(&fonts, heading::page_heading(tabel));
    grid::grid(&mut layout, tabel);
    summary::summary(&mut layout, tabel);
    lists::excluded(&mut layout, tabel);
    unbilled::unbilled(&mut layout, tabel);
    manual::manual(&mut layout, tabel);
    lists::adjustments(&mut layout, tabel);
    signatures::signatures(&mut layout, tabel);
    let footer_left = format!(
        "{} · {} · сформирован {}",
        tabel.school.bin,
        tabel.month,
        astana_time(tabel.generated_at)
    );
    layout.footers(&footer_left);
    emit::emit(&fonts, layout.pages, tabel)
}
