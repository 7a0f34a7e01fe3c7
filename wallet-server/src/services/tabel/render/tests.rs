//! The four download formats carry the same numbers: each one is read back (CSV with the csv
//! crate, XLSX with calamine and its XML, PDF with poppler's `pdftotext`) and compared with
//! the табель it was rendered from.
//!
//! `pdftotext` is optional locally (the PDF part is skipped with a note when it is missing)
//! and required where `REQUIRE_PDFTOTEXT=1` (CI). With `TABEL_RENDER_DIR=<dir>` the rendered
//! files are also written there, to look at.

use std::collections::BTreeMap;
use std::io::{Cursor, Read};
use std::process::Command;

use calamine::{Data, Reader, Xlsx};
use shared::time::YearMonth;
use shared::Iin;
use time::macros::{date, datetime};
use time::{Date, Weekday};

use super::*;
use crate::domain::tabel::{build, content_hash, Approval, MealFact, TabelFacts, TabelStudent};
use crate::domain::School;

// ---- Fixtures ----

pub(super) fn iin(serial: u16) -> Iin {
    (serial..serial + 60)
        .find_map(|s| Iin::generate(date!(2016 - 01 - 01), shared::Sex::Female, s))
        .expect("iin")
}

pub(super) fn student(class: &str, name: &str, category: Category) -> TabelStudent {
    TabelStudent {
        class_label: class.into(),
        full_name: name.into(),
        category,
    }
}

fn meal(who: Iin, day: Date, slot: &str, status: MealStatus, reason: Option<&str>) -> MealFact {
    MealFact {
        event_id: uuid::Uuid::now_v7(),
        student: who,
        service_day: day,
        slot: slot.into(),
        status,
        reason: reason.map(str::to_string),
        received_at: datetime!(2026-11-30 10:00 UTC),
        confirmed_off_day: false,
        manual: None,
    }
}

pub(super) fn ok(who: Iin, day: Date, slot: &str) -> MealFact {
    meal(who, day, slot, MealStatus::Accepted, None)
}

pub(super) fn month() -> YearMonth {
    "2026-11".parse().expect("month")
}

fn school_days(month: YearMonth) -> impl Iterator<Item = Date> {
    month
        .days()
        .filter(|d| !matches!(d.weekday(), Weekday::Saturday | Weekday::Sunday))
}

/// A school with two meal slots; a student fed twice a day, a meal on a Saturday (confirmed
/// by the director, so billed), a duplicate, a rejected meal, a listed student without meals, October's late meals, and
/// the director's stamp.
fn tabel() -> Tabel {
    let (a, b, c, d, e) = (iin(100), iin(200), iin(300), iin(400), iin(500));
    let mut meals = vec![
        ok(a, date!(2026 - 11 - 02), "breakfast"),
        ok(a, date!(2026 - 11 - 02), "lunch"),
        ok(a, date!(2026 - 11 - 03), "breakfast"),
        ok(a, date!(2026 - 11 - 03), "lunch"),
        ok(a, date!(2026 - 11 - 04), "lunch"),
        MealFact {
            confirmed_off_day: true,
            manual: None,
            ..ok(c, date!(2026 - 11 - 07), "lunch")
        },
        ok(c, date!(2026 - 11 - 16), "lunch"),
        ok(d, date!(2026 - 11 - 10), "breakfast"),
        meal(
            d,
            date!(2026 - 11 - 10),
            "breakfast",
            MealStatus::Duplicate,
            Some("already_ate"),
        ),
        meal(
            d,
            date!(2026 - 11 - 11),
            "lunch",
            MealStatus::Rejected,
            Some("voucher_inactive"),
        ),
        meal(
            b,
            date!(2026 - 11 - 05),
            "lunch",
            MealStatus::Duplicate,
            Some("already_ate"),
        ),
    ];
    meals.extend(school_days(month()).map(|day| ok(b, day, "lunch")));
    let late = |who, day, slot: &str| MealFact {
        received_at: datetime!(2026-11-03 05:30 UTC),
        ..ok(who, day, slot)
    };
    let facts = TabelFacts {
        school: School {
            bin: "050140001238".parse().expect("bin"),
            name: "КГУ «Школа-гимназия № 12 имени Абая»".into(),
        },
        students: vec![
            (a, student("2А", "Бекова Айгерим Нурлановна", Category::Asp)),
            (
                b,
                student("1Б", "Ахметов Данияр Ерланович", Category::Primary),
            ),
            (c, student("2А", "Аубакиров Ерлан", Category::LowIncome)),
            (
                d,
                student("5В", "Өмірзақ Әсел Қайратқызы", Category::Orphan),
            ),
            (e, student("1Б", "Ким Виктория", Category::Primary)),
        ],
        meals,
        late_from_previous: vec![
            late(c, date!(2026 - 10 - 30), "lunch"),
            late(a, date!(2026 - 10 - 29), "breakfast"),
        ],
        voided_from_previous: vec![],
        other_students: vec![],
        slots: vec!["breakfast".into(), "lunch".into()],
        meal_price_tiyn: 95_050,
        calendar: Default::default(),
    };
    let mut t = build(&facts, month(), datetime!(2026-12-01 04:00 UTC));
    t.approval = Some(Approval {
        approved_at: datetime!(2026-12-02 04:15 UTC),
        approved_by: "Сейткали А. Б. (директор)".into(),
        content_hash: content_hash(&t),
    });
    t
}

