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

use krilla::color::rgb;
use krilla::geom::{PathBuilder, Point, Rect};
use krilla::metadata::{DateTime, Metadata};
use krilla::num::NormalizedF32;
use krilla::page::PageSettings;
use krilla::paint::{Fill, Stroke};
use krilla::text::{GlyphId, KrillaGlyph};
use krilla::{Data, Document};
use skrifa::charmap::Charmap;
use skrifa::instance::{LocationRef, Size};
use skrifa::metrics::GlyphMetrics;
use skrifa::{FontRef, MetadataProvider};

use super::{
    astana_time, category_ru, date_ru, group_thousands, month_ru, reason_ru, slot_ru, slots_note,
    status_ru, tenge_ru, RenderError, TITLE, TITLE_KK,
};
use crate::tabel::Tabel;

static REGULAR: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSansCondensed.ttf");
static BOLD: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSansCondensed-Bold.ttf");

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
    let fonts = Fonts {
        regular: Face::load(REGULAR)?,
        bold: Face::load(BOLD)?,
    };
    let mut layout = Layout::new(&fonts, page_heading(tabel));
    grid(&mut layout, tabel);
    summary(&mut layout, tabel);
    excluded(&mut layout, tabel);
    adjustments(&mut layout, tabel);
    signatures(&mut layout, tabel);
    let footer_left = format!(
        "{} · {} · сформирован {}",
        tabel.school.bin,
        tabel.month,
        astana_time(tabel.generated_at)
    );
    layout.footers(&footer_left);
    emit(&fonts, layout.pages, tabel)
}

// ---- Fonts ----

/// One embedded font: krilla's handle for drawing, skrifa's tables for measuring.
struct Face {
    font: krilla::text::Font,
    charmap: Charmap<'static>,
    metrics: GlyphMetrics<'static>,
    upem: f32,
}

impl Face {
    fn load(data: &'static [u8]) -> Result<Face, RenderError> {
        let bad = |what: &str| RenderError::Pdf(format!("embedded font: {what}"));
        let font_ref = FontRef::new(data).map_err(|e| bad(&e.to_string()))?;
        let upem = f32::from(
            font_ref
                .metrics(Size::unscaled(), LocationRef::default())
                .units_per_em,
        );
        Ok(Face {
            font: krilla::text::Font::new(Data::from(data), 0).ok_or_else(|| bad("unreadable"))?,
            charmap: font_ref.charmap(),
            metrics: font_ref.glyph_metrics(Size::unscaled(), LocationRef::default()),
            upem: if upem > 0.0 { upem } else { 2048.0 },
        })
    }

    /// The glyph of a character (`.notdef` when missing) and its advance in em.
    fn glyph(&self, ch: char) -> (GlyphId, f32) {
        let gid = self.charmap.map(ch).unwrap_or_default();
        let advance = self.metrics.advance_width(gid).unwrap_or(0.0) / self.upem;
        (GlyphId::new(gid.to_u32()), advance)
    }

    fn width(&self, text: &str, size: f32) -> f32 {
        text.chars().map(|c| self.glyph(c).1).sum::<f32>() * size
    }

    fn glyphs(&self, text: &str) -> Vec<KrillaGlyph> {
        text.char_indices()
            .map(|(i, ch)| {
                let (gid, advance) = self.glyph(ch);
                KrillaGlyph::new(gid, advance, 0.0, 0.0, 0.0, i..i + ch.len_utf8(), None)
            })
            .collect()
    }
}

struct Fonts {
    regular: Face,
    bold: Face,
}

impl Fonts {
    fn face(&self, bold: bool) -> &Face {
        if bold {
            &self.bold
        } else {
            &self.regular
        }
    }
}

// ---- Layout ----

#[derive(Debug, Clone, Copy, PartialEq)]
enum Align {
    Left,
    Center,
    Right,
}

struct TextOp {
    x: f32,
    /// Baseline.
    y: f32,
    size: f32,
    bold: bool,
    color: Rgb,
    text: String,
}

