//! Time rules both sides must agree on.
//!
//! Instants are stored and sent in UTC. Business dates — the *service day* a meal belongs to,
//! the *month* of a табель — are in Astana time, UTC+5 (all of Kazakhstan since 2024-03-01,
//! no daylight saving). Code never reads the system clock directly: it asks a [`Clock`], so
//! tests and the demo can move time.

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicI64, Ordering};

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::{Date, Duration, Month, OffsetDateTime, Time, UtcOffset};

/// Astana time: UTC+5.
pub const ASTANA: UtcOffset = time::macros::offset!(+5);

/// The service day (Astana calendar date) an instant belongs to.
pub fn service_day(instant: OffsetDateTime) -> Date {
    instant.to_offset(ASTANA).date()
}

/// The month (Astana time) an instant belongs to.
pub fn month_of(instant: OffsetDateTime) -> YearMonth {
    YearMonth::of(service_day(instant))
}

/// The first instant of a service day, in UTC.
pub fn start_of_service_day(day: Date) -> OffsetDateTime {
    day.with_time(Time::MIDNIGHT)
        .assume_offset(ASTANA)
        .to_offset(UtcOffset::UTC)
}

/// The first instant after a service day, in UTC (exclusive end).
pub fn end_of_service_day(day: Date) -> OffsetDateTime {
    start_of_service_day(day) + Duration::DAY
}

/// The years a date or a month from outside may name: the programme's era with room on
/// either side. Anything wider is a typo or a probe (`1900-01`, `-2026-12-05`, `20260-01-01`)
/// and is refused where it is read, so no voucher, report or calendar day is ever formed
/// for it.
pub const YEARS: std::ops::RangeInclusive<i32> = 2000..=2100;

/// Why a text is not a date this service takes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DateTextError {
    #[error("a date is written YYYY-MM-DD (e.g. 2026-09-01), got {0:?}")]
    Malformed(String),
    #[error("{0:?} is not a date this service handles (years 2000 to 2100)")]
    OutOfRange(String),
}

/// A calendar date written exactly `YYYY-MM-DD`: four digits of year (no sign, no fifth
/// digit), an existing month and day, and a year in [`YEARS`]. The one parser for dates
/// that come from outside (query, path, body, form, configuration).
pub fn parse_date(text: &str) -> Result<Date, DateTextError> {
    let malformed = || DateTextError::Malformed(text.to_string());
    let b = text.as_bytes();
    let shape = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    if !shape {
        return Err(malformed());
    }
    let number =
        |range: std::ops::Range<usize>| text[range].parse::<i32>().map_err(|_| malformed());
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    if !YEARS.contains(&year) {
        return Err(DateTextError::OutOfRange(text.to_string()));
    }
    let month = u8::try_from(month)
        .ok()
        .and_then(|m| Month::try_from(m).ok())
        .ok_or_else(malformed)?;
    let day = u8::try_from(day).map_err(|_| malformed())?;
    Date::from_calendar_date(year, month, day).map_err(|_| malformed())
}

/// A calendar month, written `YYYY-MM`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct YearMonth {
    year: i32,
    month: Month,
}

/// Why a string is not a `YYYY-MM` month.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("month must be written YYYY-MM (e.g. 2026-09) with a year from 2000 to 2100, got {0:?}")]
pub struct YearMonthError(String);

impl YearMonth {
    /// A month of a year in [`YEARS`].
    pub fn new(year: i32, month: Month) -> Option<Self> {
        YEARS.contains(&year).then_some(YearMonth { year, month })
    }

    pub fn of(date: Date) -> Self {
        YearMonth {
            year: date.year(),
            month: date.month(),
        }
    }

    pub fn year(&self) -> i32 {
        self.year
    }

    pub fn month(&self) -> Month {
        self.month
    }

    pub fn first_day(&self) -> Date {
        // Day 1 exists in every month of a valid year.
        Date::from_calendar_date(self.year, self.month, 1).unwrap_or(Date::MIN)
    }

    pub fn last_day(&self) -> Date {
        self.next().first_day().previous_day().unwrap_or(Date::MIN)
    }

    pub fn next(&self) -> Self {
        match self.month {
            Month::December => YearMonth {
                year: self.year + 1,
                month: Month::January,
            },
            m => YearMonth {
                year: self.year,
                month: m.next(),
            },
        }
    }

    /// Every day of the month, in order.
    pub fn days(&self) -> impl Iterator<Item = Date> {
        let last = self.last_day();
        std::iter::successors(Some(self.first_day()), move |d| {
            d.next_day().filter(|n| *n <= last)
        })
    }

