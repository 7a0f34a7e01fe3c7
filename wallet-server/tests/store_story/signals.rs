//! The signals chapter of the store story (issue 19): refused scans stored once per
//! terminal and event, mint notes, a day's facts and signals per school (one pass at two
//! terminals and at another school, a parent minting for many children), recomputing a
//! day, and the parent's feed with its walls and cursor — on every backend.

use std::sync::Arc;

use shared::counter::ScanDenial;
use shared::sync::{MealBatch, MealEvent, MealSlot, MealVerdict, Method};
use shared::{Bin, Iin, Sex, VoucherId};
use time::macros::{date, datetime};
use time::{Date, Duration, OffsetDateTime};
use uuid::Uuid;
use wallet_server::domain::audit::{Actor, AuditEntry};
use wallet_server::domain::feed::{FeedCursor, FeedItem};
use wallet_server::domain::meal::VoucherFacts;
use wallet_server::domain::signals::SignalKind;
use wallet_server::domain::terminal::{EnrollmentCode, NewTerminal, TerminalRecord};
use wallet_server::domain::voucher::{NewVoucher, SchoolYear, VoucherState};
use wallet_server::domain::{Category, Programme, Relation, Representative, School, Student};
use wallet_server::services::signals::compute_day;
use wallet_server::store::{MintNote, Store};

const DAY: Date = date!(2026 - 11 - 24);
/// 12:00 in Astana on `DAY`.
const NOON: OffsetDateTime = datetime!(2026-11-24 07:00 UTC);
const T0: OffsetDateTime = datetime!(2026-11-02 03:00 UTC);

fn school(n: u8) -> School {
    School {
        bin: Bin::generate(&[3, 1, 0, 3, 4, 0, 0, 0, 0, 1, n]).expect("bin"),
        name: format!("Школа сигналов {n}"),
    }
}

fn person(born: Date, serial: u16) -> Iin {
    (serial..serial + 60)
        .find_map(|s| Iin::generate(born, Sex::Female, s))
        .expect("iin")
}

fn audit(id: VoucherId, action: &str) -> AuditEntry {
    AuditEntry {
        at: T0,
        actor: Actor::System,
        entity_kind: "voucher",
        entity_id: id.to_string(),
        action: action.into(),
        from_state: None,
        to_state: None,
        reason: None,
    }
}

/// A pupil of `school` with an activated voucher, represented by `parent`.
async fn pupil(store: &Arc<dyn Store>, school: &School, serial: u16, parent: Iin) -> VoucherId {
    let student = Student {
        iin: person(date!(2017 - 03 - 03), serial),
        full_name: format!("Ученик {serial}"),
        school: school.bin,
        grade: 2,
        class_label: "2А".into(),
        category: Category::Primary,
    };
    store.upsert_student(&student, T0).await.expect("student");
    let rep = Representative {
        iin: parent,
        full_name: "Родитель".into(),
        phone: None,
    };
    store.upsert_representative(&rep, T0).await.expect("rep");
    store
        .link_representative(student.iin, parent, Relation::Mother)
        .await
        .expect("link");
    let new = NewVoucher {
        id: VoucherId::new(),
        programme: Programme::SchoolMeals,
        student: student.iin,
        school: school.bin,
        period: SchoolYear {
            first_day: date!(2026 - 09 - 01),
            last_day: date!(2027 - 05 - 31),
        },
        formed_at: T0,
    };
    let id = store
        .form_voucher(&new, &audit(new.id, "form"))
        .await
        .expect("form")
        .voucher()
        .id;
    store
        .transition_voucher(
            id,
            VoucherState::Formed,
            VoucherState::Activated,
            &audit(id, "activate"),
        )
        .await
        .expect("activate");
    id
}

async fn terminal(store: &Arc<dyn Store>, school: &School, name: &str) -> TerminalRecord {
    let code = EnrollmentCode {
        code_hash: format!("signals-{name}-{}", school.bin),
        school: school.bin,
        created_by: Actor::System,
        created_at: T0,
        expires_at: T0 + Duration::hours(1),
    };
    store.create_enrollment_code(&code).await.expect("code");
    let new = NewTerminal {
        id: Uuid::now_v7(),
        name: name.into(),
        token_hash: format!("token-{}", code.code_hash),
    };
    store
        .enroll_terminal(&code.code_hash, &new, T0)
        .await
        .expect("enroll");
    store
        .terminal_by_token(&new.token_hash)
        .await
        .expect("lookup")
        .expect("known")
}

const NONCE: &str = "00aa11bb22cc33dd";

