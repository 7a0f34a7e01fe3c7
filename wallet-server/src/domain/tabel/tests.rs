//! Tests of building a табель from facts.

use super::*;
use time::macros::{date, datetime};

fn iin(serial: u16) -> Iin {
    (serial..serial + 60)
        .find_map(|s| Iin::generate(date!(2016 - 01 - 01), shared::Sex::Female, s))
        .expect("iin")
}

fn student(class: &str, name: &str) -> TabelStudent {
    TabelStudent {
        class_label: class.into(),
        full_name: name.into(),
        category: Category::Primary,
    }
}

fn meal(who: Iin, day: Date, status: MealStatus) -> MealFact {
    MealFact {
        event_id: uuid::Uuid::now_v7(),
        student: who,
        service_day: day,
        slot: "day".into(),
        status,
        reason: (status != MealStatus::Accepted).then(|| "already_ate".to_string()),
        received_at: datetime!(2026-11-30 10:00 UTC),
        confirmed_off_day: false,
        manual: None,
    }
}

fn facts() -> TabelFacts {
    let (a, b, c) = (iin(100), iin(200), iin(300));
    TabelFacts {
        school: School {
            bin: "050140001238".parse().expect("bin"),
            name: "Школа".into(),
        },
        students: vec![
            (a, student("2А", "Бекова")),
            (b, student("1Б", "Ахметов")),
            (c, student("2А", "Аубакиров")),
        ],
        meals: vec![
            meal(a, date!(2026 - 11 - 02), MealStatus::Accepted),
            meal(a, date!(2026 - 11 - 03), MealStatus::Accepted),
            meal(a, date!(2026 - 11 - 03), MealStatus::Duplicate),
            meal(b, date!(2026 - 11 - 03), MealStatus::Accepted),
            meal(b, date!(2026 - 11 - 04), MealStatus::Rejected),
        ],
        late_from_previous: vec![meal(c, date!(2026 - 10 - 30), MealStatus::Accepted)],
        voided_from_previous: vec![],
        other_students: vec![],
        slots: vec!["day".into()],
        meal_price_tiyn: 80_000,
        calendar: SchoolCalendar::default(),
    }
}

#[test]
fn a_holiday_meal_is_held_out_until_confirmed() {
    let month: YearMonth = "2026-12".parse().expect("month");
    let mut f = facts();
    let a = f.students[0].0;
    f.meals = vec![
        meal(a, date!(2026 - 12 - 15), MealStatus::Accepted),
        meal(a, date!(2026 - 12 - 16), MealStatus::Accepted),
        meal(a, date!(2026 - 12 - 19), MealStatus::Accepted),
    ];
    f.late_from_previous.clear();
    let t = build(&f, month, datetime!(2027-01-02 04:00 UTC));
    assert_eq!(t.totals.meals, 1, "only the Tuesday is billed");
    assert_eq!(t.totals.amount_tiyn, 80_000);
    let held: Vec<_> = t.unbilled.iter().map(|u| (u.service_day, u.day)).collect();
    assert_eq!(
        held,
        vec![
            (date!(2026 - 12 - 16), DayStatus::Holiday),
            (date!(2026 - 12 - 19), DayStatus::RestDay)
        ]
    );
    assert_eq!(t.unbilled[0].student.full_name, "Бекова");
    let column = &t.days[15];
    assert!(column.holiday && !column.school_day && column.off());

    // The director confirms the holiday meal: it is billed; the Saturday stays out.
    f.meals[1].confirmed_off_day = true;
    let t = build(&f, month, datetime!(2027-01-02 04:00 UTC));
    assert_eq!(t.totals.meals, 2);
    assert_eq!(t.unbilled.len(), 1);
    assert_eq!(
        t.rows[2].marks.get(&date!(2026 - 12 - 16)),
        Some(&1),
        "{:?}",
        t.rows
    );

    // At a six-day school the Saturday is a school day.
    f.calendar.weeks.insert(
        crate::domain::calendar::SchoolYear::of(date!(2026 - 12 - 19)),
        crate::domain::calendar::SchoolWeek::SixDay,
    );
    let t = build(&f, month, datetime!(2027-01-02 04:00 UTC));
    assert_eq!((t.totals.meals, t.unbilled.len()), (3, 0));
}

#[test]
fn counts_only_billable_meals_and_orders_by_class_then_name() {
    let month: YearMonth = "2026-11".parse().expect("month");
    let t = build(&facts(), month, datetime!(2026-12-01 04:00 UTC));
    let names: Vec<_> = t
        .rows
        .iter()
        .map(|r| r.student.full_name.as_str())
        .collect();
    assert_eq!(names, vec!["Ахметов", "Аубакиров", "Бекова"]);
    assert_eq!(t.rows[2].total, 2);
    assert_eq!(t.rows[2].marks.get(&date!(2026 - 11 - 03)), Some(&1));
    assert_eq!(t.rows[1].total, 0, "listed without meals");
    assert_eq!(t.per_day.get(&date!(2026 - 11 - 03)), Some(&2));
    assert_eq!(t.totals.meals, 3);
    assert_eq!(t.totals.students_fed, 2);
    assert_eq!(t.totals.amount_tiyn, 240_000);
    assert_eq!(t.excluded.len(), 2);
    assert_eq!(t.days.len(), 30);
    assert!(t.days[0].weekend, "1 November 2026 is a Sunday");
    let adj = t.adjustments.as_ref().expect("late meals of October");
    assert_eq!(
        (adj.month.to_string(), adj.meals, adj.amount_tiyn),
        ("2026-10".into(), 1, 80_000)
    );
    assert_eq!(t.payable_tiyn, 320_000);
}

