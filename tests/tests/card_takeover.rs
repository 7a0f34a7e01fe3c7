//! A card bound at another school (issue 16, "Cards"): binding it answers exactly as a free
//! card would — no word of the other school — and moves it, audited on both sides, and the
//! other school's terminals see it unbound at their next roster pull. On SQLite and, with
//! `TEST_DATABASE_URL`, PostgreSQL.

mod common;

use serde_json::{json, Value};

use common::backend::Backend;
use common::drills::demo_terminal_token;
use common::wallet::demo;
use common::{Server, DEMO_SCHOOL_BIN, DEMO_SCHOOL_NAME, OTHER_SCHOOL_BIN};

/// The card the story moves, and two fresh ones.
const CARD: &str = "C0FFEE0001";
const FRESH: &str = "C0FFEE0002";
const FRESHER: &str = "C0FFEE0003";
const AIGERIM: &str = "Сапарова Айгерим Ерлановна";

async fn bind(server: &Server, school: &str, student: &str, card: &str) -> common::Resp {
    let staff = server.staff_token("social_pedagogue", school).await;
    server
        .post_json(
            &format!("/v1/schools/{school}/cards"),
            Some(&staff),
            &json!({"student_iin": student, "card_uid": card}),
        )
        .await
}

/// The demo school's roster rows (a pull with `cursor`) and the next cursor.
async fn roster(server: &Server, device: &str, cursor: i64) -> (Vec<Value>, i64) {
    let sync = server
        .get(&format!("/v1/terminals/sync?cursor={cursor}"), Some(device))
        .await
        .ok_json();
    let rows = sync["roster"].as_array().expect("roster").clone();
    (rows, sync["cursor"].as_i64().expect("cursor"))
}

fn row_of<'a>(rows: &'a [Value], name: &str) -> &'a Value {
    rows.iter()
        .find(|r| r["student_name"] == name)
        .unwrap_or_else(|| panic!("{name} not in {rows:#?}"))
}

#[tokio::test]
async fn a_card_bound_at_another_school_is_taken_over_without_a_word_about_it() {
    for backend in Backend::all().await {
        let data = tests::private_tempdir();
        let mut args = vec!["--demo"];
        args.extend(backend.args());
        let server = Server::start(data.path(), &args, &[]);
        let (aigerim, timur) = (demo::aigerim(), demo::timur());
        let (aigerim_iin, timur_iin) = (aigerim.expose(), timur.expose());

        // School X binds the card; X's terminal has it.
        bind(&server, DEMO_SCHOOL_BIN, &aigerim_iin, CARD)
            .await
            .ok_json();
        let device = demo_terminal_token(&server).await;
        let (rows, cursor) = roster(&server, &device, 0).await;
        assert_eq!(row_of(&rows, AIGERIM)["card_uid"], CARD);

        // School Y: a fresh card, then another fresh one, then X's card — the same answer.
        bind(&server, OTHER_SCHOOL_BIN, &timur_iin, FRESH)
            .await
            .ok_json();
        let fresh = bind(&server, OTHER_SCHOOL_BIN, &timur_iin, FRESHER).await;
        let fresh = fresh.ok_json();
        let expected = |card: &str, replaced: &str| {
            json!({"card_uid": card, "student_iin_masked": timur.to_string(),
                   "status": "bound", "replaced": replaced})
        };
        assert_eq!(fresh, expected(FRESHER, FRESH), "{}", backend.name());
        let taken = bind(&server, OTHER_SCHOOL_BIN, &timur_iin, CARD).await;
        assert_eq!(taken.status, 200, "{}", taken.text);
        for word in [
            DEMO_SCHOOL_BIN,
            DEMO_SCHOOL_NAME,
            AIGERIM,
            &aigerim.to_string(),
        ] {
            assert!(!taken.text.contains(word), "{word} in {}", taken.text);
        }
        assert_eq!(
            taken.ok_json(),
            expected(CARD, FRESHER),
            "{}",
            backend.name()
        );

        // X's terminal: the next pull unbinds the card from X's student, the full roster
        // has it nowhere.
        let (delta, _) = roster(&server, &device, cursor).await;
        assert_eq!(
            row_of(&delta, AIGERIM)["card_uid"],
            Value::Null,
            "{delta:#?}"
        );
        let (full, _) = roster(&server, &device, 0).await;
        assert!(full.iter().all(|r| r["card_uid"] != CARD), "{full:#?}");

        // Audited on both sides, by Y's staff, with schools and never a student's IIN.
        let trail = backend.audit_trail(data.path(), "card", CARD).await;
        let y_staff = format!("staff:{OTHER_SCHOOL_BIN}:staff-1");
        let actions: Vec<(&str, &str)> = trail
            .iter()
            .map(|(action, actor, _)| (action.as_str(), actor.as_str()))
            .collect();
        assert_eq!(
            actions,
            [
                ("bind", format!("staff:{DEMO_SCHOOL_BIN}:staff-1").as_str()),
                ("unbind", y_staff.as_str()),
                ("bind", y_staff.as_str())
            ],
            "{trail:#?}"
        );
        let reason = |i: usize| trail[i].2.clone().unwrap_or_default();
        assert!(reason(1).contains(&format!(
            "unbound from a student of school {DEMO_SCHOOL_BIN}"
        )));
        assert!(reason(1).contains(&format!(
            "taken over by a student of school {OTHER_SCHOOL_BIN}"
        )));
        assert!(reason(2).contains(&format!(
            "taken over from a student of school {DEMO_SCHOOL_BIN}"
        )));
        for (_, _, reason) in &trail {
            let reason = reason.as_deref().unwrap_or_default();
            assert!(!reason.contains(&aigerim_iin) && !reason.contains(&timur_iin));
        }

        // No squatting: the school whose student holds the card takes it back the same way.
        let back = bind(&server, DEMO_SCHOOL_BIN, &aigerim_iin, CARD)
            .await
            .ok_json();
        assert_eq!(back["status"], "bound", "{back}");
        let (delta, _) = roster(&server, &device, cursor).await;
        assert_eq!(row_of(&delta, AIGERIM)["card_uid"], CARD, "{delta:#?}");
        server.stop();
        backend.drop_database().await;
    }
}