fn meal(voucher: VoucherId, at: OffsetDateTime) -> MealEvent {
    MealEvent {
        event_id: Uuid::now_v7(),
        voucher_id: voucher,
        slot: shared::SlotName::whole_day(),
        service_day: DAY,
        served_at: at,
        method: Method::Qr,
        pass_nonce: Some(NONCE.parse().expect("nonce")),
        manual_reason: None,
        worker: None,
    }
}

fn denial(voucher: Option<VoucherId>, at: OffsetDateTime, reason: &str, nonce: &str) -> ScanDenial {
    ScanDenial {
        event_id: Uuid::now_v7(),
        at,
        reason: reason.parse().expect("label"),
        method: Method::Qr,
        voucher_id: voucher,
        pass_nonce: Some(nonce.parse().expect("nonce")),
        card_uid: None,
    }
}

fn known(_: &MealEvent, facts: Option<&VoucherFacts>, _: &[MealSlot]) -> Option<String> {
    facts.is_none().then(|| "unknown_voucher".to_string())
}

async fn push(
    store: &Arc<dyn Store>,
    t: &TerminalRecord,
    events: Vec<MealEvent>,
    now: OffsetDateTime,
) -> Vec<MealVerdict> {
    let batch = MealBatch {
        events,
        unsent_after: None,
        voids: Vec::new(),
        denials: Vec::new(),
    };
    let results = store
        .record_meals(t, &batch, now, &known)
        .await
        .expect("push");
    results.into_iter().map(|r| r.status).collect()
}

pub async fn story(store: Arc<dyn Store>) {
    let (a, b) = (school(1), school(2));
    store.upsert_school(&a, T0).await.expect("school");
    store.upsert_school(&b, T0).await.expect("school");
    let mother = person(date!(1990 - 01 - 01), 500);
    let stranger = person(date!(1991 - 02 - 02), 700);
    let kid = pupil(&store, &a, 100, mother).await;
    let other_kid = pupil(&store, &a, 200, stranger).await;
    let (a1, a2, b1) = (
        terminal(&store, &a, "Касса 1").await,
        terminal(&store, &a, "Касса 2").await,
        terminal(&store, &b, "Гимназия касса").await,
    );

    // One pass at two terminals of A within a minute: the second is a duplicate.
    let pushed = NOON + Duration::minutes(10);
    assert_eq!(
        push(&store, &a1, vec![meal(kid, NOON)], pushed).await,
        [MealVerdict::Accepted]
    );
    let again = meal(kid, NOON + Duration::seconds(40));
    assert_eq!(
        push(&store, &a2, vec![again], pushed).await,
        [MealVerdict::Duplicate]
    );

    // Refused scans: once per terminal and event; B's terminal naming A's voucher is kept
    // for B's signals but never reaches A's family.
    let refused = vec![
        denial(Some(kid), NOON + Duration::minutes(1), "already_ate", NONCE),
        denial(
            Some(other_kid),
            NOON + Duration::minutes(2),
            "expired_pass",
            "99aa11bb22cc33dd",
        ),
    ];
    let later = pushed + Duration::minutes(1);
    assert_eq!(
        store
            .record_denials(&a1, &refused, later)
            .await
            .expect("denials"),
        2
    );
    assert_eq!(
        store
            .record_denials(&a1, &refused, later)
            .await
            .expect("replay"),
        0
    );
    let at_b = vec![denial(
        Some(kid),
        NOON + Duration::minutes(5),
        "wrong_school",
        NONCE,
    )];
    assert_eq!(
        store
            .record_denials(&b1, &at_b, later)
            .await
            .expect("denials"),
        1
    );

    // A parent minting for four children of A within minutes (noted once per voucher).
    let many: Vec<VoucherId> = (0..4).map(|_| VoucherId::new()).collect();
    let note = |voucher: VoucherId, at| MintNote {
        parent_key: "feedfacecafe0001".into(),
        voucher,
        school: a.bin,
        at,
    };
    for (i, v) in many.iter().enumerate() {
        let at = NOON - Duration::hours(3) + Duration::minutes(i as i64);
        store.record_mints(&[note(*v, at)]).await.expect("mint");
        // Noted again, in a batch with itself: the first stays.
        let again = note(*v, at + Duration::minutes(1));
        store
            .record_mints(&[again.clone(), again])
            .await
            .expect("again");
    }

    let mut schools = store.signal_schools(DAY).await.expect("schools");
    schools.retain(|s| *s == a.bin || *s == b.bin);
    assert_eq!(schools.len(), 2, "both schools have facts that day");
    let facts = store
        .signal_facts(a.bin, DAY, DAY - Duration::days(60))
        .await
        .expect("facts");
    assert_eq!(
        facts.scans.len(),
        5,
        "two meals, two denials here, one at B with the nonce"
    );
    assert_eq!(
        (facts.manual_today.manual, facts.manual_today.total),
        (0, 1)
    );
    assert_eq!(facts.mints.len(), 4);

    let computed_at = NOON + Duration::hours(13);
    compute_day(store.as_ref(), DAY, computed_at)
        .await
        .expect("compute");
    let mine = store.school_signals(a.bin, DAY).await.expect("signals");
    let kinds: Vec<_> = mine.iter().map(|s| s.signal.kind).collect();
    assert_eq!(
        kinds,
        [SignalKind::MintBurst, SignalKind::PassAtTwoPlaces],
        "by kind's word"
    );
    assert_eq!(mine[0].signal.evidence.len(), 4);
    let pass = &mine[1].signal;
    assert_eq!(pass.subject, "…22cc33dd");
    let terminals: Vec<_> = pass.evidence.iter().map(|e| e.terminal.clone()).collect();
    assert_eq!(
        terminals,
        [
            Some("Касса 1".into()),
            Some("Касса 2".into()),
            Some("Касса 1".into()),
            None
        ],
        "B's terminal is not named to A"
    );
    assert_eq!(pass.evidence[3].note, "denied:wrong_school:qr:other_school");
    assert_eq!(pass.evidence[0].at, Some(NOON));
    assert_eq!(mine[0].computed_at, computed_at);
    let theirs = store.school_signals(b.bin, DAY).await.expect("signals");
    assert_eq!(theirs.len(), 1);
    assert_eq!(
        theirs[0]
            .signal
            .evidence
            .iter()
            .filter(|e| e.terminal.is_some())
            .count(),
        1
    );
    let all = store.day_signals(DAY).await.expect("day");
    assert_eq!(
        all.iter()
            .filter(|s| s.signal.school == a.bin || s.signal.school == b.bin)
            .count(),
        3
    );

    // Recomputing replaces, never adds; forgotten mints take their signal with them.
    compute_day(store.as_ref(), DAY, computed_at)
        .await
        .expect("again");
    assert_eq!(
        store
            .school_signals(a.bin, DAY)
            .await
            .expect("signals")
            .len(),
        2
    );
    assert_eq!(
        store
            .forget_mints(DAY + Duration::DAY)
            .await
            .expect("forget"),
        4
    );
    compute_day(store.as_ref(), DAY, computed_at)
        .await
        .expect("again");
    assert_eq!(
        store
            .school_signals(a.bin, DAY)
            .await
            .expect("signals")
            .len(),
        1
    );

    feed_story(&store, mother, stranger, kid, other_kid).await;
}

