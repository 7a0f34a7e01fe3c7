//! End to end: the canteen counter's server side (issue 19) against the real
//! `wallet-server --demo` over HTTP — staff give slots and a class their shifts and a pupil
//! an alert line; a terminal pushes a manual meal (with reason and worker), a meal in the
//! wrong shift, a meal it then voids, and a meal another terminal tries to void; the other
//! terminal's sync carries the progress, the meals it did not serve and the alert line
//! (another school's terminal does not); the табель of the month shows the manual meal
//! marked, the voided one gone and the wrong-shift one not counted in JSON, CSV, XLSX (parsed)
//! and PDF (pdftotext); after the approval, a void by staff is the next month's adjustment.
//!
//! The demo clock starts on Tuesday 24 November 2026 at 07:00 (whatever the real date).

mod common;

use std::io::Cursor;
use std::process::Command;

use calamine::{Data, Reader, Xlsx};
use reqwest::Method;
use serde_json::{json, Value};
use time::macros::datetime;
use time::OffsetDateTime;

use common::drills::{fill_school, terminal_token_at, Pupil};
use common::wallet as w;
use common::{Server, DEMO_SCHOOL_BIN, OTHER_SCHOOL_BIN};

/// The vouchers are activated at 07:00; the meals are pushed at 13:00.
const START: OffsetDateTime = datetime!(2026-11-24 07:00 +5);
const PUSHED: OffsetDateTime = datetime!(2026-11-24 13:00 +5);
const NOV: &str = "2026-11";
const DEC: &str = "2026-12";
const ALERT: &str = "Аллергия на орехи";
const MANUAL_REASON: &str = "Забыл карту и телефон";
const WORKER: &str = "Гульнара";

fn meal(n: u64, p: &Pupil, slot: &str, at: OffsetDateTime, method: &str) -> Value {
    json!({
        "event_id": format!("01937000-0000-7000-8000-{n:012x}"),
        "voucher_id": p.voucher,
        "slot": slot,
        "service_day": "2026-11-24",
        "served_at": w::rfc3339(at),
        "method": method,
    })
}

async fn set_clock(server: &Server, now: OffsetDateTime) {
    let body = json!({"now": w::rfc3339(now)});
    server.post_json("/dev/clock", None, &body).await.ok_json();
}

async fn push(server: &Server, token: &str, body: Value) -> Value {
    server
        .post_json("/v1/terminals/meals", Some(token), &body)
        .await
        .ok_json()
}

