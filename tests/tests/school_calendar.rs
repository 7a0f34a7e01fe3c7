//! The school calendar over HTTP (issue 14, point 7), against `wallet-server --demo` on a
//! fixed story: December 2026 at a new school. A meal on 16 December (Independence Day) is on
//! the табель's "not billed" list, outside the amount, until the director confirms it; a
//! six-day school's Saturday is a school day; a declared transfer and a regional winter break
//! hold their meals out too; once December is approved, calendar changes touching it and
//! confirmations are refused, nothing changed.

mod common;

use reqwest::Method;
use serde_json::{json, Value};
use shared::Sex;
use time::macros::datetime;
use time::{Date, Month, OffsetDateTime, Time};

use common::wallet::{self as w, ASTANA};
use common::{Resp, Server, STORY_START};

const DEC: &str = "2026-12";
const YEAR: &str = "2026-2027";

async fn set_clock(server: &Server, now: OffsetDateTime) {
    server
        .post_json("/dev/clock", None, &json!({"now": w::rfc3339(now)}))
        .await
        .ok_json();
}

fn day(d: u8) -> Date {
    Date::from_calendar_date(2026, Month::December, d).expect("a December day")
}

fn noon(day: Date) -> OffsetDateTime {
    day.with_time(Time::from_hms(12, 30, 0).expect("time"))
        .assume_offset(ASTANA)
}

async fn put(server: &Server, path: &str, token: &str, body: Value) -> Resp {
    server
        .request(Method::PUT, path, Some(token), Some(&body))
        .await
}

struct School {
    bin: String,
    voucher: String,
    terminal: String,
}

/// A new school with one fed student and an enrolled terminal, on 1 December.
async fn school(server: &Server) -> School {
    set_clock(server, datetime!(2026-12-01 09:00 +5)).await;
    let bin = w::bin([0, 9, 1, 2, 4, 0, 0, 0, 7, 7, 1]).to_string();
    let kid = w::iin(2018, Month::April, 4, Sex::Female, 4101);
    let mother = w::iin(1988, Month::May, 5, Sex::Female, 4101);
    let row = w::student(
        &kid.expose(),
        "Әлиева Қарлығаш",
        2,
        "2А",
        "primary",
        vec![w::rep(&mother.expose(), "Әлиева Гүлнар", "mother", None)],
    );
    let answer = w::send_list(server, &w::list(&bin, "Школа календаря", DEC, vec![row]))
        .await
        .ok_json();
    let voucher = answer["accepted"][0]["voucher_id"]
        .as_str()
        .unwrap_or_else(|| panic!("a voucher: {answer}"))
        .to_string();
    let parent = server.parent_token(&mother.expose()).await;
    w::activate(server, &parent, &voucher).await.ok_json();
    let staff = server.staff_token("social_pedagogue", &bin).await;
    let code = server
        .request(
            Method::POST,
            &format!("/v1/schools/{bin}/terminals"),
            Some(&staff),
            None,
        )
        .await
        .json()["code"]
        .as_str()
        .expect("code")
        .to_string();
    let enrolled = server
        .post_json(
            "/v1/terminals/enroll",
            None,
            &json!({"code": code, "name": "касса"}),
        )
        .await
        .ok_json();
    let terminal = enrolled["token"].as_str().expect("token").to_string();
    School {
        bin,
        voucher,
        terminal,
    }
}

/// The terminal pushes one meal on `d`, at 12:30 that day (the clock moves there).
async fn eat(server: &Server, s: &School, d: Date, seq: u64) -> String {
    set_clock(server, noon(d)).await;
    let id = format!("01937000-0000-7000-8000-{seq:012x}");
    let answer = server
        .post_json(
            "/v1/terminals/meals",
            Some(&s.terminal),
            &json!({"events": [{"event_id": id, "voucher_id": s.voucher, "slot": "day",
                "service_day": d.to_string(), "served_at": w::rfc3339(noon(d)), "method": "card"}]}),
        )
        .await
        .ok_json();
    assert_eq!(answer["results"][0]["status"], "accepted", "{answer}");
    id
}

