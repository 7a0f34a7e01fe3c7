//! The group-commit chapter of the store story (issue 18): several terminals' pushes written
//! in one transaction (`record_pushes`) answer exactly as each would alone, in order — a
//! later push sees an earlier one's meals (a second lunch is a duplicate, a replay gets the
//! stored answer, a void reaches a meal pushed earlier in the group), another school's
//! terminal in the same group reaches none of this school's vouchers, refused scans are
//! stored once — on every backend.

use std::sync::Arc;

use shared::counter::{MealVoid, ScanDenial, VoidResult, VoidVerdict};
use shared::sync::{MealBatch, MealBatchResult, MealEvent, MealResult, MealVerdict, Method};
use shared::{Bin, Iin, Sex, VoucherId};
use time::macros::{date, datetime};
use time::{Duration, OffsetDateTime};
use wallet_server::domain::audit::Actor;
use wallet_server::domain::meal::{MealJudge, MealStatus};
use wallet_server::domain::terminal::{EnrollmentCode, TerminalRecord};
use wallet_server::domain::{Category, School, Student};
use wallet_server::store::{MealPush, Store};

use super::terminals::{history, judge_all_valid, meal, voucher};

const T0: OffsetDateTime = datetime!(2026-11-02 03:00 UTC);
const LUNCH: OffsetDateTime = datetime!(2026-11-04 07:00 UTC);

fn school(last: u8) -> School {
    School {
        bin: Bin::generate(&[2, 1, 0, 3, 4, 0, 0, 0, 3, 9, last]).expect("bin"),
        name: format!("Школа групп {last}"),
    }
}

fn kid(serial: u16, at: &School) -> Student {
    Student {
        iin: (serial..serial + 60)
            .find_map(|s| Iin::generate(date!(2015 - 05 - 05), Sex::Male, s))
            .expect("iin"),
        full_name: format!("Ученик группы {serial}"),
        school: at.bin,
        grade: 5,
        class_label: "5А".into(),
        category: Category::Primary,
    }
}

async fn terminal(store: &Arc<dyn Store>, at: &School, name: &str) -> TerminalRecord {
    let code = EnrollmentCode {
        code_hash: format!("group-{name}"),
        school: at.bin,
        created_by: Actor::System,
        created_at: T0,
        expires_at: T0 + Duration::hours(1),
    };
    store.create_enrollment_code(&code).await.expect("code");
    let new = wallet_server::domain::terminal::NewTerminal {
        id: uuid::Uuid::now_v7(),
        name: name.into(),
        token_hash: format!("group-token-{name}"),
    };
    store
        .enroll_terminal(&code.code_hash, &new, T0)
        .await
        .expect("enroll");
    store
        .terminal_by_token(&new.token_hash)
        .await
        .expect("read")
        .expect("terminal")
}

fn batch(events: Vec<MealEvent>, voids: Vec<MealVoid>, denials: Vec<ScanDenial>) -> MealBatch {
    MealBatch {
        events,
        unsent_after: Some(0),
        voids,
        denials,
    }
}

fn answer(e: &MealEvent, status: MealVerdict, reason: Option<&str>) -> MealResult {
    MealResult {
        event_id: e.event_id,
        status,
        reason: reason.map(str::to_string),
    }
}

async fn group(
    store: &Arc<dyn Store>,
    pushes: &[(&TerminalRecord, &MealBatch)],
) -> Vec<MealBatchResult> {
    let judge: MealJudge<'_> = &judge_all_valid;
    let pushes: Vec<MealPush<'_>> = pushes
        .iter()
        .map(|(terminal, batch)| MealPush {
            terminal,
            batch,
            now: LUNCH,
            judge,
        })
        .collect();
    store.record_pushes(&pushes).await.expect("group")
}

