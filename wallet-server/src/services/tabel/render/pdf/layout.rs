//! The page layout: text runs, filled rectangles and rules collected per page (with the
//! heading repeated on each new page), so the page count is known before anything is drawn.

use krilla::geom::Rect;

use super::font::{shorten, Fonts};
use super::{Rgb, BOTTOM, CONTENT_W, GREY_TEXT, INK, MARGIN, PAGE_H, PAGE_W};

/// Where text sits in its box.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Align {
    Left,
    Center,
    Right,
}

/// A run of text at a baseline, in one face, size and colour.
pub(super) struct TextOp {
    pub(super) x: f32,
    /// Baseline.
    pub(super) y: f32,
    pub(super) size: f32,
    pub(super) bold: bool,
    pub(super) color: Rgb,
    pub(super) text: String,
}

#[derive(Default)]
/// Everything drawn on one page, collected before drawing.
pub(super) struct PageOps {
    /// Filled rectangles, drawn first, in order.
    pub(super) rects: Vec<(Rgb, Rect)>,
    /// Rules `(width, x1, y1, x2, y2)`, drawn over the rectangles.
    pub(super) lines: Vec<(f32, f32, f32, f32, f32)>,
    pub(super) texts: Vec<TextOp>,
}

/// A line of the heading repeated on every page.
pub(super) struct HeadLine {
    pub(super) text: String,
    pub(super) size: f32,
    pub(super) bold: bool,
    /// Distance from the previous baseline.
    pub(super) gap: f32,
}

/// The document being laid out: its pages so far and the cursor on the last one.
pub(super) struct Layout<'f> {
    pub(super) fonts: &'f Fonts,
    heading: Vec<HeadLine>,
    pub(super) pages: Vec<PageOps>,
    /// The top of free space on the current page.
    pub(super) y: f32,
}

impl<'f> Layout<'f> {
    pub(super) fn new(fonts: &'f Fonts, heading: Vec<HeadLine>) -> Self {
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

    pub(super) fn new_page(&mut self) {
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
    pub(super) fn ensure(&mut self, height: f32) {
        if self.y + height > BOTTOM {
            self.new_page();
        }
    }

    /// Text in a box `[x, x + w]`, aligned; when too wide, a number is set smaller and other
    /// text is shortened with «…».
    #[allow(clippy::too_many_arguments)]
    pub(super) fn text_in(
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
    pub(super) fn line(&mut self, text: String, size: f32, bold: bool, lead: f32) {
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

    pub(super) fn rect(&mut self, color: Rgb, x: f32, y: f32, w: f32, h: f32) {
        if let Some(r) = Rect::from_xywh(x, y, w, h) {
            self.page().rects.push((color, r));
        }
    }

    pub(super) fn hline(&mut self, x1: f32, x2: f32, y: f32, width: f32) {
        self.page().lines.push((width, x1, y, x2, y));
    }

    pub(super) fn vline(&mut self, x: f32, y1: f32, y2: f32, width: f32) {
        self.page().lines.push((width, x, y1, x, y2));
    }

    /// Page numbers and the generation note at the bottom of every page.
    pub(super) fn footers(&mut self, left: &str) {
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
