//! End to end (issue 19), against the real `wallet-server --demo` over HTTP: one pass pushed
//! from two terminals of the demo school within a minute becomes a signal with its evidence
//! — on the console's «Сигналы» page for that school's staff and on the integration's
//! `GET /v1/integration/signals` — while the other school's staff do not see it; the
//! parent's feed shows the meal and a refused scan of her child and nothing of another
//! parent's child.

mod common;
mod console_support;

use serde_json::{json, Value};
use shared::time::ASTANA;
use time::{Duration, OffsetDateTime};

use common::drills::enrollment_code_at;
use common::wallet::{self as w, demo};
use common::{Server, DEMO_SCHOOL_BIN, OTHER_SCHOOL_BIN};
use console_support::Console;

const NONCE: &str = "0123456789abcdef";

async fn terminal(server: &Server, bin: &str, name: &str) -> String {
    let code = enrollment_code_at(server, bin).await;
    let enrolled = server
        .post_json(
            "/v1/terminals/enroll",
            None,
            &json!({"code": code, "name": name}),
        )
        .await
        .ok_json();
    enrolled["token"]
        .as_str()
        .expect("device token")
        .to_string()
}

fn meal(voucher: &str, at: OffsetDateTime) -> Value {
    json!({
        "event_id": uuid::Uuid::now_v7().to_string(),
        "voucher_id": voucher,
        "slot": "day",
        "service_day": at.to_offset(ASTANA).date().to_string(),
        "served_at": w::rfc3339(at),
        "method": "qr",
        "pass_nonce": NONCE,
    })
}