/// December's табель: (billed meals, amount, [(unbilled day, why)]).
async fn december(server: &Server, s: &School, token: &str) -> (u64, i64, Vec<(String, String)>) {
    let t = server
        .get(
            &format!("/v1/schools/{}/tabel?month={DEC}", s.bin),
            Some(token),
        )
        .await
        .ok_json();
    let unbilled = t["unbilled"]
        .as_array()
        .expect("unbilled")
        .iter()
        .map(|u| {
            (
                u["service_day"].as_str().expect("day").to_string(),
                u["day"].as_str().expect("why").to_string(),
            )
        })
        .collect();
    (
        t["totals"]["meals"].as_u64().expect("meals"),
        t["totals"]["amount_tiyn"].as_i64().expect("amount"),
        unbilled,
    )
}

fn held(days: &[(u8, &str)]) -> Vec<(String, String)> {
    days.iter()
        .map(|&(d, why)| (day(d).to_string(), why.to_string()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn meals_on_non_school_days_wait_for_the_director() {
    let data = tests::private_tempdir();
    let server = Server::demo_from(data.path(), STORY_START);
    let s = school(&server).await;
    let bin = s.bin.clone();
    let integration = server.integration_token().await;
    let director = server.staff_token("director", &bin).await;
    let pedagogue = server.staff_token("social_pedagogue", &bin).await;
    let price = 80_000;

    // Tuesday the 15th, Independence Day, Saturday the 19th.
    let tue = eat(&server, &s, day(15), 1).await;
    let independence = eat(&server, &s, day(16), 2).await;
    eat(&server, &s, day(19), 3).await;
    assert_eq!(
        december(&server, &s, &pedagogue).await,
        (1, price, held(&[(16, "holiday"), (19, "rest_day")])),
        "the holiday and the Saturday are listed, outside the amount"
    );
    let csv = server
        .get(
            &format!("/v1/schools/{bin}/tabel?month={DEC}&format=csv"),
            Some(&pedagogue),
        )
        .await;
    assert_eq!(csv.status, 200);
    assert!(
        csv.text.contains("Не оплачивается") && csv.text.contains(&independence),
        "{}",
        csv.text
    );

    // A six-day school teaches on Saturday; only the director sets the week.
    let week = format!("/v1/schools/{bin}/calendar/week");
    put(
        &server,
        &week,
        &pedagogue,
        json!({"school_year": YEAR, "days_per_week": 6}),
    )
    .await
    .assert_error(403, "forbidden");
    put(
        &server,
        &week,
        &director,
        json!({"school_year": YEAR, "days_per_week": 7}),
    )
    .await
    .assert_error(422, "invalid_week");
    put(
        &server,
        &week,
        &director,
        json!({"school_year": YEAR, "days_per_week": 6}),
    )
    .await
    .ok_json();
    assert_eq!(
        december(&server, &s, &pedagogue).await,
        (2, 2 * price, held(&[(16, "holiday")]))
    );

    // A transfer: Monday the 21st off by decree.
    put(
        &server,
        "/v1/integration/calendar/days/2026-12-21",
        &integration,
        json!({"kind": "day_off", "name": "перенос с 2 января"}),
    )
    .await
    .ok_json();
    put(
        &server,
        "/v1/integration/calendar/days/2026-12-22",
        &director,
        json!({"kind": "holiday", "name": "x"}),
    )
    .await
    .assert_error(403, "forbidden");
    eat(&server, &s, day(21), 4).await;

    // The region's winter break: the school is in Almaty, whose break starts on the 28th.
    put(
        &server,
        &format!("/v1/integration/schools/{bin}/region"),
        &integration,
        json!({"region": "almaty_city"}),
    )
    .await
    .ok_json();
    put(
        &server,
        &format!("/v1/integration/calendar/breaks/{YEAR}/winter"),
        &integration,
        json!({"from": "2026-12-30", "to": "2027-01-07"}),
    )
    .await
    .ok_json();
    put(
        &server,
        &format!("/v1/integration/calendar/breaks/{YEAR}/winter"),
        &integration,
        json!({"from": "2026-12-28", "to": "2027-01-08", "region": "almaty_city"}),
    )
    .await
    .ok_json();
    put(
        &server,
        &format!("/v1/integration/calendar/breaks/{YEAR}/winter"),
        &integration,
        json!({"from": "2027-01-08", "to": "2026-12-28"}),
    )
    .await
    .assert_error(422, "invalid_break");
    eat(&server, &s, day(28), 5).await;
    assert_eq!(
        december(&server, &s, &pedagogue).await,
        (
            2,
            2 * price,
            held(&[(16, "holiday"), (21, "day_off"), (28, "school_break")])
        )
    );
    let cal = server
        .get(
            &format!("/v1/schools/{bin}/calendar?school_year={YEAR}"),
            Some(&pedagogue),
        )
        .await
        .ok_json();
    assert_eq!(
        (cal["days_per_week"].as_u64(), cal["region"].as_str()),
        (Some(6), Some("almaty_city"))
    );
    assert_eq!(cal["breaks"][0]["scope"], "region", "{cal}");
    assert!(cal["days_off"]
        .as_array()
        .expect("days off")
        .iter()
        .any(|d| d["date"] == "2026-12-16" && d["status"] == "holiday"));

    // The director confirms the Independence Day meal: billed from now on.
    let confirm = |id: &str| format!("/v1/schools/{bin}/tabel/{DEC}/unbilled/{id}/confirm");
    server
        .request(
            Method::POST,
            &confirm(&independence),
            Some(&pedagogue),
            None,
        )
        .await
        .assert_error(403, "forbidden");
    server
        .request(Method::POST, &confirm(&tue), Some(&director), None)
        .await
        .assert_error(422, "not_off_day");
    let done = server
        .request(Method::POST, &confirm(&independence), Some(&director), None)
        .await
        .ok_json();
    assert_eq!(
        (done["day"].as_str(), done["newly_confirmed"].as_bool()),
        (Some("holiday"), Some(true))
    );
    assert_eq!(
        december(&server, &s, &pedagogue).await,
        (3, 3 * price, held(&[(21, "day_off"), (28, "school_break")]))
    );

    // December approved: its calendar and its meals are settled.
    set_clock(&server, datetime!(2027-01-02 10:00 +5)).await;
    server
        .request(
            Method::POST,
            &format!("/v1/schools/{bin}/tabel/{DEC}/approve"),
            Some(&director),
            None,
        )
        .await
        .ok_json();
    let before = december(&server, &s, &pedagogue).await;
    let national_before = server
        .get(
            &format!("/v1/integration/calendar?school_year={YEAR}"),
            Some(&integration),
        )
        .await
        .ok_json();
    put(
        &server,
        "/v1/integration/calendar/days/2026-12-25",
        &integration,
        json!({"kind": "holiday", "name": "x"}),
    )
    .await
    .assert_error(409, "month_approved");
    put(
        &server,
        &format!("/v1/schools/{bin}/calendar/breaks/{YEAR}/winter"),
        &director,
        json!({"from": "2026-12-24", "to": "2027-01-08"}),
    )
    .await
    .assert_error(409, "month_approved");
    put(
        &server,
        &week,
        &director,
        json!({"school_year": YEAR, "days_per_week": 5}),
    )
    .await
    .assert_error(409, "month_approved");
    let after_refusals = server
        .get(
            &format!("/v1/integration/calendar?school_year={YEAR}"),
            Some(&integration),
        )
        .await
        .ok_json();
    assert_eq!(after_refusals, national_before, "nothing changed");
    let held_21 = server
        .get(
            &format!("/v1/schools/{bin}/tabel?month={DEC}"),
            Some(&director),
        )
        .await
        .ok_json()["unbilled"][0]["event_id"]
        .as_str()
        .expect("event id")
        .to_string();
    server
        .request(Method::POST, &confirm(&held_21), Some(&director), None)
        .await
        .assert_error(409, "month_approved");
    assert_eq!(december(&server, &s, &pedagogue).await, before);

    // The routes are in the OpenAPI document.
    let doc = server.get("/openapi.json", None).await.ok_json();
    for path in [
        "/v1/integration/calendar",
        "/v1/integration/calendar/days/{date}",
        "/v1/integration/calendar/breaks/{school_year}/{key}",
        "/v1/integration/schools/{bin}/region",
        "/v1/schools/{bin}/calendar",
        "/v1/schools/{bin}/calendar/week",
        "/v1/schools/{bin}/calendar/breaks/{school_year}/{key}",
        "/v1/schools/{bin}/tabel/{month}/unbilled/{event_id}/confirm",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} documented");
    }
}
