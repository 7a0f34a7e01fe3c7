//! The табель as an accountant reads it (issue 14, point 10): names in a Kazakh school's
//! register order in all four formats, and the CSV's amounts as numbers in a Russian-locale
//! spreadsheet.

use std::io::Cursor;

use calamine::{Reader, Xlsx};
use time::macros::{date, datetime};

use super::tests::{iin, keep, month, ok, pdf_text, string, student, CsvRead};
use super::*;
use crate::domain::tabel::{build, Approval, TabelFacts};
use crate::domain::School;

/// The register's order of the class below.
const REGISTER: [&str; 8] = [
    "Ахметов Данияр",
    "Әлиев Арман",
    "Бекова Айгерим",
    "Иванова Мария",
    "Іргебаев Нұрлан",
    "Кенжебаев Ерлан",
    "Қасымова Дана",
    "Яковлев Иван",
];

/// One class whose names arrive in code-point-hostile order, each fed once, approved.
fn class_tabel() -> Tabel {
    let arrival = [7, 4, 1, 6, 0, 3, 5, 2];
    let students: Vec<_> = arrival
        .iter()
        .map(|&i| {
            (
                iin(1000 + 70 * i as u16),
                student("2А", REGISTER[i], Category::Primary),
            )
        })
        .collect();
    let meals = students
        .iter()
        .map(|(who, _)| ok(*who, date!(2026 - 11 - 02), "lunch"))
        .collect();
    let facts = TabelFacts {
        school: School {
            bin: "050140001238".parse().expect("bin"),
            name: "Мектеп".into(),
        },
        students,
        meals,
        late_from_previous: vec![],
        voided_from_previous: vec![],
        other_students: vec![],
        slots: vec!["lunch".into()],
        meal_price_tiyn: 123_456,
        calendar: Default::default(),
    };
    let mut t = build(&facts, month(), datetime!(2026-12-01 04:00 UTC));
    t.approval = Some(Approval {
        approved_at: datetime!(2026-12-06 09:05 UTC),
        approved_by: "Сейткали Айгуль Бекболатовна (директор)".into(),
        content_hash: crate::domain::tabel::content_hash(&t),
    });
    t
}

#[test]
fn the_class_is_in_register_order_in_all_four_formats() {
    let t = class_tabel();
    let built: Vec<&str> = t
        .rows
        .iter()
        .map(|r| r.student.full_name.as_str())
        .collect();
    assert_eq!(built, REGISTER, "the табель itself");

    let json: serde_json::Value =
        serde_json::from_slice(&render(&t, Format::Json).expect("json")).expect("json");
    let names: Vec<&str> = json["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| r["student"]["full_name"].as_str().expect("name"))
        .collect();
    assert_eq!(names, REGISTER, "JSON");

    let csv = CsvRead::parse(&render(&t, Format::Csv).expect("csv"));
    let names: Vec<&str> = csv.records[1..=REGISTER.len()]
        .iter()
        .map(|r| r[1].as_str())
        .collect();
    assert_eq!(names, REGISTER, "CSV");

    let bytes = render(&t, Format::Xlsx).expect("xlsx");
    let mut book: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).expect("open xlsx");
    let sheet = book.worksheet_range("Табель").expect("sheet");
    let header = (0..40)
        .find(|&r| string(sheet.get_value((r, 1))) == "ФИО")
        .expect("header");
    let names: Vec<String> = (1..=REGISTER.len() as u32)
        .map(|i| string(sheet.get_value((header + i, 1))))
        .collect();
    assert_eq!(names, REGISTER, "XLSX");

    let bytes = render(&t, Format::Pdf).expect("pdf");
    keep("register.pdf", &bytes);
    if let Some(text) = pdf_text(&bytes) {
        let at: Vec<usize> = REGISTER
            .iter()
            .map(|n| text.find(n).unwrap_or_else(|| panic!("{n} in the PDF")))
            .collect();
        assert!(at.windows(2).all(|w| w[0] < w[1]), "PDF order: {at:?}");
        assert!(text.contains("06.12.2026 14:05"), "Astana time in the PDF");
        assert!(
            text.contains("Сейткали Айгуль Бекболатовна"),
            "director by name"
        );
    }
}

/// A cell as a Russian-locale spreadsheet reads it: a number only with a decimal comma (and
/// no `.`), digits grouped by no-break spaces at most.
fn russian_number(cell: &str) -> Option<f64> {
    let plain: String = cell.chars().filter(|&c| c != '\u{a0}').collect();
    let (int, frac) = plain.split_once(',').unwrap_or((&plain, "0"));
    let int = int.strip_prefix('-').unwrap_or(int);
    let digits = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit());
    if !digits(int) || !digits(frac) {
        return None;
    }
    let value: f64 = plain.replace(',', ".").parse().ok()?;
    Some(value)
}

#[test]
fn csv_amounts_are_numbers_for_a_russian_locale_and_times_are_astana() {
    let t = class_tabel();
    let bytes = render(&t, Format::Csv).expect("csv");
    keep("register.csv", &bytes);
    // The separator is `;`, so the decimal comma stays inside its cell.
    let first_line = String::from_utf8_lossy(&bytes[3..])
        .lines()
        .next()
        .map(str::to_string)
        .unwrap_or_default();
    assert!(
        first_line.starts_with("№;ФИО;Класс;Категория;"),
        "{first_line}"
    );
    let text = String::from_utf8_lossy(&bytes);
    assert!(
        text.contains("Сумма за месяц, тиын;987648;9876,48\r\n"),
        "the exact cells: {text}"
    );
    let csv = CsvRead::parse(&bytes);
    for (label, tiyn) in [
        ("Цена одного питания, тиын", t.totals.meal_price_tiyn),
        ("Сумма за месяц, тиын", t.totals.amount_tiyn),
        ("Итого к оплате, тиын", t.payable_tiyn),
    ] {
        let line = csv.find(label);
        let tenge = russian_number(&line[2]).unwrap_or_else(|| panic!("{label}: {line:?}"));
        assert!((tenge * 100.0 - tiyn as f64).abs() < 0.5, "{label}");
        assert_eq!(russian_number(&line[1]), Some(tiyn as f64), "{label}");
    }
    assert_eq!(russian_number("2400.00"), None, "a point is text there");
    assert_eq!(russian_number("2 400,00"), None, "so is a plain space");
    assert_eq!(csv.find("Утверждён")[1], "06.12.2026 14:05");
    assert_eq!(
        csv.find("Утвердил")[1],
        "Сейткали Айгуль Бекболатовна (директор)"
    );
}
