//! The operations chapter of the store story: what the metrics read at scrape time — the
//! outbox per kind, the jobs per kind, each school's terminals by last contact, the pool —
//! the same on every backend.
//!
//! It runs on the database the other chapters filled. Its instants lie in 2019, before
//! anything they store, so the time-filtered facts (due, overdue, oldest) are exactly this
//! chapter's rows; the unfiltered counts (pending, failed) are compared before and after.

use std::sync::Arc;

use shared::Bin;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;
use wallet_server::domain::audit::{Actor, AuditEntry};
use wallet_server::domain::job::{JobKind, NewJob};
use wallet_server::domain::ops::{OutboxFacts, PoolFacts};
use wallet_server::domain::outbox::{OutboxKind, OutboxMessage};
use wallet_server::domain::terminal::{EnrollmentCode, NewTerminal};
use wallet_server::domain::School;
use wallet_server::store::Store;

const NOW: OffsetDateTime = datetime!(2020-01-01 06:00 UTC);

pub async fn story(store: Arc<dyn Store>, pool_max: u32) {
    outbox_story(&store).await;
    jobs_story(&store).await;
    terminals_story(&store).await;

    store
        .probe_connection()
        .await
        .expect("the database answers");
    let PoolFacts { size, idle, max } = store.pool_facts();
    assert_eq!(max, pool_max);
    assert!(size >= 1 && idle <= size, "size {size}, idle {idle}");
}

fn report_facts(facts: &[OutboxFacts]) -> Option<&OutboxFacts> {
    facts.iter().find(|f| f.kind == OutboxKind::Report.as_str())
}

async fn outbox_story(store: &Arc<dyn Store>) {
    let before = store.outbox_facts(NOW).await.expect("outbox facts");
    let pending_before = report_facts(&before).map_or(0, |f| f.pending);
    let queued = |created: OffsetDateTime, next: OffsetDateTime| {
        let mut m = OutboxMessage::pending(
            Uuid::now_v7(),
            OutboxKind::Report,
            "nobd",
            "{}".into(),
            created,
        );
        m.next_attempt_at = next;
        m
    };
    // Queued 2 h ago and due for 30 min (stuck), and one retried later (not yet due).
    let stuck = queued(NOW - Duration::hours(2), NOW - Duration::minutes(30));
    let later = queued(NOW - Duration::hours(1), NOW + Duration::minutes(10));
    for m in [&stuck, &later] {
        store.enqueue_message(m).await.expect("enqueue");
    }
    let after = store.outbox_facts(NOW).await.expect("outbox facts");
    let report = report_facts(&after).expect("report kind reported");
    assert_eq!(report.pending, pending_before + 2);
    assert_eq!(report.oldest_pending, Some(stuck.created_at));
    assert_eq!(report.oldest_due, Some(stuck.next_attempt_at));
    // An hour earlier nothing of this chapter was due yet.
    let earlier = store
        .outbox_facts(NOW - Duration::hours(1))
        .await
        .expect("facts");
    assert_eq!(report_facts(&earlier).and_then(|f| f.oldest_due), None);
}

async fn jobs_story(store: &Arc<dyn Store>) {
    let kind = JobKind::TabelReminder;
    for (key, due) in [
        ("ops-due", NOW - Duration::minutes(1)),
        ("ops-overdue", NOW - Duration::minutes(6)),
        ("ops-later", NOW + Duration::minutes(1)),
    ] {
        let job = NewJob::new(kind, key, due, NOW - Duration::hours(1));
        assert!(store.schedule_job(&job).await.expect("schedule"));
    }
    let facts = store.job_facts(NOW).await.expect("job facts");
    let ours = facts
        .iter()
        .find(|f| f.kind == kind.as_str())
        .expect("kind reported");
    assert_eq!((ours.due, ours.overdue), (2, 1), "{ours:?}");
}

async fn terminals_story(store: &Arc<dyn Store>) {
    let school = School {
        bin: Bin::generate(&[1, 9, 1, 2, 3, 1, 0, 0, 0, 0, 4]).expect("bin"),
        name: "Школа метрик".into(),
    };
    store
        .upsert_school(&school, NOW - Duration::days(3))
        .await
        .expect("school");
    let mut ids = Vec::new();
    for n in 0..4 {
        let code = EnrollmentCode {
            code_hash: format!("ops-code-{n}"),
            school: school.bin,
            created_by: Actor::System,
            created_at: NOW - Duration::days(3),
            expires_at: NOW,
        };
        store.create_enrollment_code(&code).await.expect("code");
        let terminal = NewTerminal {
            id: Uuid::now_v7(),
            name: format!("касса {n}"),
            token_hash: format!("ops-token-{n}"),
        };
        store
            .enroll_terminal(&code.code_hash, &terminal, NOW - Duration::days(2))
            .await
            .expect("enroll");
        ids.push(terminal.id);
    }
    // 0: synced 2 min ago; 1: 3 h ago; 2: never (enrolled 2 days ago); 3: revoked.
    store
        .touch_terminal(ids[0], NOW - Duration::minutes(2))
        .await
        .expect("touch");
    store
        .touch_terminal(ids[1], NOW - Duration::hours(3))
        .await
        .expect("touch");
    let audit = AuditEntry {
        at: NOW,
        actor: Actor::System,
        entity_kind: "terminal",
        entity_id: ids[3].to_string(),
        action: "revoke".into(),
        from_state: None,
        to_state: None,
        reason: None,
    };
    store
        .revoke_terminal(school.bin, ids[3], &audit)
        .await
        .expect("revoke");

    let contacts = store.terminal_contacts(NOW).await.expect("contacts");
    let ours = contacts
        .iter()
        .find(|c| c.school == school.bin)
        .expect("school reported");
    assert_eq!(ours.last_contact, NOW - Duration::minutes(2));
    assert_eq!(
        ours.by_age,
        [1, 0, 1, 1],
        "under 5 min, to 1 h, to 1 day, older"
    );
}
