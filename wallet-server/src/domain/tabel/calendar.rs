//! Which days of a табель are weekends and public holidays in Kazakhstan, so that they
//! stand out on the sheet (a meal on a holiday is not forbidden, but it is worth a look).
//!
//! Fixed-date holidays only (Labour Code, art. 84, as amended in 2022). Kurban Ait moves with
//! the lunar calendar and is declared yearly; it is not marked.

use time::{Date, Month, Weekday};

use super::DayColumn;

const HOLIDAYS: &[(Month, u8)] = &[
    (Month::January, 1),
    (Month::January, 2),
    (Month::January, 7),
    (Month::March, 8),
    (Month::March, 21),
    (Month::March, 22),
    (Month::March, 23),
    (Month::May, 1),
    (Month::May, 7),
    (Month::May, 9),
    (Month::July, 6),
    (Month::August, 30),
    (Month::October, 25),
    (Month::December, 16),
];

/// Whether a date is a fixed public holiday.
pub fn is_holiday(date: Date) -> bool {
    HOLIDAYS
        .iter()
        .any(|&(m, d)| date.month() == m && date.day() == d)
}

/// Saturday or Sunday.
pub fn is_weekend(date: Date) -> bool {
    matches!(date.weekday(), Weekday::Saturday | Weekday::Sunday)
}

/// The column of a day.
pub fn column(date: Date) -> DayColumn {
    DayColumn {
        date,
        weekend: is_weekend(date),
        holiday: is_holiday(date),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn weekends_and_holidays_are_known() {
        assert!(is_weekend(date!(2026 - 11 - 28)), "a Saturday");
        assert!(is_weekend(date!(2026 - 11 - 29)), "a Sunday");
        assert!(!is_weekend(date!(2026 - 11 - 30)));
        assert!(is_holiday(date!(2026 - 12 - 16)), "Independence Day");
        assert!(is_holiday(date!(2027 - 03 - 22)), "Nauryz");
        assert!(is_holiday(date!(2026 - 10 - 25)), "Republic Day");
        assert!(!is_holiday(date!(2026 - 11 - 24)));
    }
}