fn statuses(answer: &Value) -> Vec<(String, String)> {
    answer["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| {
            (
                r["status"].as_str().unwrap_or("").to_string(),
                r["reason"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

async fn put(server: &Server, token: &str, path: &str, body: Value) {
    let resp = server
        .request(Method::PUT, path, Some(token), Some(&body))
        .await;
    assert!(
        resp.status == 200 || resp.status == 204,
        "{}: {} {}",
        resp.what,
        resp.status,
        resp.text
    );
}

async fn download(server: &Server, token: &str, month: &str, format: &str) -> Vec<u8> {
    let resp = server
        .get(
            &format!("/v1/schools/{DEMO_SCHOOL_BIN}/tabel?month={month}&format={format}"),
            Some(token),
        )
        .await;
    assert_eq!(resp.status, 200, "{}: {}", resp.what, resp.text);
    resp.bytes
}

/// Every cell of every sheet, one string per row (cells joined by `|`), by sheet name.
fn xlsx_rows(bytes: &[u8], sheet: &str) -> Vec<String> {
    let mut book = Xlsx::new(Cursor::new(bytes.to_vec())).expect("the XLSX opens");
    let range = book
        .worksheet_range(sheet)
        .unwrap_or_else(|e| panic!("sheet {sheet:?}: {e}"));
    range
        .rows()
        .map(|r| {
            r.iter()
                .map(|c| match c {
                    Data::String(s) => s.clone(),
                    Data::Empty => String::new(),
                    other => other.to_string(),
                })
                .collect::<Vec<_>>()
                .join("|")
        })
        .collect()
}

fn pdf_text(bytes: &[u8], dir: &std::path::Path, tag: &str) -> Option<String> {
    let runs = Command::new("pdftotext")
        .arg("-v")
        .output()
        .is_ok_and(|o| o.status.success());
    if !runs {
        assert!(
            std::env::var("REQUIRE_PDFTOTEXT").as_deref() != Ok("1"),
            "REQUIRE_PDFTOTEXT=1 but pdftotext cannot run"
        );
        eprintln!("SKIPPED the PDF text checks: pdftotext is not installed");
        return None;
    }
    let pdf = dir.join(format!("{tag}.pdf"));
    std::fs::write(&pdf, bytes).expect("write the PDF");
    let out = Command::new("pdftotext")
        .args(["-layout", "-enc", "UTF-8"])
        .arg(&pdf)
        .arg("-")
        .output()
        .expect("run pdftotext");
    assert!(out.status.success());
    Some(String::from_utf8(out.stdout).expect("UTF-8"))
}

/// The roster entry of a pupil in a sync answer.
fn entry<'a>(sync: &'a Value, p: &Pupil) -> &'a Value {
    sync["roster"]
        .as_array()
        .expect("roster")
        .iter()
        .find(|e| e["voucher_id"] == p.voucher.as_str())
        .unwrap_or_else(|| panic!("{} on the roster: {sync}", p.name))
}

#[tokio::test(flavor = "multi_thread")]
async fn manual_voided_and_wrong_shift_meals_on_the_tabel_with_progress_and_alert() {
    let data = tests::private_tempdir();
    let server = Server::demo_from(data.path(), START);
    let (pupils, _mother) = fill_school(&server, NOV, 4).await;
    let bin = DEMO_SCHOOL_BIN;
    let staff = server.staff_token("social_pedagogue", bin).await;
    let director = server.staff_token("director", bin).await;
    let (t1, t2) = (
        terminal_token_at(&server, bin).await,
        terminal_token_at(&server, bin).await,
    );
    let elsewhere = terminal_token_at(&server, OTHER_SCHOOL_BIN).await;
    set_clock(&server, PUSHED).await;

    // Staff: a shift-1 breakfast, a lunch for everyone, class 3Д in the second shift, and
    // an alert line for the first pupil.
    put(
        &server,
        &staff,
        &format!("/v1/schools/{bin}/meal-slots"),
        json!({"slots": [
            {"name": "breakfast", "start": "08:00", "end": "10:00", "shift": 1},
            {"name": "lunch", "start": "12:00", "end": "14:00"},
        ]}),
    )
    .await;
    put(
        &server,
        &staff,
        &format!("/v1/schools/{bin}/class-shifts"),
        json!({"class_label": "3Д", "shift": 2}),
    )
    .await;
    let alert_path = format!(
        "/v1/schools/{bin}/students/{}/alert",
        pupils[0].iin.expose()
    );
    put(&server, &staff, &alert_path, json!({"line": ALERT})).await;
    server
        .request(
            Method::PUT,
            &alert_path,
            Some(&staff),
            Some(&json!({"line": "a\nb"})),
        )
        .await
        .assert_error(422, "invalid_body");
    server
        .request(
            Method::PUT,
            &format!(
                "/v1/schools/{OTHER_SCHOOL_BIN}/students/{}/alert",
                pupils[0].iin.expose()
            ),
            Some(&staff),
            Some(&json!({"line": ALERT})),
        )
        .await
        .assert_error(404, "not_found");

    // Terminal 1 serves: by hand with a reason, a 3Д pupil at the shift-1 breakfast, a
    // pupil it voids three minutes later, a pupil by card; a manual meal without reason.
    let day = |h: u8, m: u8| {
        datetime!(2026-11-24 00:00 +5)
            + time::Duration::hours(h.into())
            + time::Duration::minutes(m.into())
    };
    let mut by_hand = meal(1, &pupils[0], "lunch", day(12, 10), "manual");
    by_hand["manual_reason"] = json!(MANUAL_REASON);
    by_hand["worker"] = json!(WORKER);
    let wrong_shift = meal(2, &pupils[1], "breakfast", day(8, 30), "qr");
    let voided = meal(3, &pupils[2], "lunch", day(12, 20), "qr");
    let by_card = meal(4, &pupils[3], "lunch", day(12, 30), "card");
    let no_reason = meal(5, &pupils[1], "lunch", day(12, 40), "manual");
    let void = json!({"event_id": voided["event_id"], "voided_at": w::rfc3339(day(12, 23)),
        "reason": "Не тот ребёнок", "worker": WORKER});
    let answer = push(
        &server,
        &t1,
        json!({
            "events": [by_hand, wrong_shift, voided, by_card, no_reason],
            "voids": [void],
        }),
    )
    .await;
    assert_eq!(
        statuses(&answer),
        vec![
            ("accepted".into(), String::new()),
            ("rejected".into(), "wrong_shift".into()),
            ("accepted".into(), String::new()),
            ("accepted".into(), String::new()),
            ("rejected".into(), "manual_without_reason".into()),
        ],
        "{answer}"
    );
    assert_eq!(
        answer["voids"],
        json!([{"event_id": voided["event_id"], "status": "voided"}])
    );
    // The same push again answers the same.
    let again = push(&server, &t1, json!({"events": [], "voids": [void]})).await;
    assert_eq!(again["voids"], answer["voids"]);
    // Terminal 2 cannot void terminal 1's meal.
    let foreign = json!({"event_id": by_card["event_id"], "voided_at": w::rfc3339(day(12, 31)), "reason": "чужое"});
    let refused = push(&server, &t2, json!({"events": [], "voids": [foreign]})).await;
    assert_eq!(
        refused["voids"],
        json!([{"event_id": by_card["event_id"], "status": "rejected", "reason": "unknown_meal"}])
    );

    // Terminal 2's sync: progress, terminal 1's counted meals, shift and alert on the roster.
    let sync = server
        .get("/v1/terminals/sync?cursor=0&meals_after=0", Some(&t2))
        .await
        .ok_json();
    let lunch = sync["progress"]["slots"]
        .as_array()
        .expect("slots")
        .iter()
        .find(|s| s["label"] == "lunch")
        .expect("lunch")
        .clone();
    assert_eq!(lunch["served"], 2, "{sync}");
    let class = sync["progress"]["classes"]
        .as_array()
        .expect("classes")
        .iter()
        .find(|c| c["label"] == "3Д")
        .expect("3Д")
        .clone();
    assert_eq!(
        (class["served"].clone(), class["expected"].clone()),
        (json!(2), json!(4))
    );
    let seen: Vec<&str> = sync["meals_seen"]
        .as_array()
        .expect("seen")
        .iter()
        .map(|m| m["voucher_id"].as_str().expect("voucher"))
        .collect();
    assert_eq!(
        seen,
        vec![pupils[0].voucher.as_str(), pupils[3].voucher.as_str()]
    );
    let cursor = sync["meals_cursor"].as_i64().expect("cursor");
    let later = server
        .get(
            &format!("/v1/terminals/sync?cursor=0&meals_after={cursor}"),
            Some(&t2),
        )
        .await
        .ok_json();
    assert!(later.get("meals_seen").is_none(), "nothing new: {later}");
    assert_eq!(entry(&sync, &pupils[0])["alert"], ALERT);
    assert_eq!(entry(&sync, &pupils[1])["shift"], 2);
    let lunch_slot = sync["slots"].as_array().expect("slots");
    assert_eq!(lunch_slot[0]["shift"], 1);
    let other = server
        .get("/v1/terminals/sync?cursor=0", Some(&elsewhere))
        .await;
    assert!(!other.text.contains(ALERT), "the alert stays at its school");

    // The school API's Today: manual meals per worker.
    let today = server
        .get(&format!("/v1/schools/{bin}/counter/today"), Some(&staff))
        .await
        .ok_json();
    assert_eq!(
        today["manual_per_worker"],
        json!([{"worker": WORKER, "meals": 1}])
    );

    tabel_of_november(&server, &staff, &pupils, data.path()).await;

    // December: the director approves November; a void by staff is December's adjustment.
    let dev_clock = json!({"now": w::rfc3339(datetime!(2026-12-02 09:00 +5))});
    server
        .post_json("/dev/clock", None, &dev_clock)
        .await
        .ok_json();
    server
        .request(
            Method::POST,
            &format!("/v1/schools/{bin}/tabel/{NOV}/approve"),
            Some(&director),
            None,
        )
        .await
        .ok_json();
    let void_path = format!(
        "/v1/schools/{bin}/meals/{}/void",
        by_card["event_id"].as_str().expect("id")
    );
    let adjusted = server
        .post_json(
            &void_path,
            Some(&staff),
            &json!({"reason": "Ошибка кассира"}),
        )
        .await
        .ok_json();
    assert_eq!(adjusted["status"], "adjustment");
    server
        .post_json(&void_path, Some(&staff), &json!({}))
        .await
        .assert_error(422, "invalid_body");
    let dec = serde_json::from_slice::<Value>(&download(&server, &staff, DEC, "json").await)
        .expect("json");
    assert_eq!(dec["adjustments"]["voided"], 1, "{dec}");
    assert_eq!(dec["adjustments"]["meals"], 0);
    let price = dec["totals"]["meal_price_tiyn"].as_i64().expect("price");
    assert_eq!(dec["adjustments"]["amount_tiyn"], json!(-price));
    let csv = String::from_utf8(download(&server, &staff, DEC, "csv").await).expect("utf-8");
    assert!(
        csv.contains("аннулировано") && csv.contains("Ошибка кассира"),
        "{csv}"
    );
    let xlsx = xlsx_rows(
        &download(&server, &staff, DEC, "xlsx").await,
        "Корректировки",
    );
    assert!(
        xlsx.iter()
            .any(|r| r.contains(&pupils[3].name) && r.contains("Ошибка кассира")),
        "{xlsx:?}"
    );
    if let Some(text) = pdf_text(
        &download(&server, &staff, DEC, "pdf").await,
        data.path(),
        "dec",
    ) {
        assert!(
            text.contains("аннулировано после утверждения 1 пит."),
            "{text}"
        );
    }
    // A foreign school's staff cannot void it.
    let foreign_staff = server
        .staff_token("social_pedagogue", OTHER_SCHOOL_BIN)
        .await;
    server
        .post_json(
            &void_path.replace(bin, OTHER_SCHOOL_BIN),
            Some(&foreign_staff),
            &json!({"reason": "x"}),
        )
        .await
        .assert_error(404, "not_found");
}

/// November in four formats: the manual meal counted and listed with its reason and
/// worker, the voided meal not counted (listed as voided), the wrong-shift meal not counted.
async fn tabel_of_november(server: &Server, staff: &str, pupils: &[Pupil], dir: &std::path::Path) {
    let json: Value =
        serde_json::from_slice(&download(server, staff, NOV, "json").await).expect("json");
    let total = |p: &Pupil| {
        json["rows"]
            .as_array()
            .expect("rows")
            .iter()
            .find(|r| r["student"]["full_name"] == p.name.as_str())
            .map(|r| r["total"].as_i64().unwrap_or(0))
            .unwrap_or(0)
    };
    assert_eq!(
        pupils.iter().map(total).collect::<Vec<_>>(),
        vec![1, 0, 0, 1],
        "manual and card counted; wrong shift and voided not"
    );
    assert_eq!(
        json["manual"][0]["student"]["full_name"],
        pupils[0].name.as_str()
    );
    assert_eq!(json["manual"][0]["reason"], MANUAL_REASON);
    assert_eq!(json["manual"][0]["worker"], WORKER);
    let excluded: Vec<(String, String, String)> = json["excluded"]
        .as_array()
        .expect("excluded")
        .iter()
        .map(|e| {
            (
                e["student"]["full_name"].as_str().unwrap_or("").to_string(),
                e["status"].as_str().unwrap_or("").to_string(),
                e["reason"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    assert!(
        excluded.contains(&(
            pupils[2].name.clone(),
            "voided".into(),
            "Не тот ребёнок".into()
        )),
        "{excluded:?}"
    );
    assert!(
        excluded.contains(&(
            pupils[1].name.clone(),
            "rejected".into(),
            "wrong_shift".into()
        )),
        "{excluded:?}"
    );

    let csv = String::from_utf8(download(server, staff, NOV, "csv").await).expect("utf-8");
    assert!(csv.contains("Ручные отметки"), "{csv}");
    let manual_line = csv
        .lines()
        .find(|l| l.contains(MANUAL_REASON))
        .expect("manual line");
    assert!(
        manual_line.contains(&pupils[0].name) && manual_line.contains(WORKER),
        "{manual_line}"
    );
    let voided_line = csv
        .lines()
        .find(|l| l.contains(&pupils[2].name) && l.contains("Аннулировано"));
    assert!(
        voided_line.is_some_and(|l| l.contains("Не тот ребёнок")),
        "{csv}"
    );
    assert!(
        csv.lines()
            .any(|l| l.contains(&pupils[1].name) && l.contains("Приём пищи другой смены")),
        "{csv}"
    );

    let xlsx = download(server, staff, NOV, "xlsx").await;
    let manual = xlsx_rows(&xlsx, "Ручные отметки");
    assert!(
        manual.iter().any(|r| r.contains(&pupils[0].name)
            && r.contains(MANUAL_REASON)
            && r.contains(WORKER)),
        "{manual:?}"
    );
    let excluded = xlsx_rows(&xlsx, "Не учтено");
    assert!(
        excluded
            .iter()
            .any(|r| r.contains(&pupils[2].name) && r.contains("Аннулировано")),
        "{excluded:?}"
    );
    assert!(
        excluded
            .iter()
            .any(|r| r.contains(&pupils[1].name) && r.contains("Приём пищи другой смены")),
        "{excluded:?}"
    );

    if let Some(text) = pdf_text(&download(server, staff, NOV, "pdf").await, dir, "nov") {
        assert!(text.contains("Ручные отметки"), "{text}");
        assert!(
            text.contains(MANUAL_REASON) && text.contains(WORKER),
            "{text}"
        );
        assert!(text.contains("Аннулировано"), "{text}");
        assert!(text.contains("Приём пищи другой смены"), "{text}");
    }
}
