//! End to end: the табель (issue 5) against the real `wallet-server --demo` — a new school's
//! list, its parents activating the vouchers, a canteen terminal pushing a whole month of
//! meals (with duplicates and a meal of another school's voucher), the табель of that month
//! downloaded as JSON, CSV, XLSX and PDF carrying the same numbers, the director's approval
//! freezing it, a late meal going to the next month's adjustments, and bad input refused.
//!
//! Month M is December 2026: the demo clock starts on 25 November 2026 (whatever the real
//! date) and moves to 1 December, the terminal pushes each
//! school day's meals at 12:30 that day, the director approves on 2 January 2027 and
//! January is checked on 5 January.

mod common;

use std::collections::BTreeMap;
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::process::Command;

use calamine::{Data, Reader, Xlsx};
use reqwest::Method;
use serde_json::{json, Value};
use shared::{Iin, Sex};
use time::macros::datetime;
use time::{Date, Month, OffsetDateTime, Time};

use common::wallet::{self as w, ASTANA};
use common::{Resp, Server, DEMO_PARENT_IIN, DEMO_SCHOOL_BIN};

/// Where the demo clock starts: late November 2026, before month M.
const STORY_START: OffsetDateTime = datetime!(2026-11-25 10:00 +5);
/// Month M and the month after it.
const DEC: &str = "2026-12";
const JAN: &str = "2027-01";
const SCHOOL_NAME: &str = "КГУ «Гимназия №45»";
/// Aigerim, the demo school's activated voucher: another school for the new terminal.
const AIGERIM: &str = "Сапарова Айгерим Ерлановна";

/// The students, in list order: (name, grade, class). Class `10А` is listed with the
/// `primary` category (the server forms a voucher at once for that category at any grade).
const KIDS: [(&str, i64, &str); 6] = [
    ("Сейтказиев Тимур", 10, "10А"),
    ("Абенова Алия", 2, "2Б"),
    ("Жумабеков Арман", 1, "1А"),
    ("Бекова Дана", 1, "1А"),
    ("Ким Виктория", 2, "2Б"),
    ("Ахметов Ерлан", 3, "3В"),
];
/// The tenth-grader's mother's phone (upper grades need her consent by SMS).
const UPPER_GRADE_PHONE: &str = "77015554010";
/// The табель's order of `KIDS`: class by grade number (1А < 2Б < 3В < 10А), then name.
const ORDER: [usize; 6] = [3, 2, 1, 4, 5, 0];
/// The student who never eats in December (and gets the late meal).
const NEVER: usize = 5;

struct Kid {
    parent: Iin,
    voucher: String,
}

/// Whether student `k` eats on school day number `d` of December.
fn eats(k: usize, d: usize) -> bool {
    match k {
        0 => true,
        NEVER => false,
        _ => !(d + k).is_multiple_of(4),
    }
}

/// Second meals the same day: (school day, student, in the same push as the first).
const DUPLICATES: [(usize, usize, bool); 3] = [(2, 1, true), (8, 1, false), (12, 0, false)];
/// The school day on which Aigerim's voucher is scanned at the new school's canteen.
const REJECTED_DAY: usize = 3;

fn iso_date(s: &str) -> Date {
    let part = |r: std::ops::Range<usize>| s.get(r).and_then(|p| p.parse::<u16>().ok());
    let (y, m, d) = (part(0..4), part(5..7), part(8..10));
    let month = m.and_then(|m| Month::try_from(m as u8).ok());
    match (y, month, d) {
        (Some(y), Some(m), Some(d)) => {
            Date::from_calendar_date(i32::from(y), m, d as u8).expect("a real date")
        }
        _ => panic!("not a date: {s:?}"),
    }
}

fn at(day: Date, hour: u8, minute: u8) -> OffsetDateTime {
    day.with_time(Time::from_hms(hour, minute, 0).expect("a time"))
        .assume_offset(ASTANA)
}

async fn set_clock(server: &Server, now: OffsetDateTime) {
    let answer = server
        .post_json("/dev/clock", None, &json!({"now": w::rfc3339(now)}))
        .await
        .ok_json();
    assert!(answer["now"].is_string(), "{answer}");
}

/// A terminal's meal event; ids are unique within the test's fresh database.
fn meal(seq: &mut u64, voucher: &str, day: Date, minute: u8, method: &str) -> Value {
    *seq += 1;
    json!({
        "event_id": format!("01937000-0000-7000-8000-{:012x}", *seq),
        "voucher_id": voucher,
        "slot": "day",
        "service_day": day.to_string(),
        "served_at": w::rfc3339(at(day, 12, minute)),
        "method": method,
    })
}

/// Pushes meals; returns `(status, reason)` per event, checking they answer in order.
async fn push(server: &Server, token: &str, events: Vec<Value>) -> Vec<(String, Option<String>)> {
    let answer = server
        .post_json(
            "/v1/terminals/meals",
            Some(token),
            &json!({"events": events}),
        )
        .await
        .ok_json();
    let results = answer["results"].as_array().expect("results");
    assert_eq!(results.len(), events.len(), "{answer}");
    results
        .iter()
        .zip(&events)
        .map(|(r, e)| {
            assert_eq!(r["event_id"], e["event_id"], "{answer}");
            (
                r["status"].as_str().expect("status").to_string(),
                r["reason"].as_str().map(str::to_string),
            )
        })
        .collect()
}

// ---- Reading the four formats back ----