/// 2,000 students fed at lunch every school day, half of them at breakfast too.
fn big_tabel() -> Tabel {
    let names = [
        "Айгерим",
        "Данияр",
        "Әсел",
        "Ерлан",
        "Виктория",
        "Нұрсұлтан",
    ];
    let surnames = ["Ахметов", "Бекова", "Өмірзақ", "Ким", "Сейткали", "Иванова"];
    let mut ids = (1..=9999u16)
        .filter_map(|serial| Iin::generate(date!(2015 - 03 - 01), shared::Sex::Male, serial));
    let mut students = Vec::new();
    let mut meals = Vec::new();
    for i in 0..2000u32 {
        let who = ids.next().expect("enough IINs");
        let name = format!(
            "{} {} №{i}",
            surnames[i as usize % surnames.len()],
            names[i as usize / surnames.len() % names.len()]
        );
        let class = format!("{}{}", 1 + i % 11, ["А", "Б", "В"][i as usize % 3]);
        students.push((who, student(&class, &name, Category::Primary)));
        for day in school_days(month()) {
            meals.push(ok(who, day, "lunch"));
            if i % 2 == 0 {
                meals.push(ok(who, day, "breakfast"));
            }
        }
    }
    let facts = TabelFacts {
        school: School {
            bin: "050140001238".parse().expect("bin"),
            name: "Большая школа".into(),
        },
        students,
        meals,
        late_from_previous: vec![],
        voided_from_previous: vec![],
        other_students: vec![],
        slots: vec!["breakfast".into(), "lunch".into()],
        meal_price_tiyn: 80_000,
        calendar: Default::default(),
    };
    build(&facts, month(), datetime!(2026-12-01 04:00 UTC))
}

pub(super) fn keep(name: &str, bytes: &[u8]) {
    if let Ok(dir) = std::env::var("TABEL_RENDER_DIR") {
        let path = std::path::Path::new(&dir).join(name);
        std::fs::write(&path, bytes).expect("write a rendered file");
        eprintln!("wrote {}", path.display());
    }
}

/// The marks of a row as one number per day of the month (0 = none).
fn marks_by_day(t: &Tabel, marks: &BTreeMap<Date, u32>) -> Vec<u32> {
    t.days
        .iter()
        .map(|d| marks.get(&d.date).copied().unwrap_or(0))
        .collect()
}

// ---- Words ----

#[test]
fn formats_have_words_types_and_extensions() {
    for f in Format::ALL {
        assert_eq!(Format::parse(f.file_extension()), Some(f));
    }
    assert_eq!(Format::parse("PDF"), Some(Format::Pdf));
    assert_eq!(Format::parse("docx"), None);
    assert_eq!(Format::Csv.content_type(), "text/csv; charset=utf-8");
    assert!(Format::Xlsx.content_type().contains("spreadsheetml"));
    assert_eq!(
        Format::Pdf.file_name(&tabel()),
        "tabel-050140001238-2026-11.pdf"
    );
}

#[test]
fn money_days_and_months_read_as_russian() {
    assert_eq!(tenge_ru(240_000), "2 400,00 ₸");
    assert_eq!(tenge_ru(123_456_789), "1 234 567,89 ₸");
    assert_eq!(tenge_ru(5), "0,05 ₸");
    assert_eq!(tenge_plain(240_000), "2400.00");
    assert_eq!(tenge_plain(-5), "-0.05");
    assert_eq!(group_thousands(1_000), "1 000");
    assert_eq!(group_thousands(999), "999");
    let calendar = crate::domain::calendar::SchoolCalendar::default();
    let col = |d| crate::domain::tabel::calendar::column(&calendar, d);
    assert_eq!(day_label(&col(date!(2026 - 11 - 01))), "01 вс");
    assert_eq!(day_label(&col(date!(2026 - 11 - 07))), "07 сб");
    assert_eq!(day_label(&col(date!(2026 - 11 - 02))), "02");
    assert_eq!(day_label(&col(date!(2026 - 12 - 16))), "16 пр");
    assert_eq!(month_ru(month()), "Ноябрь 2026");
    assert_eq!(
        astana_time(datetime!(2026-12-02 04:15 UTC)),
        "02.12.2026 09:15"
    );
    assert_eq!(tenge_comma(240_000), "2400,00");
    assert_eq!(tenge_comma(123_456_789), "1234567,89");
    assert_eq!(tenge_comma(-5), "-0,05");
    assert_eq!(category_ru(Category::Orphan), "Сироты/без попечения");
    assert_eq!(reason_ru(Some("already_ate")), "Уже питался в этот день");
    assert_eq!(reason_ru(Some("outside_programme")), "Вне сроков программы");
    assert_eq!(reason_ru(Some("new_code")), "new_code");
}