#[derive(Default)]
struct PageOps {
    /// Filled rectangles, drawn first, in order.
    rects: Vec<(Rgb, Rect)>,
    /// Rules `(width, x1, y1, x2, y2)`, drawn over the rectangles.
    lines: Vec<(f32, f32, f32, f32, f32)>,
    texts: Vec<TextOp>,
}

/// A line of the heading repeated on every page.
struct HeadLine {
    text: String,
    size: f32,
    bold: bool,
    /// Distance from the previous baseline.
    gap: f32,
}

struct Layout<'f> {
    fonts: &'f Fonts,
    heading: Vec<HeadLine>,
    pages: Vec<PageOps>,
    /// The top of free space on the current page.
    y: f32,
}

impl<'f> Layout<'f> {
    fn new(fonts: &'f Fonts, heading: Vec<HeadLine>) -> Self {
        let mut layout = Layout {
            fonts,
            heading,
            pages: Vec::new(),
            y: MARGIN,
        };
        layout.new_page();
        layout
    }

    fn page(&mut self) -> &mut PageOps {
        if self.pages.is_empty() {
            self.pages.push(PageOps::default());
        }
        let last = self.pages.len() - 1;
        &mut self.pages[last]
    }

    fn new_page(&mut self) {
        self.pages.push(PageOps::default());
        let mut y = MARGIN;
        for i in 0..self.heading.len() {
            let (text, size, bold) = {
                let h = &self.heading[i];
                y += h.gap;
                (h.text.clone(), h.size, h.bold)
            };
            self.text_in(MARGIN, CONTENT_W, y, size, bold, INK, text, Align::Left);
        }
        self.hline(MARGIN, PAGE_W - MARGIN, y + 4.0, 0.6);
        self.y = y + 9.0;
    }

    /// Starts a new page unless `height` fits on this one.
    fn ensure(&mut self, height: f32) {
        if self.y + height > BOTTOM {
            self.new_page();
        }
    }

    /// Text in a box `[x, x + w]`, aligned; when too wide, a number is set smaller and other
    /// text is shortened with «…».
    #[allow(clippy::too_many_arguments)]
    fn text_in(
        &mut self,
        x: f32,
        w: f32,
        baseline: f32,
        size: f32,
        bold: bool,
        color: Rgb,
        text: String,
        align: Align,
    ) {
        if text.is_empty() {
            return;
        }
        let face = self.fonts.face(bold);
        let mut size = size;
        let mut width = face.width(&text, size);
        let text = if width <= w {
            text
        } else if text.bytes().all(|b| b.is_ascii_digit() || b == b' ') {
            // A number is never cut: it gets smaller until it fits.
            size = (size * w / width).max(3.0);
            width = face.width(&text, size);
            text
        } else {
            let (short, short_w) = shorten(face, &text, size, w);
            width = short_w;
            short
        };
        let x = match align {
            Align::Left => x,
            Align::Center => x + (w - width) / 2.0,
            Align::Right => x + w - width,
        };
        self.page().texts.push(TextOp {
            x,
            y: baseline,
            size,
            bold,
            color,
            text,
        });
    }

    /// A line of text at the cursor, moving it down by `lead`.
    fn line(&mut self, text: String, size: f32, bold: bool, lead: f32) {
        self.ensure(lead);
        let baseline = self.y + lead * 0.75;
        self.text_in(
            MARGIN,
            CONTENT_W,
            baseline,
            size,
            bold,
            INK,
            text,
            Align::Left,
        );
        self.y += lead;
    }

    fn rect(&mut self, color: Rgb, x: f32, y: f32, w: f32, h: f32) {
        if let Some(r) = Rect::from_xywh(x, y, w, h) {
            self.page().rects.push((color, r));
        }
    }

    fn hline(&mut self, x1: f32, x2: f32, y: f32, width: f32) {
        self.page().lines.push((width, x1, y, x2, y));
    }

    fn vline(&mut self, x: f32, y1: f32, y2: f32, width: f32) {
        self.page().lines.push((width, x, y1, x, y2));
    }

