//! Drawing the laid-out pages with `krilla`: per page the background rectangles (one path
//! per colour run), then the rules (one path per width), then the text; plus the document's
//! title, language and creation date.

use krilla::color::rgb;
use krilla::geom::{PathBuilder, Point, Rect};
use krilla::metadata::{DateTime, Metadata};
use krilla::num::NormalizedF32;
use krilla::page::PageSettings;
use krilla::paint::{Fill, Stroke};
use krilla::surface::Surface;
use krilla::Document;

use super::font::Fonts;
use super::layout::{PageOps, TextOp};
use super::{RenderError, Rgb, PAGE_H, PAGE_W, RULE};
use crate::domain::tabel::Tabel;
use crate::services::tabel::render::{month_ru, TITLE};

fn fill(color: Rgb) -> Fill {
    Fill {
        paint: rgb::Color::new(color.0, color.1, color.2).into(),
        opacity: NormalizedF32::ONE,
        rule: Default::default(),
    }
}

/// Draws the pages into a PDF document and returns its bytes.
pub(super) fn emit(fonts: &Fonts, pages: Vec<PageOps>, t: &Tabel) -> Result<Vec<u8>, RenderError> {
    let mut doc = Document::new();
    doc.set_metadata(metadata(t));
    let settings = PageSettings::from_wh(PAGE_W, PAGE_H)
        .ok_or_else(|| RenderError::Pdf("page size".into()))?;
    for ops in pages {
        let mut page = doc.start_page_with(settings.clone());
        let mut surface = page.surface();
        draw_rects(&mut surface, ops.rects);
        draw_lines(&mut surface, ops.lines);
        draw_texts(&mut surface, fonts, ops.texts);
        surface.finish();
        page.finish();
    }
    doc.finish().map_err(|e| RenderError::Pdf(format!("{e:?}")))
}

/// The document's title, language and creation date (the табель's generation time, UTC).
fn metadata(t: &Tabel) -> Metadata {
    let created = t.generated_at.to_offset(time::UtcOffset::UTC);
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
        )
}

/// Filled rectangles in order, consecutive ones of one colour as one path.
fn draw_rects(surface: &mut Surface, rects: Vec<(Rgb, Rect)>) {
    surface.set_stroke(None);
    let mut rects = rects.into_iter().peekable();
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
}

/// Rules `(width, x1, y1, x2, y2)`, sorted by width so each width is one path.
fn draw_lines(surface: &mut Surface, mut lines: Vec<(f32, f32, f32, f32, f32)>) {
    surface.set_fill(None);
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
}

/// The text runs, changing the fill only when the colour changes.
fn draw_texts(surface: &mut Surface, fonts: &Fonts, texts: Vec<TextOp>) {
    surface.set_stroke(None);
    let mut current: Option<Rgb> = None;
    for op in texts {
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
}
