//! The entitlement chapter of the store story: the month's list decides who eats, on every
//! backend — a student dropped from January's list stops on the day it arrives, a list
//! carries into the next month until the 10th, a student on another school's list moves
//! there with the activation, and the roster, the push judge and the табель all agree.

use std::sync::Arc;

use shared::sync::{DayRange, MealBatch, MealEvent, MealVerdict, Method};
use shared::{Bin, Iin, Sex, VoucherId};
use time::macros::{date, datetime};
use time::{Date, OffsetDateTime};
use uuid::Uuid;
use wallet_server::domain::audit::{Actor, AuditEntry};
use wallet_server::domain::list::RowOutcome;
use wallet_server::domain::meal::{judge, VoucherFacts};
use wallet_server::domain::programme_dates::ProgrammeDates;
use wallet_server::domain::terminal::{EnrollmentCode, NewTerminal, TerminalRecord};
use wallet_server::domain::voucher::VoucherState;
use wallet_server::domain::{Category, School, Student};
use wallet_server::store::Store;

#[path = "../support/lists.rs"]
pub mod lists;

fn school(last: u8) -> School {
    School {
        bin: Bin::generate(&[4, 1, 0, 3, 4, 0, 0, 0, 0, 1, last]).expect("bin"),
        name: format!("Школа списков {last}"),
    }
}

fn kid(at: &School, serial: u16, name: &str) -> Student {
    Student {
        iin: (serial..serial + 60)
            .find_map(|s| Iin::generate(date!(2017 - 03 - 03), Sex::Male, s))
            .expect("iin"),
        full_name: name.into(),
        school: at.bin,
        grade: 3,
        class_label: "3А".into(),
        category: Category::Primary,
    }
}

/// Applies the list; returns each row's voucher.
async fn list(
    store: &Arc<dyn Store>,
    at: &School,
    period: &str,
    kids: &[Student],
    received: OffsetDateTime,
) -> Vec<VoucherId> {
    let kids: Vec<Student> = kids
        .iter()
        .map(|k| Student {
            school: at.bin,
            ..k.clone()
        })
        .collect();
    let outcome = store
        .apply_eligibility_list(&lists::primary_list(at, period, &kids, received))
        .await
        .expect("list");
    outcome
        .rows
        .iter()
        .map(|(_, row)| match row {
            RowOutcome::VoucherFormed(id) => *id,
            other => panic!("no voucher: {other:?}"),
        })
        .collect()
}

async fn activate(store: &Arc<dyn Store>, id: VoucherId) {
    let audit = AuditEntry {
        at: datetime!(2026-12-01 04:00 UTC),
        actor: Actor::System,
        entity_kind: "voucher",
        entity_id: id.to_string(),
        action: "activate".into(),
        from_state: Some("formed".into()),
        to_state: Some("activated".into()),
        reason: None,
    };
    store
        .transition_voucher(id, VoucherState::Formed, VoucherState::Activated, &audit)
        .await
        .expect("activate");
}

async fn terminal(store: &Arc<dyn Store>, at: &School) -> TerminalRecord {
    let code = format!("entitlement-{}", at.bin);
    store
        .create_enrollment_code(&EnrollmentCode {
            code_hash: code.clone(),
            school: at.bin,
            created_by: Actor::System,
            created_at: datetime!(2026-12-01 00:00 UTC),
            expires_at: datetime!(2026-12-02 00:00 UTC),
        })
        .await
        .expect("code");
    let token = format!("token-{code}");
    store
        .enroll_terminal(
            &code,
            &NewTerminal {
                id: Uuid::now_v7(),
                name: "касса".into(),
                token_hash: token.clone(),
            },
            datetime!(2026-12-01 01:00 UTC),
        )
        .await
        .expect("enroll");
    store
        .terminal_by_token(&token)
        .await
        .expect("lookup")
        .expect("enrolled")
}

/// Pushes one lunch (12:00 Astana on `day`) with the real judge in the 2026 pilot; the
/// verdict and reason.
async fn lunch(
    store: &Arc<dyn Store>,
    t: &TerminalRecord,
    voucher: VoucherId,
    day: Date,
    now: OffsetDateTime,
) -> (MealVerdict, Option<String>) {
    lunch_in(ProgrammeDates::pilot_2026(), store, t, voucher, day, now).await
}

