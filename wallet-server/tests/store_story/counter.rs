//! The counter chapter of the store story (issue 19): class shifts and alert lines reaching
//! the roster (with its cursor), slots with shifts, manual meals, one counted meal per day
//! whatever the slots, today's counts, other terminals' meals, and voids — by the terminal
//! (its own meals only, in time, idempotent) and by staff (their school only; after the
//! month's approval an adjustment of the next month) — on every backend.

use std::sync::Arc;

use shared::counter::{MealVoid, Shift, VoidVerdict};
use shared::sync::{MealBatch, MealEvent, MealSlot, MealVerdict, Method};
use shared::{Bin, Iin, Sex};
use time::macros::{date, datetime};
use time::{Duration, OffsetDateTime};
use wallet_server::domain::audit::{Actor, AuditEntry};
use wallet_server::domain::meal::{MealStatus, VoucherFacts};
use wallet_server::domain::tabel::StoredApproval;
use wallet_server::domain::terminal::{EnrollmentCode, TerminalRecord};
use wallet_server::domain::{Category, School, Student};
use wallet_server::store::{Store, StoreError};

use super::terminals::{enroll, meal, voucher};

const T0: OffsetDateTime = datetime!(2026-11-02 03:00 UTC);
/// 08:30 and 12:30 in Astana on Tuesday 3 November.
const BREAKFAST: OffsetDateTime = datetime!(2026-11-03 03:30 UTC);
const LUNCH: OffsetDateTime = datetime!(2026-11-03 07:30 UTC);

fn school() -> School {
    School {
        bin: Bin::generate(&[2, 1, 0, 3, 4, 0, 0, 0, 1, 9, 7]).expect("bin"),
        name: "Школа в две смены".into(),
    }
}

fn other_school() -> Bin {
    Bin::generate(&[2, 1, 0, 3, 4, 0, 0, 0, 1, 9, 8]).expect("bin")
}

fn kid(serial: u16, class: &str) -> Student {
    Student {
        iin: (serial..serial + 60)
            .find_map(|s| Iin::generate(date!(2016 - 03 - 03), Sex::Female, s))
            .expect("iin"),
        full_name: format!("Ученица {serial}"),
        school: school().bin,
        grade: 4,
        class_label: class.into(),
        category: Category::Primary,
    }
}

fn staff(action: &str, at: OffsetDateTime) -> AuditEntry {
    AuditEntry {
        at,
        actor: Actor::Staff {
            sub: "pedagogue".into(),
            school: school().bin,
        },
        entity_kind: "meal",
        entity_id: "x".into(),
        action: action.into(),
        from_state: None,
        to_state: None,
        reason: None,
    }
}

fn shift(n: u8) -> Option<Shift> {
    Shift::new(n).ok()
}

/// A stand-in for the meal rule that shows what the store hands it: unknown vouchers, a
/// manual meal without reason, and the class's shift against a shift-1 breakfast.
fn judge(e: &MealEvent, facts: Option<&VoucherFacts>, slots: &[MealSlot]) -> Option<String> {
    let facts = facts?;
    if e.method == Method::Manual && e.manual_reason.is_none() {
        return Some("manual_without_reason".into());
    }
    let slot = slots.iter().find(|s| s.name == e.slot.as_str())?;
    matches!((slot.shift, facts.shift), (Some(s), Some(c)) if s != c).then(|| "wrong_shift".into())
}

async fn push(
    store: &Arc<dyn Store>,
    t: &TerminalRecord,
    events: Vec<MealEvent>,
    voids: Vec<MealVoid>,
    now: OffsetDateTime,
) -> (Vec<MealVerdict>, Vec<(VoidVerdict, Option<String>)>) {
    let batch = MealBatch {
        events,
        unsent_after: None,
        voids: voids.clone(),
        denials: Vec::new(),
    };
    let results = store
        .record_meals(t, &batch, now, &judge)
        .await
        .expect("push");
    let voided = store
        .void_terminal_meals(t, &voids, now)
        .await
        .expect("voids");
    (
        results.iter().map(|r| r.status).collect(),
        voided.into_iter().map(|v| (v.status, v.reason)).collect(),
    )
}

