//! The two embedded DejaVu faces, measured through `skrifa` (glyph ids, advances, widths)
//! so the PDF can align text and shorten what does not fit without a shaping engine.

use krilla::text::{GlyphId, KrillaGlyph};
use krilla::Data;
use skrifa::charmap::Charmap;
use skrifa::instance::{LocationRef, Size};
use skrifa::metrics::GlyphMetrics;
use skrifa::{FontRef, MetadataProvider};

use super::RenderError;

static REGULAR: &[u8] = include_bytes!("../../../../../assets/fonts/DejaVuSansCondensed.ttf");
static BOLD: &[u8] = include_bytes!("../../../../../assets/fonts/DejaVuSansCondensed-Bold.ttf");

/// One embedded font: krilla's handle for drawing, skrifa's tables for measuring.
pub(super) struct Face {
    pub(super) font: krilla::text::Font,
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
    pub(super) fn glyph(&self, ch: char) -> (GlyphId, f32) {
        let gid = self.charmap.map(ch).unwrap_or_default();
        let advance = self.metrics.advance_width(gid).unwrap_or(0.0) / self.upem;
        (GlyphId::new(gid.to_u32()), advance)
    }

    pub(super) fn width(&self, text: &str, size: f32) -> f32 {
        text.chars().map(|c| self.glyph(c).1).sum::<f32>() * size
    }

    pub(super) fn glyphs(&self, text: &str) -> Vec<KrillaGlyph> {
        text.char_indices()
            .map(|(i, ch)| {
                let (gid, advance) = self.glyph(ch);
                KrillaGlyph::new(gid, advance, 0.0, 0.0, 0.0, i..i + ch.len_utf8(), None)
            })
            .collect()
    }
}

/// The regular and the bold face, loaded once per document.
pub(super) struct Fonts {
    pub(super) regular: Face,
    pub(super) bold: Face,
}

impl Fonts {
    pub(super) fn load() -> Result<Fonts, RenderError> {
        Ok(Fonts {
            regular: Face::load(REGULAR)?,
            bold: Face::load(BOLD)?,
        })
    }

    pub(super) fn face(&self, bold: bool) -> &Face {
        if bold {
            &self.bold
        } else {
            &self.regular
        }
    }
}

/// The longest prefix of `text` that fits in `w` with «…» after it.
pub(super) fn shorten(face: &Face, text: &str, size: f32, w: f32) -> (String, f32) {
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
