//! End to end: 40 meal pushes at once against the real `wallet-server --demo`, on SQLite and
//! (when `TEST_DATABASE_URL` is set) on PostgreSQL. The server writes pushes that wait at one
//! moment in one transaction (group commit, issue 18); every push must still get exactly the
//! answer it would get alone, and the books must hold each meal once.
//!
//! Two terminals of school X push the same twelve pupils' lunch (each its own events) 16
//! times each, all at once; school Y's terminal pushes Тимур's lunch, its void and a refused
//! scan 8 times. Each batch also carries the other school's voucher. So: the terminal whose
//! first push is written first is accepted for all twelve, the other gets `duplicate` for all
//! twelve; every replay answers what the first push answered; the other school's vouchers
//! are unknown and nothing is stored against them; the void answers `voided` every time.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{json, Value};
use shared::time::ASTANA;

use common::backend::Backend;
use common::drills::{books, fill_school, terminal_token_at};
use common::wallet::{self as w, demo};
use common::{Server, DEMO_SCHOOL_BIN, OTHER_SCHOOL_BIN};

const PUSHES: usize = 40;
const PUPILS: usize = 12;

/// A lunch on `voucher` served at `at`, under a new event id.
fn meal(voucher: &str, at: time::OffsetDateTime) -> Value {
    json!({
        "event_id": uuid::Uuid::now_v7().to_string(),
        "voucher_id": voucher,
        "slot": "day",
        "service_day": at.to_offset(ASTANA).date().to_string(),
        "served_at": w::rfc3339(at),
        "method": "qr",
    })
}

/// `(status, reason)` of each event, then `(status, reason)` of each void.
type Answer = (Vec<(String, Option<String>)>, Vec<(String, Option<String>)>);

