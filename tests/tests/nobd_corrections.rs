//! Corrections downstream (issue 14, point 8), against the real `wallet-server --demo` with
//! a fake NOBD behind `NOBD_URL` and the demo clock moved by `POST /dev/clock`:
//!
//! - a day's report is sent again as a new version, with its reason, when that day's meals
//!   sync after it was built — once per version, whatever is pushed again;
//! - rejected list rows and consent outcomes go back to NOBD as `status` messages, once;
//! - the табель notice of the 1st is delivered to NOBD and shown on every console page
//!   until the month is approved.

mod common;
mod consent_support;
mod console_support;

use std::collections::BTreeMap;
use std::time::Duration as StdDuration;

use reqwest::Method;
use serde_json::{json, Value};
use shared::Sex;
use time::macros::datetime;
use time::{Date, Month, OffsetDateTime};

use common::wallet::{self as w, Term};
use common::{Server, DEMO_PARENT_IIN, DEMO_SCHOOL_BIN};
use consent_support::{eventually, family, reply, row, set_clock, sms_to, Gateway};
use console_support::Console;

/// Tuesday 24 November 2026, 10:00 Astana: the story's first day.
const START: OffsetDateTime = datetime!(2026-11-24 10:00 +5);
const DAY: Date = time::macros::date!(2026 - 11 - 24);

fn demo_with_nobd(dir: &std::path::Path, nobd_url: &str) -> Server {
    let start = w::rfc3339(START);
    Server::start(
        dir,
        &["--demo", "--demo-clock", &start],
        &[("NOBD_URL", nobd_url)],
    )
}

/// What NOBD received, by `type` of body (reports have none: `report`).
fn received(nobd: &Gateway, kind: &str) -> Vec<(String, Value)> {
    nobd.posts()
        .into_iter()
        .filter(|(_, body)| body["type"].as_str().unwrap_or("report") == kind)
        .collect()
}

fn event_id(id: u64) -> String {
    format!("01937000-0000-7000-8000-{id:012x}")
}

/// `DAY` at `hour:minute`, Astana time.
fn at(hour: u8, minute: u8) -> OffsetDateTime {
    DAY.with_hms(hour, minute, 0)
        .expect("time")
        .assume_offset(w::ASTANA)
}

fn meal(id: u64, voucher: &str, minute: u8) -> Value {
    json!({
        "event_id": event_id(id),
        "voucher_id": voucher,
        "slot": "day",
        "service_day": DAY.to_string(),
        "served_at": w::rfc3339(at(12, minute)),
        "method": "qr",
    })
}

/// The demo school's meals served in version `version` of the day's report, once NOBD has it.
fn version_served(nobd: &Gateway, version: u64) -> Option<i64> {
    received(nobd, "report")
        .into_iter()
        .map(|(_, body)| body)
        .find(|b| b["date"] == DAY.to_string() && b["version"] == version)
        .and_then(|b| {
            b["schools"]
                .as_array()?
                .iter()
                .find(|s| s["bin"] == DEMO_SCHOOL_BIN)?["meals_served"]
                .as_i64()
        })
}

