//! The табель chapter of the store story: facts of a month, approval freezing it, late meals
//! carried into the next month, meal prices — on every backend.

use std::sync::Arc;

use shared::sync::{MealBatch, MealEvent, MealSlot, Method};
use shared::{Bin, Iin, Sex, VoucherId};
use time::macros::{date, datetime};
use time::OffsetDateTime;
use uuid::Uuid;
use wallet_server::domain::audit::{Actor, AuditEntry};
use wallet_server::domain::meal::VoucherFacts;
use wallet_server::domain::terminal::{EnrollmentCode, NewTerminal};
use wallet_server::domain::voucher::{NewVoucher, SchoolYear, VoucherState};
use wallet_server::domain::{Category, Programme, School, Student};
use wallet_server::services::tabel::{approve, tabel_for, Approver, TabelError};
use wallet_server::store::Store;

const PRICE: i64 = 95_000;

fn school() -> School {
    School {
        bin: Bin::generate(&[3, 1, 0, 3, 4, 0, 0, 0, 0, 0, 9]).expect("bin"),
        name: "Школа табеля".into(),
    }
}

fn kid(serial: u16, class: &str, name: &str) -> Student {
    Student {
        iin: (serial..serial + 60)
            .find_map(|s| Iin::generate(date!(2018 - 08 - 08), Sex::Female, s))
            .expect("iin"),
        full_name: name.into(),
        school: school().bin,
        grade: 2,
        class_label: class.into(),
        category: Category::Primary,
    }
}

fn entry(action: &str) -> AuditEntry {
    AuditEntry {
        at: datetime!(2026-09-01 03:00 UTC),
        actor: Actor::System,
        entity_kind: "voucher",
        entity_id: action.into(),
        action: action.into(),
        from_state: None,
        to_state: None,
        reason: None,
    }
}

async fn activated_voucher(store: &Arc<dyn Store>, s: &Student) -> VoucherId {
    let new = NewVoucher {
        id: VoucherId::new(),
        programme: Programme::SchoolMeals,
        student: s.iin,
        school: s.school,
        period: SchoolYear {
            first_day: date!(2026 - 09 - 01),
            last_day: date!(2027 - 05 - 31),
        },
        formed_at: datetime!(2026-09-01 03:00 UTC),
    };
    store
        .form_voucher(&new, &entry("form"))
        .await
        .expect("form");
    store
        .transition_voucher(
            new.id,
            VoucherState::Formed,
            VoucherState::Activated,
            &entry("activate"),
        )
        .await
        .expect("activate");
    new.id
}

fn meal(voucher: VoucherId, day: time::Date) -> MealEvent {
    let at = shared::time::start_of_service_day(day) + time::Duration::hours(12);
    MealEvent {
        event_id: Uuid::now_v7(),
        voucher_id: voucher,
        slot: shared::SlotName::whole_day(),
        service_day: day,
        served_at: at,
        method: Method::Card,
        pass_nonce: None,
        manual_reason: None,
        worker: None,
    }
}

fn valid(_: &MealEvent, _: Option<&VoucherFacts>, _: &[MealSlot]) -> Option<String> {
    None
}

