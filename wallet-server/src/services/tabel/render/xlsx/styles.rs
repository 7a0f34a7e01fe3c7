//! The workbook's cell formats: thin-bordered cells, the tinted header and totals, weekend
//! and holiday shades, and the integer (tiyn) and tenge number formats.

use rust_xlsxwriter::{Color, Format, FormatAlign, FormatBorder};

/// Shade of weekend columns.
const WEEKEND: u32 = 0xD9D9D9;
/// Shade of holiday columns.
const HOLIDAY: u32 = 0xF8CBAD;
/// Shade of header and totals cells.
const HEAD: u32 = 0xDDEBF7;

/// The cell formats of every sheet, built once per workbook.
pub(super) struct Styles {
    pub(super) title: Format,
    pub(super) bold: Format,
    pub(super) italic: Format,
    pub(super) head: Format,
    pub(super) head_weekend: Format,
    pub(super) head_holiday: Format,
    pub(super) text: Format,
    pub(super) center: Format,
    pub(super) day: Format,
    pub(super) day_weekend: Format,
    pub(super) day_holiday: Format,
    pub(super) total: Format,
    pub(super) foot: Format,
    pub(super) foot_label: Format,
    pub(super) integer: Format,
    pub(super) tenge: Format,
    pub(super) integer_bold: Format,
    pub(super) tenge_bold: Format,
}

impl Styles {
    pub(super) fn new() -> Styles {
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