/// [`lunch`] with the programme's dates the caller brings to the judge.
async fn lunch_in(
    programme: ProgrammeDates,
    store: &Arc<dyn Store>,
    t: &TerminalRecord,
    voucher: VoucherId,
    day: Date,
    now: OffsetDateTime,
) -> (MealVerdict, Option<String>) {
    let served_at = day.with_hms(7, 0, 0).expect("time").assume_utc();
    let event = MealEvent {
        event_id: Uuid::now_v7(),
        voucher_id: voucher,
        slot: shared::SlotName::whole_day(),
        service_day: day,
        served_at,
        method: Method::Card,
        pass_nonce: None,
        manual_reason: None,
        worker: None,
    };
    let school = t.school;
    let real = move |e: &MealEvent, f: Option<&VoucherFacts>, s: &[shared::sync::MealSlot]| {
        judge(school, &programme, now, e, f, s)
    };
    let batch = MealBatch {
        events: vec![event],
        unsent_after: None,
        voids: Vec::new(),
        denials: Vec::new(),
    };
    let result = store
        .record_meals(t, &batch, now, &real)
        .await
        .expect("push")
        .remove(0);
    (result.status, result.reason)
}

async fn entitled(store: &Arc<dyn Store>, at: &School, voucher: VoucherId) -> Vec<DayRange> {
    let page = store.roster_since(at.bin, 0).await.expect("roster");
    page.rows
        .into_iter()
        .find(|r| r.voucher_id == voucher)
        .map(|r| r.entitled)
        .unwrap_or_default()
}

fn days(first: Date, last: Date) -> Vec<DayRange> {
    vec![DayRange { first, last }]
}

