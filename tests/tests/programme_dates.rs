//! Programme dates (issue 14, point 9) against the real `wallet-server --demo`: nothing is
//! formed, minted or billed outside the programme's dates. A list for a month outside them,
//! or more than one month ahead, is refused whole and stores nothing; next month's list is
//! taken; a pass on a day after the programme is refused; a meal served after it is rejected
//! with its reason and stays off the табель's bill.
//!
//! Every server runs on the story clock (24 November 2026, whatever the real date), so the
//! dates here are the story's, never today's.

mod common;

use serde_json::{json, Value};
use shared::Sex;
use time::macros::datetime;
use time::{Month, OffsetDateTime};

use common::wallet::{self as w, ASTANA};
use common::{Server, DEMO_PARENT_IIN, DEMO_SCHOOL_BIN};

/// A school of its own, with one second-grader (a voucher at once: no SMS, no consent).
fn one_child_list(period: &str) -> Value {
    let bin = w::bin([0, 9, 1, 4, 4, 0, 0, 0, 2, 6, 1]).to_string();
    let kid = w::iin(2018, Month::March, 3, Sex::Female, 7101);
    let mum = w::iin(1990, Month::March, 3, Sex::Female, 7101);
    w::list(
        &bin,
        "КГУ «Школа программы»",
        period,
        vec![w::student(
            &kid.expose(),
            "Серикова Асель",
            2,
            "2А",
            "primary",
            vec![w::rep(&mum.expose(), "Серикова Гульнар", "mother", None)],
        )],
    )
}

#[tokio::test]
async fn lists_outside_the_programme_or_past_next_month_are_refused_whole() {
    let data = tests::private_tempdir();
    // `--demo` without dates: the programme runs a year either side of the demo clock
    // (24 November 2026), so October 2025 is outside it and December 2026 inside.
    let server = Server::demo(data.path());
    let shown = server.stdout.iter().find(|l| l.contains("programme"));
    assert!(
        shown.is_some_and(|l| l.contains("2025-11-23 to 2027-11-25")),
        "the banner shows the demo's programme dates: {:?}",
        server.stdout
    );
    let outside = one_child_list("2025-10");
    let bin = outside["school"]["bin"].as_str().expect("bin").to_string();
    let staff = server.staff_token("social_pedagogue", &bin).await;
    let school = format!("/v1/schools/{bin}/vouchers");

    let refused = w::send_list(&server, &outside).await;
    refused.assert_error(422, "outside_programme");
    assert!(refused.text.contains("2025-10"), "{}", refused.text);
    // Two months ahead of November: refused, though inside the programme.
    let ahead = w::send_list(&server, &one_child_list("2027-01")).await;
    ahead.assert_error(422, "list_too_far_ahead");
    assert!(
        ahead.text.contains("2026-12"),
        "names the latest month: {}",
        ahead.text
    );
    // Nothing was stored: the school is unknown.
    server
        .get(&school, Some(&staff))
        .await
        .assert_error(404, "not_found");

    // Next month's list is taken and forms the voucher.
    let taken = w::send_list(&server, &one_child_list("2026-12"))
        .await
        .ok_json();
    assert_eq!(taken["rejected"], json!([]), "{taken}");
    assert_eq!(taken["accepted"][0]["status"], "voucher_formed", "{taken}");
    let vouchers = server.get(&school, Some(&staff)).await.ok_json();
    assert_eq!(w::voucher_ids(&vouchers).len(), 1, "{vouchers}");
}

async fn set_clock(server: &Server, now: OffsetDateTime) {
    server
        .post_json("/dev/clock", None, &json!({"now": w::rfc3339(now)}))
        .await
        .ok_json();
}

/// A lunch at 12:00 Astana on `served_at`'s day, as a terminal pushes it.
fn lunch(seq: u64, voucher: &str, served_at: OffsetDateTime) -> Value {
    json!({
        "event_id": format!("01937000-0000-7000-8000-{seq:012x}"),
        "voucher_id": voucher,
        "slot": "day",
        "service_day": served_at.to_offset(ASTANA).date().to_string(),
        "served_at": w::rfc3339(served_at),
        "method": "card",
    })
}