#[test]
fn the_fixture_is_what_the_tests_think() {
    let t = tabel();
    assert_eq!(t.totals.meals, 5 + 21 + 2 + 1);
    assert_eq!(t.totals.students_fed, 4);
    assert_eq!(t.totals.amount_tiyn, 29 * 95_050);
    assert_eq!(t.excluded.len(), 3);
    assert_eq!(t.adjustments.as_ref().map(|a| a.meals), Some(2));
    assert_eq!(t.payable_tiyn, 31 * 95_050);
    assert_eq!(t.rows.len(), 5);
    assert!(t.rows.iter().any(|r| r.marks.values().any(|&n| n == 2)));
}

// ---- JSON ----

#[test]
fn json_is_the_tabel_itself() {
    let t = tabel();
    let bytes = render(&t, Format::Json).expect("json");
    keep("tabel.json", &bytes);
    let back: Tabel = serde_json::from_slice(&bytes).expect("parse");
    assert_eq!(back, t);
    let v: serde_json::Value = serde_json::from_slice(&bytes).expect("value");
    assert_eq!(v["totals"]["amount_tiyn"], t.totals.amount_tiyn);
    assert_eq!(
        v["rows"][0]["student"]["full_name"],
        t.rows[0].student.full_name
    );
}

// ---- CSV ----

pub(super) struct CsvRead {
    pub(super) records: Vec<Vec<String>>,
}

impl CsvRead {
    pub(super) fn parse(bytes: &[u8]) -> CsvRead {
        assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "CSV starts with a BOM");
        let mut reader = ::csv::ReaderBuilder::new()
            .delimiter(b';')
            .has_headers(false)
            .flexible(true)
            .from_reader(&bytes[3..]);
        let records = reader
            .records()
            .map(|r| r.expect("record").iter().map(str::to_string).collect())
            .collect();
        CsvRead { records }
    }

    pub(super) fn find(&self, label: &str) -> &[String] {
        self.records
            .iter()
            .find(|r| r.first().map(String::as_str) == Some(label))
            .unwrap_or_else(|| panic!("no CSV line {label:?}"))
    }

    fn number(&self, label: &str) -> i64 {
        self.find(label)[1].parse().expect("a number")
    }

    /// The lines of a list section: those after the section's header line that start with
    /// a date.
    fn list(&self, title_prefix: &str) -> Vec<&Vec<String>> {
        let start = self
            .records
            .iter()
            .position(|r| r[0].starts_with(title_prefix))
            .unwrap_or_else(|| panic!("no CSV section {title_prefix:?}"));
        self.records[start + 2..]
            .iter()
            .take_while(|r| r[0].len() == 10 && r[0].as_bytes()[4] == b'-')
            .collect()
    }
}

fn cell_count(s: &str) -> u32 {
    if s.is_empty() {
        0
    } else {
        s.parse().expect("a count")
    }
}

#[test]
fn csv_carries_the_same_numbers() {
    let t = tabel();
    let bytes = render(&t, Format::Csv).expect("csv");
    keep("tabel.csv", &bytes);
    let csv = CsvRead::parse(&bytes);
    let header = &csv.records[0];
    assert_eq!(&header[..4], ["№", "ФИО", "Класс", "Категория"]);
    assert_eq!(header.len(), 4 + t.days.len() + 1);
    assert_eq!(header[4 + 6 - 1], "06");
    assert_eq!(header[4], "01 вс", "weekends are marked");
    assert_eq!(header.last().map(String::as_str), Some("Итого"));

    for (i, row) in t.rows.iter().enumerate() {
        let line = &csv.records[1 + i];
        assert_eq!(line[0], (i + 1).to_string());
        assert_eq!(line[1], row.student.full_name);
        assert_eq!(line[2], row.student.class_label);
        assert_eq!(line[3], category_ru(row.student.category));
        let days: Vec<u32> = line[4..4 + t.days.len()]
            .iter()
            .map(|s| cell_count(s))
            .collect();
        assert_eq!(
            days,
            marks_by_day(&t, &row.marks),
            "{}",
            row.student.full_name
        );
        assert_eq!(line[4 + t.days.len()], row.total.to_string());
    }
    let foot = &csv.records[1 + t.rows.len()];
    assert_eq!(foot[1], "Итого за день");
    let per_day: Vec<u32> = foot[4..4 + t.days.len()]
        .iter()
        .map(|s| cell_count(s))
        .collect();
    assert_eq!(per_day, marks_by_day(&t, &t.per_day));
    assert_eq!(foot[4 + t.days.len()], t.totals.meals.to_string());

    assert_eq!(csv.find("БИН")[1], "050140001238");
    assert_eq!(csv.find("Месяц")[1], "2026-11");
    assert_eq!(csv.number("Питаний за месяц"), i64::from(t.totals.meals));
    assert_eq!(
        csv.number("Получили питание (учащихся)"),
        i64::from(t.totals.students_fed)
    );
    let money = |label: &str, tiyn: i64| {
        let line = csv.find(label);
        assert_eq!(line[1], tiyn.to_string(), "{label}");
        assert_eq!(line[2], tenge_comma(tiyn), "{label}");
    };
    money("Цена одного питания, тиын", t.totals.meal_price_tiyn);
    money("Сумма за месяц, тиын", t.totals.amount_tiyn);
    let adj = t.adjustments.as_ref().expect("adjustments");
    money("Корректировка за 2026-10, тиын", adj.amount_tiyn);
    assert_eq!(
        csv.number("Корректировка за 2026-10: питаний"),
        i64::from(adj.meals)
    );
    money("Итого к оплате, тиын", t.payable_tiyn);

    let excluded = csv.list("Не учтено");
    assert_eq!(excluded.len(), t.excluded.len());
    for (line, m) in excluded.iter().zip(&t.excluded) {
        assert_eq!(line[0], m.service_day.to_string());
        assert_eq!(line[1], m.student.full_name);
        assert_eq!(line[5], status_ru(m.status));
        assert_eq!(line[7], m.reason.clone().unwrap_or_default());
    }
    let late = csv.list("Корректировка:");
    assert_eq!(late.len(), adj.rows.len());
    assert_eq!(late[0][1], adj.rows[0].student.full_name);

    let stamp = t.approval.as_ref().expect("stamp");
    assert_eq!(
        csv.find("Контрольная сумма (SHA-256)")[1],
        stamp.content_hash
    );
    assert_eq!(csv.find("Утвердил")[1], stamp.approved_by);
    assert_eq!(csv.find("Утверждён")[1], "02.12.2026 09:15");
    assert_eq!(csv.find("Сформирован")[1], "01.12.2026 09:00");
    assert_eq!(late[0][5], "03.11.2026 10:30", "received, Astana time");
    assert!(csv.find("Примечание")[1].ends_with(TIME_NOTE));
}

