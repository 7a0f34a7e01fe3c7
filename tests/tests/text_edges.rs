//! Text at the edge (issue 16, items 2 and 3) against the real `wallet-server --demo`: the
//! outside probe's reproductions — a 500,000-character name, control characters in names
//! and class labels, a 100 KB pass nonce and a 10 KB slot pushed by a terminal — are `422`
//! with nothing stored, and a `=HYPERLINK(…)` name is defused in the XLSX табель. Then a
//! property: any text through list intake comes out of the four табель formats and the
//! console's students CSV without a 5xx and without a cell a spreadsheet would evaluate.

mod common;
mod console_support;

use std::io::Cursor;

use calamine::{Data, Reader, Xlsx};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{json, Value};

use common::canteen::demo_school_list;
use common::drills::demo_terminal_token;
use common::wallet::{self as w, Term};
use common::{Server, DEMO_SCHOOL_BIN};
use console_support::Console;

/// A student row of the demo school with this name and class.
fn row(serial: u16, name: &str, class: &str) -> Value {
    let kid = w::iin(2018, time::Month::May, 5, shared::Sex::Female, serial).expose();
    let mum = w::iin(1988, time::Month::May, 5, shared::Sex::Female, serial).expose();
    w::student(
        &kid,
        name,
        2,
        class,
        "primary",
        vec![w::rep(&mum, "Мама", "mother", None)],
    )
}

async fn tabel(server: &Server, token: &str, month: &str, format: &str) -> Vec<u8> {
    let path = format!("/v1/schools/{DEMO_SCHOOL_BIN}/tabel?month={month}&format={format}");
    let resp = server.get(&path, Some(token)).await;
    assert_eq!(resp.status, 200, "{path}: {}", resp.text);
    resp.bytes
}

fn xlsx_strings(bytes: &[u8]) -> Vec<String> {
    let mut book: Xlsx<_> = Xlsx::new(Cursor::new(bytes.to_vec())).expect("the XLSX opens");
    let mut out = Vec::new();
    for name in book.sheet_names() {
        let sheet = book.worksheet_range(&name).expect("sheet");
        out.extend(sheet.used_cells().filter_map(|(_, _, c)| match c {
            Data::String(s) => Some(s.clone()),
            _ => None,
        }));
    }
    out
}

fn csv_cells(bytes: &[u8]) -> Vec<String> {
    let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(b';')
        .has_headers(false)
        .flexible(true)
        .from_reader(body);
    reader
        .records()
        .flat_map(|r| {
            let r = r.expect("a CSV record");
            r.iter().map(str::to_string).collect::<Vec<_>>()
        })
        .collect()
}

/// A text cell a spreadsheet would evaluate (numbers such as `-1,50` are numbers).
fn live_formula(cell: &str) -> bool {
    let numeric = cell.replace(',', ".").parse::<f64>().is_ok();
    cell.starts_with(['=', '+', '@', '\t', '\r']) || (cell.starts_with('-') && !numeric)
}

