//! The school calendar chapter of the store story, on every backend: a meal on Independence
//! Day held out of the табель until the director confirms it (audited); a transfer making a
//! Saturday a workday and a weekday a day off; a six-day school's Saturday; a national break
//! moved by the school's region; and every change touching an approved month refused with
//! nothing changed.

use std::sync::Arc;

use shared::sync::{MealBatch, MealEvent, MealSlot, Method};
use shared::time::YearMonth;
use shared::{Bin, Iin, Sex, VoucherId};
use time::macros::{date, datetime};
use time::{Date, OffsetDateTime};
use uuid::Uuid;
use wallet_server::domain::audit::{Actor, AuditEntry};
use wallet_server::domain::calendar::{
    BreakScope, CalendarChange, DayStatus, DeclaredDay, DeclaredKind, SchoolBreak, SchoolWeek,
    SchoolYear,
};
use wallet_server::domain::meal::VoucherFacts;
use wallet_server::domain::terminal::{EnrollmentCode, NewTerminal, TerminalRecord};
use wallet_server::domain::voucher::{self, NewVoucher, VoucherState};
use wallet_server::domain::{Category, Programme, School, Student};
use wallet_server::services::calendar::{change, CalendarError};
use wallet_server::services::tabel::off_day::{confirm_off_day_meal, ConfirmError};
use wallet_server::services::tabel::{approve, tabel_for};
use wallet_server::store::Store;

const T0: OffsetDateTime = datetime!(2026-09-01 03:00 UTC);

fn school() -> School {
    School {
        bin: Bin::generate(&[3, 1, 0, 3, 4, 0, 0, 0, 0, 1, 2]).expect("bin"),
        name: "Школа календаря".into(),
    }
}

fn integration() -> Actor {
    Actor::Integration("mon".into())
}

fn director() -> Actor {
    Actor::Staff {
        sub: "director".into(),
        school: school().bin,
    }
}

fn entry(action: &str) -> AuditEntry {
    AuditEntry {
        at: T0,
        actor: Actor::System,
        entity_kind: "voucher",
        entity_id: action.into(),
        action: action.into(),
        from_state: None,
        to_state: None,
        reason: None,
    }
}

fn accept_all(_: &MealEvent, _: Option<&VoucherFacts>, _: &[MealSlot]) -> Option<String> {
    None
}

fn year() -> SchoolYear {
    "2026-2027".parse().expect("year")
}

fn month(m: &str) -> YearMonth {
    m.parse().expect("month")
}