/// The numbers every format must carry.
#[derive(Debug, PartialEq)]
struct Numbers {
    /// In the табель's order: name, class, total, marks per day of the month (0 = none).
    rows: Vec<(String, String, u32, Vec<u32>)>,
    per_day: Vec<u32>,
    meals: i64,
    students_fed: i64,
    amount_tiyn: i64,
    payable_tiyn: i64,
}

fn days_of(json: &Value) -> Vec<String> {
    json["days"]
        .as_array()
        .expect("days")
        .iter()
        .map(|d| d["date"].as_str().expect("date").to_string())
        .collect()
}

fn by_day(days: &[String], marks: &Value) -> Vec<u32> {
    days.iter()
        .map(|d| marks[d.as_str()].as_u64().unwrap_or(0) as u32)
        .collect()
}

fn int(v: &Value) -> i64 {
    v.as_i64().unwrap_or_else(|| panic!("not an integer: {v}"))
}

fn from_json(t: &Value) -> Numbers {
    let days = days_of(t);
    Numbers {
        rows: t["rows"]
            .as_array()
            .expect("rows")
            .iter()
            .map(|r| {
                (
                    r["student"]["full_name"]
                        .as_str()
                        .expect("name")
                        .to_string(),
                    r["student"]["class_label"]
                        .as_str()
                        .expect("class")
                        .to_string(),
                    int(&r["total"]) as u32,
                    by_day(&days, &r["marks"]),
                )
            })
            .collect(),
        per_day: by_day(&days, &t["per_day"]),
        meals: int(&t["totals"]["meals"]),
        students_fed: int(&t["totals"]["students_fed"]),
        amount_tiyn: int(&t["totals"]["amount_tiyn"]),
        payable_tiyn: int(&t["payable_tiyn"]),
    }
}

fn csv_records(bytes: &[u8]) -> Vec<Vec<String>> {
    let body = bytes
        .strip_prefix(b"\xEF\xBB\xBF")
        .expect("the CSV starts with a UTF-8 BOM");
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(b';')
        .has_headers(false)
        .flexible(true)
        .from_reader(body);
    reader
        .records()
        .map(|r| {
            r.expect("a CSV record")
                .iter()
                .map(str::to_string)
                .collect()
        })
        .collect()
}

fn csv_line<'a>(records: &'a [Vec<String>], label: &str) -> &'a [String] {
    records
        .iter()
        .find(|r| r.first().map(String::as_str) == Some(label))
        .unwrap_or_else(|| panic!("no CSV line {label:?}"))
}

fn count(s: &str) -> u32 {
    if s.is_empty() {
        0
    } else {
        s.parse().unwrap_or_else(|_| panic!("not a count: {s:?}"))
    }
}

fn from_csv(bytes: &[u8], days: usize) -> Numbers {
    let records = csv_records(bytes);
    assert_eq!(records[0][1], "ФИО", "{:?}", records[0]);
    assert_eq!(records[0][4 + days], "Итого", "{:?}", records[0]);
    let grid: Vec<&Vec<String>> = records[1..]
        .iter()
        .take_while(|r| r[1] != "Итого за день")
        .collect();
    let counts = |r: &[String]| -> Vec<u32> { r[4..4 + days].iter().map(|s| count(s)).collect() };
    let foot = &records[1 + grid.len()];
    let number = |label: &str| -> i64 { csv_line(&records, label)[1].parse().expect("a number") };
    Numbers {
        rows: grid
            .iter()
            .map(|r| {
                (
                    r[1].clone(),
                    r[2].clone(),
                    r[4 + days].parse().expect("total"),
                    counts(r),
                )
            })
            .collect(),
        per_day: counts(foot),
        meals: number("Питаний за месяц"),
        students_fed: number("Получили питание (учащихся)"),
        amount_tiyn: number("Сумма за месяц, тиын"),
        payable_tiyn: number("Итого к оплате, тиын"),
    }
}

fn cell_number(cell: Option<&Data>) -> f64 {
    match cell {
        Some(Data::Float(f)) => *f,
        Some(Data::Int(i)) => *i as f64,
        Some(Data::String(s)) => s.parse().unwrap_or(f64::NAN),
        Some(Data::Empty) | None => 0.0,
        other => panic!("not a number: {other:?}"),
    }
}

