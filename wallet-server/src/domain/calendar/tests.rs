use time::macros::date;

use super::*;

fn key(k: &str) -> BreakKey {
    k.parse().expect("key")
}

fn year(y: &str) -> SchoolYear {
    y.parse().expect("year")
}

fn brk(scope: BreakScope, k: &str, from: Date, to: Date) -> SchoolBreak {
    SchoolBreak::new(year("2026-2027"), key(k), scope, from, to).expect("break")
}

#[test]
fn fixed_holidays_and_weekends_by_default() {
    let cal = SchoolCalendar::default();
    assert_eq!(cal.status(date!(2026 - 12 - 16)), DayStatus::Holiday);
    assert_eq!(cal.status(date!(2027 - 03 - 22)), DayStatus::Holiday);
    assert_eq!(
        cal.status(date!(2026 - 11 - 28)),
        DayStatus::RestDay,
        "Saturday"
    );
    assert_eq!(
        cal.status(date!(2026 - 11 - 29)),
        DayStatus::RestDay,
        "Sunday"
    );
    assert!(cal.is_school_day(date!(2026 - 11 - 30)), "Monday");
}

#[test]
fn a_six_day_school_teaches_on_saturday() {
    let mut cal = SchoolCalendar::default();
    cal.weeks.insert(year("2026-2027"), SchoolWeek::SixDay);
    assert!(cal.is_school_day(date!(2026 - 11 - 28)), "Saturday");
    assert_eq!(cal.status(date!(2026 - 11 - 29)), DayStatus::RestDay);
    // The week is per school year: the next year is five-day unless set.
    assert_eq!(cal.status(date!(2027 - 09 - 04)), DayStatus::RestDay);
    // A holiday on a Saturday is still a holiday.
    assert_eq!(cal.status(date!(2027 - 01 - 02)), DayStatus::Holiday);
}

#[test]
fn transfers_move_days_off() {
    let cal = SchoolCalendar {
        declared: vec![
            DeclaredDay {
                date: date!(2027 - 01 - 09),
                kind: DeclaredKind::Workday,
                name: "перенос".into(),
            },
            DeclaredDay {
                date: date!(2027 - 01 - 08),
                kind: DeclaredKind::DayOff,
                name: "перенос".into(),
            },
            DeclaredDay {
                date: date!(2027 - 05 - 17),
                kind: DeclaredKind::Holiday,
                name: "Курбан айт".into(),
            },
        ],
        ..Default::default()
    };
    assert!(
        cal.is_school_day(date!(2027 - 01 - 09)),
        "a working Saturday"
    );
    assert_eq!(cal.status(date!(2027 - 01 - 08)), DayStatus::DayOff);
    assert_eq!(cal.status(date!(2027 - 05 - 17)), DayStatus::Holiday);
    assert!(cal.is_school_day(date!(2027 - 01 - 11)));
}

#[test]
fn the_most_specific_break_of_a_key_wins() {
    let almaty: Region = "almaty_city".parse().expect("region");
    let bin: Bin = "050140001238".parse().expect("bin");
    let mut cal = SchoolCalendar {
        breaks: vec![
            brk(
                BreakScope::Region(almaty),
                "winter",
                date!(2027 - 01 - 04),
                date!(2027 - 01 - 10),
            ),
            brk(
                BreakScope::National,
                "winter",
                date!(2026 - 12 - 30),
                date!(2027 - 01 - 07),
            ),
            brk(
                BreakScope::National,
                "spring",
                date!(2027 - 03 - 19),
                date!(2027 - 03 - 29),
            ),
        ],
        ..Default::default()
    };
    // The region moved the winter break: the national dates no longer apply.
    assert!(cal.is_school_day(date!(2026 - 12 - 30)));
    assert_eq!(cal.status(date!(2027 - 01 - 08)), DayStatus::SchoolBreak);
    assert_eq!(cal.status(date!(2027 - 03 - 24)), DayStatus::SchoolBreak);
    // A school's own spring break replaces the national one for that school.
    cal.breaks.push(brk(
        BreakScope::School(bin),
        "spring",
        date!(2027 - 03 - 26),
        date!(2027 - 04 - 02),
    ));
    assert!(cal.is_school_day(date!(2027 - 03 - 24)));
    assert_eq!(cal.status(date!(2027 - 04 - 01)), DayStatus::SchoolBreak);
    assert_eq!(cal.effective_breaks().len(), 2);
}

#[test]
fn breaks_are_checked_at_the_edge() {
    let y = year("2026-2027");
    assert!(matches!(
        SchoolBreak::new(
            y,
            key("winter"),
            BreakScope::National,
            date!(2027 - 01 - 07),
            date!(2026 - 12 - 30)
        ),
        Err(BreakError::Reversed { .. })
    ));
    assert!(matches!(
        SchoolBreak::new(
            y,
            key("summer"),
            BreakScope::National,
            date!(2027 - 06 - 01),
            date!(2027 - 09 - 01)
        ),
        Err(BreakError::OutsideYear { .. })
    ));
    let b = brk(
        BreakScope::National,
        "winter",
        date!(2026 - 12 - 30),
        date!(2027 - 01 - 07),
    );
    assert_eq!(
        b.months().iter().map(|m| m.to_string()).collect::<Vec<_>>(),
        vec!["2026-12", "2027-01"]
    );
}

#[test]
fn words_parse_strictly() {
    assert_eq!(year("2026-2027").to_string(), "2026-2027");
    assert_eq!(SchoolYear::of(date!(2027 - 08 - 31)), year("2026-2027"));
    assert_eq!(SchoolYear::of(date!(2027 - 09 - 01)), year("2027-2028"));
    assert!("2026-2028".parse::<SchoolYear>().is_err());
    assert!("2026".parse::<SchoolYear>().is_err());
    assert!("Almaty".parse::<Region>().is_err());
    assert!("a".parse::<BreakKey>().is_err());
    assert!("winter_1".parse::<BreakKey>().is_ok());
    assert_eq!(SchoolWeek::from_days(6), Some(SchoolWeek::SixDay));
    assert_eq!(SchoolWeek::from_days(7), None);
}
