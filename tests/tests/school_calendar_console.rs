//! The school calendar in the console (issue 14, point 7), over plain HTTP against
//! `wallet-server --demo` on the story clock (Tuesday 24 November 2026): the director sets a
//! six-day week and a school break (a reversed break and a pedagogue's change are refused),
//! and confirms a meal served on a Sunday from the табель page, which bills it.

mod common;
mod console_support;

use reqwest::Method;
use serde_json::json;
use time::{Date, Month, OffsetDateTime, Time};

use common::wallet::{self as w, ASTANA};
use common::{Server, DEMO_PARENT_IIN, DEMO_SCHOOL_BIN, STORY_START};
use console_support::Console;

const YEAR: &str = "2026-2027";

async fn set_clock(server: &Server, now: OffsetDateTime) {
    server
        .post_json("/dev/clock", None, &json!({"now": w::rfc3339(now)}))
        .await
        .ok_json();
}

fn noon(day: Date) -> OffsetDateTime {
    day.with_time(Time::from_hms(12, 30, 0).expect("time"))
        .assume_offset(ASTANA)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_sets_the_week_and_breaks_and_confirms_a_sunday_meal() {
    let data = tests::private_tempdir();
    // Tuesday 24 November 2026.
    let server = Server::demo_from(data.path(), STORY_START);
    let base = format!("/console/schools/{DEMO_SCHOOL_BIN}");
    let director = Console::sign_in(&server, "director", DEMO_SCHOOL_BIN).await;
    let pedagogue = Console::sign_in(&server, "social_pedagogue", DEMO_SCHOOL_BIN).await;

    let page = director.get(&format!("{base}/calendar")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("Учебный календарь · 2026-2027")
            && page.body.contains(r#"id="week-form""#)
    );
    let csrf = page.csrf();
    let week = director
        .post(
            &format!("{base}/calendar/week"),
            &[
                ("csrf", &csrf),
                ("school_year", YEAR),
                ("days_per_week", "6"),
            ],
        )
        .await;
    assert_eq!(
        (week.status, week.location.as_deref()),
        (
            303,
            Some(format!("{base}/calendar?school_year={YEAR}&msg=week").as_str())
        )
    );
    let brk = director
        .post(
            &format!("{base}/calendar/break"),
            &[
                ("csrf", &csrf),
                ("school_year", YEAR),
                ("key", "winter"),
                ("from", "2026-12-28"),
                ("to", "2027-01-08"),
            ],
        )
        .await;
    assert_eq!(
        brk.location.as_deref(),
        Some(format!("{base}/calendar?school_year={YEAR}&msg=break").as_str())
    );
    let bad = director
        .post(
            &format!("{base}/calendar/break"),
            &[
                ("csrf", &csrf),
                ("school_year", YEAR),
                ("key", "spring"),
                ("from", "2027-03-29"),
                ("to", "2027-03-19"),
            ],
        )
        .await;
    assert!(
        bad.location
            .as_deref()
            .is_some_and(|l| l.ends_with("msg=bad_break")),
        "{:?}",
        bad.location
    );
    let page = director
        .get(&format!("{base}/calendar?school_year={YEAR}&msg=break"))
        .await;
    assert!(
        page.body.contains("Каникулы школы сохранены."),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("28.12.2026")
            && page.body.contains(">winter<")
            && !page.body.contains(">spring<")
    );
    assert!(
        page.body.contains(r#"<span class="big">6</span>"#),
        "the six-day week is shown"
    );
    let csrf_p = pedagogue.get(&format!("{base}/calendar")).await.csrf();
    let refused = pedagogue
        .post(
            &format!("{base}/calendar/week"),
            &[
                ("csrf", &csrf_p),
                ("school_year", YEAR),
                ("days_per_week", "5"),
            ],
        )
        .await;
    assert_eq!(refused.status, 403);
    let cal = server
        .get(
            &format!("/v1/schools/{DEMO_SCHOOL_BIN}/calendar"),
            Some(
                &server
                    .staff_token("social_pedagogue", DEMO_SCHOOL_BIN)
                    .await,
            ),
        )
        .await
        .ok_json();
    assert_eq!(cal["days_per_week"], 6, "the pedagogue changed nothing");

    // A meal served on Sunday the 29th waits on the табель for the director.
    let staff = server
        .staff_token("social_pedagogue", DEMO_SCHOOL_BIN)
        .await;
    let code = server
        .request(
            Method::POST,
            &format!("/v1/schools/{DEMO_SCHOOL_BIN}/terminals"),
            Some(&staff),
            None,
        )
        .await
        .json()["code"]
        .as_str()
        .expect("code")
        .to_string();
    let terminal = server
        .post_json(
            "/v1/terminals/enroll",
            None,
            &json!({"code": code, "name": "касса"}),
        )
        .await
        .ok_json()["token"]
        .as_str()
        .expect("token")
        .to_string();
    let mother = server.parent_token(DEMO_PARENT_IIN).await;
    let voucher = w::voucher_ids(&w::wallet(&server, &mother).await).remove(0);
    let sunday = Date::from_calendar_date(2026, Month::November, 29).expect("day");
    set_clock(&server, noon(sunday)).await;
    // Console sessions last hours, not days: sign in again on Sunday.
    let director = Console::sign_in(&server, "director", DEMO_SCHOOL_BIN).await;
    let pedagogue = Console::sign_in(&server, "social_pedagogue", DEMO_SCHOOL_BIN).await;
    let event = "01937000-0000-7000-8000-0000000c0001";
    let pushed = server
        .post_json(
            "/v1/terminals/meals",
            Some(&terminal),
            &json!({"events": [{"event_id": event,
            "voucher_id": voucher, "slot": "day", "service_day": sunday.to_string(),
            "served_at": w::rfc3339(noon(sunday)), "method": "card"}]}),
        )
        .await
        .ok_json();
    assert_eq!(pushed["results"][0]["status"], "accepted", "{pushed}");
    let tabel = director.get(&format!("{base}/tabel?month=2026-11")).await;
    assert!(
        tabel.body.contains(r#"id="unbilled""#) && tabel.body.contains(event),
        "{}",
        tabel.body
    );
    let seen_by_pedagogue = pedagogue.get(&format!("{base}/tabel?month=2026-11")).await;
    assert!(
        seen_by_pedagogue.body.contains(r#"id="unbilled""#)
            && !seen_by_pedagogue.body.contains(event),
        "only the director confirms"
    );
    let approve_page = director
        .get(&format!("{base}/tabel/approve?month=2026-11"))
        .await;
    assert!(
        approve_page.body.contains(r#"id="unbilled-left-out""#),
        "the approval page says what is left out: {}",
        approve_page.body
    );
    let json_before = server
        .get(
            &format!("/v1/schools/{DEMO_SCHOOL_BIN}/tabel?month=2026-11"),
            Some(&staff),
        )
        .await
        .ok_json();
    let confirmed = director
        .post(
            &format!("{base}/tabel/confirm-meal"),
            &[
                ("csrf", &tabel.csrf()),
                ("month", "2026-11"),
                ("event", event),
            ],
        )
        .await;
    assert_eq!(confirmed.status, 303);
    assert!(
        confirmed
            .location
            .as_deref()
            .is_some_and(|l| l.ends_with("msg=confirmed")),
        "{:?}",
        confirmed.location
    );
    let json_after = server
        .get(
            &format!("/v1/schools/{DEMO_SCHOOL_BIN}/tabel?month=2026-11"),
            Some(&staff),
        )
        .await
        .ok_json();
    assert_eq!(json_after["unbilled"].as_array().map(Vec::len), Some(0));
    assert_eq!(
        json_after["totals"]["meals"].as_u64(),
        json_before["totals"]["meals"].as_u64().map(|n| n + 1),
        "the confirmed Sunday meal is billed"
    );
}