fn at(e: &MealEvent, slot: &str) -> MealEvent {
    MealEvent {
        slot: slot.parse().expect("slot"),
        ..e.clone()
    }
}

fn void_of(e: &MealEvent, after: Duration) -> MealVoid {
    MealVoid {
        event_id: e.event_id,
        voided_at: e.served_at + after,
        reason: "не тот ребёнок".parse().expect("reason"),
        worker: "Гульнара".parse().ok(),
    }
}

async fn terminals(store: &Arc<dyn Store>) -> (TerminalRecord, TerminalRecord) {
    let mut out = Vec::new();
    for hash in ["counter-1", "counter-2"] {
        let code = EnrollmentCode {
            code_hash: hash.into(),
            school: school().bin,
            created_by: Actor::System,
            created_at: T0,
            expires_at: T0 + Duration::hours(1),
        };
        store.create_enrollment_code(&code).await.expect("code");
        let (_, new) = enroll(store, hash, T0).await.expect("enroll");
        out.push(
            store
                .terminal_by_token(&new.token_hash)
                .await
                .expect("lookup")
                .expect("known"),
        );
    }
    (out[0].clone(), out[1].clone())
}

pub async fn story(store: Arc<dyn Store>) {
    store.upsert_school(&school(), T0).await.expect("school");
    let other = School {
        bin: other_school(),
        name: "Соседняя школа".into(),
    };
    store.upsert_school(&other, T0).await.expect("school");
    let (a, b) = (kid(500, "4А"), kid(700, "4Б"));
    for s in [&a, &b] {
        store.upsert_student(s, T0).await.expect("student");
    }
    let (va, vb) = (
        voucher(&store, &a, true).await,
        voucher(&store, &b, true).await,
    );
    let (t1, t2) = terminals(&store).await;
    roster_story(&store, &a).await;

    // Slots carry their shift.
    let slots = vec![
        MealSlot {
            name: "breakfast".into(),
            start_minute: 480,
            end_minute: 600,
            shift: shift(1),
        },
        MealSlot {
            name: "lunch".into(),
            start_minute: 720,
            end_minute: 840,
            shift: None,
        },
    ];
    store
        .set_meal_slots(school().bin, &slots)
        .await
        .expect("slots");
    assert_eq!(store.meal_slots(school().bin).await.expect("slots"), slots);

    // A manual meal with its reason and worker counts; a 4Б child at the shift-1 breakfast is
    // refused; a second meal the same day in another slot is a duplicate; a manual meal
    // without reason is refused and kept.
    let mut by_hand = meal(va, BREAKFAST);
    by_hand.slot = "breakfast".parse().expect("slot");
    by_hand.method = Method::Manual;
    by_hand.pass_nonce = None;
    by_hand.manual_reason = "забыла карту".parse().ok();
    by_hand.worker = "Гульнара".parse().ok();
    let shift_b = at(&meal(vb, BREAKFAST), "breakfast");
    let second = at(&meal(va, LUNCH), "lunch");
    let mut no_reason = at(&meal(vb, LUNCH), "lunch");
    no_reason.method = Method::Manual;
    no_reason.pass_nonce = None;
    let events = vec![by_hand.clone(), shift_b.clone(), second.clone(), no_reason];
    let (verdicts, _) = push(&store, &t1, events, vec![], LUNCH).await;
    assert_eq!(
        verdicts,
        vec![
            MealVerdict::Accepted,
            MealVerdict::Rejected,
            MealVerdict::Duplicate,
            MealVerdict::Rejected
        ]
    );
    let day = date!(2026 - 11 - 03);
    let manual = store
        .manual_meals_per_worker(school().bin, day)
        .await
        .expect("manual");
    assert_eq!(
        (manual.len(), manual[0].worker.as_deref(), manual[0].meals),
        (1, Some("Гульнара"), 1)
    );
    assert_eq!(
        store
            .served_meals(school().bin, day)
            .await
            .expect("served")
            .len(),
        1
    );

    // The other terminal sees the meal; the serving one does not; a later cursor sees nothing.
    let seen = store
        .meals_seen(school().bin, t2.id, day, 0)
        .await
        .expect("seen");
    assert_eq!(seen.meals.len(), 1);
    assert_eq!(
        (seen.meals[0].voucher_id, seen.meals[0].method),
        (va, Method::Manual)
    );
    assert_eq!(seen.meals[0].terminal, "касса");
    assert!(store
        .meals_seen(school().bin, t1.id, day, 0)
        .await
        .expect("own")
        .meals
        .is_empty());
    let later = store
        .meals_seen(school().bin, t2.id, day, seen.cursor)
        .await
        .expect("later");
    assert!(later.meals.is_empty());

    void_story(&store, &t1, &t2, &by_hand, &second, va).await;
}