#[test]
fn csv_defuses_formulas_in_names() {
    let mut t = tabel();
    t.rows[0].student.full_name = "=HYPERLINK(\"http://x\")".into();
    let csv = CsvRead::parse(&render(&t, Format::Csv).expect("csv"));
    assert_eq!(csv.records[1][1], "'=HYPERLINK(\"http://x\")");
}

#[test]
fn xlsx_defuses_formulas_like_the_csv_and_fits_any_title() {
    let mut t = tabel();
    t.rows[0].student.full_name = "=HYPERLINK(\"http://x\")".into();
    t.rows[0].student.class_label = "-1+2".into();
    // Input is bounded far below a cell; a title line quoting a long name still fits.
    t.school.name = "Ш".repeat(40_000);
    let bytes = render(&t, Format::Xlsx).expect("xlsx");
    let mut book: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).expect("open xlsx");
    let sheet = book.worksheet_range("Табель").expect("sheet");
    let cells: Vec<String> = sheet
        .used_cells()
        .map(|(_, _, c)| string(Some(c)))
        .collect();
    assert!(cells.contains(&"'=HYPERLINK(\"http://x\")".to_string()));
    assert!(cells.contains(&"'-1+2".to_string()));
    assert!(cells.iter().all(|c| c.chars().count() <= 32_767));
    let formulas = book.worksheet_formula("Табель").expect("formulas");
    assert!(formulas
        .used_cells()
        .all(|(_, _, f)| !f.contains("HYPERLINK")));
}

// ---- XLSX ----

fn number(cell: Option<&Data>) -> f64 {
    match cell {
        Some(Data::Float(f)) => *f,
        Some(Data::Int(i)) => *i as f64,
        Some(Data::String(s)) => s.parse().unwrap_or(f64::NAN),
        Some(Data::Empty) | None => 0.0,
        other => panic!("not a number: {other:?}"),
    }
}

