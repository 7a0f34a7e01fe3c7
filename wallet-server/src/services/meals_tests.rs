//! The report corrector's group on a real store: one new version per day, counting every
//! school of the group once, and none when nothing changed.

use std::sync::Arc;

use shared::Bin;
use time::macros::{date, datetime};

use super::ReportCorrector;
use crate::domain::outbox::{OutboxKind, OutboxMessage};
use crate::domain::report::{DailyReport, SchoolDay, NOBD};
use crate::domain::School;
use crate::store::grouped::GroupWork;
use crate::store::{SqliteStore, Store};

fn figures(bin: Bin, served: i64) -> SchoolDay {
    SchoolDay {
        bin: bin.to_string(),
        vouchers_formed: 0,
        vouchers_activated: 0,
        vouchers_revoked: 0,
        meals_served: served,
        duplicates: 0,
        students_fed: served,
    }
}

async fn latest(store: &dyn Store, day: time::Date) -> DailyReport {
    let body = store
        .stored_report(day)
        .await
        .expect("read")
        .expect("stored");
    serde_json::from_str(&body).expect("report")
}

#[tokio::test]
async fn a_group_sends_one_version_per_day_counting_each_of_its_schools() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store: Arc<dyn Store> = Arc::new(
        SqliteStore::open_file(&dir.path().join("w.db"))
            .await
            .expect("store"),
    );
    let at = datetime!(2026-11-17 03:00 UTC);
    let bins: Vec<Bin> = [1u8, 2]
        .iter()
        .map(|&n| Bin::generate(&[2, 1, 0, 3, 4, 0, 0, 0, 3, 8, n]).expect("bin"))
        .collect();
    for (i, &bin) in bins.iter().enumerate() {
        let school = School {
            bin,
            name: format!("Школа поправок {i}"),
        };
        store.upsert_school(&school, at).await.expect("school");
    }
    // Version 1 counted meals that are no longer there (voided since): both schools changed.
    let day = date!(2026 - 11 - 17);
    let v1 = DailyReport::first(day, vec![figures(bins[0], 3), figures(bins[1], 5)]);
    let body = serde_json::to_string(&v1).expect("json");
    let message = OutboxMessage::pending(v1.message_id(), OutboxKind::Report, NOBD, body, at);
    let built = at + time::Duration::hours(16);
    assert!(store
        .save_report(day, &message.body, &message, built)
        .await
        .expect("v1"));

    let corrector = ReportCorrector {
        store: store.clone(),
    };
    let next_morning = built + time::Duration::hours(10);
    let jobs = [
        (day, bins[0], next_morning),
        (day, bins[1], next_morning),
        (day, bins[0], next_morning),
    ];
    assert_eq!(corrector.run(&jobs).await.expect("run").len(), 3);
    let v2 = latest(store.as_ref(), day).await;
    assert_eq!(v2.version, 2, "one version for the group's three jobs");
    assert_eq!(v2.schools, vec![figures(bins[0], 0), figures(bins[1], 0)]);

    // Nothing changed since: a later group sends nothing.
    corrector.run(&jobs[..1]).await.expect("run");
    assert_eq!(latest(store.as_ref(), day).await.version, 2);
}