/// Class shifts and alert lines reach the roster and move its cursor; another school
/// cannot set a line for a student not its own.
async fn roster_story(store: &Arc<dyn Store>, a: &Student) {
    let bin = school().bin;
    let start = store.roster_since(bin, 0).await.expect("roster");
    assert!(start
        .rows
        .iter()
        .all(|r| r.shift.is_none() && r.alert.is_none()));
    let class: shared::ClassLabel = "4Б".parse().expect("class");
    store
        .set_class_shift(bin, &class, shift(2), &staff("set_shift", T0))
        .await
        .expect("shift");
    let after_shift = store.roster_since(bin, start.cursor).await.expect("roster");
    assert!(after_shift.cursor > start.cursor);
    assert_eq!(after_shift.rows.len(), 1, "only 4Б's voucher changed");
    assert_eq!(after_shift.rows[0].shift, shift(2));
    let shifts = store.class_shifts(bin).await.expect("shifts");
    assert_eq!(
        (shifts[0].class_label.as_str(), shifts[0].shift),
        ("4Б", Shift::new(2).expect("2"))
    );

    let line: shared::AlertLine = "Аллергия на орехи".parse().expect("line");
    assert!(matches!(
        store
            .set_alert_line(other_school(), a.iin, Some(&line), &staff("set_alert", T0))
            .await,
        Err(StoreError::NotFound)
    ));
    store
        .set_alert_line(bin, a.iin, Some(&line), &staff("set_alert", T0))
        .await
        .expect("alert");
    let after_alert = store
        .roster_since(bin, after_shift.cursor)
        .await
        .expect("roster");
    assert_eq!(after_alert.rows.len(), 1);
    assert_eq!(after_alert.rows[0].alert.as_ref(), Some(&line));
    assert_eq!(
        store.alert_lines(bin).await.expect("lines"),
        vec![(a.iin, line)]
    );
    assert!(store
        .alert_lines(other_school())
        .await
        .expect("none")
        .is_empty());
}

