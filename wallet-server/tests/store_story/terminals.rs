//! The terminals chapter of the store story: enrollment codes, device tokens, revocation,
//! roster cursors, meal slots and meal pushes with the meal rule — on every backend.

use std::sync::Arc;

use shared::sync::{MealBatch, MealEvent, MealSlot, MealVerdict, Method};
use shared::{Bin, CardUid, Iin, Sex, VoucherId};
use time::macros::{date, datetime};
use time::OffsetDateTime;
use uuid::Uuid;
use wallet_server::domain::audit::{Actor, AuditEntry};
use wallet_server::domain::meal::MealRecord;
use wallet_server::domain::meal::VoucherFacts;
use wallet_server::domain::terminal::{CardBinding, EnrollmentCode, NewTerminal, TerminalRecord};
use wallet_server::domain::voucher::{NewVoucher, SchoolYear, VoucherState};
use wallet_server::domain::{Category, Programme, Relation, Representative, School, Student};
use wallet_server::store::{Store, StoreError};

const T0: OffsetDateTime = datetime!(2026-11-02 03:00 UTC);

fn school() -> School {
    School {
        bin: Bin::generate(&[2, 1, 0, 3, 4, 0, 0, 0, 0, 0, 7]).expect("bin"),
        name: "Школа терминалов".into(),
    }
}

fn kid(serial: u16) -> Student {
    Student {
        iin: (serial..serial + 60)
            .find_map(|s| Iin::generate(date!(2017 - 07 - 07), Sex::Male, s))
            .expect("iin"),
        full_name: format!("Ученик {serial}"),
        school: school().bin,
        grade: 3,
        class_label: "3В".into(),
        category: Category::Primary,
    }
}

fn audit(id: String, action: &str) -> AuditEntry {
    AuditEntry {
        at: T0,
        actor: Actor::System,
        entity_kind: "voucher",
        entity_id: id,
        action: action.into(),
        from_state: None,
        to_state: None,
        reason: None,
    }
}

/// The mother of every student of this chapter: whose wallet shows the meals.
fn parent() -> Representative {
    Representative {
        iin: (1..100)
            .find_map(|s| Iin::generate(date!(1991 - 01 - 01), Sex::Female, s))
            .expect("iin"),
        full_name: "Мама Терминалова".into(),
        phone: None,
    }
}

/// The meals `parent()` sees on a voucher.
pub(super) async fn history(store: &Arc<dyn Store>, voucher: VoucherId) -> Vec<MealRecord> {
    store
        .meals_of_voucher(voucher, parent().iin)
        .await
        .expect("meals")
}

pub(super) async fn voucher(
    store: &Arc<dyn Store>,
    student: &Student,
    activate: bool,
) -> VoucherId {
    store
        .upsert_representative(&parent(), T0)
        .await
        .expect("parent");
    store
        .link_representative(student.iin, parent().iin, Relation::Mother)
        .await
        .expect("link");
    let new = NewVoucher {
        id: VoucherId::new(),
        programme: Programme::SchoolMeals,
        student: student.iin,
        school: student.school,
        period: SchoolYear {
            first_day: date!(2026 - 09 - 01),
            last_day: date!(2027 - 05 - 31),
        },
        formed_at: T0,
    };
    let id = store
        .form_voucher(&new, &audit(new.id.to_string(), "form"))
        .await
        .expect("form")
        .voucher()
        .id;
    if activate {
        store
            .transition_voucher(
                id,
                VoucherState::Formed,
                VoucherState::Activated,
                &audit(id.to_string(), "activate"),
            )
            .await
            .expect("activate");
    }
    id
}

pub(super) async fn enroll(
    store: &Arc<dyn Store>,
    code: &str,
    now: OffsetDateTime,
) -> Result<(School, NewTerminal), StoreError> {
    let terminal = NewTerminal {
        id: Uuid::now_v7(),
        name: "касса".into(),
        token_hash: format!("hash-{code}"),
    };
    let s = store.enroll_terminal(code, &terminal, now).await?;
    Ok((s, terminal))
}

pub(super) fn meal(voucher: VoucherId, at: OffsetDateTime) -> MealEvent {
    MealEvent {
        event_id: Uuid::now_v7(),
        voucher_id: voucher,
        slot: shared::SlotName::whole_day(),
        service_day: shared::time::service_day(at),
        served_at: at,
        method: Method::Qr,
        pass_nonce: Some("0011223344556677".parse().expect("nonce")),
        manual_reason: None,
        worker: None,
    }
}