    /// Page numbers and the generation note at the bottom of every page.
    fn footers(&mut self, left: &str) {
        let n = self.pages.len();
        let fonts = self.fonts;
        for (i, page) in self.pages.iter_mut().enumerate() {
            let baseline = PAGE_H - MARGIN + 6.0;
            page.texts.push(TextOp {
                x: MARGIN,
                y: baseline,
                size: 6.5,
                bold: false,
                color: GREY_TEXT,
                text: left.to_string(),
            });
            let right = format!("Лист {} из {}", i + 1, n);
            let w = fonts.regular.width(&right, 6.5);
            page.texts.push(TextOp {
                x: PAGE_W - MARGIN - w,
                y: baseline,
                size: 6.5,
                bold: false,
                color: GREY_TEXT,
                text: right,
            });
        }
    }
}

/// The longest prefix of `text` that fits in `w` with «…» after it.
fn shorten(face: &Face, text: &str, size: f32, w: f32) -> (String, f32) {
    let ellipsis = face.width("…", size);
    let mut used = ellipsis;
    let mut out = String::new();
    for ch in text.chars() {
        let cw = face.glyph(ch).1 * size;
        if used + cw > w {
            break;
        }
        used += cw;
        out.push(ch);
    }
    let out = out.trim_end().to_string() + "…";
    let width = face.width(&out, size);
    (out, width)
}

// ---- Tables ----

struct Col {
    w: f32,
    align: Align,
    size: f32,
    /// Background of the whole column (weekend, holiday).
    shade: Option<Rgb>,
}

struct Table {
    cols: Vec<Col>,
    /// Header cells, each one or more stacked lines.
    head: Vec<Vec<String>>,
    head_size: f32,
    head_h: f32,
    row_h: f32,
}

