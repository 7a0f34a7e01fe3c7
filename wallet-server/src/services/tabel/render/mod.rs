//! The табель's download formats: JSON for machines, CSV and XLSX for spreadsheets, PDF for
//! print and signatures.
//!
//! Every format renders the same [`Tabel`] and takes every number from it (nothing is
//! recounted here), so the four cannot disagree; `tests.rs` reads each one back and proves it.
//!
//! Money: the табель keeps integer tiyn. CSV and XLSX carry every amount twice, as the tiyn
//! integer (exact, authoritative) and as tenge with two decimals (`2400,00`, a decimal comma
//! in CSV so that a Russian- or Kazakh-locale spreadsheet reads a number, a real number in
//! XLSX); the PDF prints tenge for people (`2 400,00 ₸`).
//!
//! Times: one format, Astana time, `06.12.2026 14:05` ([`astana_time`]), in CSV, XLSX and
//! PDF; JSON keeps RFC 3339 instants for machines. Dates of days in the CSV and XLSX lists
//! stay ISO (`2026-11-02`), which every spreadsheet locale reads as a date.

pub mod csv;
pub mod pdf;
pub mod xlsx;

use time::{Month, OffsetDateTime, Weekday};

use crate::domain::calendar::DayStatus;
use crate::domain::meal::MealStatus;
use crate::domain::tabel::{Adjustments, DayColumn, LateMeal, Tabel};
use crate::domain::Category;

/// A download format of the табель.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    Json,
    Csv,
    Xlsx,
    Pdf,
}

impl Format {
    /// Every format, in the order the API lists them.
    pub const ALL: [Format; 4] = [Format::Json, Format::Csv, Format::Xlsx, Format::Pdf];

    /// The `format=` word (`json`, `csv`, `xlsx`, `pdf`; case-insensitive).
    pub fn parse(word: &str) -> Option<Format> {
        match word.trim().to_ascii_lowercase().as_str() {
            "json" => Some(Format::Json),
            "csv" => Some(Format::Csv),
            "xlsx" => Some(Format::Xlsx),
            "pdf" => Some(Format::Pdf),
            _ => None,
        }
    }

    /// The `Content-Type` of a download.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Json => "application/json",
            Format::Csv => "text/csv; charset=utf-8",
            Format::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            Format::Pdf => "application/pdf",
        }
    }

    /// The file name extension, without the dot.
    pub fn file_extension(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Csv => "csv",
            Format::Xlsx => "xlsx",
            Format::Pdf => "pdf",
        }
    }

    /// A download's file name, ASCII only: `tabel-<BIN>-<YYYY-MM>.<ext>`.
    pub fn file_name(self, tabel: &Tabel) -> String {
        format!(
            "tabel-{}-{}.{}",
            tabel.school.bin,
            tabel.month,
            self.file_extension()
        )
    }
}

/// Why a табель could not be rendered (never expected; the renderers write to memory).
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("табель JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("табель CSV: {0}")]
    Csv(String),
    #[error("табель XLSX: {0}")]
    Xlsx(#[from] rust_xlsxwriter::XlsxError),
    #[error("табель PDF: {0}")]
    Pdf(String),
}

/// Renders a табель in a format.
pub fn render(tabel: &Tabel, format: Format) -> Result<Vec<u8>, RenderError> {
    match format {
        Format::Json => Ok(serde_json::to_vec_pretty(tabel)?),
        Format::Csv => csv::render(tabel),
        Format::Xlsx => xlsx::render(tabel),
        Format::Pdf => pdf::render(tabel),
    }
}

// ---- Words and numbers shared by the formats ----

/// The document's title.
const TITLE: &str = "Табель учёта питания обучающихся";
/// Kazakh title, printed under the Russian one.
const TITLE_KK: &str = "Білім алушылардың тамақтануын есепке алу табелі";

/// The Russian word of a category.
pub fn category_ru(category: Category) -> &'static str {
    match category {
        Category::Asp => "АСП",
        Category::LowIncome => "Малообеспеченные",
        Category::Orphan => "Сироты/без попечения",
        Category::Primary => "Начальные классы",
    }
}