pub(super) fn string(cell: Option<&Data>) -> String {
    match cell {
        Some(Data::String(s)) => s.clone(),
        Some(Data::Empty) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

fn zip_text(bytes: &[u8], name: &str) -> String {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).expect("xlsx is a zip");
    let mut file = zip.by_name(name).expect("part in the zip");
    let mut text = String::new();
    file.read_to_string(&mut text).expect("utf-8 xml");
    text
}

#[test]
fn xlsx_carries_the_same_numbers() {
    let t = tabel();
    let bytes = render(&t, Format::Xlsx).expect("xlsx");
    keep("tabel.xlsx", &bytes);
    let mut book: Xlsx<_> = Xlsx::new(Cursor::new(bytes.clone())).expect("open xlsx");
    assert_eq!(
        book.sheet_names(),
        vec!["Табель", "Не учтено", "Корректировки"]
    );
    let sheet = book.worksheet_range("Табель").expect("sheet");
    let formulas = book.worksheet_formula("Табель").expect("formulas");
    let at = |r: u32, c: u32| sheet.get_value((r, c));
    let header = (0..40)
        .find(|&r| string(at(r, 1)) == "ФИО")
        .expect("header row");
    let days = t.days.len() as u32;
    let total_col = 4 + days;
    assert_eq!(string(at(header, total_col)), "Итого");
    assert_eq!(string(at(header, 4)), "01\nвс");
    let title: String = (0..header).map(|r| string(at(r, 0))).collect();
    assert!(title.contains("050140001238") && title.contains("Ноябрь 2026"));
    assert!(title.contains(&t.school.name));

    for (i, row) in t.rows.iter().enumerate() {
        let r = header + 1 + i as u32;
        assert_eq!(string(at(r, 1)), row.student.full_name);
        assert_eq!(string(at(r, 2)), row.student.class_label);
        assert_eq!(string(at(r, 3)), category_ru(row.student.category));
        let marks: Vec<u32> = (0..days).map(|d| number(at(r, 4 + d)) as u32).collect();
        assert_eq!(marks, marks_by_day(&t, &row.marks));
        assert_eq!(number(at(r, total_col)), f64::from(row.total), "cached SUM");
        let f = formulas.get_value((r, total_col)).expect("a formula");
        assert!(f.starts_with("SUM("), "{f}");
    }
    let foot = header + 1 + t.rows.len() as u32;
    assert_eq!(string(at(foot, 1)), "Итого за день");
    let per_day: Vec<u32> = (0..days).map(|d| number(at(foot, 4 + d)) as u32).collect();
    assert_eq!(per_day, marks_by_day(&t, &t.per_day));
    assert_eq!(number(at(foot, total_col)), f64::from(t.totals.meals));
    assert!(formulas
        .get_value((foot, 4))
        .is_some_and(|f| f.starts_with("SUM(")));

    let find = |label: &str| {
        (foot..foot + 30)
            .find(|&r| string(at(r, 1)) == label)
            .unwrap_or_else(|| panic!("no summary line {label:?}"))
    };
    let value = |label: &str| number(at(find(label), 2));
    let tenge = |label: &str| number(at(find(label), 3));
    assert_eq!(value("Питаний за месяц"), f64::from(t.totals.meals));
    assert_eq!(
        value("Получили питание (учащихся)"),
        f64::from(t.totals.students_fed)
    );
    assert_eq!(
        value("Цена одного питания, тиын"),
        t.totals.meal_price_tiyn as f64
    );
    assert_eq!(value("Сумма за месяц, тиын"), t.totals.amount_tiyn as f64);
    assert_eq!(
        tenge("Сумма за месяц, тиын"),
        t.totals.amount_tiyn as f64 / 100.0
    );
    let adj = t.adjustments.as_ref().expect("adjustments");
    assert_eq!(
        value("Корректировка за 2026-10, тиын"),
        adj.amount_tiyn as f64
    );
    assert_eq!(value("Итого к оплате, тиын"), t.payable_tiyn as f64);
    assert_eq!(tenge("Итого к оплате, тиын"), t.payable_tiyn as f64 / 100.0);
    let payable = formulas
        .get_value((find("Итого к оплате, тиын"), 2))
        .expect("payable formula");
    assert!(payable.contains('+'), "amount + adjustments: {payable}");
    assert!(title.contains(&t.approval.as_ref().expect("stamp").content_hash));

    let excluded = book.worksheet_range("Не учтено").expect("excluded sheet");
    let listed = (3..100)
        .take_while(|&r| !string(excluded.get_value((r, 0))).is_empty())
        .count();
    assert_eq!(listed, t.excluded.len());
    assert_eq!(
        string(excluded.get_value((3, 1))),
        t.excluded[0].student.full_name
    );
    let late = book
        .worksheet_range("Корректировки")
        .expect("adjustments sheet");
    let listed = (3..100)
        .take_while(|&r| !string(late.get_value((r, 0))).is_empty())
        .count();
    assert_eq!(listed, adj.rows.len());

    // The header row is frozen with the name columns; no person in the metadata.
    let sheet_xml = zip_text(&bytes, "xl/worksheets/sheet1.xml");
    let pane = sheet_xml
        .split("<pane ")
        .nth(1)
        .and_then(|p| p.split("/>").next())
        .expect("a pane");
    assert!(pane.contains("state=\"frozen\""), "{pane}");
    assert!(pane.contains("xSplit=\"3\""), "{pane}");
    assert!(
        pane.contains(&format!("ySplit=\"{}\"", header + 1)),
        "{pane}"
    );
    assert!(sheet_xml.contains("<cols>"), "column widths are set");
    let core = zip_text(&bytes, "docProps/core.xml");
    assert!(
        !core.contains("<dc:creator>") || core.contains("<dc:creator></dc:creator>"),
        "{core}"
    );
    assert!(!core.contains("Сейткали"), "{core}");
}

// ---- PDF ----

/// The PDF's text as poppler sees it (`-layout` keeps a table row on one line), or `None`
/// when pdftotext is not installed and not required.
pub(super) fn pdf_text(bytes: &[u8]) -> Option<String> {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("tabel.pdf");
    std::fs::write(&path, bytes).expect("write pdf");
    match Command::new("pdftotext")
        .args(["-layout", "-enc", "UTF-8"])
        .arg(&path)
        .arg("-")
        .output()
    {
        Ok(out) => {
            assert!(
                out.status.success(),
                "pdftotext failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            Some(String::from_utf8(out.stdout).expect("utf-8 text"))
        }
        Err(e) => {
            if std::env::var("REQUIRE_PDFTOTEXT").as_deref() == Ok("1") {
                panic!("pdftotext is required (REQUIRE_PDFTOTEXT=1) but cannot run: {e}");
            }
            eprintln!(
                "SKIPPED the PDF text checks: pdftotext cannot run ({e}); \
                 install poppler-utils, or set REQUIRE_PDFTOTEXT=1 to make this fail"
            );
            None
        }
    }
}

fn numbers_in(line: &str) -> Vec<u32> {
    line.split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect()
}

#[test]
fn pdf_carries_the_same_numbers() {
    let t = tabel();
    let bytes = render(&t, Format::Pdf).expect("pdf");
    keep("tabel.pdf", &bytes);
    assert!(bytes.starts_with(b"%PDF-"));
    let Some(text) = pdf_text(&bytes) else {
        return;
    };
    for needle in [
        "ТАБЕЛЬ УЧЁТА ПИТАНИЯ ОБУЧАЮЩИХСЯ за Ноябрь 2026",
        "Білім алушылардың тамақтануын есепке алу табелі",
        &t.school.name,
        "БИН: 050140001238",
        "Социальный педагог",
        "Директор",
        "М.П.",
        "Лист 1 из",
    ] {
        assert!(text.contains(needle), "{needle:?} in\n{text}");
    }

    // Every student's line: №, the name, the non-zero marks in day order, the total.
    let lines: Vec<&str> = text.lines().collect();
    for (i, row) in t.rows.iter().enumerate() {
        let line = lines
            .iter()
            .find(|l| l.contains(&row.student.full_name))
            .unwrap_or_else(|| panic!("{} in\n{text}", row.student.full_name));
        assert!(line.contains(&row.student.class_label), "{line}");
        let numbers = numbers_in(line);
        let marks: Vec<u32> = marks_by_day(&t, &row.marks)
            .into_iter()
            .filter(|&n| n > 0)
            .collect();
        let mut expected = vec![i as u32 + 1];
        expected.extend(marks);
        expected.push(row.total);
        assert_eq!(numbers, expected, "{line}");
    }
    let foot = lines
        .iter()
        .find(|l| l.contains("Итого за день"))
        .expect("per-day totals");
    let mut expected: Vec<u32> = marks_by_day(&t, &t.per_day)
        .into_iter()
        .filter(|&n| n > 0)
        .collect();
    expected.push(t.totals.meals);
    assert_eq!(numbers_in(foot), expected, "{foot}");

    // The summary.
    let summary = |label: &str| -> String {
        lines
            .iter()
            .find(|l| l.trim_start().starts_with(label))
            .unwrap_or_else(|| panic!("{label:?} in\n{text}"))
            .to_string()
    };
    let meals = summary("Учтённых питаний за месяц");
    assert!(meals.trim_end().ends_with(&format!(" {}", t.totals.meals)));
    let fed = summary("Получили питание, учащихся");
    assert!(fed
        .trim_end()
        .ends_with(&format!(" {}", t.totals.students_fed)));
    assert!(summary("Цена одного питания")
        .trim_end()
        .ends_with(&tenge_ru(t.totals.meal_price_tiyn)));
    assert!(summary("Сумма за месяц")
        .trim_end()
        .ends_with(&tenge_ru(t.totals.amount_tiyn)));
    assert!(summary("Итого к оплате")
        .trim_end()
        .ends_with(&tenge_ru(t.payable_tiyn)));
    let adj = t.adjustments.as_ref().expect("adjustments");
    assert!(summary("Корректировка за Октябрь 2026")
        .trim_end()
        .ends_with(&tenge_ru(adj.amount_tiyn)));
    assert!(text.contains("27 564,50 ₸") && text.contains("29 465,50 ₸"));

    // The excluded and late meals are listed; the stamp is shown.
    for m in &t.excluded {
        let day = date_ru(m.service_day);
        assert!(
            lines
                .iter()
                .any(|l| l.contains(&day) && l.contains(&m.student.full_name)),
            "excluded {day} {}",
            m.student.full_name
        );
    }
    for m in &adj.rows {
        let day = date_ru(m.service_day);
        assert!(lines
            .iter()
            .any(|l| l.contains(&day) && l.contains(&m.student.full_name)));
    }
    let stamp = t.approval.as_ref().expect("stamp");
    assert!(text.contains(&stamp.content_hash));
    assert!(text.contains(&stamp.approved_by));
    assert!(text.contains("02.12.2026 09:15"));
    assert!(
        text.contains(TIME_NOTE),
        "the zone of the times is said once"
    );
}

// ---- All four together ----

/// The numbers every format must carry.
#[derive(Debug, PartialEq)]
struct Numbers {
    /// Name → (total, marks per day).
    rows: BTreeMap<String, (u32, Vec<u32>)>,
    per_day: Vec<u32>,
    meals: i64,
    students_fed: i64,
    amount_tiyn: i64,
    payable_tiyn: i64,
}

fn from_tabel(t: &Tabel) -> Numbers {
    Numbers {
        rows: t
            .rows
            .iter()
            .map(|r| {
                (
                    r.student.full_name.clone(),
                    (r.total, marks_by_day(t, &r.marks)),
                )
            })
            .collect(),
        per_day: marks_by_day(t, &t.per_day),
        meals: i64::from(t.totals.meals),
        students_fed: i64::from(t.totals.students_fed),
        amount_tiyn: t.totals.amount_tiyn,
        payable_tiyn: t.payable_tiyn,
    }
}

fn from_csv(bytes: &[u8], days: usize) -> Numbers {
    let csv = CsvRead::parse(bytes);
    let grid: Vec<&Vec<String>> = csv.records[1..]
        .iter()
        .take_while(|r| r[1] != "Итого за день")
        .collect();
    let counts =
        |r: &[String]| -> Vec<u32> { r[4..4 + days].iter().map(|s| cell_count(s)).collect() };
    let foot = &csv.records[1 + grid.len()];
    Numbers {
        rows: grid
            .iter()
            .map(|r| {
                (
                    r[1].clone(),
                    (r[4 + days].parse().expect("total"), counts(r)),
                )
            })
            .collect(),
        per_day: counts(foot),
        meals: csv.number("Питаний за месяц"),
        students_fed: csv.number("Получили питание (учащихся)"),
        amount_tiyn: csv.number("Сумма за месяц, тиын"),
        payable_tiyn: csv.number("Итого к оплате, тиын"),
    }
}

fn from_xlsx(bytes: &[u8], days: u32) -> Numbers {
    let mut book: Xlsx<_> = Xlsx::new(Cursor::new(bytes.to_vec())).expect("open xlsx");
    let sheet = book.worksheet_range("Табель").expect("sheet");
    let at = |r: u32, c: u32| sheet.get_value((r, c));
    let header = (0..40)
        .find(|&r| string(at(r, 1)) == "ФИО")
        .expect("header");
    let foot = (header..header + 100_000)
        .find(|&r| string(at(r, 1)) == "Итого за день")
        .expect("foot");
    let counts = |r: u32| -> Vec<u32> { (0..days).map(|d| number(at(r, 4 + d)) as u32).collect() };
    let find = |label: &str| {
        let r = (foot..foot + 30)
            .find(|&r| string(at(r, 1)) == label)
            .expect("summary line");
        number(at(r, 2)) as i64
    };
    Numbers {
        rows: (header + 1..foot)
            .map(|r| {
                (
                    string(at(r, 1)),
                    (number(at(r, 4 + days)) as u32, counts(r)),
                )
            })
            .collect(),
        per_day: counts(foot),
        meals: find("Питаний за месяц"),
        students_fed: find("Получили питание (учащихся)"),
        amount_tiyn: find("Сумма за месяц, тиын"),
        payable_tiyn: find("Итого к оплате, тиын"),
    }
}

#[test]
fn all_four_formats_carry_the_same_numbers() {
    let t = tabel();
    let expected = from_tabel(&t);
    let json: Tabel =
        serde_json::from_slice(&render(&t, Format::Json).expect("json")).expect("parse");
    assert_eq!(from_tabel(&json), expected, "JSON");
    let days = t.days.len();
    assert_eq!(
        from_csv(&render(&t, Format::Csv).expect("csv"), days),
        expected,
        "CSV"
    );
    assert_eq!(
        from_xlsx(&render(&t, Format::Xlsx).expect("xlsx"), days as u32),
        expected,
        "XLSX"
    );
    // The PDF is read by lines (the marks without their columns): see
    // `pdf_carries_the_same_numbers`; here, its totals.
    if let Some(text) = pdf_text(&render(&t, Format::Pdf).expect("pdf")) {
        for (name, (total, _)) in &expected.rows {
            let line = text
                .lines()
                .find(|l| l.contains(name.as_str()))
                .expect("row");
            assert_eq!(numbers_in(line).last(), Some(total), "PDF {name}");
        }
        assert!(text.contains(&tenge_ru(expected.amount_tiyn)), "PDF amount");
        assert!(
            text.contains(&tenge_ru(expected.payable_tiyn)),
            "PDF payable"
        );
    }
}

// ---- Days off ----

#[test]
fn weekends_and_holidays_are_marked_and_holiday_meals_held_out_in_every_format() {
    let who = iin(100);
    let facts = TabelFacts {
        school: School {
            bin: "050140001238".parse().expect("bin"),
            name: "Школа".into(),
        },
        students: vec![(who, student("3А", "Ким Виктория", Category::Asp))],
        meals: vec![
            ok(who, date!(2026 - 12 - 15), "day"),
            ok(who, date!(2026 - 12 - 16), "day"),
        ],
        late_from_previous: vec![],
        voided_from_previous: vec![],
        other_students: vec![],
        slots: vec!["day".into()],
        meal_price_tiyn: 80_000,
        calendar: Default::default(),
    };
    let t = build(
        &facts,
        "2026-12".parse().expect("m"),
        datetime!(2027-01-01 04:00 UTC),
    );
    let csv = CsvRead::parse(&render(&t, Format::Csv).expect("csv"));
    assert_eq!(csv.records[0][4 + 15], "16 пр", "Independence Day");
    assert_eq!(csv.records[0][4 + 4], "05 сб");
    assert_eq!(
        csv.records[1][4 + 15],
        "",
        "a meal on a holiday is not billed until the director confirms it"
    );
    let unbilled = csv.list(crate::services::tabel::render::UNBILLED_TITLE);
    assert_eq!(unbilled.len(), 1, "{unbilled:?}");
    assert_eq!(unbilled[0][0], "2026-12-16");
    assert_eq!(unbilled[0][5], "праздничный день");
    assert_eq!(unbilled[0][6], t.unbilled[0].event_id.to_string());
    assert_eq!(csv.number("Питаний за месяц"), 1);
    let bytes = render(&t, Format::Xlsx).expect("xlsx");
    let sheet_xml = zip_text(&bytes, "xl/worksheets/sheet1.xml");
    let styles = zip_text(&bytes, "xl/styles.xml");
    assert!(
        styles.contains("F8CBAD") && styles.contains("D9D9D9"),
        "shades"
    );
    assert!(sheet_xml.contains("state=\"frozen\""));
    assert!(
        zip_text(&bytes, "xl/workbook.xml").contains("Не оплачено"),
        "the not-billed sheet"
    );
    let json: serde_json::Value =
        serde_json::from_slice(&render(&t, Format::Json).expect("json")).expect("parse");
    assert_eq!(json["unbilled"][0]["service_day"], "2026-12-16");
    assert_eq!(json["unbilled"][0]["day"], "holiday");
    assert_eq!(json["totals"]["amount_tiyn"], 80_000);
    let pdf = render(&t, Format::Pdf).expect("pdf");
    keep("december.pdf", &pdf);
    if let Some(text) = pdf_text(&pdf) {
        assert!(text.contains("праздничный день") && text.contains("выходной"));
        assert!(text.contains(&tenge_ru(80_000)), "one billed meal");
        assert!(text.contains("Не оплачивается"), "the not-billed list");
    }
}

// ---- Size ----

#[test]
fn an_empty_month_renders_in_every_format() {
    let facts = TabelFacts {
        school: School {
            bin: "050140001238".parse().expect("bin"),
            name: "Школа".into(),
        },
        students: vec![],
        meals: vec![],
        late_from_previous: vec![],
        voided_from_previous: vec![],
        other_students: vec![],
        slots: vec!["day".into()],
        meal_price_tiyn: 80_000,
        calendar: Default::default(),
    };
    let t = build(&facts, month(), datetime!(2026-12-01 04:00 UTC));
    for f in Format::ALL {
        let bytes = render(&t, f).unwrap_or_else(|e| panic!("{f:?}: {e}"));
        assert!(!bytes.is_empty());
    }
    let csv = CsvRead::parse(&render(&t, Format::Csv).expect("csv"));
    assert_eq!(csv.number("Питаний за месяц"), 0);
}

#[test]
fn two_thousand_students_flow_over_pages_with_the_header_repeated() {
    let t = big_tabel();
    assert_eq!(t.rows.len(), 2000);
    let mut sizes = Vec::new();
    for f in [Format::Csv, Format::Xlsx, Format::Pdf] {
        let started = std::time::Instant::now();
        let bytes = render(&t, f).expect("render");
        // Informational only (a debug build); budgets are for the benchmarks.
        eprintln!(
            "{f:?}: {} bytes in {:?} (debug build)",
            bytes.len(),
            started.elapsed()
        );
        sizes.push(bytes.len());
        if f == Format::Pdf {
            keep("big.pdf", &bytes);
            let Some(text) = pdf_text(&bytes) else {
                continue;
            };
            let pages: Vec<&str> = text
                .split('\u{c}')
                .filter(|p| !p.trim().is_empty())
                .collect();
            assert!(pages.len() >= 40, "{} pages", pages.len());
            let n = pages.len();
            for (i, page) in pages.iter().enumerate() {
                assert!(
                    page.contains("ТАБЕЛЬ УЧЁТА ПИТАНИЯ"),
                    "heading on page {}",
                    i + 1
                );
                assert!(page.contains(&format!("Лист {} из {n}", i + 1)));
                if page.contains("ФИО обучающегося") {
                    continue;
                }
                // Only pages after the grid may go without its column header.
                assert!(!page.contains("№1999 "), "page {}", i + 1);
            }
            for row in &t.rows {
                assert!(
                    text.contains(&row.student.full_name),
                    "{}",
                    row.student.full_name
                );
            }
            let last_row = text
                .lines()
                .find(|l| l.contains(&t.rows[1999].student.full_name))
                .expect("last row");
            assert_eq!(numbers_in(last_row).last(), Some(&t.rows[1999].total));
            let foot = text
                .lines()
                .find(|l| l.contains("Итого за день"))
                .expect("per-day totals");
            let mut expected: Vec<u32> = t.per_day.values().copied().collect();
            expected.push(t.totals.meals);
            assert_eq!(
                numbers_in(foot),
                expected,
                "big numbers are not cut: {foot}"
            );
            assert!(text.contains(&tenge_ru(t.payable_tiyn)));
        }
    }
    assert!(sizes.iter().all(|&s| s > 10_000));
}