fn cell_string(cell: Option<&Data>) -> String {
    match cell {
        Some(Data::String(s)) => s.clone(),
        Some(Data::Empty) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

fn open_xlsx(bytes: &[u8]) -> Xlsx<Cursor<Vec<u8>>> {
    Xlsx::new(Cursor::new(bytes.to_vec())).expect("the XLSX opens with calamine")
}

/// The numbers of the «Табель» sheet, and its title lines joined.
fn from_xlsx(bytes: &[u8], days: u32) -> (Numbers, String) {
    let mut book = open_xlsx(bytes);
    let sheet = book.worksheet_range("Табель").expect("sheet «Табель»");
    let at = |r: u32, c: u32| sheet.get_value((r, c));
    let header = (0..40)
        .find(|&r| cell_string(at(r, 1)) == "ФИО")
        .expect("the grid's header row");
    assert_eq!(cell_string(at(header, 4 + days)), "Итого");
    let title: String = (0..header).map(|r| cell_string(at(r, 0)) + "\n").collect();
    let foot = (header..header + 1000)
        .find(|&r| cell_string(at(r, 1)) == "Итого за день")
        .expect("the per-day totals");
    let counts = |r: u32| -> Vec<u32> {
        (0..days)
            .map(|d| cell_number(at(r, 4 + d)) as u32)
            .collect()
    };
    let find = |label: &str| {
        let r = (foot..foot + 30)
            .find(|&r| cell_string(at(r, 1)) == label)
            .unwrap_or_else(|| panic!("no XLSX summary line {label:?}"));
        cell_number(at(r, 2)) as i64
    };
    let numbers = Numbers {
        rows: (header + 1..foot)
            .map(|r| {
                (
                    cell_string(at(r, 1)),
                    cell_string(at(r, 2)),
                    cell_number(at(r, 4 + days)) as u32,
                    counts(r),
                )
            })
            .collect(),
        per_day: counts(foot),
        meals: find("Питаний за месяц"),
        students_fed: find("Получили питание (учащихся)"),
        amount_tiyn: find("Сумма за месяц, тиын"),
        payable_tiyn: find("Итого к оплате, тиын"),
    };
    (numbers, title)
}

/// Rows of a list sheet («Не учтено», «Корректировки»): those after the header that
/// start with a date.
fn xlsx_list(bytes: &[u8], sheet: &str) -> Vec<Vec<String>> {
    let mut book = open_xlsx(bytes);
    let range = book
        .worksheet_range(sheet)
        .unwrap_or_else(|e| panic!("sheet {sheet:?}: {e}"));
    range
        .rows()
        .map(|r| r.iter().map(|c| cell_string(Some(c))).collect::<Vec<_>>())
        .filter(|r| {
            r.first()
                .is_some_and(|c| c.len() == 10 && c.as_bytes()[4] == b'-' || is_ru_date(c))
        })
        .collect()
}

fn is_ru_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10 && b[2] == b'.' && b[5] == b'.'
}

/// Tenge for people as the PDF prints it: `2 400,00 ₸`.
fn tenge_ru(tiyn: i64) -> String {
    let digits = (tiyn / 100).to_string();
    let mut grouped = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(' ');
        }
        grouped.push(ch);
    }
    format!("{grouped},{:02} ₸", tiyn % 100)
}

/// `2026-12-07` → `07.12.2026`.
fn date_ru(iso: &str) -> String {
    format!("{}.{}.{}", &iso[8..10], &iso[5..7], &iso[..4])
}

fn numbers_in(line: &str) -> Vec<u32> {
    line.split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect()
}

/// Whether the poppler tools run; `REQUIRE_PDFTOTEXT=1` makes their absence a failure.
fn poppler() -> bool {
    let runs = Command::new("pdftotext")
        .arg("-v")
        .output()
        .is_ok_and(|o| o.status.success());
    if !runs {
        if std::env::var("REQUIRE_PDFTOTEXT").as_deref() == Ok("1") {
            panic!("REQUIRE_PDFTOTEXT=1 but pdftotext (poppler-utils) cannot run");
        }
        eprintln!("SKIPPED the PDF text checks: pdftotext (poppler-utils) is not installed");
    }
    runs
}