    pub fn contains(&self, date: Date) -> bool {
        YearMonth::of(date) == *self
    }
}

impl fmt::Display for YearMonth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month as u8)
    }
}

impl FromStr for YearMonth {
    type Err = YearMonthError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || YearMonthError(s.to_string());
        let (y, m) = s.split_once('-').ok_or_else(err)?;
        if y.len() != 4 || m.len() != 2 || !(y.bytes().chain(m.bytes())).all(|b| b.is_ascii_digit())
        {
            return Err(err());
        }
        let year: i32 = y.parse().map_err(|_| err())?;
        let month: u8 = m.parse().map_err(|_| err())?;
        let month = Month::try_from(month).map_err(|_| err())?;
        YearMonth::new(year, month).ok_or_else(err)
    }
}

impl Serialize for YearMonth {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for YearMonth {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// Where "now" comes from. Everything that decides by time takes a `Clock`.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> OffsetDateTime;
}

/// The machine's clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// The system clock shifted by an offset that can only grow once the clock runs: the demo's
/// `POST /dev/clock` and tests move time forward with it. Never backwards, so durable
/// deadlines already computed stay consistent.
#[derive(Debug, Default)]
pub struct ShiftedClock {
    offset_ns: AtomicI64,
}

/// The clock was asked to go backwards.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the clock only moves forward: {requested} is before {now}")]
pub struct ClockBackwards {
    pub requested: OffsetDateTime,
    pub now: OffsetDateTime,
}

impl ShiftedClock {
    pub fn new() -> Self {
        Self::default()
    }

    /// A clock that reads `start` now and runs on from there at the system clock's pace;
    /// `start` may lie in the past or the future. A story test starts a `--demo` server
    /// here so that it tells the same story on whatever day it runs.
    pub fn starting_at(start: OffsetDateTime) -> Self {
        let offset = (start - OffsetDateTime::now_utc()).whole_nanoseconds();
        let offset = i64::try_from(offset).unwrap_or(if offset < 0 { i64::MIN } else { i64::MAX });
        ShiftedClock {
            offset_ns: AtomicI64::new(offset),
        }
    }

    /// Moves the clock so that `now()` is `target`; refuses to go backwards.
    pub fn set(&self, target: OffsetDateTime) -> Result<(), ClockBackwards> {
        let now = self.now();
        if target < now {
            return Err(ClockBackwards {
                requested: target,
                now,
            });
        }
        let add = (target - now).whole_nanoseconds();
        let add = i64::try_from(add).unwrap_or(i64::MAX);
        self.offset_ns.fetch_add(add, Ordering::SeqCst);
        Ok(())
    }
}

impl Clock for ShiftedClock {
    fn now(&self) -> OffsetDateTime {
        let offset = Duration::nanoseconds(self.offset_ns.load(Ordering::SeqCst));
        OffsetDateTime::now_utc().saturating_add(offset)
    }
}

/// A clock that stands still until told otherwise; for tests and simulations.
#[derive(Debug)]
pub struct ManualClock {
    unix_ns: AtomicI64,
}

impl ManualClock {
    pub fn at(instant: OffsetDateTime) -> Self {
        let ns = i64::try_from(instant.unix_timestamp_nanos()).unwrap_or(i64::MAX);
        ManualClock {
            unix_ns: AtomicI64::new(ns),
        }
    }