/// The табель of the demo school for `month`, as JSON.
async fn tabel(server: &Server, month: &str) -> Value {
    let director = server.staff_token("director", DEMO_SCHOOL_BIN).await;
    server
        .get(
            &format!("/v1/schools/{DEMO_SCHOOL_BIN}/tabel?month={month}&format=json"),
            Some(&director),
        )
        .await
        .ok_json()
}

#[tokio::test]
async fn after_the_programme_no_pass_is_minted_and_no_meal_billed() {
    let data = tests::private_tempdir();
    // The programme ends on Monday 30 November 2026, a week after the story clock.
    let server = Server::start(
        data.path(),
        &[
            "--demo",
            "--programme-start",
            "2026-09-01",
            "--programme-end",
            "2026-11-30",
        ],
        &[],
    );
    let parent = server.parent_token(DEMO_PARENT_IIN).await;
    let wallet = w::wallet(&server, &parent).await;
    let voucher = wallet["vouchers"]
        .as_array()
        .and_then(|vs| vs.iter().find(|v| v["state"] == "activated"))
        .and_then(|v| v["id"].as_str())
        .unwrap_or_else(|| panic!("an activated demo voucher in {wallet:#}"))
        .to_string();
    // Inside the programme a pass is minted.
    w::mint(&server, &parent, &voucher, Some("application/json"))
        .await
        .ok_json();
    let terminal = common::drills::demo_terminal_token(&server).await;
    // The roster's listed days stop with the programme: November's carry-over into December
    // is not sent, so an offline terminal refuses on 1 December too.
    let pulled = server
        .get("/v1/terminals/sync", Some(&terminal))
        .await
        .ok_json();
    let entry = pulled["roster"]
        .as_array()
        .and_then(|r| r.iter().find(|e| e["voucher_id"] == voucher.as_str()))
        .unwrap_or_else(|| panic!("the voucher on the roster: {pulled:#}"));
    let last = entry["entitled"]
        .as_array()
        .and_then(|ranges| ranges.last())
        .unwrap_or_else(|| panic!("listed days: {entry}"));
    assert_eq!(last["last"], "2026-11-30", "{entry}");

    // Wednesday 2 December: the voucher is still activated and the November list still
    // carries over (until the 10th), but the programme has ended.
    set_clock(&server, datetime!(2026-12-02 13:00 +5)).await;
    let refused = w::mint(&server, &parent, &voucher, Some("application/json")).await;
    refused.assert_error(409, "outside_programme");
    assert!(refused.text.contains("2026-11-30"), "{}", refused.text);

    let last_day = lunch(1, &voucher, datetime!(2026-11-30 12:00 +5));
    let after = lunch(2, &voucher, datetime!(2026-12-02 12:00 +5));
    let answer = server
        .post_json(
            "/v1/terminals/meals",
            Some(&terminal),
            &json!({"events": [last_day, after]}),
        )
        .await
        .ok_json();
    let results = answer["results"].as_array().expect("results");
    assert_eq!(results[0]["status"], "accepted", "{answer}");
    assert_eq!(results[1]["status"], "rejected", "{answer}");
    assert_eq!(results[1]["reason"], "outside_programme", "{answer}");

    // November bills the last day's meal; December bills nothing and lists the meal.
    let november = tabel(&server, "2026-11").await;
    assert_eq!(november["totals"]["meals"], 1, "{november:#}");
    let december = tabel(&server, "2026-12").await;
    assert_eq!(december["totals"]["meals"], 0, "{december:#}");
    assert_eq!(december["totals"]["amount_tiyn"], 0, "{december:#}");
    let excluded = december["excluded"].as_array().expect("excluded");
    assert_eq!(excluded.len(), 1, "{december:#}");
    assert_eq!(excluded[0]["service_day"], "2026-12-02");
    assert_eq!(excluded[0]["reason"], "outside_programme");
}