pub(super) fn judge_all_valid(
    _: &MealEvent,
    facts: Option<&VoucherFacts>,
    _: &[MealSlot],
) -> Option<String> {
    facts.is_none().then(|| "unknown_voucher".to_string())
}

pub async fn story(store: Arc<dyn Store>) {
    store.upsert_school(&school(), T0).await.expect("school");
    let (a, b) = (kid(100), kid(300));
    store.upsert_student(&a, T0).await.expect("student");
    store.upsert_student(&b, T0).await.expect("student");

    // Enrollment: codes work once, before they expire; unknown codes are not found.
    for (hash, expires) in [
        ("c1", T0 + time::Duration::hours(1)),
        ("c2", T0 + time::Duration::hours(1)),
        ("old", T0),
    ] {
        let code = EnrollmentCode {
            code_hash: hash.into(),
            school: school().bin,
            created_by: Actor::System,
            created_at: T0 - time::Duration::hours(1),
            expires_at: expires,
        };
        store.create_enrollment_code(&code).await.expect("code");
    }
    let (enrolled_at, first) = enroll(&store, "c1", T0).await.expect("enroll");
    assert_eq!(enrolled_at.bin, school().bin);
    assert!(
        matches!(enroll(&store, "c1", T0).await, Err(StoreError::Conflict { current }) if current == "used")
    );
    assert!(
        matches!(enroll(&store, "old", T0).await, Err(StoreError::Conflict { current }) if current == "expired")
    );
    assert!(matches!(
        enroll(&store, "nope", T0).await,
        Err(StoreError::NotFound)
    ));
    let (_, second) = enroll(&store, "c2", T0).await.expect("enroll");
    let t1 = store
        .terminal_by_token(&first.token_hash)
        .await
        .expect("lookup")
        .expect("known");
    let t2 = store
        .terminal_by_token(&second.token_hash)
        .await
        .expect("lookup")
        .expect("known");
    assert_eq!((t1.id, t1.school), (first.id, school().bin));

    roster_story(&store, &a, &b).await;
    meals_story(&store, &t1, &t2, &a, &b).await;

    // Revocation: the token stops working; another school cannot revoke it.
    let other = Bin::generate(&[2, 2, 0, 3, 4, 0, 0, 0, 0, 0, 8]).expect("bin");
    assert!(matches!(
        store
            .revoke_terminal(other, t2.id, &audit(t2.id.to_string(), "revoke"))
            .await,
        Err(StoreError::NotFound)
    ));
    store
        .revoke_terminal(school().bin, t2.id, &audit(t2.id.to_string(), "revoke"))
        .await
        .expect("revoke");
    store
        .revoke_terminal(school().bin, t2.id, &audit(t2.id.to_string(), "revoke"))
        .await
        .expect("idempotent");
    assert_eq!(
        store
            .terminal_by_token(&second.token_hash)
            .await
            .expect("lookup"),
        None
    );
    let listed = store.terminals_of_school(school().bin).await.expect("list");
    assert_eq!(listed.len(), 2);
    assert!(listed
        .iter()
        .any(|t| t.id == t2.id && t.revoked_at.is_some()));
    assert!(listed
        .iter()
        .any(|t| t.id == t1.id && t.last_push_at.is_some() && t.unsent_reported == Some(7)));
}