async fn push(server: &Server, terminal: &str, events: Vec<Value>) -> Vec<String> {
    let answer = server
        .post_json(
            "/v1/terminals/meals",
            Some(terminal),
            &json!({"events": events}),
        )
        .await
        .ok_json();
    answer["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| r["status"].as_str().expect("status").to_string())
        .collect()
}

/// The versions of the day's report NOBD received, with how often each key came.
fn report_versions(nobd: &Gateway) -> BTreeMap<u64, (String, usize)> {
    let mut versions: BTreeMap<u64, (String, usize)> = BTreeMap::new();
    for (key, body) in received(nobd, "report") {
        if body["date"] != DAY.to_string() {
            continue;
        }
        let version = body["version"].as_u64().expect("a version");
        let entry = versions.entry(version).or_insert((key.clone(), 0));
        assert_eq!(entry.0, key, "one key per version");
        entry.1 += 1;
    }
    versions
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn late_meals_send_the_days_report_again_as_a_new_version_once() {
    let (nobd, url) = Gateway::start().await;
    let dir = tests::private_tempdir();
    let server = demo_with_nobd(dir.path(), &url);
    let mother = server.parent_token(DEMO_PARENT_IIN).await;
    let aigerim = w::voucher_ids(&w::wallet(&server, &mother).await).remove(0);
    let terminal = common::drills::demo_terminal_token(&server).await;
    let kim = server.parent_token(&w::demo::kim_mother().expose()).await;
    let dana = w::voucher_ids(&w::wallet(&server, &kim).await).remove(0);
    w::activate(&server, &kim, &dana).await.ok_json();

    // 23:40: the day's report is built (nothing eaten yet: the terminal is offline) and sent.
    set_clock(&server, datetime!(2026-11-24 23:40 +5)).await;
    eventually("version 1 at NOBD", || async {
        report_versions(&nobd).contains_key(&1).then_some(())
    })
    .await;

    // Next morning the terminal syncs the day's lunch: version 2, with its reason.
    set_clock(&server, datetime!(2026-11-25 09:00 +5)).await;
    let batch = vec![meal(1, &aigerim, 5)];
    assert_eq!(push(&server, &terminal, batch.clone()).await, ["accepted"]);
    eventually("version 2 at NOBD", || async {
        report_versions(&nobd).contains_key(&2).then_some(())
    })
    .await;
    // The same batch again (an unanswered push re-sent): no new version.
    assert_eq!(push(&server, &terminal, batch).await, ["accepted"]);
    // A second scan of that lunch from another till, synced late: a duplicate, version 3.
    assert_eq!(
        push(&server, &terminal, vec![meal(2, &aigerim, 9)]).await,
        ["duplicate"]
    );
    eventually("version 3 at NOBD", || async {
        report_versions(&nobd).contains_key(&3).then_some(())
    })
    .await;

    let integration = server.integration_token().await;
    let report = server
        .get(
            &format!("/v1/integration/reports/daily?date={DAY}"),
            Some(&integration),
        )
        .await
        .ok_json();
    assert_eq!(report["version"], 3, "{report}");
    let reason = report["reason"].as_str().expect("a reason");
    assert!(
        reason.starts_with("late_meals") && reason.contains("duplicates 0 → 1"),
        "{reason}"
    );
    let school = report["schools"]
        .as_array()
        .expect("schools")
        .iter()
        .find(|s| s["bin"] == DEMO_SCHOOL_BIN)
        .expect("the demo school");
    assert_eq!(
        (&school["meals_served"], &school["duplicates"]),
        (&json!(1), &json!(1))
    );

    // Voids take meals out of a built day's counts: each is a new version too. Дана's lunch
    // came late (version 4); the terminal had voided it two minutes after serving it, and
    // that void syncs later still (version 5); staff void Айгерим's lunch that morning
    // (version 6).
    assert_eq!(
        push(&server, &terminal, vec![meal(3, &dana, 10)]).await,
        ["accepted"]
    );
    let served = |v: u64| {
        let nobd = &nobd;
        async move { version_served(nobd, v) }
    };
    assert_eq!(eventually("version 4 at NOBD", || served(4)).await, 2);
    let void = json!({"event_id": event_id(3), "voided_at": w::rfc3339(at(12, 12)), "reason": "не тот ребёнок"});
    let answer = server
        .post_json(
            "/v1/terminals/meals",
            Some(&terminal),
            &json!({"events": [], "voids": [void]}),
        )
        .await
        .ok_json();
    assert_eq!(answer["voids"][0]["status"], "voided", "{answer}");
    assert_eq!(eventually("version 5 at NOBD", || served(5)).await, 1);
    let staff = server
        .staff_token("social_pedagogue", DEMO_SCHOOL_BIN)
        .await;
    let voided = server
        .post_json(
            &format!("/v1/schools/{DEMO_SCHOOL_BIN}/meals/{}/void", event_id(1)),
            Some(&staff),
            &json!({"reason": "Ошибка кассира"}),
        )
        .await
        .ok_json();
    assert_eq!(voided["status"], "voided");
    assert_eq!(eventually("version 6 at NOBD", || served(6)).await, 0);

    // Each version reached NOBD once, under its own key; nothing more follows.
    tokio::time::sleep(StdDuration::from_millis(1500)).await;
    let versions = report_versions(&nobd);
    assert_eq!(
        versions.keys().copied().collect::<Vec<_>>(),
        [1, 2, 3, 4, 5, 6]
    );
    assert!(versions.values().all(|(_, n)| *n == 1), "{versions:?}");
    let keys: std::collections::BTreeSet<_> = versions.values().map(|(k, _)| k).collect();
    assert_eq!(keys.len(), 6);
    server.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejected_rows_and_consent_outcomes_go_back_to_nobd_once() {
    let (nobd, url) = Gateway::start().await;
    let dir = tests::private_tempdir();
    let server = demo_with_nobd(dir.path(), &url);
    let term = Term::enter(&server).await;
    let asked = family(1, "+7 701 555 00 11", "77015550011");
    let silent = family(3, "+7 701 555 00 33", "77015550033");
    let silent_child = w::iin(2012, Month::May, 9, Sex::Female, 6101);
    let no_phone_mum = w::iin(1983, Month::June, 3, Sex::Female, 6101);
    let no_phone = w::student(
        &silent_child.expose(),
        "Без Телефона",
        7,
        "7Б",
        "asp",
        vec![w::rep(
            &no_phone_mum.expose(),
            "Мама Без Телефона",
            "mother",
            None,
        )],
    );
    let mut broken = row(&family(2, "+7 701 555 00 22", "77015550022"));
    broken["iin"] = json!("123");
    let bin = w::bin([0, 8, 1, 2, 4, 0, 0, 0, 3, 1, 2]);
    let list = w::list(
        &bin.to_string(),
        "Школа возвратов",
        &term.period(),
        vec![row(&asked), no_phone, broken, row(&silent)],
    );
    let answer = w::send_list(&server, &list).await.ok_json();
    assert_eq!(answer["rejected"][0]["index"], 2, "{answer}");

    let rejected = eventually("the rejected row at NOBD", || async {
        received(&nobd, "list_rows_rejected").pop()
    })
    .await;
    assert_eq!(rejected.1["school_bin"], bin.to_string());
    assert_eq!(
        rejected.1["rows"],
        json!([{"index": 2, "iin": "123", "reason": "invalid_iin"}])
    );
    let no_phone_outcome = eventually("the no_phone outcome", || async {
        received(&nobd, "consent_outcome")
            .into_iter()
            .find(|(_, b)| b["state"] == "no_phone")
    })
    .await;
    assert_eq!(no_phone_outcome.1["student_iin"], silent_child.expose());

    // The same list again (PEP retrying): nothing new goes back.
    w::send_list(&server, &list).await.ok_json();
    // The asked mother refuses: the outcome goes back.
    reply(&server, asked.phone, "3#2").await;
    let refused = eventually("the refusal at NOBD", || async {
        received(&nobd, "consent_outcome")
            .into_iter()
            .find(|(_, b)| b["state"] == "refused")
    })
    .await;
    assert_eq!(refused.1["student_iin"], asked.child.expose());
    assert!(refused.1["voucher_id"].is_null());

    // The silent mother: reminded, then timed out days later; that goes back too.
    set_clock(&server, START + time::Duration::days(4)).await;
    eventually("the reminder", || async {
        (sms_to(&server, silent.phone).await.len() == 2).then_some(())
    })
    .await;
    set_clock(&server, START + time::Duration::days(8)).await;
    let timed_out = eventually("the timeout at NOBD", || async {
        received(&nobd, "consent_outcome")
            .into_iter()
            .find(|(_, b)| b["state"] == "timed_out")
    })
    .await;
    assert_eq!(timed_out.1["student_iin"], silent.child.expose());

    tokio::time::sleep(StdDuration::from_millis(1500)).await;
    assert_eq!(
        received(&nobd, "list_rows_rejected").len(),
        1,
        "once per list"
    );
    assert_eq!(received(&nobd, "consent_outcome").len(), 3);
    // The outbox shows them as `status` messages to NOBD, delivered.
    let outbox = w::outbox(&server).await;
    let statuses: Vec<&Value> = outbox["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .filter(|m| m["kind"] == "status")
        .collect();
    assert_eq!(statuses.len(), 4, "{outbox}");
    assert!(statuses
        .iter()
        .all(|m| m["to"] == "nobd" && m["state"] == "sent"));
    server.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tabel_notice_is_delivered_and_shown_on_every_page_until_approval() {
    let (nobd, url) = Gateway::start().await;
    let dir = tests::private_tempdir();
    let server = demo_with_nobd(dir.path(), &url);
    let today = format!("/console/schools/{DEMO_SCHOOL_BIN}/today");
    let students = format!("/console/schools/{DEMO_SCHOOL_BIN}/students");
    let director = Console::sign_in(&server, "director", DEMO_SCHOOL_BIN).await;
    assert!(!director.get(&today).await.body.contains("tabel-notices"));

    // 1 December, 09:05: November's табель is ready.
    set_clock(&server, datetime!(2026-12-01 09:05 +5)).await;
    let notice = eventually("the notice at NOBD", || async {
        received(&nobd, "tabel_ready")
            .into_iter()
            .find(|(_, b)| b["school_bin"] == DEMO_SCHOOL_BIN)
    })
    .await;
    assert_eq!(notice.1["month"], "2026-11");
    // A week passed on the demo clock: the morning's session is a new one.
    let director = Console::sign_in(&server, "director", DEMO_SCHOOL_BIN).await;
    for page in [&today, &students] {
        let body = director.get(page).await.body;
        assert!(body.contains(r#"id="tabel-notices""#), "{page}: {body}");
        assert!(body.contains("ноябрь 2026"), "{page}: {body}");
        assert!(body.contains("tabel?month=2026-11"), "{page}: {body}");
    }

    // Approved: the notice is gone from every page.
    let token = server.staff_token("director", DEMO_SCHOOL_BIN).await;
    let approved = server
        .request(
            Method::POST,
            &format!("/v1/schools/{DEMO_SCHOOL_BIN}/tabel/2026-11/approve"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(approved.status, 200, "{}", approved.text);
    for page in [&today, &students] {
        let body = director.get(page).await.body;
        assert!(!body.contains("tabel-notices"), "{page}: {body}");
    }
    server.stop();
}
