//! When a programme runs: its first and last day (Astana service days, inclusive).
//!
//! The 2026 pilot of free school meals runs from 21 February 2026 for 12 months; nothing is
//! formed, minted or billed outside a programme's dates. The rules here are pure and used
//! by list intake (`domain::list`), pass minting (`services::passes`) and the push judge
//! (`domain::meal`); the dates themselves come from the configuration (`--programme-start`,
//! `--programme-end`), or with `--demo` from the demo clock so the demo works on any day.

use shared::time::YearMonth;
use time::{Date, Duration};

/// A programme's dates: every service day from `first_day` to `last_day`, both included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProgrammeDates {
    first_day: Date,
    last_day: Date,
}

/// A programme that would end before it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the programme ends ({last}) before it starts ({first})")]
pub struct EndsBeforeStart {
    pub first: Date,
    pub last: Date,
}

/// How far a `--demo` programme reaches either side of the demo clock's first day: wide
/// enough for every story a test or a demo tells by moving the clock forward.
const DEMO_REACH: Duration = Duration::days(366);

/// How long a programme runs when only its start is configured (the 2026 pilot: 12 months).
pub const DEFAULT_MONTHS: u8 = 12;

impl ProgrammeDates {
    pub fn new(first_day: Date, last_day: Date) -> Result<Self, EndsBeforeStart> {
        if last_day < first_day {
            return Err(EndsBeforeStart {
                first: first_day,
                last: last_day,
            });
        }
        Ok(ProgrammeDates {
            first_day,
            last_day,
        })
    }

    /// A programme starting on `first_day` for `months` calendar months: it ends the day
    /// before the same day `months` later (21 February 2026 + 12 months → 20 February 2027).
    /// A start day the end month lacks (31st) ends with that month.
    pub fn for_months(first_day: Date, months: u8) -> Self {
        let mut month = YearMonth::of(first_day);
        for _ in 0..months {
            month = month.next();
        }
        let same_day = Date::from_calendar_date(month.year(), month.month(), first_day.day())
            .unwrap_or(month.last_day().next_day().unwrap_or(month.last_day()));
        let last_day = same_day.previous_day().unwrap_or(first_day).max(first_day);
        ProgrammeDates {
            first_day,
            last_day,
        }
    }

    /// The 2026 pilot of free school meals: from 21 February 2026 for 12 months.
    pub fn pilot_2026() -> Self {
        let start = Date::from_calendar_date(2026, time::Month::February, 21).unwrap_or(Date::MIN);
        ProgrammeDates::for_months(start, DEFAULT_MONTHS)
    }

    /// `--demo`: a programme running a year either side of `day` (the demo clock's first
    /// day), so the demo and the tests work on whatever day they run.
    pub fn around(day: Date) -> Self {
        ProgrammeDates {
            first_day: day.checked_sub(DEMO_REACH).unwrap_or(day),
            last_day: day.checked_add(DEMO_REACH).unwrap_or(day),
        }
    }

    pub fn first_day(&self) -> Date {
        self.first_day
    }

    pub fn last_day(&self) -> Date {
        self.last_day
    }

    /// Whether the programme runs on `day`.
    /// The part of each range inside the programme (ranges wholly outside it go): what a
    /// terminal may serve offline.
    pub fn clip(&self, ranges: &[shared::sync::DayRange]) -> Vec<shared::sync::DayRange> {
        ranges
            .iter()
            .map(|r| shared::sync::DayRange {
                first: r.first.max(self.first_day),
                last: r.last.min(self.last_day),
            })
            .filter(|r| r.first <= r.last)
            .collect()
    }

    pub fn contains(&self, day: Date) -> bool {
        self.first_day <= day && day <= self.last_day
    }

    /// Whether the programme runs on at least one day of `month` (a list for February 2026
    /// is taken: the pilot starts on the 21st, and meals before it are not billed).
    pub fn overlaps(&self, month: YearMonth) -> bool {
        month.first_day() <= self.last_day && self.first_day <= month.last_day()
    }
}

/// Why a list's month is refused as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListMonthRefusal {
    /// No day of the month is in the programme.
    OutsideProgramme,
    /// The month is more than one month after the current one: the list is formed monthly,
    /// at most for the month to come.
    TooFarAhead { latest: YearMonth },
}