/// The PDF's text (`pdftotext -layout`), and page 1 rendered to `<tag>.png` beside it.
fn pdf_text(bytes: &[u8], dir: &Path, tag: &str) -> (String, PathBuf) {
    let pdf = dir.join(format!("{tag}.pdf"));
    std::fs::write(&pdf, bytes).expect("write the PDF");
    let out = Command::new("pdftotext")
        .args(["-layout", "-enc", "UTF-8"])
        .arg(&pdf)
        .arg("-")
        .output()
        .expect("run pdftotext");
    assert!(
        out.status.success(),
        "pdftotext: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("pdftotext prints UTF-8");
    let prefix = dir.join(tag);
    let status = Command::new("pdftoppm")
        .args(["-png", "-r", "60", "-f", "1", "-l", "1", "-singlefile"])
        .arg(&pdf)
        .arg(&prefix)
        .status()
        .expect("run pdftoppm");
    assert!(status.success(), "pdftoppm: {status}");
    let png = prefix.with_extension("png");
    let (w, h, luma) = w::png_luma(&std::fs::read(&png).expect("page 1 as PNG"));
    assert!(w > 300 && h > 200, "page 1 is {w}×{h}");
    let dark = luma.iter().filter(|&&l| l < 128).count();
    assert!(
        dark > w * h / 500,
        "page 1 is (nearly) blank: {dark} dark pixels"
    );
    if let Ok(keep) = std::env::var("TABEL_E2E_DIR") {
        std::fs::create_dir_all(&keep).expect("TABEL_E2E_DIR");
        for f in [&pdf, &png] {
            let to = Path::new(&keep).join(f.file_name().expect("a file name"));
            std::fs::copy(f, &to).expect("keep a file");
            eprintln!("kept {}", to.display());
        }
    }
    (text, png)
}

/// Checks the PDF text against the numbers: every row (№, class, the non-zero marks in day
/// order, the total), the per-day totals, and the summary.
fn check_pdf_numbers(text: &str, n: &Numbers) {
    let lines: Vec<&str> = text.lines().collect();
    for (i, (name, class, total, marks)) in n.rows.iter().enumerate() {
        let line = lines
            .iter()
            .find(|l| l.contains(name.as_str()))
            .unwrap_or_else(|| panic!("PDF: no line with {name}\n{text}"));
        assert!(line.contains(class.as_str()), "PDF row {line}");
        let mut expected = vec![i as u32 + 1];
        expected.extend(marks.iter().copied().filter(|&m| m > 0));
        expected.push(*total);
        assert_eq!(numbers_in(line), expected, "PDF row {line}");
    }
    // Row order: each name's line comes after the previous one's.
    let positions: Vec<usize> = n
        .rows
        .iter()
        .map(|(name, ..)| {
            lines
                .iter()
                .position(|l| l.contains(name.as_str()))
                .expect("row")
        })
        .collect();
    assert!(positions.windows(2).all(|p| p[0] < p[1]), "{positions:?}");
    let foot = lines
        .iter()
        .find(|l| l.contains("Итого за день"))
        .expect("PDF per-day totals");
    let mut expected: Vec<u32> = n.per_day.iter().copied().filter(|&m| m > 0).collect();
    expected.push(n.meals as u32);
    assert_eq!(numbers_in(foot), expected, "PDF {foot}");
    let summary = |label: &str| -> String {
        lines
            .iter()
            .find(|l| l.trim_start().starts_with(label))
            .unwrap_or_else(|| panic!("PDF: no {label:?}\n{text}"))
            .trim_end()
            .to_string()
    };
    assert!(summary("Учтённых питаний за месяц").ends_with(&format!(" {}", n.meals)));
    assert!(summary("Получили питание, учащихся").ends_with(&format!(" {}", n.students_fed)));
    assert!(summary("Сумма за месяц").ends_with(&tenge_ru(n.amount_tiyn)));
    assert!(summary("Итого к оплате").ends_with(&tenge_ru(n.payable_tiyn)));
}

/// One month's табель in the four formats.
struct Downloads {
    json: Value,
    csv: Vec<u8>,
    xlsx: Vec<u8>,
    pdf: Vec<u8>,
}

async fn download(server: &Server, token: &str, bin: &str, month: &str, format: &str) -> Resp {
    let resp = server
        .get(
            &format!("/v1/schools/{bin}/tabel?month={month}&format={format}"),
            Some(token),
        )
        .await;
    assert_eq!(resp.status, 200, "{}: {}", resp.what, resp.text);
    let disposition = resp.header("content-disposition").unwrap_or_default();
    assert_eq!(
        disposition,
        format!("attachment; filename=\"tabel-{bin}-{month}.{format}\""),
        "{}",
        resp.what
    );
    resp
}

async fn download_all(server: &Server, token: &str, bin: &str, month: &str) -> Downloads {
    let json = download(server, token, bin, month, "json").await.ok_json();
    let csv = download(server, token, bin, month, "csv").await;
    assert!(
        csv.content_type.starts_with("text/csv"),
        "{}",
        csv.content_type
    );
    let xlsx = download(server, token, bin, month, "xlsx").await;
    assert_eq!(
        xlsx.content_type,
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    let pdf = download(server, token, bin, month, "pdf").await;
    assert_eq!(pdf.content_type, "application/pdf");
    assert!(pdf.bytes.starts_with(b"%PDF-"), "a PDF");
    Downloads {
        json,
        csv: csv.bytes,
        xlsx: xlsx.bytes,
        pdf: pdf.bytes,
    }
}

/// Proves the four formats carry the same numbers; returns them and the PDF text (when
/// poppler runs).
fn same_numbers(d: &Downloads, dir: &Path, tag: &str) -> (Numbers, Option<String>) {
    let expected = from_json(&d.json);
    let days = days_of(&d.json).len();
    assert_eq!(from_csv(&d.csv, days), expected, "{tag}: CSV vs JSON");
    let (xlsx, title) = from_xlsx(&d.xlsx, days as u32);
    assert_eq!(xlsx, expected, "{tag}: XLSX vs JSON");
    assert!(title.contains(SCHOOL_NAME), "{title}");
    let text = poppler().then(|| {
        let (text, png) = pdf_text(&d.pdf, dir, tag);
        eprintln!("{tag}: page 1 rendered to {}", png.display());
        check_pdf_numbers(&text, &expected);
        assert!(text.contains(SCHOOL_NAME), "PDF school name\n{text}");
        text
    });
    (expected, text)
}

/// The JSON without its `generated_at` (which moves with the clock until approval).
fn without_generated_at(json: &Value) -> Value {
    let mut v = json.clone();
    v.as_object_mut().expect("an object").remove("generated_at");
    v
}

fn instant(v: &Value) -> OffsetDateTime {
    OffsetDateTime::parse(
        v.as_str().unwrap_or_else(|| panic!("not a time: {v}")),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap_or_else(|e| panic!("{v}: {e}"))
}

/// A later download of an approved month equals the approval's answer — but for the
/// precision of `approval.approved_at` (see the `BUG:` test below), compared to the
/// microsecond here so the rest of the scenario keeps running.
fn assert_frozen(download: &Value, approved: &Value) {
    let (mut d, mut a) = (download.clone(), approved.clone());
    let (t_d, t_a) = (
        instant(&d["approval"]["approved_at"]),
        instant(&a["approval"]["approved_at"]),
    );
    assert!(
        (t_d - t_a).abs() < time::Duration::microseconds(1),
        "approved_at {t_d} vs {t_a}"
    );
    d["approval"]["approved_at"] = Value::Null;
    a["approval"]["approved_at"] = Value::Null;
    assert_eq!(d, a, "the approved табель is served frozen");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tabel_of_a_month_in_four_formats_approved_and_adjusted() {
    let data = tests::private_tempdir();
    let scratch = tests::private_tempdir();
    let server = Server::demo_from(data.path(), STORY_START);

    // Month M = December 2026 starts.
    set_clock(&server, datetime!(2026-12-01 04:00 +5)).await;

    // A new school's list: six students in three grades; the primary grades get a voucher
    // at once, the tenth-grader once his mother agrees by SMS.
    let bin = w::bin([0, 9, 1, 2, 4, 0, 0, 0, 4, 5, 1]).to_string();
    let mut kids = Vec::new();
    let mut rows = Vec::new();
    for (i, (name, grade, class)) in KIDS.iter().enumerate() {
        let day = 1 + i as u8;
        let sex = if i % 2 == 0 { Sex::Male } else { Sex::Female };
        let iin = w::iin(2019 - *grade as i32, Month::March, day, sex, 4001);
        let parent = w::iin(1987, Month::June, day, Sex::Female, 4001);
        let (category, phone) = match grade {
            1..=4 => ("primary", None),
            _ => ("orphan", Some(UPPER_GRADE_PHONE)),
        };
        rows.push(w::student(
            &iin.expose(),
            name,
            *grade,
            class,
            category,
            vec![w::rep(&parent.expose(), "Родитель", "mother", phone)],
        ));
        kids.push(Kid {
            parent,
            voucher: String::new(),
        });
    }
    let answer = w::send_list(&server, &w::list(&bin, SCHOOL_NAME, DEC, rows))
        .await
        .ok_json();
    let accepted = answer["accepted"].as_array().expect("accepted rows");
    assert_eq!(accepted.len(), KIDS.len(), "{answer}");
    for ((kid, row), (_, grade, _)) in kids.iter_mut().zip(accepted).zip(KIDS) {
        kid.voucher = if grade <= 4 {
            assert_eq!(row["status"], "voucher_formed", "{answer}");
            row["voucher_id"].as_str().expect("voucher id").to_string()
        } else {
            assert_eq!(row["status"], "awaiting_consent", "{answer}");
            let integration = server.integration_token().await;
            let agreed = server
                .post_json(
                    "/v1/integration/sms/inbound",
                    Some(&integration),
                    &json!({"phone": UPPER_GRADE_PHONE, "text": "3#1"}),
                )
                .await
                .ok_json();
            assert_eq!(agreed["outcome"], "agreed", "{agreed}");
            agreed["voucher_id"]
                .as_str()
                .expect("voucher id")
                .to_string()
        };
    }
    // Each mother activates her child's voucher.
    for kid in &kids {
        let token = server.parent_token(&kid.parent.expose()).await;
        w::activate(&server, &token, &kid.voucher).await.ok_json();
    }
    // Another school's activated voucher: Aigerim's, at the demo school.
    let demo_mother = server.parent_token(DEMO_PARENT_IIN).await;
    let aigerim = w::voucher_ids(&w::wallet(&server, &demo_mother).await).remove(0);

    // Staff, and a canteen terminal enrolled with a code the social pedagogue made.
    let pedagogue = server.staff_token("social_pedagogue", &bin).await;
    // The identity provider names the director (OpenID `name`): the stamp shows the name.
    let director = server
        .dev_token(&json!({"sub": "staff-1", "role": "director", "school": bin,
            "name": "Сейткали Айгуль Бекболатовна"}))
        .await;
    let code = server
        .request(
            Method::POST,
            &format!("/v1/schools/{bin}/terminals"),
            Some(&pedagogue),
            None,
        )
        .await;
    assert_eq!(code.status, 201, "{}", code.text);
    let code = code.json()["code"].as_str().expect("code").to_string();
    let enrolled = server
        .post_json(
            "/v1/terminals/enroll",
            None,
            &json!({"code": code, "name": "Столовая, касса 1"}),
        )
        .await
        .ok_json();
    assert_eq!(enrolled["school"]["bin"], bin.as_str(), "{enrolled}");
    let terminal = enrolled["token"]
        .as_str()
        .expect("device token")
        .to_string();

    // The empty табель of December: every student listed, nothing eaten; its calendar.
    let empty = download(&server, &pedagogue, &bin, DEC, "json")
        .await
        .ok_json();
    assert_eq!(empty["rows"].as_array().map(Vec::len), Some(KIDS.len()));
    assert_eq!(empty["totals"]["meals"], 0, "{empty}");
    let days = empty["days"].as_array().expect("days").clone();
    assert_eq!(days.len(), 31);
    let school_days: Vec<Date> = days
        .iter()
        .filter(|d| d["weekend"] == false && d["holiday"] == false)
        .map(|d| iso_date(d["date"].as_str().expect("date")))
        .collect();
    assert!(
        (18..=23).contains(&school_days.len()),
        "December has {} school days: {days:?}",
        school_days.len()
    );
    // January is still in the future.
    server
        .get(
            &format!("/v1/schools/{bin}/tabel?month={JAN}"),
            Some(&pedagogue),
        )
        .await
        .assert_error(422, "month_in_future");

    // December, school day by school day: the clock moves to 12:30, the terminal pushes.
    let mut seq = 0u64;
    let mut expected: Vec<BTreeMap<String, u32>> = vec![BTreeMap::new(); KIDS.len()];
    let (mut n_accepted, mut n_duplicates) = (0, 0);
    for (d, &day) in school_days.iter().enumerate() {
        set_clock(&server, at(day, 12, 30)).await;
        let mut events = Vec::new();
        let mut want = Vec::new();
        for (k, kid) in kids.iter().enumerate() {
            if eats(k, d) {
                let method = if k == 4 { "card" } else { "qr" };
                events.push(meal(&mut seq, &kid.voucher, day, k as u8, method));
                want.push(("accepted", None));
                *expected[k].entry(day.to_string()).or_default() += 1;
                n_accepted += 1;
            }
        }
        for &(dd, k, same_push) in &DUPLICATES {
            if dd == d && same_push {
                assert!(eats(k, d));
                events.push(meal(&mut seq, &kids[k].voucher, day, 20, "qr"));
                want.push(("duplicate", Some("already_ate")));
                n_duplicates += 1;
            }
        }
        if d == REJECTED_DAY {
            events.push(meal(&mut seq, &aigerim, day, 25, "qr"));
            // Another school's voucher is unknown to this terminal: nothing is stored.
            want.push(("rejected", Some("unknown_voucher")));
        }
        let got = push(&server, &terminal, events).await;
        let got: Vec<(&str, Option<&str>)> = got
            .iter()
            .map(|(s, r)| (s.as_str(), r.as_deref()))
            .collect();
        assert_eq!(got, want, "{day}");
        // Second meals the same day, pushed separately (as from another terminal sync).
        for &(dd, k, same_push) in &DUPLICATES {
            if dd == d && !same_push {
                assert!(eats(k, d));
                let again = push(
                    &server,
                    &terminal,
                    vec![meal(&mut seq, &kids[k].voucher, day, 28, "qr")],
                )
                .await;
                assert_eq!(
                    again,
                    [("duplicate".to_string(), Some("already_ate".to_string()))],
                    "{day}"
                );
                n_duplicates += 1;
            }
        }
    }
    assert_eq!(n_duplicates, DUPLICATES.len());
    let fed = expected.iter().filter(|m| !m.is_empty()).count() as i64;

    // The evening of 31 December: the табель in four formats.
    set_clock(&server, datetime!(2026-12-31 20:00 +5)).await;
    let dec = download_all(&server, &pedagogue, &bin, DEC).await;
    let (numbers, _) = same_numbers(&dec, scratch.path(), "december-draft");
    let price = int(&dec.json["totals"]["meal_price_tiyn"]);
    assert!(price > 0, "{}", dec.json["totals"]);
    assert_eq!(dec.json["school"], json!({"bin": bin, "name": SCHOOL_NAME}));
    assert_eq!(dec.json["month"], DEC);
    assert_eq!(dec.json["approval"], Value::Null);
    assert_eq!(dec.json["adjustments"], Value::Null);
    // What was pushed and accepted, nothing else; rows by class (grade number), then name.
    let day_strings = days_of(&dec.json);
    let want_rows: Vec<(String, String, u32, Vec<u32>)> = ORDER
        .iter()
        .map(|&k| {
            let marks: Vec<u32> = day_strings
                .iter()
                .map(|d| expected[k].get(d).copied().unwrap_or(0))
                .collect();
            (
                KIDS[k].0.to_string(),
                KIDS[k].2.to_string(),
                marks.iter().sum(),
                marks,
            )
        })
        .collect();
    assert_eq!(numbers.rows, want_rows);
    let classes: Vec<&str> = numbers.rows.iter().map(|r| r.1.as_str()).collect();
    assert_eq!(classes, ["1А", "1А", "2Б", "2Б", "3В", "10А"]);
    let want_per_day: Vec<u32> = (0..day_strings.len())
        .map(|i| want_rows.iter().map(|r| r.3[i]).sum())
        .collect();
    assert_eq!(numbers.per_day, want_per_day);
    assert_eq!(numbers.meals, n_accepted);
    assert_eq!(numbers.students_fed, fed);
    assert_eq!(fed, KIDS.len() as i64 - 1, "all but one ate");
    assert_eq!(numbers.amount_tiyn, n_accepted * price);
    assert_eq!(numbers.payable_tiyn, numbers.amount_tiyn);
    // The JSON marks are `YYYY-MM-DD → count`, only days with a meal.
    for (row, &k) in dec.json["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .zip(&ORDER)
    {
        let marks: BTreeMap<String, u32> =
            serde_json::from_value(row["marks"].clone()).expect("marks");
        assert_eq!(marks, expected[k], "{}", KIDS[k].0);
    }

    // The duplicates are listed, not counted.
    let excluded = dec.json["excluded"].as_array().expect("excluded").clone();
    let mut listed: Vec<(String, String, String, String)> = excluded
        .iter()
        .map(|e| {
            (
                e["service_day"].as_str().expect("day").to_string(),
                e["student"]["full_name"]
                    .as_str()
                    .expect("name")
                    .to_string(),
                e["status"].as_str().expect("status").to_string(),
                e["reason"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    listed.sort();
    let mut want_excluded: Vec<(String, String, String, String)> = DUPLICATES
        .iter()
        .map(|&(d, k, _)| {
            (
                school_days[d].to_string(),
                KIDS[k].0.to_string(),
                "duplicate".to_string(),
                "already_ate".to_string(),
            )
        })
        .collect();
    // Another school's child's meal was never stored: it is not on this school's sheet.
    want_excluded.sort();
    assert_eq!(listed, want_excluded, "{excluded:#?}");
    assert!(
        !numbers.rows.iter().any(|r| r.0 == AIGERIM),
        "the rejected meal's student has no row"
    );
    // … in the CSV, the XLSX and the PDF as well.
    let records = csv_records(&dec.csv);
    let head = records
        .iter()
        .position(|r| r[0].starts_with("Не учтено"))
        .expect("the CSV's excluded section");
    assert_eq!(records[head][1], want_excluded.len().to_string());
    let csv_excluded: Vec<(String, String)> = records[head + 2..]
        .iter()
        .take_while(|r| r[0].len() == 10 && r[0].as_bytes()[4] == b'-')
        .map(|r| (r[0].clone(), r[1].clone()))
        .collect();
    assert_eq!(csv_excluded.len(), want_excluded.len(), "{csv_excluded:?}");
    assert_eq!(xlsx_list(&dec.xlsx, "Не учтено").len(), want_excluded.len());
    if let Some(text) = poppler().then(|| pdf_text(&dec.pdf, scratch.path(), "december-draft-2").0)
    {
        for (day, name, ..) in &want_excluded {
            let day = date_ru(day);
            assert!(
                text.lines()
                    .any(|l| l.contains(&day) && l.contains(name.as_str())),
                "PDF lists the excluded meal {day} {name}\n{text}"
            );
        }
        assert!(text.contains("Не утверждён"), "draft mark\n{text}");
        // Cyrillic as text, not boxes: the names come back out of the PDF.
        for (name, ..) in KIDS {
            assert!(text.contains(name), "{name} in the PDF text");
        }
        assert!(
            text.contains("ТАБЕЛЬ УЧЁТА ПИТАНИЯ ОБУЧАЮЩИХСЯ за Декабрь 2026"),
            "{text}"
        );
    }

    // Approval: only the director, only once December has ended.
    let approve = format!("/v1/schools/{bin}/tabel/{DEC}/approve");
    server
        .request(Method::POST, &approve, Some(&pedagogue), None)
        .await
        .assert_error(403, "forbidden");
    server
        .request(Method::POST, &approve, Some(&director), None)
        .await
        .assert_error(422, "month_not_ended");

    set_clock(&server, datetime!(2027-01-02 09:00 +5)).await;
    let before = download(&server, &pedagogue, &bin, DEC, "json")
        .await
        .ok_json();
    assert_eq!(
        without_generated_at(&before),
        without_generated_at(&dec.json)
    );
    let approved = server
        .request(Method::POST, &approve, Some(&director), None)
        .await
        .ok_json();
    let stamp = approved["approval"].clone();
    let hash = stamp["content_hash"]
        .as_str()
        .expect("content hash")
        .to_string();
    assert!(
        hash.len() == 64 && hash.chars().all(|c| c.is_ascii_hexdigit()),
        "{stamp}"
    );
    let approved_at = OffsetDateTime::parse(
        stamp["approved_at"].as_str().expect("approved_at"),
        &time::format_description::well_known::Rfc3339,
    )
    .expect("approved_at is RFC 3339");
    let since = approved_at - datetime!(2027-01-02 09:00 +5);
    assert!(
        since >= time::Duration::ZERO && since < time::Duration::minutes(5),
        "{stamp}"
    );
    assert_eq!(
        stamp["approved_by"], "Сейткали Айгуль Бекболатовна (директор)",
        "the director by name, not by token subject: {stamp}"
    );
    assert_eq!(from_json(&approved), numbers, "the approved numbers");
    assert_eq!(approved["excluded"], dec.json["excluded"]);
    server
        .request(Method::POST, &approve, Some(&director), None)
        .await
        .assert_error(409, "already_approved");

    // A late meal for December, pushed after the approval: Ахметов on the last school day.
    let last_day = *school_days.last().expect("a school day");
    let late = push(
        &server,
        &terminal,
        vec![meal(&mut seq, &kids[NEVER].voucher, last_day, 10, "qr")],
    )
    .await;
    assert_eq!(late, [("accepted".to_string(), None)]);

    // December stays as approved, in every format, with the stamp.
    let frozen = download_all(&server, &pedagogue, &bin, DEC).await;
    assert_frozen(&frozen.json, &approved);
    let (frozen_numbers, text) = same_numbers(&frozen, scratch.path(), "december-approved");
    assert_eq!(frozen_numbers, numbers);
    let records = csv_records(&frozen.csv);
    assert_eq!(csv_line(&records, "Контрольная сумма (SHA-256)")[1], hash);
    assert_eq!(
        csv_line(&records, "Утвердил")[1],
        "Сейткали Айгуль Бекболатовна (директор)"
    );
    assert!(from_xlsx(&frozen.xlsx, day_strings.len() as u32)
        .1
        .contains(&hash));
    if let Some(text) = text {
        assert!(text.contains(&hash), "the PDF shows the hash\n{text}");
        assert!(text.contains("УТВЕРЖДЁН"), "{text}");
    }

    // January: two meals, and December's late meal as an adjustment.
    set_clock(&server, datetime!(2027-01-05 13:00 +5)).await;
    let jan_days = [
        Date::from_calendar_date(2027, Month::January, 4).expect("4 January"),
        Date::from_calendar_date(2027, Month::January, 5).expect("5 January"),
    ];
    let events = vec![
        meal(&mut seq, &kids[0].voucher, jan_days[0], 0, "qr"),
        meal(&mut seq, &kids[0].voucher, jan_days[1], 0, "qr"),
        meal(&mut seq, &kids[2].voucher, jan_days[1], 2, "qr"),
    ];
    let got = push(&server, &terminal, events).await;
    assert!(got.iter().all(|(s, _)| s == "accepted"), "{got:?}");
    let jan = download_all(&server, &pedagogue, &bin, JAN).await;
    let (jan_numbers, jan_text) = same_numbers(&jan, scratch.path(), "january");
    assert_eq!(jan_numbers.meals, 3);
    assert_eq!(jan_numbers.students_fed, 2);
    assert_eq!(jan_numbers.amount_tiyn, 3 * price);
    assert_eq!(
        jan_numbers.payable_tiyn,
        3 * price + price,
        "amount + adjustment"
    );
    let adj = &jan.json["adjustments"];
    assert_eq!(adj["month"], DEC, "{adj}");
    assert_eq!(adj["meals"], 1, "{adj}");
    assert_eq!(int(&adj["amount_tiyn"]), price, "{adj}");
    let late_rows = adj["rows"].as_array().expect("adjustment rows");
    assert_eq!(late_rows.len(), 1, "{adj}");
    assert_eq!(late_rows[0]["student"]["full_name"], KIDS[NEVER].0);
    assert_eq!(late_rows[0]["service_day"], last_day.to_string());
    assert_eq!(late_rows[0]["slot"], "day");
    let records = csv_records(&jan.csv);
    assert_eq!(
        csv_line(&records, "Корректировка за 2026-12, тиын")[1],
        price.to_string()
    );
    assert_eq!(xlsx_list(&jan.xlsx, "Корректировки").len(), 1);
    if let Some(text) = jan_text {
        assert!(
            text.lines()
                .any(|l| l.contains(&date_ru(&last_day.to_string())) && l.contains(KIDS[NEVER].0)),
            "the PDF lists the late meal\n{text}"
        );
        let line = text
            .lines()
            .find(|l| l.trim_start().starts_with("Корректировка за Декабрь 2026"))
            .unwrap_or_else(|| panic!("the PDF's adjustment line\n{text}"));
        assert!(line.trim_end().ends_with(&tenge_ru(price)), "{line}");
    }

    // Bad input: each a clear 4xx with the error shape, and nothing changed.
    let get = |query: String, token: String, school: String| {
        let server = &server;
        async move {
            server
                .get(&format!("/v1/schools/{school}/tabel?{query}"), Some(&token))
                .await
        }
    };
    let p = || pedagogue.clone();
    let b = || bin.clone();
    get("month=2027-02".into(), p(), b())
        .await
        .assert_error(422, "month_in_future");
    for bad in ["2026-13", "12-2026", "2026-1", "декабрь", ""] {
        get(format!("month={bad}"), p(), b())
            .await
            .assert_error(400, "invalid_month");
    }
    get(format!("month={DEC}&format=docx"), p(), b())
        .await
        .assert_error(400, "unknown_format");
    get(format!("month={DEC}&colour=red"), p(), b())
        .await
        .assert_error(400, "invalid_query");
    get("format=csv".into(), p(), b())
        .await
        .assert_error(400, "invalid_query");
    get(format!("month={DEC}"), p(), DEMO_SCHOOL_BIN.into())
        .await
        .assert_error(404, "not_found");
    get(format!("month={DEC}"), p(), "123".into())
        .await
        .assert_error(404, "not_found");
    let post = |path: String, token: String| {
        let server = &server;
        async move {
            server
                .request(Method::POST, &path, Some(&token), None)
                .await
        }
    };
    post(approve.clone(), pedagogue.clone())
        .await
        .assert_error(403, "forbidden");
    post(approve.clone(), director.clone())
        .await
        .assert_error(409, "already_approved");
    post(
        format!("/v1/schools/{DEMO_SCHOOL_BIN}/tabel/{DEC}/approve"),
        director.clone(),
    )
    .await
    .assert_error(404, "not_found");
    post(
        format!("/v1/schools/{bin}/tabel/{JAN}/approve"),
        director.clone(),
    )
    .await
    .assert_error(422, "month_not_ended");
    post(
        format!("/v1/schools/{bin}/tabel/2027-03/approve"),
        director.clone(),
    )
    .await
    .assert_error(422, "month_in_future");
    post(
        format!("/v1/schools/{bin}/tabel/2027-1/approve"),
        director.clone(),
    )
    .await
    .assert_error(400, "invalid_month");
    // Nothing changed.
    let after = download(&server, &pedagogue, &bin, DEC, "json")
        .await
        .ok_json();
    assert_eq!(after, frozen.json);
    assert_frozen(&after, &approved);
    let jan_after = download(&server, &pedagogue, &bin, JAN, "json")
        .await
        .ok_json();
    assert_eq!(
        without_generated_at(&jan_after),
        without_generated_at(&jan.json)
    );

    server.stop();
}

/// The approval's answer and later downloads of the approved month are the same document.
/// (Regression: the answer once stamped nanoseconds while the store keeps microseconds.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approval_answer_equals_later_downloads() {
    let data = tests::private_tempdir();
    let server = Server::demo_from(data.path(), STORY_START);
    set_clock(&server, datetime!(2026-12-01 04:00 +5)).await;
    let bin = w::bin([0, 9, 1, 2, 4, 0, 0, 0, 9, 1, 3]).to_string();
    let kid = w::iin(2018, Month::May, 5, Sex::Female, 4101);
    let mum = w::iin(1990, Month::May, 5, Sex::Female, 4101);
    let list = w::list(
        &bin,
        SCHOOL_NAME,
        DEC,
        vec![w::student(
            &kid.expose(),
            "Омарова Жания",
            2,
            "2А",
            "primary",
            vec![w::rep(&mum.expose(), "Омарова Сауле", "mother", None)],
        )],
    );
    w::send_list(&server, &list).await.ok_json();
    // A clock instant with a sub-microsecond part, as a running clock has.
    set_clock(&server, datetime!(2027-01-02 09:00:00.123456789 +5)).await;
    let director = server.staff_token("director", &bin).await;
    let approved = server
        .request(
            Method::POST,
            &format!("/v1/schools/{bin}/tabel/{DEC}/approve"),
            Some(&director),
            None,
        )
        .await
        .ok_json();
    let later = download(&server, &director, &bin, DEC, "json")
        .await
        .ok_json();
    assert_eq!(
        later["approval"], approved["approval"],
        "the stamp of one approval, answered twice"
    );
    assert_eq!(later, approved);
    assert_eq!(
        approved["approval"]["approved_by"], "директор (staff-1)",
        "a token without a name: the director by subject"
    );
    server.stop();
}