    pub fn advance(&self, by: Duration) {
        let add = i64::try_from(by.whole_nanoseconds()).unwrap_or(i64::MAX);
        self.unix_ns.fetch_add(add, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        let ns = i128::from(self.unix_ns.load(Ordering::SeqCst));
        OffsetDateTime::from_unix_timestamp_nanos(ns).unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    #[test]
    fn service_day_turns_at_astana_midnight() {
        assert_eq!(
            service_day(datetime!(2026-09-01 18:59:59 UTC)),
            date!(2026 - 09 - 01)
        );
        assert_eq!(
            service_day(datetime!(2026-09-01 19:00:00 UTC)),
            date!(2026 - 09 - 02)
        );
        assert_eq!(
            service_day(datetime!(2026-09-01 00:00:00 +5)),
            date!(2026 - 09 - 01)
        );
        assert_eq!(
            service_day(datetime!(2026-08-31 23:59:59 +5)),
            date!(2026 - 08 - 31)
        );
    }

    #[test]
    fn month_turns_at_astana_midnight_of_the_first() {
        let before = datetime!(2026-09-30 18:59:59.999 UTC);
        let after = datetime!(2026-09-30 19:00:00 UTC);
        assert_eq!(month_of(before).to_string(), "2026-09");
        assert_eq!(month_of(after).to_string(), "2026-10");
        assert_eq!(
            month_of(datetime!(2026-12-31 19:00 UTC)).to_string(),
            "2027-01"
        );
    }

    #[test]
    fn service_day_bounds_are_utc_instants() {
        let day = date!(2026 - 09 - 01);
        assert_eq!(start_of_service_day(day), datetime!(2026-08-31 19:00 UTC));
        assert_eq!(end_of_service_day(day), datetime!(2026-09-01 19:00 UTC));
        assert_eq!(service_day(end_of_service_day(day)), date!(2026 - 09 - 02));
        assert_eq!(
            service_day(end_of_service_day(day) - Duration::nanoseconds(1)),
            day
        );
    }

    #[test]
    fn year_month_parses_strictly_and_knows_its_days() {
        let feb: YearMonth = "2028-02".parse().expect("valid");
        assert_eq!(feb.days().count(), 29, "2028 is a leap year");
        assert_eq!(feb.last_day(), date!(2028 - 02 - 29));
        assert_eq!(
            "2026-02".parse::<YearMonth>().expect("ok").days().count(),
            28
        );
        assert_eq!(
            "2026-12"
                .parse::<YearMonth>()
                .expect("ok")
                .next()
                .to_string(),
            "2027-01"
        );
        for bad in [
            "2026-13",
            "2026-00",
            "2026-1",
            "26-01",
            "2026/01",
            "",
            "2026-01-01",
            "abcd-ef",
            "1900-01",
            "1999-12",
            "2101-01",
            "-202-01",
            "+2026-01",
        ] {
            assert!(
                bad.parse::<YearMonth>().is_err(),
                "{bad:?} should be rejected"
            );
        }
        assert!(feb.contains(date!(2028 - 02 - 29)));
        assert!(!feb.contains(date!(2028 - 03 - 01)));
    }

    #[test]
    fn a_date_from_outside_is_exactly_yyyy_mm_dd_in_the_years_served() {
        assert_eq!(parse_date("2026-12-05"), Ok(date!(2026 - 12 - 05)));
        assert_eq!(parse_date("2028-02-29"), Ok(date!(2028 - 02 - 29)));
        assert_eq!(parse_date("2000-01-01"), Ok(date!(2000 - 01 - 01)));
        assert_eq!(parse_date("2100-12-31"), Ok(date!(2100 - 12 - 31)));
        for malformed in [
            "-2026-12-05",
            "+2026-12-05",
            "20260-12-05",
            "2026-12-5",
            "2026-13-01",
            "2026-02-29",
            "2026-00-10",
            "2026-12-00",
            "2026/12/05",
            " 2026-12-05",
            "2026-12-05T00:00",
            "２０２６-12-05",
            "",
        ] {
            assert!(
                matches!(parse_date(malformed), Err(DateTextError::Malformed(_))),
                "{malformed:?}"
            );
        }
        for far in [
            "1900-01-01",
            "1999-12-31",
            "2101-01-01",
            "9999-12-31",
            "0000-01-01",
        ] {
            assert!(
                matches!(parse_date(far), Err(DateTextError::OutOfRange(_))),
                "{far:?}"
            );
        }
    }

    #[test]
    fn shifted_clock_moves_forward_only() {
        let clock = ShiftedClock::new();
        let target = OffsetDateTime::now_utc() + Duration::days(10);
        clock.set(target).expect("forward is allowed");
        let now = clock.now();
        assert!(
            now >= target && now - target < Duration::seconds(5),
            "{now}"
        );
        let err = clock.set(target - Duration::days(1)).unwrap_err();
        assert_eq!(err.requested, target - Duration::days(1));
        assert!(clock.now() >= target, "a refused move changes nothing");
    }

    #[test]
    fn shifted_clock_starts_anywhere_then_moves_forward_only() {
        for start in [
            datetime!(2020-02-29 09:00 +5),
            datetime!(2099-12-31 23:59 UTC),
        ] {
            let clock = ShiftedClock::starting_at(start);
            let now = clock.now();
            assert!(now >= start && now - start < Duration::seconds(5), "{now}");
            assert!(clock.set(start - Duration::hours(1)).is_err());
            let later = start + Duration::days(3);
            clock.set(later).expect("forward is allowed");
            assert!(clock.now() >= later);
        }
    }

    #[test]
    fn manual_clock_stands_still_and_advances() {
        let clock = ManualClock::at(datetime!(2026-09-01 03:00 UTC));
        assert_eq!(clock.now(), datetime!(2026-09-01 03:00 UTC));
        clock.advance(Duration::hours(2));
        assert_eq!(clock.now(), datetime!(2026-09-01 05:00 UTC));
    }
}