async fn roster_story(store: &Arc<dyn Store>, a: &Student, b: &Student) {
    let bin = school().bin;
    let empty = store.roster_since(bin, 0).await.expect("roster");
    assert!(empty.full && empty.rows.is_empty());
    let va = voucher(store, a, true).await;
    let vb = voucher(store, b, false).await;
    let full = store.roster_since(bin, 0).await.expect("roster");
    assert!(full.full);
    assert_eq!(
        full.rows.iter().map(|r| r.voucher_id).collect::<Vec<_>>(),
        vec![va],
        "only activated vouchers"
    );
    let cursor = full.cursor;
    assert!(store
        .roster_since(bin, cursor)
        .await
        .expect("roster")
        .rows
        .is_empty());

    // A card and an activation show up as changes after the cursor, nothing else.
    let card: CardUid = "00DEADBEEF".parse().expect("uid");
    store
        .bind_card(&CardBinding {
            school: bin,
            student: a.iin,
            card,
            by: Actor::System,
            at: T0,
        })
        .await
        .expect("bind");
    store
        .transition_voucher(
            vb,
            VoucherState::Formed,
            VoucherState::Activated,
            &audit(vb.to_string(), "activate"),
        )
        .await
        .expect("activate");
    let changes = store.roster_since(bin, cursor).await.expect("roster");
    assert!(!changes.full);
    // Each row is a voucher's whole current entry, so their order within a page is free.
    let mut ids: Vec<_> = changes.rows.iter().map(|r| r.voucher_id).collect();
    ids.sort();
    let mut expected = vec![va, vb];
    expected.sort();
    assert_eq!(ids, expected, "each changed voucher once");
    let row_a = changes.rows.iter().find(|r| r.voucher_id == va);
    assert_eq!(row_a.and_then(|r| r.card), Some(card));
    assert!(changes.cursor > cursor);

    // Revocation is a change too; a cursor from the future gets the full roster again.
    store
        .transition_voucher(
            vb,
            VoucherState::Activated,
            VoucherState::Revoked,
            &audit(vb.to_string(), "revoke"),
        )
        .await
        .expect("revoke");
    let revoked = store
        .roster_since(bin, changes.cursor)
        .await
        .expect("roster");
    assert_eq!(revoked.rows.len(), 1);
    assert_eq!(revoked.rows[0].state, VoucherState::Revoked);
    let reset = store
        .roster_since(bin, revoked.cursor + 1000)
        .await
        .expect("roster");
    assert!(reset.full);
    assert_eq!(
        reset.rows.iter().map(|r| r.voucher_id).collect::<Vec<_>>(),
        vec![va]
    );
    // Revocation again for the meal chapter: re-form b's voucher and activate it.
    voucher(store, b, true).await;

    // Meal slots replace as a whole.
    assert!(store.meal_slots(bin).await.expect("slots").is_empty());
    let slots = vec![
        MealSlot {
            name: "breakfast".into(),
            start_minute: 480,
            end_minute: 600,
            shift: None,
        },
        MealSlot {
            name: "lunch".into(),
            start_minute: 720,
            end_minute: 840,
            shift: None,
        },
    ];
    store.set_meal_slots(bin, &slots).await.expect("set");
    assert_eq!(store.meal_slots(bin).await.expect("slots"), slots);
    store.set_meal_slots(bin, &[]).await.expect("clear");
    assert!(store.meal_slots(bin).await.expect("slots").is_empty());
}