pub async fn story(store: Arc<dyn Store>) {
    store
        .upsert_school(&school(), datetime!(2026-09-01 00:00 UTC))
        .await
        .expect("school");
    let (a, b) = (kid(500, "2Б", "Ержанова Дана"), kid(700, "2А", "Ким Алина"));
    store
        .upsert_student(&a, datetime!(2026-09-01 00:00 UTC))
        .await
        .expect("a");
    store
        .upsert_student(&b, datetime!(2026-09-01 00:00 UTC))
        .await
        .expect("b");
    let (va, vb) = (
        activated_voucher(&store, &a).await,
        activated_voucher(&store, &b).await,
    );
    store
        .create_enrollment_code(&EnrollmentCode {
            code_hash: "tabel".into(),
            school: school().bin,
            created_by: Actor::System,
            created_at: datetime!(2026-09-01 00:00 UTC),
            expires_at: datetime!(2026-09-02 00:00 UTC),
        })
        .await
        .expect("code");
    let t = NewTerminal {
        id: Uuid::now_v7(),
        name: "t".into(),
        token_hash: "tabel-token".into(),
    };
    store
        .enroll_terminal("tabel", &t, datetime!(2026-09-01 01:00 UTC))
        .await
        .expect("enroll");
    let terminal = store
        .terminal_by_token("tabel-token")
        .await
        .expect("lookup")
        .expect("known");
    let push = |events: Vec<MealEvent>, now: OffsetDateTime| {
        let store = store.clone();
        let terminal = terminal.clone();
        async move {
            store
                .record_meals(
                    &terminal,
                    &MealBatch {
                        events,
                        unsent_after: None,
                        voids: Vec::new(),
                        denials: Vec::new(),
                    },
                    now,
                    &valid,
                )
                .await
                .expect("push")
        }
    };
    // October: a on three days (one twice: a duplicate), b on one day.
    push(
        vec![
            meal(va, date!(2026 - 10 - 05)),
            meal(va, date!(2026 - 10 - 06)),
            meal(va, date!(2026 - 10 - 06)),
            meal(va, date!(2026 - 10 - 07)),
            meal(vb, date!(2026 - 10 - 07)),
        ],
        datetime!(2026-10-07 10:00 UTC),
    )
    .await;
    store
        .set_meal_price(
            school().bin,
            Programme::SchoolMeals,
            PRICE,
            datetime!(2026-10-01 00:00 UTC),
        )
        .await
        .expect("price");
    let october: shared::time::YearMonth = "2026-10".parse().expect("month");
    let in_october = datetime!(2026-10-20 06:00 UTC);
    let live = tabel_for(store.as_ref(), school().bin, october, in_october, 1)
        .await
        .expect("tabel");
    assert_eq!(
        live.rows
            .iter()
            .map(|r| r.student.class_label.as_str())
            .collect::<Vec<_>>(),
        vec!["2А", "2Б"]
    );
    assert_eq!((live.totals.meals, live.totals.students_fed), (4, 2));
    assert_eq!(
        live.totals.amount_tiyn,
        4 * PRICE,
        "the school's own price wins over the default"
    );
    assert_eq!(live.excluded.len(), 1);

    // Approval: not before the month ends; then frozen; not twice.
    let director = Approver {
        actor: Actor::Staff {
            sub: "dir".into(),
            school: school().bin,
        },
        name: Some("Сейткали Айгуль".into()),
    };
    assert!(matches!(
        approve(
            store.as_ref(),
            school().bin,
            october,
            director.clone(),
            in_october,
            1
        )
        .await,
        Err(TabelError::MonthNotEnded(_))
    ));
    let november_3 = datetime!(2026-11-03 04:00 UTC);
    let frozen = approve(
        store.as_ref(),
        school().bin,
        october,
        director.clone(),
        november_3,
        1,
    )
    .await
    .expect("approve");
    let stamp = frozen.approval.clone().expect("stamped");
    assert_eq!(
        stamp.approved_by, "Сейткали Айгуль (директор)",
        "the director by name"
    );
    assert_eq!(
        stamp.content_hash,
        wallet_server::domain::tabel::content_hash(&frozen)
    );
    assert!(matches!(
        approve(
            store.as_ref(),
            school().bin,
            october,
            director,
            november_3,
            1
        )
        .await,
        Err(TabelError::AlreadyApproved(_))
    ));

    // A late October meal arrives in November: October stays as approved…
    push(
        vec![meal(vb, date!(2026 - 10 - 30))],
        datetime!(2026-11-04 10:00 UTC),
    )
    .await;
    let again = tabel_for(
        store.as_ref(),
        school().bin,
        october,
        datetime!(2026-11-05 00:00 UTC),
        1,
    )
    .await
    .expect("tabel");
    assert_eq!(again, frozen, "the frozen табель never changes");
    // …and November carries it as an adjustment.
    push(
        vec![meal(va, date!(2026 - 11 - 02))],
        datetime!(2026-11-04 10:00 UTC),
    )
    .await;
    let november: shared::time::YearMonth = "2026-11".parse().expect("month");
    let next = tabel_for(
        store.as_ref(),
        school().bin,
        november,
        datetime!(2026-11-20 00:00 UTC),
        1,
    )
    .await
    .expect("tabel");
    assert_eq!(next.totals.meals, 1);
    let adj = next.adjustments.expect("adjustments");
    assert_eq!((adj.month, adj.meals, adj.amount_tiyn), (october, 1, PRICE));
    assert_eq!(adj.rows[0].student.full_name, "Ким Алина");
    assert_eq!(next.payable_tiyn, 2 * PRICE);
    assert!(matches!(
        tabel_for(
            store.as_ref(),
            school().bin,
            "2027-01".parse().expect("m"),
            datetime!(2026-11-20 00:00 UTC),
            1
        )
        .await,
        Err(TabelError::MonthInFuture(_))
    ));
    let trail = store
        .audit_trail("tabel", &format!("{}/2026-10", school().bin))
        .await
        .expect("trail");
    assert_eq!(trail.len(), 1);

    daily_report_story(&store).await;
}

async fn daily_report_story(store: &Arc<dyn Store>) {
    let day = date!(2026 - 10 - 06);
    let facts = store.daily_facts(day).await.expect("facts");
    let ours = facts
        .iter()
        .find(|s| s.bin == school().bin.to_string())
        .expect("every school is listed");
    assert_eq!(
        (ours.meals_served, ours.duplicates, ours.students_fed),
        (1, 1, 1)
    );
    assert!(
        facts.windows(2).all(|w| w[0].bin < w[1].bin),
        "ordered by BIN"
    );
    let formed_day = store
        .daily_facts(date!(2026 - 09 - 01))
        .await
        .expect("facts");
    let ours = formed_day
        .iter()
        .find(|s| s.bin == school().bin.to_string())
        .expect("listed");
    assert_eq!((ours.vouchers_formed, ours.vouchers_activated), (2, 2));
    // A day's report is stored once; the second save queues nothing.
    let message = wallet_server::domain::outbox::OutboxMessage {
        id: Uuid::now_v7(),
        kind: wallet_server::domain::outbox::OutboxKind::Report,
        recipient: "nobd".into(),
        body: "{}".into(),
        state: wallet_server::domain::outbox::OutboxState::Pending,
        attempts: 0,
        created_at: datetime!(2026-10-06 18:30 UTC),
        next_attempt_at: datetime!(2026-10-06 18:30 UTC),
        sent_at: None,
    };
    let now = datetime!(2026-10-06 18:30 UTC);
    assert!(store
        .save_report(day, "{\"v\":1}", &message, now)
        .await
        .expect("save"));
    let again = wallet_server::domain::outbox::OutboxMessage {
        id: Uuid::now_v7(),
        ..message
    };
    assert!(!store
        .save_report(day, "{\"v\":2}", &again, now)
        .await
        .expect("save"));
    assert_eq!(
        store.stored_report(day).await.expect("read").as_deref(),
        Some("{\"v\":1}")
    );
    let reports = store.outbox(1000).await.expect("outbox");
    // (Statuses to NOBD from the consent chapter are another kind.)
    let is_report = |m: &&wallet_server::domain::outbox::OutboxMessage| {
        m.kind == wallet_server::domain::outbox::OutboxKind::Report
    };
    assert_eq!(reports.iter().filter(is_report).count(), 1);
}
