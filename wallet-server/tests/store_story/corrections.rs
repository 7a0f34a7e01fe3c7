//! The corrections chapter of the store story (issue 14, point 8), on every backend: a day's
//! report corrected as new versions (each stored and queued once, the latest read back),
//! consent outcomes queued for NOBD with the moves of the consent chapter before, and a
//! school's notices found by recipient.

use std::sync::Arc;

use time::macros::{date, datetime};
use wallet_server::domain::outbox::{OutboxKind, OutboxMessage, OutboxState};
use wallet_server::domain::report::{correction, DailyReport, SchoolDay};
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
    let v2 = correction(&v1, &[school(5)]).expect("v2");
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
    let v3 = correction(&v2, &[school(6)]).expect("v3");
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

    // Some schools' figures are those schools' lines of the day's figures, by BIN, in one
    // statement; a BIN without a school gives nothing.
    let all = store
        .daily_facts(date!(2026 - 09 - 01))
        .await
        .expect("facts");
    assert!(all.len() >= 2, "schools: {}", all.len());
    let line = all
        .iter()
        .find(|s| s.vouchers_formed > 0)
        .expect("a school that formed");
    let other = all
        .iter()
        .find(|s| s.bin != line.bin)
        .expect("another school");
    let bin: shared::Bin = line.bin.parse().expect("bin");
    let other_bin: shared::Bin = other.bin.parse().expect("bin");
    let nowhere = shared::Bin::generate(&[9, 9, 0, 3, 4, 0, 0, 0, 0, 7, 1]).expect("bin");
    let one = store
        .schools_day_facts(date!(2026 - 09 - 01), &[bin])
        .await
        .expect("facts");
    assert_eq!(one, vec![line.clone()]);
    let mut both = vec![line.clone(), other.clone()];
    both.sort_by(|a, b| a.bin.cmp(&b.bin));
    assert_eq!(
        store
            .schools_day_facts(date!(2026 - 09 - 01), &[other_bin, nowhere, bin])
            .await
            .expect("facts"),
        both
    );
    assert_eq!(
        store
            .schools_day_facts(date!(2026 - 09 - 01), &[nowhere])
            .await
            .expect("facts"),
        Vec::new()
    );

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