/// Whether a list for `month` may be taken when the current month (Astana) is `current`.
pub fn check_list_month(
    programme: &ProgrammeDates,
    month: YearMonth,
    current: YearMonth,
) -> Result<(), ListMonthRefusal> {
    if !programme.overlaps(month) {
        return Err(ListMonthRefusal::OutsideProgramme);
    }
    let latest = current.next();
    if month > latest {
        return Err(ListMonthRefusal::TooFarAhead { latest });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn month(s: &str) -> YearMonth {
        s.parse().expect("month")
    }

    #[test]
    fn an_offline_terminal_serves_only_inside_the_programme() {
        let pilot = ProgrammeDates::pilot_2026();
        let r = |first, last| shared::sync::DayRange { first, last };
        let clipped = pilot.clip(&[
            r(date!(2026 - 02 - 01), date!(2026 - 02 - 28)),
            r(date!(2027 - 02 - 01), date!(2027 - 03 - 10)),
            r(date!(2027 - 03 - 01), date!(2027 - 03 - 31)),
        ]);
        assert_eq!(
            clipped,
            vec![
                r(date!(2026 - 02 - 21), date!(2026 - 02 - 28)),
                r(date!(2027 - 02 - 01), date!(2027 - 02 - 20)),
            ]
        );
    }

    #[test]
    fn the_pilot_runs_twelve_months_from_21_february_2026() {
        let pilot = ProgrammeDates::pilot_2026();
        assert_eq!(pilot.first_day(), date!(2026 - 02 - 21));
        assert_eq!(pilot.last_day(), date!(2027 - 02 - 20));
        assert!(!pilot.contains(date!(2026 - 02 - 20)));
        assert!(pilot.contains(date!(2026 - 02 - 21)));
        assert!(pilot.contains(date!(2027 - 02 - 20)));
        assert!(!pilot.contains(date!(2027 - 02 - 21)));
    }

    #[test]
    fn a_start_on_a_day_the_end_month_lacks_ends_with_that_month() {
        let p = ProgrammeDates::for_months(date!(2026 - 01 - 31), 1);
        assert_eq!(p.last_day(), date!(2026 - 02 - 28));
        let p = ProgrammeDates::for_months(date!(2026 - 03 - 01), 1);
        assert_eq!(p.last_day(), date!(2026 - 03 - 31));
    }

    #[test]
    fn a_programme_cannot_end_before_it_starts() {
        assert!(ProgrammeDates::new(date!(2026 - 03 - 01), date!(2026 - 02 - 28)).is_err());
        let one_day = ProgrammeDates::new(date!(2026 - 03 - 01), date!(2026 - 03 - 01));
        assert!(one_day.expect("one day").contains(date!(2026 - 03 - 01)));
    }

    #[test]
    fn a_month_is_in_the_programme_when_any_of_its_days_is() {
        let pilot = ProgrammeDates::pilot_2026();
        assert!(!pilot.overlaps(month("2026-01")));
        assert!(pilot.overlaps(month("2026-02")));
        assert!(pilot.overlaps(month("2027-02")));
        assert!(!pilot.overlaps(month("2027-03")));
    }

    #[test]
    fn a_list_is_taken_for_a_month_in_the_programme_up_to_next_month() {
        let pilot = ProgrammeDates::pilot_2026();
        let now = month("2026-11");
        assert_eq!(check_list_month(&pilot, month("2026-11"), now), Ok(()));
        assert_eq!(check_list_month(&pilot, month("2026-12"), now), Ok(()));
        assert_eq!(check_list_month(&pilot, month("2026-03"), now), Ok(()));
        assert_eq!(
            check_list_month(&pilot, month("2027-01"), now),
            Err(ListMonthRefusal::TooFarAhead {
                latest: month("2026-12")
            })
        );
        assert_eq!(
            check_list_month(&pilot, month("2026-01"), now),
            Err(ListMonthRefusal::OutsideProgramme)
        );
        assert_eq!(
            check_list_month(&pilot, month("2027-03"), month("2027-02")),
            Err(ListMonthRefusal::OutsideProgramme)
        );
    }

    #[test]
    fn the_demo_programme_reaches_a_year_either_side() {
        let p = ProgrammeDates::around(date!(2028 - 02 - 29));
        assert!(p.contains(date!(2027 - 03 - 01)));
        assert!(p.contains(date!(2029 - 02 - 28)));
        assert!(!p.contains(date!(2027 - 02 - 01)));
        assert!(!p.contains(date!(2029 - 04 - 01)));
    }
}