#[test]
fn the_json_keeps_the_contract_shape() {
    let month: YearMonth = "2026-11".parse().expect("month");
    let t = build(&facts(), month, datetime!(2026-12-01 04:00 UTC));
    let json = serde_json::to_value(&t).expect("json");
    assert_eq!(json["school"]["bin"], "050140001238");
    assert_eq!(json["month"], "2026-11");
    assert_eq!(json["rows"][2]["student"]["full_name"], "Бекова");
    assert_eq!(json["rows"][2]["student"]["class_label"], "2А");
    assert_eq!(json["rows"][2]["marks"]["2026-11-02"], 1);
    assert_eq!(json["rows"][2]["total"], 2);
    assert_eq!(json["totals"]["meals"], 3);
    assert_eq!(json["totals"]["students_fed"], 2);
    assert_eq!(json["totals"]["amount_tiyn"], 240_000);
    let back: Tabel = serde_json::from_value(json).expect("round trip");
    assert_eq!(back, t);
}

#[test]
fn the_content_hash_ignores_the_stamp_but_not_the_numbers() {
    let month: YearMonth = "2026-11".parse().expect("month");
    let t = build(&facts(), month, datetime!(2026-12-01 04:00 UTC));
    let mut stamped = t.clone();
    stamped.approval = Some(Approval {
        approved_at: datetime!(2026-12-02 04:00 UTC),
        approved_by: "director".into(),
        content_hash: content_hash(&t),
    });
    assert_eq!(content_hash(&stamped), content_hash(&t));
    let mut changed = t.clone();
    changed.totals.meals += 1;
    assert_ne!(content_hash(&changed), content_hash(&t));
    assert_eq!(
        previous("2027-01".parse().expect("m")).to_string(),
        "2026-12"
    );
}

#[test]
fn a_late_meal_on_a_non_school_day_is_not_paid_as_an_adjustment() {
    let month: YearMonth = "2026-11".parse().expect("month");
    let mut f = facts();
    let c = f.students[2].0;
    // Sunday 25 October (Republic Day), received after October's approval.
    f.late_from_previous
        .push(meal(c, date!(2026 - 10 - 25), MealStatus::Accepted));
    let t = build(&f, month, datetime!(2026-12-01 04:00 UTC));
    let adj = t.adjustments.as_ref().expect("the Friday is still paid");
    assert_eq!((adj.meals, adj.amount_tiyn), (1, 80_000));
    assert_eq!(
        t.unbilled
            .iter()
            .map(|u| (u.service_day, u.day))
            .collect::<Vec<_>>(),
        vec![(date!(2026 - 10 - 25), DayStatus::Holiday)]
    );
    assert_eq!(t.days.len(), 30, "only November's columns");
    assert_eq!(t.payable_tiyn, 320_000);
}

#[test]
fn manual_meals_are_listed_voided_ones_leave_and_later_voids_are_taken_off_next_month() {
    let month: YearMonth = "2026-11".parse().expect("month");
    let mut f = facts();
    let (a, b, c) = (f.students[0].0, f.students[1].0, f.students[2].0);
    let mut by_hand = meal(a, date!(2026 - 11 - 05), MealStatus::Accepted);
    by_hand.manual = Some(("забыл карту".into(), Some("Гульнара".into())));
    let mut voided = meal(b, date!(2026 - 11 - 05), MealStatus::Voided);
    voided.reason = Some("не тот ребёнок".into());
    let mut shift = meal(c, date!(2026 - 11 - 05), MealStatus::Rejected);
    shift.reason = Some("wrong_shift".into());
    let mut taken_back = meal(a, date!(2026 - 10 - 29), MealStatus::Voided);
    taken_back.reason = Some("ошибка".into());
    f.meals = vec![by_hand, voided, shift];
    f.voided_from_previous = vec![taken_back];
    let t = build(&f, month, datetime!(2026-12-01 04:00 UTC));
    assert_eq!(t.totals.meals, 1, "only the manual meal counts");
    assert_eq!(t.manual.len(), 1);
    assert_eq!(t.manual[0].reason, "забыл карту");
    assert_eq!(t.manual[0].worker.as_deref(), Some("Гульнара"));
    let excluded: Vec<(MealStatus, Option<&str>)> = t
        .excluded
        .iter()
        .map(|e| (e.status, e.reason.as_deref()))
        .collect();
    assert!(excluded.contains(&(MealStatus::Voided, Some("не тот ребёнок"))));
    assert!(excluded.contains(&(MealStatus::Rejected, Some("wrong_shift"))));
    let adj = t.adjustments.expect("adjustments");
    assert_eq!((adj.meals, adj.voided), (1, 1), "one late meal, one voided");
    assert_eq!(adj.amount_tiyn, 0, "they cancel out");
    assert_eq!(
        adj.rows
            .iter()
            .filter_map(|r| r.voided.as_deref())
            .collect::<Vec<_>>(),
        vec!["ошибка"]
    );
    assert_eq!(t.payable_tiyn, 80_000);
}