/// A school with one fed student and an enrolled terminal.
async fn setting(store: &Arc<dyn Store>) -> (VoucherId, TerminalRecord) {
    store.upsert_school(&school(), T0).await.expect("school");
    let kid = Student {
        iin: (900u16..960)
            .find_map(|s| Iin::generate(date!(2017 - 03 - 03), Sex::Male, s))
            .expect("iin"),
        full_name: "Қасымов Әли".into(),
        school: school().bin,
        grade: 3,
        class_label: "3А".into(),
        category: Category::Primary,
    };
    store.upsert_student(&kid, T0).await.expect("student");
    let new = NewVoucher {
        id: VoucherId::new(),
        programme: Programme::SchoolMeals,
        student: kid.iin,
        school: school().bin,
        period: voucher::SchoolYear {
            first_day: date!(2026 - 09 - 01),
            last_day: date!(2027 - 05 - 31),
        },
        formed_at: T0,
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
    store
        .create_enrollment_code(&EnrollmentCode {
            code_hash: "calendar".into(),
            school: school().bin,
            created_by: Actor::System,
            created_at: T0,
            expires_at: T0 + time::Duration::days(1),
        })
        .await
        .expect("code");
    let t = NewTerminal {
        id: Uuid::now_v7(),
        name: "calendar".into(),
        token_hash: "calendar-token".into(),
    };
    store
        .enroll_terminal("calendar", &t, T0)
        .await
        .expect("enroll");
    let terminal = store
        .terminal_by_token("calendar-token")
        .await
        .expect("lookup")
        .expect("known");
    (new.id, terminal)
}

/// Pushes one meal per day; returns their event ids in order.
async fn eat(
    store: &Arc<dyn Store>,
    terminal: &TerminalRecord,
    voucher: VoucherId,
    days: &[Date],
) -> Vec<Uuid> {
    let events: Vec<MealEvent> = days
        .iter()
        .map(|&day| MealEvent {
            event_id: Uuid::now_v7(),
            voucher_id: voucher,
            slot: shared::SlotName::whole_day(),
            service_day: day,
            served_at: shared::time::start_of_service_day(day) + time::Duration::hours(7),
            method: Method::Card,
            pass_nonce: None,
            manual_reason: None,
            worker: None,
        })
        .collect();
    let batch = MealBatch {
        events: events.clone(),
        unsent_after: None,
        voids: Vec::new(),
        denials: Vec::new(),
    };
    let results = store
        .record_meals(
            terminal,
            &batch,
            datetime!(2027-01-20 06:00 UTC),
            &accept_all,
        )
        .await
        .expect("push");
    assert!(
        results
            .iter()
            .all(|r| r.status == shared::sync::MealVerdict::Accepted),
        "{results:?}"
    );
    events.iter().map(|e| e.event_id).collect()
}

/// (billed meals, unbilled days) of a month's live табель.
async fn billed(store: &Arc<dyn Store>, m: &str) -> (u32, Vec<(Date, DayStatus)>) {
    let t = tabel_for(
        store.as_ref(),
        school().bin,
        month(m),
        datetime!(2027-01-20 06:00 UTC),
        1,
    )
    .await
    .expect("tabel");
    (
        t.totals.meals,
        t.unbilled.iter().map(|u| (u.service_day, u.day)).collect(),
    )
}

async fn changed(store: &Arc<dyn Store>, c: CalendarChange, who: Actor) {
    change(store.as_ref(), &c, who, T0)
        .await
        .expect("calendar change");
}

pub async fn story(store: Arc<dyn Store>) {
    let (voucher, terminal) = setting(&store).await;
    // Tue 15, Wed 16 (Independence Day), Sat 19, Mon 21, Wed 30 December; Fri 8 January.
    let days = [
        date!(2026 - 12 - 15),
        date!(2026 - 12 - 16),
        date!(2026 - 12 - 19),
        date!(2026 - 12 - 21),
        date!(2026 - 12 - 30),
        date!(2027 - 01 - 08),
    ];
    let ids = eat(&store, &terminal, voucher, &days).await;
    let (d15, d16, d19, d21, d30, j08) = (days[0], days[1], days[2], days[3], days[4], days[5]);
    assert_eq!(
        billed(&store, "2026-12").await,
        (
            3,
            vec![(d16, DayStatus::Holiday), (d19, DayStatus::RestDay)]
        ),
        "Independence Day and a Saturday are held out"
    );

    // Transfers: Saturday the 19th worked, Monday the 21st off.
    for (date, kind) in [(d19, DeclaredKind::Workday), (d21, DeclaredKind::DayOff)] {
        let day = DeclaredDay {
            date,
            kind,
            name: "перенос".into(),
        };
        changed(&store, CalendarChange::DeclareDay(day), integration()).await;
    }
    assert_eq!(
        billed(&store, "2026-12").await,
        (3, vec![(d16, DayStatus::Holiday), (d21, DayStatus::DayOff)])
    );
    changed(&store, CalendarChange::RemoveDay(d19), integration()).await;
    changed(&store, CalendarChange::RemoveDay(d21), integration()).await;
    assert!(matches!(
        change(
            store.as_ref(),
            &CalendarChange::RemoveDay(d21),
            integration(),
            T0
        )
        .await,
        Err(CalendarError::NotFound)
    ));

    // A six-day school teaches on Saturday.
    let week = CalendarChange::SetWeek {
        school: school().bin,
        school_year: year(),
        week: SchoolWeek::SixDay,
    };
    changed(&store, week, director()).await;
    assert_eq!(
        billed(&store, "2026-12").await,
        (4, vec![(d16, DayStatus::Holiday)])
    );

    // A national winter break, moved by the school's region.
    let winter = |scope, from, to| {
        SchoolBreak::new(year(), "winter".parse().expect("key"), scope, from, to).expect("break")
    };
    let almaty = "almaty_city".parse().expect("region");
    changed(
        &store,
        CalendarChange::SetBreak(winter(BreakScope::National, d30, date!(2027 - 01 - 07))),
        integration(),
    )
    .await;
    assert_eq!(
        billed(&store, "2026-12").await.1.last(),
        Some(&(d30, DayStatus::SchoolBreak))
    );
    assert_eq!(billed(&store, "2027-01").await, (1, vec![]));
    changed(
        &store,
        CalendarChange::SetBreak(winter(
            BreakScope::Region(almaty),
            date!(2027 - 01 - 04),
            date!(2027 - 01 - 10),
        )),
        integration(),
    )
    .await;
    assert_eq!(
        billed(&store, "2027-01").await,
        (1, vec![]),
        "not the school's region yet"
    );
    let region = CalendarChange::SetRegion {
        school: school().bin,
        region: Some("almaty_city".parse().expect("r")),
    };
    changed(&store, region, integration()).await;
    assert_eq!(
        store
            .school_region(school().bin)
            .await
            .expect("region")
            .map(|r| r.to_string()),
        Some("almaty_city".into())
    );
    assert_eq!(
        billed(&store, "2027-01").await,
        (0, vec![(j08, DayStatus::SchoolBreak)])
    );
    assert_eq!(
        billed(&store, "2026-12").await,
        (4, vec![(d16, DayStatus::Holiday)]),
        "the 30th is taught in Almaty"
    );
    let cal = store
        .school_calendar(school().bin, year(), year())
        .await
        .expect("calendar");
    assert_eq!(cal.effective_breaks().len(), 1);
    assert_eq!(cal.status(d30), DayStatus::SchoolDay);

    // The director confirms the Independence Day meal: billed, audited, once.
    let dec = month("2026-12");
    let at = datetime!(2027-01-02 05:00 UTC);
    assert!(matches!(
        confirm_off_day_meal(store.as_ref(), school().bin, dec, ids[0], director(), at).await,
        Err(ConfirmError::SchoolDay(d)) if d == d15
    ));
    assert!(
        matches!(
            confirm_off_day_meal(
                store.as_ref(),
                school().bin,
                month("2027-01"),
                ids[1],
                director(),
                at
            )
            .await,
            Err(ConfirmError::NotFound(_))
        ),
        "a meal of another month"
    );
    let done = confirm_off_day_meal(store.as_ref(), school().bin, dec, ids[1], director(), at)
        .await
        .expect("confirm");
    assert!(done.new && done.day == DayStatus::Holiday);
    let again = confirm_off_day_meal(store.as_ref(), school().bin, dec, ids[1], director(), at)
        .await
        .expect("confirm again");
    assert!(!again.new);
    assert_eq!(billed(&store, "2026-12").await, (5, vec![]));
    let trail = store
        .audit_trail("meal", &ids[1].to_string())
        .await
        .expect("trail");
    assert_eq!(trail.len(), 1, "{trail:?}");
    assert_eq!(trail[0].action, "confirm_off_day");
    assert!(trail[0].actor.contains("director"));

    // December approved: nothing touching it changes any more.
    let approver = wallet_server::services::tabel::Approver {
        actor: director(),
        name: Some("Директор Календарёва".into()),
    };
    approve(store.as_ref(), school().bin, dec, approver, at, 1)
        .await
        .expect("approve");
    let before = store.national_calendar(year()).await.expect("national");
    let refusals = [
        CalendarChange::DeclareDay(DeclaredDay {
            date: date!(2026 - 12 - 25),
            kind: DeclaredKind::Holiday,
            name: "x".into(),
        }),
        CalendarChange::SetBreak(winter(
            BreakScope::School(school().bin),
            date!(2026 - 12 - 28),
            date!(2027 - 01 - 03),
        )),
        CalendarChange::SetBreak(winter(
            BreakScope::Region("almaty_city".parse().expect("r")),
            date!(2027 - 01 - 11),
            date!(2027 - 01 - 17),
        )),
        CalendarChange::SetWeek {
            school: school().bin,
            school_year: year(),
            week: SchoolWeek::FiveDay,
        },
    ];
    for c in &refusals {
        let refused = change(store.as_ref(), c, integration(), T0).await;
        assert!(
            matches!(&refused, Err(CalendarError::ApprovedMonth(m)) if m.ends_with("/2026-12")),
            "{c:?}: {refused:?}"
        );
    }
    assert_eq!(
        store.national_calendar(year()).await.expect("national"),
        before,
        "nothing changed"
    );
    assert!(matches!(
        confirm_off_day_meal(store.as_ref(), school().bin, dec, ids[2], director(), at).await,
        Err(ConfirmError::MonthApproved(_))
    ));
    // A break of another key, in months nobody approved, is still set.
    let spring = SchoolBreak::new(
        year(),
        "spring".parse().expect("key"),
        BreakScope::National,
        date!(2027 - 03 - 19),
        date!(2027 - 03 - 29),
    )
    .expect("spring");
    changed(&store, CalendarChange::SetBreak(spring), integration()).await;
    let cal = store
        .school_calendar(school().bin, year(), year())
        .await
        .expect("calendar");
    assert_eq!(
        cal.status(date!(2027 - 03 - 22)),
        DayStatus::Holiday,
        "Nauryz wins"
    );
    assert_eq!(cal.status(date!(2027 - 03 - 24)), DayStatus::SchoolBreak);
}