/// The status of a meal that is not counted.
pub fn status_ru(status: MealStatus) -> &'static str {
    match status {
        MealStatus::Accepted => "Учтено",
        MealStatus::Duplicate => "Повтор",
        MealStatus::Rejected => "Отклонено",
        MealStatus::Voided => "Аннулировано",
    }
}

/// Why a day is not a school day, in Russian (the column of the "not billed" list).
pub fn day_status_ru(status: DayStatus) -> &'static str {
    match status {
        DayStatus::SchoolDay => "учебный день",
        DayStatus::RestDay => "выходной",
        DayStatus::Holiday => "праздничный день",
        DayStatus::DayOff => "перенесённый выходной",
        DayStatus::SchoolBreak => "каникулы",
    }
}

/// Title of the list of meals on non-school days (CSV, XLSX, PDF).
/// The title of the list of meals served by hand (issue 19).
pub const MANUAL_TITLE: &str = "Ручные отметки: питание без карты и QR-кода (с причиной)";

/// The last column of an adjustment row: when a late meal arrived, or when and why a meal of
/// the approved month was voided (taken off the amount).
pub fn late_note(m: &LateMeal) -> String {
    match &m.voided {
        None => astana_time(m.received_at),
        Some(reason) => format!("аннулировано {}: {reason}", astana_time(m.received_at)),
    }
}

/// The adjustment's title: late meals added and voided ones taken off.
pub fn adjustments_title(adj: &Adjustments) -> String {
    let mut title = format!(
        "Корректировка: питания за {}, поступившие после утверждения табеля — {} пит.",
        month_ru(adj.month),
        group_thousands(u64::from(adj.meals))
    );
    if adj.voided > 0 {
        title.push_str(&format!(
            ", аннулировано после утверждения {} пит.",
            group_thousands(u64::from(adj.voided))
        ));
    }
    title
}

pub const UNBILLED_TITLE: &str =
    "Не оплачивается: питание в неучебный день, не подтверждённое директором";

/// Why a meal was not counted, in Russian; an unknown code is shown as it is.
pub fn reason_ru(code: Option<&str>) -> String {
    let Some(code) = code else {
        return String::new();
    };
    match code {
        "already_ate" => "Уже питался в этот день",
        "unknown_voucher" => "Неизвестный ваучер",
        "other_school" => "Ваучер другой школы",
        "served_in_the_future" => "Время питания в будущем",
        "wrong_service_day" => "Не тот день питания",
        "wrong_slot" => "Не тот приём пищи",
        "outside_hours" => "Вне времени приёма пищи",
        "voucher_inactive" => "Ваучер не активен",
        "outside_programme" => "Вне сроков программы",
        "not_on_list" => "Нет в списке на месяц",
        "wrong_shift" => "Приём пищи другой смены",
        "manual_without_reason" => "Ручная отметка без причины",
        other => return other.to_string(),
    }
    .to_string()
}

/// A meal slot's name in Russian, when it is one of the usual English words.
pub fn slot_ru(slot: &str) -> String {
    match slot {
        "day" => "за день",
        "breakfast" => "завтрак",
        "lunch" => "обед",
        "dinner" | "supper" => "ужин",
        "snack" => "полдник",
        other => return other.to_string(),
    }
    .to_string()
}

/// The month in words, e.g. `Ноябрь 2026`.
pub fn month_ru(month: shared::time::YearMonth) -> String {
    let name = match month.month() {
        Month::January => "Январь",
        Month::February => "Февраль",
        Month::March => "Март",
        Month::April => "Апрель",
        Month::May => "Май",
        Month::June => "Июнь",
        Month::July => "Июль",
        Month::August => "Август",
        Month::September => "Сентябрь",
        Month::October => "Октябрь",
        Month::November => "Ноябрь",
        Month::December => "Декабрь",
    };
    format!("{name} {}", month.year())
}