async fn feed_story(
    store: &Arc<dyn Store>,
    mother: Iin,
    stranger: Iin,
    kid: VoucherId,
    other: VoucherId,
) {
    let feed = store
        .wallet_events(mother, &FeedCursor::start(), 50)
        .await
        .expect("feed");
    assert!(
        feed.iter().all(|e| e.voucher == kid),
        "only her child's events"
    );
    let items: Vec<String> = feed
        .iter()
        .map(|e| match &e.item {
            FeedItem::Meal { status, .. } => format!("meal:{status}"),
            FeedItem::Denial { reason, .. } => format!("denial:{reason}"),
            FeedItem::Voucher { action, .. } => format!("voucher:{action}"),
        })
        .collect();
    assert_eq!(
        items,
        [
            "voucher:form",
            "voucher:activate",
            "meal:accepted",
            "meal:duplicate",
            "denial:already_ate"
        ],
        "in recorded order; the refused scan at the other school is walled off"
    );
    // Paging by cursor: the same events, none twice.
    let first = store
        .wallet_events(mother, &FeedCursor::start(), 2)
        .await
        .expect("page");
    let cursor = FeedCursor::parse(&first[1].cursor.encode()).expect("cursor");
    let rest = store
        .wallet_events(mother, &cursor, 50)
        .await
        .expect("rest");
    assert_eq!(first.len() + rest.len(), feed.len());
    assert_eq!(rest[0], feed[2]);
    let end = FeedCursor::parse(&feed[4].cursor.encode()).expect("cursor");
    assert!(store
        .wallet_events(mother, &end, 50)
        .await
        .expect("end")
        .is_empty());
    let theirs = store
        .wallet_events(stranger, &FeedCursor::start(), 50)
        .await
        .expect("feed");
    assert!(theirs.iter().all(|e| e.voucher == other));
    assert_eq!(
        theirs.len(),
        3,
        "form, activate, their child's refused scan"
    );
}
