//! The табель's day columns: what each day of the month is for the school, from its
//! calendar (`domain::calendar`), so that days off stand out on the sheet and meals on
//! them are held out of the amount until the director confirms them.

use time::Date;

use super::DayColumn;
use crate::domain::calendar::{DayStatus, SchoolCalendar};

/// The column of a day, as the school's calendar has it.
pub fn column(calendar: &SchoolCalendar, date: Date) -> DayColumn {
    column_of(date, calendar.status(date))
}

/// The column of a day whose status is known.
pub fn column_of(date: Date, status: DayStatus) -> DayColumn {
    DayColumn {
        date,
        weekend: status == DayStatus::RestDay,
        holiday: matches!(status, DayStatus::Holiday | DayStatus::DayOff),
        school_break: status == DayStatus::SchoolBreak,
        school_day: status == DayStatus::SchoolDay,
        status,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::calendar::{SchoolWeek, SchoolYear};
    use time::macros::date;

    #[test]
    fn columns_follow_the_school_calendar() {
        let five = SchoolCalendar::default();
        assert!(column(&five, date!(2026 - 11 - 28)).weekend, "a Saturday");
        assert!(column(&five, date!(2026 - 11 - 29)).weekend, "a Sunday");
        let monday = column(&five, date!(2026 - 11 - 30));
        assert!(!monday.weekend && monday.school_day);
        let independence = column(&five, date!(2026 - 12 - 16));
        assert!(independence.holiday && !independence.school_day);
        let mut six = SchoolCalendar::default();
        let year: SchoolYear = "2026-2027".parse().expect("year");
        six.weeks.insert(year, SchoolWeek::SixDay);
        let saturday = column(&six, date!(2026 - 11 - 28));
        assert!(!saturday.weekend && saturday.school_day);
    }
}