/// Voids: only the serving terminal, within ten minutes, the same answer again; the day is
/// free again; staff void their school's meals only; after the approval, an adjustment.
async fn void_story(
    store: &Arc<dyn Store>,
    t1: &TerminalRecord,
    t2: &TerminalRecord,
    by_hand: &MealEvent,
    duplicate: &MealEvent,
    va: shared::VoucherId,
) {
    let bin = school().bin;
    let day = date!(2026 - 11 - 03);
    let now = LUNCH + Duration::minutes(1);
    let (_, v) = push(
        store,
        t2,
        vec![],
        vec![void_of(by_hand, Duration::minutes(3))],
        now,
    )
    .await;
    assert_eq!(
        v,
        vec![(VoidVerdict::Rejected, Some("unknown_meal".into()))],
        "not t2's meal"
    );
    let (_, v) = push(
        store,
        t1,
        vec![],
        vec![void_of(by_hand, Duration::minutes(11))],
        now,
    )
    .await;
    assert_eq!(v, vec![(VoidVerdict::Rejected, Some("too_late".into()))]);
    for _ in 0..2 {
        let (_, v) = push(
            store,
            t1,
            vec![],
            vec![void_of(by_hand, Duration::minutes(3))],
            now,
        )
        .await;
        assert_eq!(
            v,
            vec![(VoidVerdict::Voided, None)],
            "the same answer when replayed"
        );
    }
    assert!(store
        .served_meals(bin, day)
        .await
        .expect("served")
        .is_empty());
    // The day is free again: a new meal counts.
    let again = at(&meal(va, LUNCH + Duration::minutes(5)), "lunch");
    let (verdicts, _) = push(store, t1, vec![again.clone()], vec![], now).await;
    assert_eq!(verdicts, vec![MealVerdict::Accepted]);
    // Staff: another school's staff find nothing; this school's void any time.
    let reason: shared::Label = "ошибка кассира".parse().expect("reason");
    let late = LUNCH + Duration::hours(5);
    assert!(matches!(
        store
            .void_school_meal(
                other_school(),
                again.event_id,
                &reason,
                &staff("void", late)
            )
            .await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(
        store
            .void_school_meal(bin, again.event_id, &reason, &staff("void", late))
            .await
            .expect("void"),
        VoidVerdict::Voided
    );
    // The voided meal's day, for its report's correction: found by its school only.
    let ids = [again.event_id, uuid::Uuid::now_v7()];
    assert_eq!(
        store.meal_days(bin, &ids).await.expect("days"),
        [again.service_day].into()
    );
    assert!(store
        .meal_days(other_school(), &ids)
        .await
        .expect("days")
        .is_empty());
    let facts = store
        .tabel_facts(bin, "2026-11".parse().expect("month"), 80_000)
        .await
        .expect("facts");
    let of = |id| facts.meals.iter().find(|m| m.event_id == id).expect("meal");
    assert_eq!(
        (
            of(by_hand.event_id).status,
            of(by_hand.event_id).reason.as_deref()
        ),
        (MealStatus::Voided, Some("не тот ребёнок"))
    );
    assert_eq!(
        of(by_hand.event_id).manual,
        Some(("забыла карту".into(), Some("Гульнара".into())))
    );
    assert_eq!(of(duplicate.event_id).status, MealStatus::Duplicate);
    assert_eq!(of(again.event_id).reason.as_deref(), Some("ошибка кассира"));

    // After November is approved, a void of its meal is December's adjustment.
    let nov4 = at(&meal(va, datetime!(2026-11-04 07:30 UTC)), "lunch");
    let (verdicts, _) = push(
        store,
        t1,
        vec![nov4.clone()],
        vec![],
        datetime!(2026-11-04 08:00 UTC),
    )
    .await;
    assert_eq!(verdicts, vec![MealVerdict::Accepted]);
    let approved_at = datetime!(2026-12-02 04:00 UTC);
    let approval = StoredApproval {
        approved_at,
        approved_by: "Директор".into(),
        content_hash: "0".repeat(64),
        body: "{}".into(),
    };
    store
        .approve_tabel(
            bin,
            "2026-11".parse().expect("month"),
            &approval,
            &staff("approve", approved_at),
        )
        .await
        .expect("approve");
    let voided_at = approved_at + Duration::hours(1);
    for _ in 0..2 {
        assert_eq!(
            store
                .void_school_meal(bin, nov4.event_id, &reason, &staff("void", voided_at))
                .await
                .expect("void"),
            VoidVerdict::Adjustment
        );
    }
    let december = store
        .tabel_facts(bin, "2026-12".parse().expect("month"), 80_000)
        .await
        .expect("facts");
    assert_eq!(december.voided_from_previous.len(), 1);
    assert_eq!(december.voided_from_previous[0].event_id, nov4.event_id);
    assert_eq!(december.voided_from_previous[0].received_at, voided_at);
}