#[derive(Clone, Copy, PartialEq)]
enum RowStyle {
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
fn table(l: &mut Layout, t: &Table, rows: impl Iterator<Item = (Vec<String>, RowStyle)>) {
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

// ---- The sections ----

fn page_heading(t: &Tabel) -> Vec<HeadLine> {
    let stamp = match &t.approval {
        Some(a) => HeadLine {
            text: format!(
                "УТВЕРЖДЁН {}, утвердил: {}. Контрольная сумма (SHA-256): {}",
                astana_time(a.approved_at),
                a.approved_by,
                a.content_hash
            ),
            size: 7.0,
            bold: true,
            gap: 10.0,
        },
        None => HeadLine {
            text: format!(
                "Не утверждён — черновик, сформирован {}",
                astana_time(t.generated_at)
            ),
            size: 7.0,
            bold: false,
            gap: 10.0,
        },
    };
    vec![
        HeadLine {
            text: format!("{} за {}", TITLE.to_uppercase(), month_ru(t.month)),
            size: 11.0,
            bold: true,
            gap: 11.0,
        },
        HeadLine {
            text: format!("({TITLE_KK})"),
            size: 7.0,
            bold: false,
            gap: 9.5,
        },
        HeadLine {
            text: format!(
                "Организация образования: {}      БИН: {}      Месяц: {} ({})",
                t.school.name,
                t.school.bin,
                month_ru(t.month),
                t.month
            ),
            size: 8.5,
            bold: false,
            gap: 11.0,
        },
        stamp,
    ]
}

fn grid(l: &mut Layout, t: &Tabel) {
    const NO: f32 = 18.0;
    const NAME: f32 = 126.0;
    const CLASS: f32 = 26.0;
    const CATEGORY: f32 = 68.0;
    const TOTAL: f32 = 26.0;
    let days = t.days.len().max(1) as f32;
    let day_w = (CONTENT_W - NO - NAME - CLASS - CATEGORY - TOTAL) / days;
    let body = 6.5;
    let mut cols = vec![
        Col {
            w: NO,
            align: Align::Right,
            size: body,
            shade: None,
        },
        Col {
            w: NAME,
            align: Align::Left,
            size: body,
            shade: None,
        },
        Col {
            w: CLASS,
            align: Align::Center,
            size: body,
            shade: None,
        },
        Col {
            w: CATEGORY,
            align: Align::Left,
            size: 5.6,
            shade: None,
        },
    ];
    let mut head = vec![
        vec!["№".to_string()],
        vec!["ФИО обучающегося".to_string()],
        vec!["Класс".to_string()],
        vec!["Категория".to_string()],
    ];
    for d in &t.days {
        cols.push(Col {
            w: day_w,
            align: Align::Center,
            size: body,
            shade: if d.holiday {
                Some(HOLIDAY)
            } else if d.weekend {
                Some(WEEKEND)
            } else {
                None
            },
        });
        let mut lines = vec![d.date.day().to_string()];
        if let Some(mark) = super::day_mark(d) {
            lines.push(mark.to_string());
        }
        head.push(lines);
    }
    cols.push(Col {
        w: TOTAL,
        align: Align::Center,
        size: body,
        shade: None,
    });
    head.push(vec!["Итого".to_string()]);
    let spec = Table {
        cols,
        head,
        head_size: 6.5,
        head_h: 18.0,
        row_h: 10.5,
    };
    let count = |n: Option<&u32>| match n {
        Some(&n) if n > 0 => n.to_string(),
        _ => String::new(),
    };
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

    // Legend.
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

fn summary(l: &mut Layout, t: &Tabel) {
    let mut lines: Vec<(String, String, bool)> = vec![
        (
            "Учтённых питаний за месяц".into(),
            group_thousands(u64::from(t.totals.meals)),
            false,
        ),
        (
            "Получили питание, учащихся".into(),
            group_thousands(u64::from(t.totals.students_fed)),
            false,
        ),
        (
            "Цена одного питания".into(),
            tenge_ru(t.totals.meal_price_tiyn),
            false,
        ),
        (
            format!(
                "Сумма за месяц ({} × {})",
                group_thousands(u64::from(t.totals.meals)),
                tenge_ru(t.totals.meal_price_tiyn)
            ),
            tenge_ru(t.totals.amount_tiyn),
            false,
        ),
    ];
    if let Some(adj) = &t.adjustments {
        lines.push((
            format!(
                "Корректировка за {}: {} пит., поступивших после утверждения",
                month_ru(adj.month),
                group_thousands(u64::from(adj.meals))
            ),
            tenge_ru(adj.amount_tiyn),
            false,
        ));
    }
    lines.push(("Итого к оплате".into(), tenge_ru(t.payable_tiyn), true));
    if !t.excluded.is_empty() {
        lines.push((
            "Не учтено (повторы и отклонённые при синхронизации), см. ниже".into(),
            group_thousands(t.excluded.len() as u64),
            false,
        ));
    }
    let lead = 11.5;
    l.ensure(16.0 + lead * lines.len() as f32);
    l.y += 4.0;
    l.line(format!("Итоги за {}", month_ru(t.month)), 9.0, true, 13.0);
    let label_w = 330.0;
    let value_w = 110.0;
    for (label, value, bold) in lines {
        let baseline = l.y + lead * 0.75;
        l.text_in(
            MARGIN,
            label_w,
            baseline,
            8.5,
            bold,
            INK,
            label,
            Align::Left,
        );
        l.text_in(
            MARGIN + label_w,
            value_w,
            baseline,
            8.5,
            bold,
            INK,
            value,
            Align::Right,
        );
        l.y += lead;
    }
    l.hline(MARGIN, MARGIN + label_w + value_w, l.y + 1.0, 0.4);
    l.y += 6.0;
}

fn list_cols(widths: &[(f32, Align)]) -> Vec<Col> {
    widths
        .iter()
        .map(|&(w, align)| Col {
            w,
            align,
            size: 6.5,
            shade: None,
        })
        .collect()
}

fn excluded(l: &mut Layout, t: &Tabel) {
    if t.excluded.is_empty() {
        return;
    }
    l.ensure(14.0 + 14.0 + 10.0);
    l.y += 4.0;
    l.line(
        format!(
            "Не учтено в табеле: повторы и питания, отклонённые при синхронизации — {}",
            group_thousands(t.excluded.len() as u64)
        ),
        9.0,
        true,
        14.0,
    );
    let spec = Table {
        cols: list_cols(&[
            (22.0, Align::Right),
            (50.0, Align::Center),
            (170.0, Align::Left),
            (32.0, Align::Center),
            (82.0, Align::Left),
            (62.0, Align::Left),
            (58.0, Align::Left),
            (200.0, Align::Left),
        ]),
        head: [
            "№",
            "Дата",
            "ФИО обучающегося",
            "Класс",
            "Категория",
            "Приём пищи",
            "Статус",
            "Причина",
        ]
        .iter()
        .map(|s| vec![s.to_string()])
        .collect(),
        head_size: 6.5,
        head_h: 12.0,
        row_h: 10.0,
    };
    let rows = t.excluded.iter().enumerate().map(|(i, m)| {
        (
            vec![
                (i + 1).to_string(),
                date_ru(m.service_day),
                m.student.full_name.clone(),
                m.student.class_label.clone(),
                category_ru(m.student.category).to_string(),
                slot_ru(&m.slot),
                status_ru(m.status).to_string(),
                reason_ru(m.reason.as_deref()),
            ],
            RowStyle::Body,
        )
    });
    table(l, &spec, rows);
    l.y += 6.0;
}

fn adjustments(l: &mut Layout, t: &Tabel) {
    let Some(adj) = &t.adjustments else {
        return;
    };
    l.ensure(14.0 + 14.0 + 10.0);
    l.y += 4.0;
    l.line(
        format!(
            "Корректировка: питания за {}, поступившие после утверждения табеля — {} пит., {}",
            month_ru(adj.month),
            group_thousands(u64::from(adj.meals)),
            tenge_ru(adj.amount_tiyn)
        ),
        9.0,
        true,
        14.0,
    );
    let spec = Table {
        cols: list_cols(&[
            (22.0, Align::Right),
            (50.0, Align::Center),
            (170.0, Align::Left),
            (32.0, Align::Center),
            (82.0, Align::Left),
            (62.0, Align::Left),
            (110.0, Align::Left),
        ]),
        head: [
            "№",
            "Дата",
            "ФИО обучающегося",
            "Класс",
            "Категория",
            "Приём пищи",
            "Поступило",
        ]
        .iter()
        .map(|s| vec![s.to_string()])
        .collect(),
        head_size: 6.5,
        head_h: 12.0,
        row_h: 10.0,
    };
    let rows = adj.rows.iter().enumerate().map(|(i, m)| {
        (
            vec![
                (i + 1).to_string(),
                date_ru(m.service_day),
                m.student.full_name.clone(),
                m.student.class_label.clone(),
                category_ru(m.student.category).to_string(),
                slot_ru(&m.slot),
                astana_time(m.received_at),
            ],
            RowStyle::Body,
        )
    });
    table(l, &spec, rows);
    l.y += 6.0;
}

fn signatures(l: &mut Layout, t: &Tabel) {
    let stamp_h = if t.approval.is_some() { 34.0 } else { 0.0 };
    l.ensure(stamp_h + 80.0);
    if let Some(a) = &t.approval {
        let y = l.y + 4.0;
        let w = 470.0;
        l.hline(MARGIN, MARGIN + w, y, 0.8);
        l.hline(MARGIN, MARGIN + w, y + 26.0, 0.8);
        l.vline(MARGIN, y, y + 26.0, 0.8);
        l.vline(MARGIN + w, y, y + 26.0, 0.8);
        l.text_in(
            MARGIN + 6.0,
            w - 12.0,
            y + 10.5,
            8.0,
            true,
            INK,
            format!(
                "Табель утверждён директором: {}, {}",
                astana_time(a.approved_at),
                a.approved_by
            ),
            Align::Left,
        );
        l.text_in(
            MARGIN + 6.0,
            w - 12.0,
            y + 21.0,
            6.5,
            false,
            INK,
            format!("Контрольная сумма (SHA-256): {}", a.content_hash),
            Align::Left,
        );
        l.y = y + 26.0 + 4.0;
    }
    let mut y = l.y + 22.0;
    for (who, seal) in [("Социальный педагог", false), ("Директор", true)]
    {
        let x = MARGIN;
        l.text_in(x, 110.0, y, 9.0, false, INK, who.to_string(), Align::Left);
        let sign = (x + 112.0, x + 232.0);
        let name = (x + 246.0, x + 416.0);
        l.hline(sign.0, sign.1, y + 1.5, 0.5);
        l.text_in(
            sign.1 + 2.0,
            10.0,
            y,
            9.0,
            false,
            INK,
            "/".into(),
            Align::Center,
        );
        l.hline(name.0, name.1, y + 1.5, 0.5);
        l.text_in(
            name.1 + 2.0,
            10.0,
            y,
            9.0,
            false,
            INK,
            "/".into(),
            Align::Center,
        );
        l.text_in(
            sign.0,
            sign.1 - sign.0,
            y + 8.5,
            6.0,
            false,
            GREY_TEXT,
            "(подпись)".into(),
            Align::Center,
        );
        l.text_in(
            name.0,
            name.1 - name.0,
            y + 8.5,
            6.0,
            false,
            GREY_TEXT,
            "(фамилия, инициалы)".into(),
            Align::Center,
        );
        if seal {
            l.text_in(
                x + 450.0,
                40.0,
                y,
                9.0,
                true,
                INK,
                "М.П.".into(),
                Align::Left,
            );
        }
        y += 28.0;
    }
    l.y = y;
}

// ---- Drawing ----

fn fill(color: Rgb) -> Fill {
    Fill {
        paint: rgb::Color::new(color.0, color.1, color.2).into(),
        opacity: NormalizedF32::ONE,
        rule: Default::default(),
    }
}

fn emit(fonts: &Fonts, pages: Vec<PageOps>, t: &Tabel) -> Result<Vec<u8>, RenderError> {
    let mut doc = Document::new();
    let created = t.generated_at.to_offset(time::UtcOffset::UTC);
    doc.set_metadata(
        Metadata::new()
            .title(format!(
                "{TITLE} — {} — {}",
                t.school.bin,
                month_ru(t.month)
            ))
            .language("ru".into())
            .creation_date(
                DateTime::new(u16::try_from(created.year()).unwrap_or(0))
                    .month(u8::from(created.month()))
                    .day(created.day())
                    .hour(created.hour())
                    .minute(created.minute())
                    .second(created.second())
                    .utc_offset_hour(0),
            ),
    );
    let settings = PageSettings::from_wh(PAGE_W, PAGE_H)
        .ok_or_else(|| RenderError::Pdf("page size".into()))?;
    for ops in pages {
        let mut page = doc.start_page_with(settings.clone());
        let mut surface = page.surface();

        surface.set_stroke(None);
        let mut rects = ops.rects.into_iter().peekable();
        while let Some((color, first)) = rects.next() {
            let mut path = PathBuilder::new();
            path.push_rect(first);
            while let Some((_, r)) = rects.next_if(|(c, _)| *c == color) {
                path.push_rect(r);
            }
            if let Some(path) = path.finish() {
                surface.set_fill(Some(fill(color)));
                surface.draw_path(&path);
            }
        }

        surface.set_fill(None);
        let mut lines = ops.lines;
        lines.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut lines = lines.into_iter().peekable();
        while let Some((width, x1, y1, x2, y2)) = lines.next() {
            let mut path = PathBuilder::new();
            path.move_to(x1, y1);
            path.line_to(x2, y2);
            while let Some((_, x1, y1, x2, y2)) = lines.next_if(|l| l.0 == width) {
                path.move_to(x1, y1);
                path.line_to(x2, y2);
            }
            if let Some(path) = path.finish() {
                surface.set_stroke(Some(Stroke {
                    paint: rgb::Color::new(RULE.0, RULE.1, RULE.2).into(),
                    width,
                    ..Default::default()
                }));
                surface.draw_path(&path);
            }
        }

        surface.set_stroke(None);
        let mut current: Option<Rgb> = None;
        for op in ops.texts {
            if current != Some(op.color) {
                surface.set_fill(Some(fill(op.color)));
                current = Some(op.color);
            }
            let face = fonts.face(op.bold);
            let glyphs = face.glyphs(&op.text);
            surface.draw_glyphs(
                Point::from_xy(op.x, op.y),
                &glyphs,
                face.font.clone(),
                &op.text,
                op.size,
                false,
            );
        }
        surface.finish();
        page.finish();
    }
    doc.finish().map_err(|e| RenderError::Pdf(format!("{e:?}")))
}