fn weekday_ru(day: Weekday) -> &'static str {
    match day {
        Weekday::Monday => "пн",
        Weekday::Tuesday => "вт",
        Weekday::Wednesday => "ср",
        Weekday::Thursday => "чт",
        Weekday::Friday => "пт",
        Weekday::Saturday => "сб",
        Weekday::Sunday => "вс",
    }
}

/// What marks a day column as not a working day: `пр` for a holiday, `к` for a school
/// break, else the weekday of a weekend, else nothing.
pub fn day_mark(day: &DayColumn) -> Option<&'static str> {
    if day.holiday {
        Some("пр")
    } else if day.school_break {
        Some("к")
    } else if day.weekend {
        Some(weekday_ru(day.date.weekday()))
    } else {
        None
    }
}

/// A day column's heading in CSV and XLSX: `05`, or `06 вс` / `16 пр` on a day off.
pub fn day_label(day: &DayColumn) -> String {
    match day_mark(day) {
        Some(mark) => format!("{:02} {mark}", day.date.day()),
        None => format!("{:02}", day.date.day()),
    }
}

/// Tenge with two decimals and a `.` point, for machines (the XLSX's cached formula
/// values): `2400.00`, `-0.05`.
pub fn tenge_plain(tiyn: i64) -> String {
    let sign = if tiyn < 0 { "-" } else { "" };
    let abs = tiyn.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

/// Tenge for the CSV: two decimals, a decimal comma, no grouping: `2400,00`, `-0,05`. A
/// Russian- or Kazakh-locale Excel or LibreOffice reads this as a number (a `.` point, or a
/// plain space between thousands, would make it text there); the CSV's `;` separator leaves
/// the comma free.
pub fn tenge_comma(tiyn: i64) -> String {
    tenge_plain(tiyn).replace('.', ",")
}

/// Tenge for people: `2 400,00 ₸` (spaces between thousands, a decimal comma).
pub fn tenge_ru(tiyn: i64) -> String {
    let sign = if tiyn < 0 { "-" } else { "" };
    let abs = tiyn.unsigned_abs();
    format!("{sign}{},{:02} ₸", group_thousands(abs / 100), abs % 100)
}

/// `1234567` → `1 234 567`.
pub fn group_thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(' ');
        }
        out.push(ch);
    }
    out
}

/// An instant in Astana time, the one timestamp format of CSV, XLSX and PDF:
/// `02.12.2026 09:00` (what a Russian- or Kazakh-locale spreadsheet reads as a date and
/// time). Each document says once that its times are Astana's (see [`slots_note`]).
pub fn astana_time(instant: OffsetDateTime) -> String {
    let t = instant.to_offset(shared::time::ASTANA);
    format!(
        "{:02}.{:02}.{} {:02}:{:02}",
        t.day(),
        u8::from(t.month()),
        t.year(),
        t.hour(),
        t.minute()
    )
}

/// A date for people: `02.11.2026`.
pub fn date_ru(date: time::Date) -> String {
    format!(
        "{:02}.{:02}.{}",
        date.day(),
        u8::from(date.month()),
        date.year()
    )
}

/// Says in which zone every time of the document is.
pub const TIME_NOTE: &str = "Время — Астана (UTC+5).";

/// The note line: what a number in a day cell means, and the zone of the times.
pub fn slots_note(tabel: &Tabel) -> String {
    if tabel.slots.len() > 1 {
        let names: Vec<String> = tabel.slots.iter().map(|s| slot_ru(s)).collect();
        format!(
            "В ячейке дня — число учтённых приёмов пищи ({}). {TIME_NOTE}",
            names.join(", ")
        )
    } else {
        format!("В ячейке дня — число учтённых приёмов пищи. {TIME_NOTE}")
    }
}

#[cfg(test)]
mod register_tests;
#[cfg(test)]
mod tests;

/// Text from input as a spreadsheet cell of any export (the табель's CSV and XLSX, the
/// console's students CSV): a leading `=`, `+`, `-`, `@`, tab or CR would make Excel or
/// LibreOffice read a formula, so such text gets a `'` first and is shown as written.
pub fn safe_cell(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    }
}