async fn meals_story(
    store: &Arc<dyn Store>,
    t1: &TerminalRecord,
    t2: &TerminalRecord,
    a: &Student,
    b: &Student,
) {
    let month: shared::time::YearMonth = "2026-11".parse().expect("month");
    let views = store
        .vouchers_of_school(school().bin, month)
        .await
        .expect("views");
    let live = |s: &Student| {
        views
            .iter()
            .find(|v| v.voucher.student == s.iin && v.voucher.state == VoucherState::Activated)
            .map(|v| v.voucher.id)
            .expect("an activated voucher")
    };
    let (va, vb) = (live(a), live(b));
    let lunch = datetime!(2026-11-02 07:00 UTC);
    let first = meal(va, lunch);
    let unknown = meal(VoucherId::new(), lunch);
    let batch = MealBatch {
        events: vec![first.clone(), unknown.clone()],
        unsent_after: Some(7),
        voids: Vec::new(),
        denials: Vec::new(),
    };
    let judge: wallet_server::domain::meal::MealJudge<'_> = &judge_all_valid;
    let results = store
        .record_meals(t1, &batch, lunch, judge)
        .await
        .expect("push");
    assert_eq!(results[0].status, MealVerdict::Accepted);
    assert_eq!(
        (results[1].status, results[1].reason.as_deref()),
        (MealVerdict::Rejected, Some("unknown_voucher"))
    );
    // The same batch again: the same answers, nothing new stored.
    assert_eq!(
        store
            .record_meals(t1, &batch, lunch, judge)
            .await
            .expect("replay"),
        results
    );
    assert_eq!(history(store, va).await.len(), 1);

    // The same student at the other terminal, same slot and day: kept as duplicate.
    let again = meal(va, lunch + time::Duration::minutes(5));
    let dup = store
        .record_meals(
            t2,
            &MealBatch {
                events: vec![again],
                unsent_after: None,
                voids: Vec::new(),
                denials: Vec::new(),
            },
            lunch,
            judge,
        )
        .await
        .expect("push");
    assert_eq!(
        (dup[0].status, dup[0].reason.as_deref()),
        (MealVerdict::Duplicate, Some("already_ate"))
    );

    // A judged rejection is stored as rejected, never billed.
    let refuse = |_: &MealEvent, _: Option<&VoucherFacts>, _: &[MealSlot]| {
        Some("voucher_inactive".to_string())
    };
    let refused = meal(vb, lunch);
    let r = store
        .record_meals(
            t1,
            &MealBatch {
                events: vec![refused.clone()],
                unsent_after: Some(7),
                voids: Vec::new(),
                denials: Vec::new(),
            },
            lunch,
            &refuse,
        )
        .await
        .expect("push");
    assert_eq!(r[0].status, MealVerdict::Rejected);

    // Two terminals pushing b's meal at once: exactly one is billable.
    let (x, y) = (
        meal(vb, lunch),
        meal(vb, lunch + time::Duration::seconds(1)),
    );
    let bx = MealBatch {
        events: vec![x],
        unsent_after: Some(7),
        voids: Vec::new(),
        denials: Vec::new(),
    };
    let by = MealBatch {
        events: vec![y],
        unsent_after: None,
        voids: Vec::new(),
        denials: Vec::new(),
    };
    let (rx, ry) = tokio::join!(
        store.record_meals(t1, &bx, lunch, judge),
        store.record_meals(t2, &by, lunch, judge)
    );
    let verdicts = [rx.expect("x")[0].status, ry.expect("y")[0].status];
    assert_eq!(
        verdicts
            .iter()
            .filter(|v| **v == MealVerdict::Accepted)
            .count(),
        1,
        "{verdicts:?}"
    );
    assert_eq!(
        verdicts
            .iter()
            .filter(|v| **v == MealVerdict::Duplicate)
            .count(),
        1,
        "{verdicts:?}"
    );
    let meals_b = history(store, vb).await;
    assert_eq!(
        meals_b.len(),
        3,
        "rejected, accepted and duplicate are all kept"
    );
    let view = store
        .vouchers_of_school(school().bin, month)
        .await
        .expect("views");
    let billable: i64 = view.iter().map(|v| v.meals_this_month).sum();
    assert_eq!(billable, 2, "one billable meal per student");
    in_batch_story(store, t1, va).await;
}

/// Within one push: an event sent twice, a second helping, and more rows than one
/// multi-row statement holds — the answers are those of one-by-one processing.
async fn in_batch_story(store: &Arc<dyn Store>, t1: &TerminalRecord, va: VoucherId) {
    let judge: wallet_server::domain::meal::MealJudge<'_> = &judge_all_valid;
    let day = datetime!(2026-12-01 07:00 UTC);
    let first = meal(va, day);
    let second_helping = meal(va, day + time::Duration::minutes(3));
    let mut events = vec![first.clone(), first.clone(), second_helping];
    // 700 more days, each a billable meal: crosses the 500-row statement boundary.
    events.extend((1..=700).map(|d| meal(va, day + time::Duration::days(d))));
    let batch = MealBatch {
        events,
        unsent_after: Some(7),
        voids: Vec::new(),
        denials: Vec::new(),
    };
    let before = history(store, va).await.len();
    let results = store
        .record_meals(t1, &batch, day + time::Duration::days(800), judge)
        .await
        .expect("push");
    assert_eq!(results.len(), 703, "one answer per event, in order");
    assert!(results
        .iter()
        .zip(&batch.events)
        .all(|(r, e)| r.event_id == e.event_id));
    assert_eq!(results[0].status, MealVerdict::Accepted);
    assert_eq!(
        results[1], results[0],
        "the same event twice: the same answer"
    );
    assert_eq!(
        (results[2].status, results[2].reason.as_deref()),
        (MealVerdict::Duplicate, Some("already_ate"))
    );
    assert!(results[3..]
        .iter()
        .all(|r| r.status == MealVerdict::Accepted));
    let after = history(store, va).await.len();
    assert_eq!(after - before, 702, "the repeated event is stored once");
    // Replayed whole: the same answers, nothing stored.
    let again = store
        .record_meals(t1, &batch, day + time::Duration::days(800), judge)
        .await
        .expect("replay");
    assert_eq!(again, results);
    assert_eq!(history(store, va).await.len(), after);
}