#[tokio::test]
async fn the_probes_reproductions_are_refused_and_nothing_is_stored() {
    let dir = tests::private_tempdir();
    let server = Server::demo(dir.path());
    let period = Term::enter(&server).await.period();
    let before = w::school_view(&server, DEMO_SCHOOL_BIN).await;

    let huge = "Я".repeat(500_000);
    let list = demo_school_list(&period, vec![row(1234, &huge, "2А")]);
    let answer = w::send_list(&server, &list).await;
    answer.assert_error(422, "invalid_body");
    assert!(answer.text.len() < 1000, "the value is not echoed back");
    let message = answer.json()["error"]["message"].to_string();
    assert!(
        message.contains("a full name has at most 200 characters, this one has 500000"),
        "{message}"
    );
    for bad in ["Ан\0на", "Ан\rна", "Ан\nна", "\u{1b}[31mАнна", "Анна\u{7}"] {
        for (name, class) in [(bad, "2А"), ("Анна", bad)] {
            let list = demo_school_list(&period, vec![row(1234, name, class)]);
            let answer = w::send_list(&server, &list).await;
            answer.assert_error(422, "invalid_body");
            assert!(
                answer.text.contains("control characters"),
                "{}",
                answer.text
            );
        }
    }
    assert_eq!(w::school_view(&server, DEMO_SCHOOL_BIN).await, before);

    // A terminal's push: the whole batch is refused, nothing of it stored.
    let terminal = demo_terminal_token(&server).await;
    let voucher = w::voucher_ids(&before)[0].clone();
    let now = Term::enter(&server).await.now();
    let meal = |slot: &str, nonce: Option<&str>| {
        json!({"events": [{
            "event_id": "01937000-0000-7000-8000-00000000e001",
            "voucher_id": voucher,
            "slot": slot,
            "service_day": shared::time::service_day(now).to_string(),
            "served_at": w::rfc3339(now),
            "method": "qr",
            "pass_nonce": nonce,
        }]})
    };
    let staff = server
        .staff_token("social_pedagogue", DEMO_SCHOOL_BIN)
        .await;
    let month = period.as_str();
    let tabel_before: Value =
        serde_json::from_slice(&tabel(&server, &staff, month, "json").await).expect("json");
    let long_nonce = "a".repeat(100 * 1024);
    let long_slot = "d".repeat(10 * 1024);
    for body in [meal("day", Some(&long_nonce)), meal(&long_slot, None)] {
        server
            .post_json("/v1/terminals/meals", Some(&terminal), &body)
            .await
            .assert_error(422, "invalid_body");
    }
    let tabel_after: Value =
        serde_json::from_slice(&tabel(&server, &staff, month, "json").await).expect("json");
    for part in ["rows", "excluded", "unbilled"] {
        assert_eq!(tabel_after[part], tabel_before[part], "{part}");
    }
    // The same event with sane text is taken: the refused one left no trace.
    let answer = server
        .post_json("/v1/terminals/meals", Some(&terminal), &meal("day", None))
        .await
        .ok_json();
    assert_eq!(
        answer["results"][0]["event_id"],
        "01937000-0000-7000-8000-00000000e001"
    );

    // Other labels people type: a terminal's name, a meal slot's name.
    let code = common::drills::enrollment_code(&server).await;
    server
        .post_json(
            "/v1/terminals/enroll",
            None,
            &json!({"code": code, "name": "Касса\u{7}"}),
        )
        .await
        .assert_error(422, "invalid_body");
    let director = server.staff_token("director", DEMO_SCHOOL_BIN).await;
    let slots = json!({"slots": [{"name": "обед\n", "start": "12:00", "end": "14:00"}]});
    let path = format!("/v1/schools/{DEMO_SCHOOL_BIN}/meal-slots");
    server
        .request(reqwest::Method::PUT, &path, Some(&director), Some(&slots))
        .await
        .assert_error(422, "invalid_body");

    // A formula as a name is accepted as text and defused in the XLSX табель.
    let evil = r#"=HYPERLINK("http://evil.example/","Click")"#;
    let list = demo_school_list(&period, vec![row(1235, evil, "-1+2")]);
    let taken = w::send_list(&server, &list).await.ok_json();
    assert_eq!(taken["rejected"], json!([]), "{taken:#}");
    let cells = xlsx_strings(&tabel(&server, &staff, month, "xlsx").await);
    assert!(cells.contains(&format!("'{evil}")), "{cells:?}");
    assert!(cells.contains(&"'-1+2".to_string()), "{cells:?}");
    assert!(!cells.iter().any(|c| live_formula(c)), "{cells:?}");
}

/// Text of every sort: any characters (controls, astral planes), formula starts, RTL,
/// combining marks, and lengths around the name's limit.
fn any_text(max_len: usize) -> impl Strategy<Value = String> {
    let pieces = prop_oneof![
        any::<String>(),
        "[=+\\-@\t\r].{0,12}",
        Just("שלום עליכם".to_string()),
        Just("مرحبا".to_string()),
        Just("e\u{301}\u{302}\u{303}".to_string()),
        Just("𝔘𝔫𝔦 😀 𐍈".to_string()),
        Just(" ".to_string()),
        "[а-яәғқңөұүһі ]{150,260}",
    ];
    proptest::collection::vec(pieces, 1..3)
        .prop_map(move |p| p.concat().chars().take(max_len).collect())
}

#[test]
fn any_text_through_intake_comes_out_of_every_export_defused() {
    let dir = tests::private_tempdir();
    let server = Server::demo(dir.path());
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let (period, staff) = rt.block_on(async {
        let staff = server
            .staff_token("social_pedagogue", DEMO_SCHOOL_BIN)
            .await;
        (Term::enter(&server).await.period(), staff)
    });
    let mut runner = TestRunner::new(Config {
        cases: 16,
        failure_persistence: None,
        ..Config::default()
    });
    let rows = proptest::collection::vec((any_text(300), any_text(24)), 1..3);
    let result = runner.run(&rows, |rows| {
        rt.block_on(async {
            let extra = rows
                .iter()
                .enumerate()
                .map(|(i, (name, class))| row(2000 + i as u16, name, class))
                .collect();
            let answer = w::send_list(&server, &demo_school_list(&period, extra)).await;
            assert!(
                answer.status == 200 || answer.status == 422,
                "{}: {}",
                answer.status,
                answer.text
            );
            for format in ["csv", "xlsx", "pdf", "json"] {
                let bytes = tabel(&server, &staff, &period, format).await;
                let cells = match format {
                    "csv" => csv_cells(&bytes),
                    "xlsx" => xlsx_strings(&bytes),
                    _ => Vec::new(),
                };
                let live: Vec<_> = cells.iter().filter(|c| live_formula(c)).collect();
                assert!(live.is_empty(), "{format}: {live:?}");
            }
            let console = Console::sign_in(&server, "social_pedagogue", DEMO_SCHOOL_BIN).await;
            let students = console
                .get(&format!("/console/schools/{DEMO_SCHOOL_BIN}/students.csv"))
                .await;
            assert_eq!(students.status, 200, "{}", students.body);
            let live: Vec<_> = csv_cells(&students.bytes)
                .into_iter()
                .filter(|c| live_formula(c))
                .collect();
            assert!(live.is_empty(), "students.csv: {live:?}");
        });
        Ok(())
    });
    result.expect("every text is taken or refused, and exported defused");
}
