//! End to end: a terminal never writes into, or reads from, another school's data — the
//! outside probe's reproductions, against the real `wallet-server --demo`, on SQLite and (when
//! `TEST_DATABASE_URL` is set) on PostgreSQL.
//!
//! School X's terminal pushes a meal on school Y's voucher (voucher ids are printed in every
//! pass): it is answered like an unknown voucher and nothing is stored — Y's parent's history
//! and X's табель stay clean. Event ids belong to the terminal that made them: Y's terminal
//! pushing its own valid meal under an id X's terminal used first gets its own answer and its
//! meal is kept, while X's replay still gets X's.

mod common;

use serde_json::{json, Value};
use shared::time::ASTANA;

use common::backend::Backend;
use common::drills::terminal_token_at;
use common::wallet::{self as w, demo};
use common::{Server, DEMO_SCHOOL_BIN, OTHER_SCHOOL_BIN};

/// A meal on `voucher` served now (server's story clock) under `event_id`.
fn meal(event_id: &str, voucher: &str) -> Value {
    let at = common::story_now();
    json!({
        "event_id": event_id,
        "voucher_id": voucher,
        "slot": "day",
        "service_day": at.to_offset(ASTANA).date().to_string(),
        "served_at": w::rfc3339(at),
        "method": "qr",
    })
}

/// Pushes one meal; returns its verdict and reason.
async fn push(server: &Server, token: &str, meal: Value) -> (String, Option<String>) {
    let body = server
        .post_json(
            "/v1/terminals/meals",
            Some(token),
            &json!({"events": [meal], "unsent_after": 0}),
        )
        .await
        .ok_json();
    let result = &body["results"][0];
    (
        result["status"].as_str().expect("status").to_string(),
        result["reason"].as_str().map(str::to_string),
    )
}

/// The meals a parent sees on a voucher.
async fn history(server: &Server, parent: &str, voucher: &str) -> Vec<Value> {
    server
        .get(
            &format!("/v1/wallet/vouchers/{voucher}/history"),
            Some(parent),
        )
        .await
        .ok_json()["meals"]
        .as_array()
        .expect("meals")
        .clone()
}

/// The whole story on one server.
async fn story(server: &Server) {
    let mother_x = server.parent_token(&demo::mother().expose()).await;
    let voucher_x = w::voucher_ids(&w::wallet(server, &mother_x).await)
        .into_iter()
        .next()
        .expect("Айгерим's voucher");
    let mother_y = server.parent_token(&demo::omarova().expose()).await;
    let voucher_y = w::voucher_ids(&w::wallet(server, &mother_y).await)
        .pop()
        .expect("Тимур's voucher");
    let activated = w::activate(server, &mother_y, &voucher_y).await;
    assert_eq!(activated.status, 200, "{}", activated.text);
    let terminal_x = terminal_token_at(server, DEMO_SCHOOL_BIN).await;
    let terminal_y = terminal_token_at(server, OTHER_SCHOOL_BIN).await;

    // X's terminal on Y's voucher: unknown to X, and nothing is stored anywhere.
    let foreign = uuid::Uuid::now_v7().to_string();
    let answer = push(server, &terminal_x, meal(&foreign, &voucher_y)).await;
    assert_eq!(
        answer,
        ("rejected".into(), Some("unknown_voucher".into())),
        "another school's voucher is not this terminal's business"
    );
    assert!(
        history(server, &mother_y, &voucher_y).await.is_empty(),
        "nothing was written against Y's voucher"
    );
    let staff_x = server
        .staff_token("social_pedagogue", DEMO_SCHOOL_BIN)
        .await;
    let month = &w::rfc3339(common::story_now())[..7];
    let tabel_x = server
        .get(
            &format!("/v1/schools/{DEMO_SCHOOL_BIN}/tabel?month={month}&format=json"),
            Some(&staff_x),
        )
        .await;
    assert_eq!(tabel_x.status, 200, "{}", tabel_x.text);
    assert!(
        !tabel_x.text.contains(&foreign) && !tabel_x.text.contains("Омаров"),
        "X's табель holds nothing of Y's student: {}",
        tabel_x.text
    );

    // X's terminal feeds Айгерим under an id; Y's terminal then feeds Тимур under the same id.
    let shared_id = uuid::Uuid::now_v7().to_string();
    let x_first = push(server, &terminal_x, meal(&shared_id, &voucher_x)).await;
    assert_eq!(x_first, ("accepted".into(), None));
    let y_own = push(server, &terminal_y, meal(&shared_id, &voucher_y)).await;
    assert_eq!(
        y_own,
        ("accepted".into(), None),
        "Y's meal gets its own answer, not X's stored one"
    );
    let seen_y = history(server, &mother_y, &voucher_y).await;
    assert_eq!(seen_y.len(), 1, "{seen_y:?}");
    assert_eq!(seen_y[0]["event_id"], json!(shared_id));
    assert_eq!(seen_y[0]["status"], json!("accepted"));
    assert_eq!(seen_y[0]["school"]["bin"], json!(OTHER_SCHOOL_BIN));

    // Each terminal's replay still gets its own answer; nothing is stored twice.
    let x_again = push(server, &terminal_x, meal(&shared_id, &voucher_x)).await;
    assert_eq!(x_again, ("accepted".into(), None));
    let y_again = push(server, &terminal_y, meal(&shared_id, &voucher_y)).await;
    assert_eq!(y_again, ("accepted".into(), None));
    let x_foreign_again = push(server, &terminal_x, meal(&foreign, &voucher_y)).await;
    assert_eq!(x_foreign_again.1.as_deref(), Some("unknown_voucher"));
    assert_eq!(history(server, &mother_x, &voucher_x).await.len(), 1);
    assert_eq!(history(server, &mother_y, &voucher_y).await.len(), 1);
}

#[tokio::test]
async fn a_terminal_touches_only_its_own_school() {
    for backend in Backend::all().await {
        let dir = tests::private_tempdir();
        let mut args = vec!["--demo"];
        args.extend(backend.args());
        {
            let server = Server::start(dir.path(), &args, &[]);
            eprintln!("tenant walls on {}", backend.name());
            story(&server).await;
        }
        backend.drop_database().await;
    }
}
