//! The notices chapter of the store story: schools with vouchers in a month, and табель
//! notices (outbox kind `notice`) queued once per kind, school and month — on every backend.

use std::sync::Arc;

use shared::{Bin, Iin, Sex, VoucherId};
use time::macros::{date, datetime};
use wallet_server::domain::audit::{Actor, AuditEntry};
use wallet_server::domain::outbox::{OutboxKind, OutboxState};
use wallet_server::domain::voucher::{NewVoucher, SchoolYear};
use wallet_server::domain::{Category, Programme, School, Student};
use wallet_server::services::tabel::notices::Notice;
use wallet_server::store::{Claim, Store};

fn school() -> School {
    School {
        bin: Bin::generate(&[4, 1, 0, 3, 4, 0, 0, 0, 0, 7, 7]).expect("bin"),
        name: "Школа уведомлений".into(),
    }
}

pub async fn story(store: Arc<dyn Store>) {
    let at = datetime!(2026-09-01 03:00 UTC);
    let school = school();
    store.upsert_school(&school, at).await.expect("school");
    let student = Student {
        iin: (100u16..200)
            .find_map(|s| Iin::generate(date!(2016 - 11 - 23), Sex::Male, s))
            .expect("iin"),
        full_name: "Оспанов Диас".into(),
        school: school.bin,
        grade: 3,
        class_label: "3А".into(),
        category: Category::Primary,
    };
    store.upsert_student(&student, at).await.expect("student");
    let voucher = NewVoucher {
        id: VoucherId::new(),
        programme: Programme::SchoolMeals,
        student: student.iin,
        school: school.bin,
        period: SchoolYear {
            first_day: date!(2026 - 09 - 01),
            last_day: date!(2027 - 05 - 31),
        },
        formed_at: at,
    };
    let audit = AuditEntry {
        at,
        actor: Actor::System,
        entity_kind: "voucher",
        entity_id: voucher.id.to_string(),
        action: "form".into(),
        from_state: None,
        to_state: Some("formed".into()),
        reason: None,
    };
    let formed = store.form_voucher(&voucher, &audit).await.expect("form");
    assert!(
        matches!(formed, wallet_server::store::Formed::New(_)),
        "{formed:?}"
    );

    // The school has vouchers in September, none in August (before the school year).
    let september: shared::time::YearMonth = "2026-09".parse().expect("month");
    let august: shared::time::YearMonth = "2026-08".parse().expect("month");
    assert!(store
        .schools_with_vouchers(september)
        .await
        .expect("schools")
        .contains(&school.bin));
    assert!(!store
        .schools_with_vouchers(august)
        .await
        .expect("schools")
        .contains(&school.bin));

    // A notice is queued once: the same kind, school and month again queues nothing.
    let now = datetime!(2026-10-01 04:00 UTC);
    let ready = Notice::Ready.message(school.bin, september, now);
    assert!(store.enqueue_message_once(&ready).await.expect("queue"));
    let again = Notice::Ready.message(school.bin, september, now + time::Duration::hours(1));
    assert_eq!(again.id, ready.id);
    assert!(!store.enqueue_message_once(&again).await.expect("re-run"));
    let stored = store
        .outbox_message(ready.id)
        .await
        .expect("read")
        .expect("stored");
    assert_eq!(
        (stored.kind, stored.recipient.as_str(), stored.state),
        (
            OutboxKind::Notice,
            format!("school:{}", school.bin).as_str(),
            OutboxState::Pending
        )
    );
    assert_eq!(stored.created_at, now, "the first one stays");

    // Two workers racing over the reminder: exactly one queues it.
    let reminder = Notice::Reminder.message(school.bin, september, now);
    let (r1, r2) = tokio::join!(
        store.enqueue_message_once(&reminder),
        store.enqueue_message_once(&reminder)
    );
    let queued = [r1.expect("one"), r2.expect("two")];
    assert_eq!(queued.iter().filter(|q| **q).count(), 1, "{queued:?}");
    let listed = store.outbox(1_000).await.expect("outbox");
    assert_eq!(
        listed
            .iter()
            .filter(
                |m| m.kind == OutboxKind::Notice && m.recipient.ends_with(&school.bin.to_string())
            )
            .count(),
        2
    );

    // Claiming other kinds leaves the notices (delivered to NOBD only when it is configured).
    let claimed = store
        .claim_messages(
            &[OutboxKind::Sms, OutboxKind::Report, OutboxKind::Complaint],
            Claim {
                worker: "story-notices",
                now: now + time::Duration::days(30),
                lease: time::Duration::seconds(60),
                limit: 1_000,
            },
        )
        .await
        .expect("claim");
    assert!(claimed.iter().all(|m| m.kind != OutboxKind::Notice));
    let claimed = store
        .claim_messages(
            &[OutboxKind::Notice],
            Claim {
                worker: "story-notices",
                now: now + time::Duration::days(30),
                lease: time::Duration::seconds(60),
                limit: 1_000,
            },
        )
        .await
        .expect("claim");
    assert_eq!(claimed.len(), 2, "the stored kind reads back as `notice`");
}