pub async fn story(store: Arc<dyn Store>) {
    let (x, y) = (school(1), school(2));
    let (a, b, c) = (
        kid(&x, 100, "Абаев Арман"),
        kid(&x, 200, "Бекова Бота"),
        kid(&x, 300, "Сериков Сабыр"),
    );
    // December: A, B and C at school X, activated.
    let dec = list(
        &store,
        &x,
        "2026-12",
        &[a.clone(), b.clone(), c.clone()],
        datetime!(2026-11-28 05:00 UTC),
    )
    .await;
    for id in &dec {
        activate(&store, *id).await;
    }
    let (va, vb, vc) = (dec[0], dec[1], dec[2]);
    // Without a January list, December's carries into January until the 10th.
    assert_eq!(
        entitled(&store, &x, vb).await,
        days(date!(2026 - 12 - 01), date!(2027 - 01 - 10))
    );
    let tx = terminal(&store, &x).await;
    // B eats on 5 January (carry-over), pushed at once: billable.
    let jan5 = datetime!(2027-01-05 09:00 UTC);
    assert_eq!(
        lunch(&store, &tx, vb, date!(2027 - 01 - 05), jan5).await,
        (MealVerdict::Accepted, None)
    );

    // School Y's January list names C on 3 January: C moves, consent and activation kept.
    let moved = list(
        &store,
        &y,
        "2027-01",
        std::slice::from_ref(&c),
        datetime!(2027-01-03 04:00 UTC),
    )
    .await;
    let vc_y = moved[0];
    let ty = terminal(&store, &y).await;
    assert_ne!(vc_y, vc);
    let old = store.voucher(vc).await.expect("read").expect("old voucher");
    assert_eq!(
        old.state,
        VoucherState::Revoked,
        "X's voucher goes with the move"
    );
    let new = store
        .voucher(vc_y)
        .await
        .expect("read")
        .expect("new voucher");
    assert_eq!((new.state, new.school), (VoucherState::Activated, y.bin));
    assert_eq!(
        entitled(&store, &y, vc_y).await,
        days(date!(2027 - 01 - 01), date!(2027 - 02 - 10))
    );
    // Both schools' staff see the move.
    let month = "2027-01".parse().expect("month");
    let at_x = store.vouchers_of_school(x.bin, month).await.expect("x");
    let old_view = at_x.iter().find(|v| v.voucher.id == vc).expect("C at X");
    assert_eq!(
        (old_view.moved_to, old_view.moved_from),
        (Some(y.bin), None)
    );
    let at_y = store.vouchers_of_school(y.bin, month).await.expect("y");
    assert_eq!(at_y.len(), 1);
    assert_eq!((at_y[0].moved_from, at_y[0].moved_to), (Some(x.bin), None));
    let stayed = at_x.iter().find(|v| v.voucher.id == va).expect("A at X");
    assert_eq!((stayed.moved_to, stayed.moved_from), (None, None));
    // At X, C's carry-over ends the day before Y's list arrived.
    let at_x = store.roster_since(x.bin, 0).await.expect("roster");
    assert!(
        at_x.rows.iter().all(|r| r.voucher_id != vc),
        "X's full roster drops C"
    );
    assert_eq!(
        lunch(&store, &ty, vc_y, date!(2027 - 01 - 04), jan5).await,
        (MealVerdict::Accepted, None)
    );
    // C's December meal at X, synced late, stays with X and is billed there.
    assert_eq!(
        lunch(&store, &tx, vc, date!(2026 - 12 - 22), jan5).await,
        (MealVerdict::Accepted, None)
    );

    // X's January list names A only, on 7 January: B is not entitled from that day.
    list(
        &store,
        &x,
        "2027-01",
        std::slice::from_ref(&a),
        datetime!(2027-01-07 04:00 UTC),
    )
    .await;
    assert_eq!(
        entitled(&store, &x, va).await,
        days(date!(2026 - 12 - 01), date!(2027 - 02 - 10))
    );
    assert_eq!(
        entitled(&store, &x, vb).await,
        days(date!(2026 - 12 - 01), date!(2027 - 01 - 06))
    );
    let jan8 = datetime!(2027-01-08 09:00 UTC);
    assert_eq!(
        lunch(&store, &tx, vb, date!(2027 - 01 - 08), jan8).await,
        (MealVerdict::Rejected, Some("not_on_list".into()))
    );
    // B's December meal synced late still counts.
    assert_eq!(
        lunch(&store, &tx, vb, date!(2026 - 12 - 15), jan8).await,
        (MealVerdict::Accepted, None)
    );
    assert_eq!(
        lunch(&store, &tx, va, date!(2027 - 01 - 08), jan8).await,
        (MealVerdict::Accepted, None)
    );
    // A programme that ended on 10 January bills nothing after it, listed or not.
    let ended = ProgrammeDates::new(date!(2026 - 09 - 01), date!(2027 - 01 - 10)).expect("dates");
    let jan11 = datetime!(2027-01-11 09:00 UTC);
    assert_eq!(
        lunch_in(ended, &store, &tx, va, date!(2027 - 01 - 11), jan11).await,
        (MealVerdict::Rejected, Some("outside_programme".into()))
    );

    // The табель: December lists A, B and C at X.
    let facts = |at: Bin, month: &str| {
        let store = store.clone();
        let month = month.parse().expect("month");
        async move { store.tabel_facts(at, month, 95_000).await.expect("facts") }
    };
    let listed = |f: &wallet_server::domain::tabel::TabelFacts| {
        let mut names: Vec<String> = f
            .students
            .iter()
            .map(|(_, s)| s.full_name.clone())
            .collect();
        names.sort();
        names
    };
    assert_eq!(
        listed(&facts(x.bin, "2026-12").await),
        vec!["Абаев Арман", "Бекова Бота", "Сериков Сабыр"]
    );
    // January at X lists A only: B and C were only carried over (B's carried meal still
    // shows through the meals); February has no list yet at X.
    assert_eq!(listed(&facts(x.bin, "2027-01").await), vec!["Абаев Арман"]);
    assert!(facts(x.bin, "2027-01")
        .await
        .meals
        .iter()
        .any(|m| m.student == b.iin));
    assert!(listed(&facts(x.bin, "2027-02").await).is_empty());
    assert_eq!(
        listed(&facts(y.bin, "2027-01").await),
        vec!["Сериков Сабыр"]
    );
    let x_dec = facts(x.bin, "2026-12").await;
    assert!(
        x_dec.meals.iter().any(|m| m.student == c.iin),
        "C's December meal is on X's December табель"
    );
}