fn answer_of(body: &Value) -> Answer {
    let pairs = |key: &str| {
        body[key]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|r| {
                        (
                            r["status"].as_str().unwrap_or("?").to_string(),
                            r["reason"].as_str().map(str::to_string),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    (pairs("results"), pairs("voids"))
}

fn verdict(status: &str, reason: Option<&str>) -> (String, Option<String>) {
    (status.to_string(), reason.map(str::to_string))
}

/// Sends every `(token, batch)` at once; the answers in the same order.
async fn all_at_once(server: &Server, pushes: Vec<(String, Value)>) -> Vec<Answer> {
    let client = tests::http_client(None)
        .no_proxy()
        .timeout(Duration::from_secs(60))
        .build()
        .expect("client");
    let url = server.url("/v1/terminals/meals");
    let tasks: Vec<_> = pushes
        .into_iter()
        .map(|(token, batch)| {
            let (client, url) = (client.clone(), url.clone());
            tokio::spawn(async move {
                let resp = client
                    .post(url)
                    .bearer_auth(token)
                    .json(&batch)
                    .send()
                    .await
                    .expect("push sent");
                assert_eq!(resp.status(), 200, "push answered");
                resp.json::<Value>().await.expect("JSON answer")
            })
        })
        .collect();
    let mut answers = Vec::new();
    for t in tasks {
        answers.push(answer_of(&t.await.expect("push task")));
    }
    answers
}

async fn story(server: &Server) {
    let period = &w::rfc3339(common::story_now())[..7];
    let (pupils, mother_x) = fill_school(server, period, PUPILS).await;
    let mother_y = server.parent_token(&demo::omarova().expose()).await;
    let voucher_y = w::voucher_ids(&w::wallet(server, &mother_y).await)
        .pop()
        .expect("Тимур's voucher");
    assert_eq!(w::activate(server, &mother_y, &voucher_y).await.status, 200);
    let (x1, x2) = (
        terminal_token_at(server, DEMO_SCHOOL_BIN).await,
        terminal_token_at(server, DEMO_SCHOOL_BIN).await,
    );
    let y1 = terminal_token_at(server, OTHER_SCHOOL_BIN).await;

    let now = common::story_now();
    // One terminal's batch: the twelve lunches, then the other school's voucher (unknown
    // here).
    let lunches = || -> Vec<Value> {
        let mut events: Vec<Value> = pupils.iter().map(|p| meal(&p.voucher, now)).collect();
        events.push(meal(&voucher_y, now));
        events
    };
    let (batch_x1, batch_x2) = (lunches(), lunches());
    let timur = meal(&voucher_y, now);
    let batch_y1 = json!({
        "events": [timur.clone(), meal(&pupils[0].voucher, now)],
        "voids": [{
            "event_id": timur["event_id"],
            "voided_at": w::rfc3339(now + time::Duration::minutes(1)),
            "reason": "ошибка кассира",
        }],
        "denials": [{
            "event_id": uuid::Uuid::now_v7().to_string(),
            "at": w::rfc3339(now),
            "reason": "expired_pass",
            "method": "qr",
        }],
        "unsent_after": 0,
    });
    let pushes: Vec<(String, Value)> = (0..PUSHES)
        .map(|i| match i % 5 {
            0 | 1 => (x1.clone(), json!({"events": batch_x1, "unsent_after": 0})),
            2 | 3 => (x2.clone(), json!({"events": batch_x2, "unsent_after": 0})),
            _ => (y1.clone(), batch_y1.clone()),
        })
        .collect();
    let answers = all_at_once(server, pushes).await;

    // Every replay of a batch answers what its first push answered.
    let first = |k: usize| answers[k].clone();
    for (i, a) in answers.iter().enumerate() {
        let k = match i % 5 {
            0 | 1 => 0,
            2 | 3 => 2,
            _ => 4,
        };
        assert_eq!(
            a,
            &first(k),
            "push {i} answered unlike its batch's first push"
        );
    }
    let unknown = verdict("rejected", Some("unknown_voucher"));
    let accepted = verdict("accepted", None);
    let duplicate = verdict("duplicate", Some("already_ate"));
    let (ax1, ax2) = (&first(0).0, &first(2).0);
    assert_eq!(ax1[PUPILS], unknown, "Y's voucher at X");
    assert_eq!(ax2[PUPILS], unknown, "Y's voucher at X");
    let x1_won = ax1[0] == accepted;
    let (won, lost) = if x1_won { (ax1, ax2) } else { (ax2, ax1) };
    assert!(won[..PUPILS].iter().all(|v| *v == accepted), "{won:?}");
    assert!(lost[..PUPILS].iter().all(|v| *v == duplicate), "{lost:?}");
    let ay1 = first(4);
    assert_eq!(ay1.0, vec![accepted.clone(), unknown.clone()]);
    assert_eq!(ay1.1, vec![verdict("voided", None)]);

    // The books: each pupil's lunch twice (one billed, one duplicate), Тимур's once (voided),
    // nothing of the other school's events.
    let held = books(server, &mother_x, &pupils).await;
    assert_eq!(held.len(), 2 * PUPILS, "{held:#?}");
    let winners: Vec<&Value> = if x1_won { &batch_x1 } else { &batch_x2 }
        .iter()
        .take(PUPILS)
        .collect();
    let mut statuses: BTreeMap<String, usize> = BTreeMap::new();
    for (id, m) in &held {
        let status = m["status"].as_str().unwrap_or("?").to_string();
        let billed = winners.iter().any(|w| w["event_id"].as_str() == Some(id));
        assert_eq!(status == "accepted", billed, "{id}: {m}");
        *statuses.entry(status).or_default() += 1;
    }
    assert_eq!(statuses.get("accepted"), Some(&PUPILS));
    assert_eq!(statuses.get("duplicate"), Some(&PUPILS));
    let timur_books = server
        .get(
            &format!("/v1/wallet/vouchers/{voucher_y}/history"),
            Some(&mother_y),
        )
        .await
        .ok_json();
    let timur_meals = timur_books["meals"].as_array().expect("meals");
    assert_eq!(timur_meals.len(), 1, "{timur_books}");
    assert_eq!(timur_meals[0]["event_id"], timur["event_id"]);
}

#[tokio::test]
async fn forty_pushes_at_once_get_exact_answers_and_each_meal_is_stored_once() {
    for backend in Backend::all().await {
        let dir = tests::private_tempdir();
        let mut args = vec!["--demo"];
        args.extend(backend.args());
        {
            let server = Server::start(dir.path(), &args, &[]);
            eprintln!("meal push groups on {}", backend.name());
            story(&server).await;
        }
        backend.drop_database().await;
    }
}