pub async fn story(store: Arc<dyn Store>) {
    let (a, b) = (school(1), school(2));
    store.upsert_school(&a, T0).await.expect("school");
    store.upsert_school(&b, T0).await.expect("school");
    let (ka, kb) = (kid(500, &a), kid(700, &b));
    store.upsert_student(&ka, T0).await.expect("student");
    store.upsert_student(&kb, T0).await.expect("student");
    let (va, vb): (VoucherId, VoucherId) = (
        voucher(&store, &ka, true).await,
        voucher(&store, &kb, true).await,
    );
    let (a1, a2) = (
        terminal(&store, &a, "a1").await,
        terminal(&store, &a, "a2").await,
    );
    let b1 = terminal(&store, &b, "b1").await;

    let first = meal(va, LUNCH);
    let second = meal(va, LUNCH + Duration::minutes(3));
    let theirs = meal(vb, LUNCH);
    let refused = ScanDenial {
        event_id: uuid::Uuid::now_v7(),
        at: LUNCH,
        reason: "expired_pass".parse().expect("label"),
        method: Method::Qr,
        voucher_id: Some(va),
        pass_nonce: None,
        card_uid: None,
    };
    let void_first = MealVoid {
        event_id: first.event_id,
        voided_at: LUNCH + Duration::minutes(1),
        reason: "ошибка кассира".parse().expect("label"),
        worker: None,
    };
    // a1's lunch for the kid; a2's second lunch for the kid and b's kid (another school);
    // a1 again (a replay, its refused scan again); b1's own kid and a's kid (another
    // school); a2 voiding a1's meal (not its own); a1 voiding its own meal.
    let p1 = batch(vec![first.clone()], vec![], vec![refused.clone()]);
    let p2 = batch(vec![second.clone(), meal(vb, LUNCH)], vec![], vec![]);
    let p3 = batch(vec![first.clone()], vec![], vec![refused.clone()]);
    let p4 = batch(vec![theirs.clone(), meal(va, LUNCH)], vec![], vec![]);
    let p5 = batch(vec![], vec![void_first.clone()], vec![]);
    let p6 = batch(vec![], vec![void_first.clone()], vec![]);
    let answers = group(
        &store,
        &[
            (&a1, &p1),
            (&a2, &p2),
            (&a1, &p3),
            (&b1, &p4),
            (&a2, &p5),
            (&a1, &p6),
        ],
    )
    .await;
    let unknown = |e: &MealEvent| answer(e, MealVerdict::Rejected, Some("unknown_voucher"));
    let results: Vec<Vec<MealResult>> = answers.iter().map(|a| a.results.clone()).collect();
    assert_eq!(
        results,
        vec![
            vec![answer(&first, MealVerdict::Accepted, None)],
            vec![
                answer(&second, MealVerdict::Duplicate, Some("already_ate")),
                unknown(&p2.events[1]),
            ],
            vec![answer(&first, MealVerdict::Accepted, None)],
            vec![
                answer(&theirs, MealVerdict::Accepted, None),
                unknown(&p4.events[1])
            ],
            vec![],
            vec![],
        ]
    );
    let void = |status, reason: Option<&str>| VoidResult {
        event_id: first.event_id,
        status,
        reason: reason.map(str::to_string),
    };
    assert_eq!(
        answers[4].voids,
        vec![void(VoidVerdict::Rejected, Some("unknown_meal"))]
    );
    assert_eq!(answers[5].voids, vec![void(VoidVerdict::Voided, None)]);

    // The books: the kid's two meals once each (the first voided), b's kid's once.
    let books = |v: VoucherId| {
        let store = store.clone();
        async move {
            let mut held: Vec<(uuid::Uuid, MealStatus)> = history(&store, v)
                .await
                .into_iter()
                .map(|m| (m.event_id, m.status))
                .collect();
            held.sort_by_key(|(id, _)| *id);
            held
        }
    };
    let mut kid_a = vec![
        (first.event_id, MealStatus::Voided),
        (second.event_id, MealStatus::Duplicate),
    ];
    kid_a.sort_by_key(|(id, _)| *id);
    assert_eq!(books(va).await, kid_a);
    assert_eq!(
        books(vb).await,
        vec![(theirs.event_id, MealStatus::Accepted)]
    );
    // The refused scan was stored once: storing it again adds nothing.
    assert_eq!(
        store
            .record_denials(&a1, &[refused], LUNCH)
            .await
            .expect("again"),
        0
    );
    // The whole group again is a replay: the same answers, except the void, which answers
    // what it answered the first time.
    let again = group(&store, &[(&a1, &p1), (&a2, &p2), (&b1, &p4), (&a1, &p6)]).await;
    assert_eq!(again[0].results, results[0]);
    assert_eq!(again[1].results, results[1]);
    assert_eq!(again[2].results, results[3]);
    assert_eq!(again[3].voids, vec![void(VoidVerdict::Voided, None)]);
}
