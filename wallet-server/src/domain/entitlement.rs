//! Who may eat on which day: the month's approved list decides (DESIGN.md §1 step 3).
//!
//! A voucher runs for the school year, but the social pedagogue forms the list *monthly*
//! (seed 001): a student is entitled on day D at school S when S's list for D's month names
//! them. The rules that follow, each decided here and applied by the store when a list
//! arrives (so the roster, the push judge and the табель read one table of day ranges):
//! - **Listed:** a student on a school's list for month M is entitled all of M there.
//! - **Carry-over:** while a school has no list for the next month yet, its students stay
//!   entitled into that month up to the programme's grace day (default the 10th).
//! - **Dropped:** a student a school's list for M no longer names (a replaced list, or the
//!   next month's list arriving during the carry-over) is not entitled there from the day
//!   that list arrives.
//! - **Moved:** a student on another school's list for M is not entitled at the old school
//!   from the day that list arrives; meals before stay with the old school.

use shared::sync::DayRange;
use shared::time::{service_day, YearMonth};
use time::{Date, OffsetDateTime};

use crate::domain::{words, Programme};

/// Where a day range comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    /// The school's list for the range's month.
    List,
    /// The school's list for the month before, carried over until the grace day.
    CarryOver,
}

words!(Source, "entitlement source", { List => "list", CarryOver => "carry_over" });

/// A programme's entitlement rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntitlementRule {
    /// The last day of a month on which the previous month's list still holds while the
    /// month has no list of its own.
    pub grace_until_day: u8,
}

impl EntitlementRule {
    pub fn of(programme: Programme) -> EntitlementRule {
        match programme {
            Programme::SchoolMeals | Programme::Gas => EntitlementRule {
                grace_until_day: 10,
            },
        }
    }

    /// The carry-over of a list for `month` into the next month.
    pub fn carry_over(&self, month: YearMonth) -> Carry {
        let next = month.next();
        let grace = Date::from_calendar_date(next.year(), next.month(), self.grace_until_day)
            .unwrap_or(next.last_day())
            .min(next.last_day());
        Carry {
            month: next,
            range: DayRange {
                first: next.first_day(),
                last: grace,
            },
        }
    }
}

/// A range carried into the next month.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Carry {
    pub month: YearMonth,
    pub range: DayRange,
}

/// The whole of a listed month.
pub fn listed(month: YearMonth) -> DayRange {
    DayRange {
        first: month.first_day(),
        last: month.last_day(),
    }
}

/// The last day a dropped or moved student is still entitled when a list arrives at
/// `received_at`: the day before (Astana). Ranges ending later are cut to it; a range that
/// would end before it starts is removed.
pub fn last_day_before(received_at: OffsetDateTime) -> Date {
    let day = service_day(received_at);
    day.previous_day().unwrap_or(day)
}

/// Whether `day` falls in one of `ranges`.
pub fn covers(ranges: &[DayRange], day: Date) -> bool {
    ranges.iter().any(|r| r.contains(day))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    #[test]
    fn a_list_carries_into_the_next_month_until_the_tenth() {
        let rule = EntitlementRule::of(Programme::SchoolMeals);
        let dec: YearMonth = "2026-12".parse().expect("month");
        let carry = rule.carry_over(dec);
        assert_eq!(carry.month, "2027-01".parse().expect("month"));
        assert_eq!(carry.range.first, date!(2027 - 01 - 01));
        assert_eq!(carry.range.last, date!(2027 - 01 - 10));
        assert_eq!(listed(dec).last, date!(2026 - 12 - 31));
    }

    #[test]
    fn a_grace_day_past_a_short_month_ends_with_the_month() {
        let rule = EntitlementRule {
            grace_until_day: 31,
        };
        let jan: YearMonth = "2027-01".parse().expect("month");
        assert_eq!(rule.carry_over(jan).range.last, date!(2027 - 02 - 28));
    }

    #[test]
    fn a_list_cuts_from_its_arrival_day_in_astana() {
        // 20:30 UTC on the 6th is already the 7th in Astana.
        assert_eq!(
            last_day_before(datetime!(2027-01-06 20:30 UTC)),
            date!(2027 - 01 - 06)
        );
        assert_eq!(
            last_day_before(datetime!(2027-01-06 18:30 UTC)),
            date!(2027 - 01 - 05)
        );
    }

    #[test]
    fn coverage_is_inclusive_at_both_ends() {
        let ranges = [DayRange {
            first: date!(2026 - 12 - 01),
            last: date!(2027 - 01 - 10),
        }];
        assert!(covers(&ranges, date!(2026 - 12 - 01)));
        assert!(covers(&ranges, date!(2027 - 01 - 10)));
        assert!(!covers(&ranges, date!(2027 - 01 - 11)));
        assert!(!covers(&[], date!(2026 - 12 - 15)));
    }
}
