//! The corrections chapter of the store story (issue 14, point 8), on every backend: a day's
//! report corrected as new versions (each stored and queued once, the latest read back),
//! consent outcomes queued for NOBD with the moves of the consent chapter before, and a
//! school's notices found by recipient.

use std::sync::Arc;

use time::macros::{date, datetime};
use wallet_server::domain::outbox::{OutboxKind, OutboxMessage, OutboxState};
use wallet_server::domain::report::{correction, DailyReport, SchoolDay, SchoolMeals};
use wallet_server::store::Store;

fn school(served: i64) -> SchoolDay {
    SchoolDay {
        bin: "050140001238".into(),
        vouchers_formed: 1,
        vouchers_activated: 0,
        vouchers_revoked: 0,
        meals_served: served,
        duplicates: 0,
        students_fed: served,
    }
}

async fn save(store: &dyn Store, report: &DailyReport, at: time::OffsetDateTime) -> bool {
    let body = serde_json::to_string(report).expect("json");
    let message = OutboxMessage::pending(
        report.message_id(),
        OutboxKind::Report,
        "nobd",
        body.clone(),
        at,
    );
    store
        .save_report_version(
            report.date,
            report.version,
            &body,
            report.reason.as_deref().unwrap_or(""),
            &message,
            at,
        )
        .await
        .expect("save a version")
}

pub async fn story(store: Arc<dyn Store>) {
    let day = date!(2026 - 11 - 17);
    let at = datetime!(2026-11-17 18:30 UTC);
    let v1 = DailyReport::first(day, vec![school(3)]);
    let body = serde_json::to_string(&v1).expect("json");
    let first = OutboxMessage::pending(v1.message_id(), OutboxKind::Report, "nobd", body, at);
    assert!(store
        .save_report(day, &first.body, &first, at)
        .await
        .expect("v1"));

    // Versions 2 and 3: each stored and queued once, the latest is what is read back.
    let v2 = correction(&v1, &[SchoolMeals::of(&school(5))]).expect("v2");
    let later = at + time::Duration::hours(10);
    assert!(save(store.as_ref(), &v2, later).await);
    assert!(
        !save(store.as_ref(), &v2, later).await,
        "version 2 again: nothing"
    );
    let read: DailyReport = serde_json::from_str(
        &store
            .stored_report(day)
            .await
            .expect("read")
            .expect("stored"),
    )
    .expect("parse");
    assert_eq!(read, v2);
    let v3 = correction(&v2, &[SchoolMeals::of(&school(6))]).expect("v3");
    assert!(save(store.as_ref(), &v3, later).await);
    let read: DailyReport = serde_json::from_str(
        &store
            .stored_report(day)
            .await
            .expect("read")
            .expect("stored"),
    )
    .expect("parse");
    assert_eq!((read.version, read.reason.is_some()), (3, true));
    for (version, report) in [(1, &v1), (2, &v2), (3, &v3)] {
        let m = store
            .outbox_message(report.message_id())
            .await
            .expect("read")
            .unwrap_or_else(|| panic!("version {version} queued"));
        assert_eq!(
            (m.kind, m.state),
            (OutboxKind::Report, OutboxState::Pending)
        );
    }
    // Another day has no correction rows: its first version is read.
    assert_eq!(
        store
            .stored_report(date!(2026 - 11 - 18))
            .await
            .expect("read"),
        None
    );

    // The consent chapter's ending moves queued their outcomes for NOBD, as `status`.
    let outbox = store.outbox(10_000).await.expect("outbox");
    let mut states: Vec<String> = outbox
        .iter()
        .filter(|m| m.kind == OutboxKind::Status && m.recipient == "nobd")
        .map(|m| {
            let body: serde_json::Value = serde_json::from_str(&m.body).expect("json");
            assert_eq!(body["type"], "consent_outcome");
            body["state"].as_str().expect("state").to_string()
        })
        .collect();
    states.sort();
    states.dedup();
    for state in ["agreed", "no_phone", "refused"] {
        assert!(states.iter().any(|s| s == state), "{state} in {states:?}");
    }

    // A correction's counts are the meal figures of the day's lines: of every school, or of
    // some by BIN, in one statement; a BIN without a school gives nothing. On the first day
    // of the autumn with meals:
    let mut day = date!(2026 - 09 - 01);
    let all = loop {
        let all = store.daily_facts(day).await.expect("facts");
        if all.iter().any(|s| s.meals_served > 0) {
            break all;
        }
        assert!(day < date!(2026 - 11 - 30), "no day with meals this autumn");
        day = day.next_day().expect("a next day");
    };
    assert!(all.len() >= 2, "schools: {}", all.len());
    let meals = |lines: &[SchoolDay]| lines.iter().map(SchoolMeals::of).collect::<Vec<_>>();
    assert_eq!(
        store.day_meals(day, None).await.expect("every school"),
        meals(&all)
    );
    let line = all
        .iter()
        .find(|s| s.meals_served > 0)
        .expect("a school that served");
    let other = all
        .iter()
        .find(|s| s.bin != line.bin)
        .expect("another school");
    let bin: shared::Bin = line.bin.parse().expect("bin");
    let other_bin: shared::Bin = other.bin.parse().expect("bin");
    let nowhere = shared::Bin::generate(&[9, 9, 0, 3, 4, 0, 0, 0, 0, 7, 1]).expect("bin");
    let one = store.day_meals(day, Some(&[bin])).await.expect("one");
    assert_eq!(one, meals(std::slice::from_ref(line)));
    let mut both = vec![line.clone(), other.clone()];
    both.sort_by(|a, b| a.bin.cmp(&b.bin));
    assert_eq!(
        store
            .day_meals(day, Some(&[other_bin, nowhere, bin]))
            .await
            .expect("some"),
        meals(&both)
    );
    for none in [&[nowhere][..], &[]] {
        assert_eq!(
            store.day_meals(day, Some(none)).await.expect("none"),
            Vec::new()
        );
    }

    // A school's notices by recipient and kind, oldest first, the newest `limit`.
    let to = "school:050140001238";
    for (i, hour) in [1, 2, 3].into_iter().enumerate() {
        let m = OutboxMessage::pending(
            OutboxMessage::derived_id(&format!("story notice {i}")),
            OutboxKind::Notice,
            to,
            format!("{{\"n\":{i}}}"),
            at + time::Duration::hours(hour),
        );
        store.enqueue_message(&m).await.expect("notice");
    }
    let found = store
        .messages_to(to, OutboxKind::Notice, 2)
        .await
        .expect("read");
    let bodies: Vec<&str> = found.iter().map(|m| m.body.as_str()).collect();
    assert_eq!(bodies, ["{\"n\":1}", "{\"n\":2}"]);
    assert!(store
        .messages_to(to, OutboxKind::Status, 10)
        .await
        .expect("read")
        .is_empty());
}