async fn push(server: &Server, token: &str, body: Value) -> Vec<String> {
    let answer = server
        .post_json("/v1/terminals/meals", Some(token), &body)
        .await
        .ok_json();
    answer["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| r["status"].as_str().expect("status").to_string())
        .collect()
}

/// The parent's whole feed, page by page (2 a page, so the cursor is used).
async fn feed(server: &Server, parent: &str) -> Vec<Value> {
    let mut all = Vec::new();
    let mut path = "/v1/wallet/events?limit=2".to_string();
    loop {
        let page = server.get(&path, Some(parent)).await.ok_json();
        let events = page["events"].as_array().expect("events").clone();
        if events.is_empty() {
            return all;
        }
        all.extend(events);
        let next = page["next"].as_str().expect("next");
        path = format!("/v1/wallet/events?limit=2&after={next}");
    }
}

#[tokio::test]
async fn a_pass_at_two_terminals_is_a_signal_and_the_parent_sees_her_child_only() {
    let dir = tests::private_tempdir();
    let server = Server::demo(dir.path());
    let mother = server.parent_token(&demo::mother().expose()).await;
    let voucher = w::voucher_ids(&w::wallet(&server, &mother).await)
        .into_iter()
        .next()
        .expect("Айгерим's voucher");
    let omarova = server.parent_token(&demo::omarova().expose()).await;
    let other_voucher = w::voucher_ids(&w::wallet(&server, &omarova).await)
        .pop()
        .expect("Тимур's voucher");
    let activated = w::activate(&server, &omarova, &other_voucher).await;
    assert_eq!(activated.status, 200, "{}", activated.text);
    let till_1 = terminal(&server, DEMO_SCHOOL_BIN, "Касса 1").await;
    let till_2 = terminal(&server, DEMO_SCHOOL_BIN, "Касса 2").await;
    let other_till = terminal(&server, OTHER_SCHOOL_BIN, "Гимназия, касса").await;

    let now = common::story_now();
    let first = json!({"events": [meal(&voucher, now)]});
    assert_eq!(push(&server, &till_1, first).await, ["accepted"]);
    let denial = json!({
        "event_id": uuid::Uuid::now_v7().to_string(),
        "at": w::rfc3339(now + Duration::seconds(45)),
        "reason": "already_ate", "method": "qr",
        "voucher_id": voucher, "pass_nonce": NONCE,
    });
    let second =
        json!({"events": [meal(&voucher, now + Duration::seconds(40))], "denials": [denial]});
    assert_eq!(push(&server, &till_2, second.clone()).await, ["duplicate"]);
    assert_eq!(
        push(&server, &till_2, second).await,
        ["duplicate"],
        "a replay"
    );
    let mut by_card = meal(&other_voucher, now);
    by_card["method"] = json!("card");
    by_card["pass_nonce"] = Value::Null;
    let theirs = json!({"events": [by_card]});
    assert_eq!(push(&server, &other_till, theirs).await, ["accepted"]);
    let too_many: Vec<Value> = (0..1001)
        .map(|_| {
            json!({
        "event_id": uuid::Uuid::now_v7().to_string(), "at": w::rfc3339(now),
        "reason": "unknown_card", "method": "card"})
        })
        .collect();
    server
        .post_json(
            "/v1/terminals/meals",
            Some(&till_1),
            &json!({"events": [], "denials": too_many}),
        )
        .await
        .assert_error(422, "too_many_denials");

    // The integration computes today again and lists the signal with its evidence.
    let day = now.to_offset(ASTANA).date().to_string();
    let integration = server.integration_token().await;
    let computed = server
        .post_json(
            &format!("/v1/integration/signals?day={day}"),
            Some(&integration),
            &json!({}),
        )
        .await
        .ok_json();
    let listed = server
        .get(
            &format!("/v1/integration/signals?day={day}"),
            Some(&integration),
        )
        .await
        .ok_json();
    assert_eq!(computed, listed);
    let signals = listed["signals"].as_array().expect("signals");
    let pass = signals
        .iter()
        .find(|s| s["kind"] == "pass_at_two_places")
        .unwrap_or_else(|| panic!("no pass signal in {listed}"));
    assert_eq!(pass["school"], DEMO_SCHOOL_BIN);
    assert_eq!(pass["subject"], "…89abcdef");
    let terminals: Vec<&str> = pass["evidence"]
        .as_array()
        .expect("evidence")
        .iter()
        .map(|e| e["terminal"].as_str().expect("named"))
        .collect();
    assert_eq!(
        terminals,
        ["Касса 1", "Касса 2", "Касса 2"],
        "two meals and the refused scan"
    );
    assert!(!listed.to_string().contains(&demo::mother().expose()));
    assert!(!signals
        .iter()
        .any(|s| s["school"] == OTHER_SCHOOL_BIN && s["kind"] == "pass_at_two_places"));
    server
        .get(&format!("/v1/integration/signals?day={day}"), Some(&mother))
        .await
        .assert_error(403, "forbidden");
    let tomorrow = (now.to_offset(ASTANA).date() + Duration::DAY).to_string();
    server
        .get(
            &format!("/v1/integration/signals?day={tomorrow}"),
            Some(&integration),
        )
        .await
        .assert_error(422, "date_in_future");

    // The console: this school's staff see it with its evidence; the other school's do not.
    let staff = Console::sign_in(&server, "social_pedagogue", DEMO_SCHOOL_BIN).await;
    let page = staff
        .get(&format!(
            "/console/schools/{DEMO_SCHOOL_BIN}/signals?day={day}"
        ))
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("Один QR-код на двух терминалах"),
        "{}",
        page.body
    );
    assert!(page.body.contains("Касса 2") && page.body.contains("…89abcdef"));
    assert_eq!(
        page.headers
            .get("cache-control")
            .and_then(|v| v.to_str().ok()),
        Some("no-store")
    );
    let other = Console::sign_in(&server, "social_pedagogue", OTHER_SCHOOL_BIN).await;
    let own = other
        .get(&format!(
            "/console/schools/{OTHER_SCHOOL_BIN}/signals?day={day}"
        ))
        .await;
    assert_eq!(own.status, 200, "{}", own.body);
    assert!(
        !own.body.contains("…89abcdef") && !own.body.contains("Касса 2"),
        "{}",
        own.body
    );
    let foreign = other
        .get(&format!(
            "/console/schools/{DEMO_SCHOOL_BIN}/signals?day={day}"
        ))
        .await;
    assert_eq!(foreign.status, 404);

    // The parent's feed: her child's meal, duplicate and refused scan; nothing of Тимур.
    let events = feed(&server, &mother).await;
    let kinds: Vec<String> = events
        .iter()
        .filter(|e| e["event"]["type"] != "voucher")
        .map(|e| {
            let ev = &e["event"];
            format!(
                "{}:{}",
                ev["type"].as_str().unwrap_or(""),
                ev["status"]
                    .as_str()
                    .or(ev["reason"].as_str())
                    .unwrap_or("")
            )
        })
        .collect();
    assert_eq!(
        kinds,
        ["meal:accepted", "meal:duplicate", "denial:already_ate"],
        "{events:?}"
    );
    assert!(events.iter().all(|e| e["voucher_id"] == json!(voucher)));
    let text = serde_json::to_string(&events).expect("json");
    assert!(!text.contains(&demo::mother().expose()) && !text.contains("Айгерим"));
    let theirs = feed(&server, &omarova).await;
    assert!(
        theirs
            .iter()
            .all(|e| e["voucher_id"] == json!(other_voucher)),
        "{theirs:?}"
    );
    assert!(theirs.iter().any(|e| e["event"]["type"] == "meal"));
    server
        .get("/v1/wallet/events?after=not-a-cursor", Some(&mother))
        .await
        .assert_error(400, "invalid_cursor");
}
