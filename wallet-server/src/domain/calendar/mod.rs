//! The school calendar: is day D a school day for school S?
//!
//! Billing depends on it (a meal on a non-school day is recorded but not paid unless the
//! director confirms it), and the answer changes every year, by region and by school, so the
//! calendar is data: the fixed public holidays of the Labour Code (art. 84) are built in, as
//! the law fixes them for every year; everything else — moving holidays such as Kurban Ait,
//! the government's transfers of days off, school breaks (каникулы) and each school's
//! five- or six-day week — is declared and stored, and [`SchoolCalendar`] combines what
//! applies to one school.
//!
//! Precedence, most decisive first: a public holiday, then a school break, then a transfer
//! (a declared workday, then a declared day off), then the school's weekly rest days.
//! A break set for a region or a school replaces the national break of the same key.

mod words;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use shared::time::YearMonth;
use shared::Bin;
use time::{Date, Month, Weekday};

pub use words::{BreakKey, CalendarWordError, Region, SchoolYear};

/// Fixed-date public holidays (Labour Code of the Republic of Kazakhstan, art. 84, as amended
/// in 2022): the same dates every year, so they are part of the rule, not of the data.
const FIXED_HOLIDAYS: &[(Month, u8)] = &[
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

/// Whether a date is one of the Labour Code's fixed public holidays.
pub fn is_fixed_holiday(date: Date) -> bool {
    FIXED_HOLIDAYS
        .iter()
        .any(|&(m, d)| date.month() == m && date.day() == d)
}

/// How many days a school teaches in a week.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SchoolWeek {
    /// Monday to Friday (the default).
    #[default]
    FiveDay,
    /// Monday to Saturday.
    SixDay,
}

crate::domain::words!(SchoolWeek, "school week", { FiveDay => "five_day", SixDay => "six_day" });

impl SchoolWeek {
    /// From the number of teaching days (5 or 6).
    pub fn from_days(days: u8) -> Option<Self> {
        match days {
            5 => Some(SchoolWeek::FiveDay),
            6 => Some(SchoolWeek::SixDay),
            _ => None,
        }
    }

    pub fn days(&self) -> u8 {
        match self {
            SchoolWeek::FiveDay => 5,
            SchoolWeek::SixDay => 6,
        }
    }

    /// A weekly rest day of this week.
    pub fn rests_on(&self, day: Weekday) -> bool {
        match self {
            SchoolWeek::FiveDay => matches!(day, Weekday::Saturday | Weekday::Sunday),
            SchoolWeek::SixDay => day == Weekday::Sunday,
        }
    }
}

/// What a declared date is (declared nationally: the government's decrees).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeclaredKind {
    /// A public holiday that moves (Kurban Ait) or is declared for the year.
    Holiday,
    /// A day that would be a rest day and is a workday by a transfer (a working Saturday).
    Workday,
    /// A weekday that is a day off by a transfer.
    DayOff,
}

crate::domain::words!(DeclaredKind, "declared day kind", {
    Holiday => "holiday", Workday => "workday", DayOff => "day_off"
});

/// A date declared for the whole country.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeclaredDay {
    pub date: Date,
    pub kind: DeclaredKind,
    /// What it is called (`Курбан айт`, `перенос с 5 января`).
    pub name: String,
}

/// Who a break applies to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "level", content = "of", rename_all = "snake_case")]
pub enum BreakScope {
    National,
    Region(Region),
    School(Bin),
}

impl BreakScope {
    /// More specific scopes win: national 0, region 1, school 2.
    fn rank(&self) -> u8 {
        match self {
            BreakScope::National => 0,
            BreakScope::Region(_) => 1,
            BreakScope::School(_) => 2,
        }
    }
}

/// A school break (каникулы), both ends included.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchoolBreak {
    pub school_year: SchoolYear,
    pub key: BreakKey,
    pub scope: BreakScope,
    pub from: Date,
    pub to: Date,
}

/// Why a break cannot be set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BreakError {
    #[error("a break ends on or after its first day ({from} > {to})")]
    Reversed { from: Date, to: Date },
    #[error("the break {from}..{to} is not within the school year {year}")]
    OutsideYear {
        from: Date,
        to: Date,
        year: SchoolYear,
    },
}

impl SchoolBreak {
    /// A break within its school year, first day not after the last.
    pub fn new(
        school_year: SchoolYear,
        key: BreakKey,
        scope: BreakScope,
        from: Date,
        to: Date,
    ) -> Result<Self, BreakError> {
        if from > to {
            return Err(BreakError::Reversed { from, to });
        }
        if !(school_year.contains(from) && school_year.contains(to)) {
            return Err(BreakError::OutsideYear {
                from,
                to,
                year: school_year,
            });
        }
        Ok(SchoolBreak {
            school_year,
            key,
            scope,
            from,
            to,
        })
    }

    pub fn contains(&self, date: Date) -> bool {
        self.from <= date && date <= self.to
    }

    /// The months the break touches.
    pub fn months(&self) -> Vec<YearMonth> {
        months_between(self.from, self.to)
    }
}

/// The months from `from`'s to `to`'s, in order.
pub fn months_between(from: Date, to: Date) -> Vec<YearMonth> {
    let mut months = Vec::new();
    let mut m = YearMonth::of(from);
    while m <= YearMonth::of(to) {
        months.push(m);
        m = m.next();
    }
    months
}

/// What a day is for a school.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DayStatus {
    #[default]
    SchoolDay,
    /// A weekly rest day of the school's week.
    RestDay,
    /// A public holiday (fixed or declared).
    Holiday,
    /// A weekday off by a government transfer.
    DayOff,
    /// Within a school break.
    SchoolBreak,
}

crate::domain::words!(DayStatus, "day status", {
    SchoolDay => "school_day", RestDay => "rest_day", Holiday => "holiday",
    DayOff => "day_off", SchoolBreak => "school_break"
});

/// Everything that decides one school's days: its week, the declared dates, and the breaks
/// of the country, its region and itself (in any order; the most specific one of a key wins).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SchoolCalendar {
    /// The school's week per school year (five-day when not set).
    pub weeks: BTreeMap<SchoolYear, SchoolWeek>,
    pub declared: Vec<DeclaredDay>,
    pub breaks: Vec<SchoolBreak>,
}

impl SchoolCalendar {
    pub fn week(&self, year: SchoolYear) -> SchoolWeek {
        self.weeks.get(&year).copied().unwrap_or_default()
    }

    /// The breaks in force: per school year and key, the most specific scope's.
    pub fn effective_breaks(&self) -> Vec<&SchoolBreak> {
        let mut by_key: BTreeMap<(SchoolYear, &BreakKey), &SchoolBreak> = BTreeMap::new();
        for b in &self.breaks {
            let slot = by_key.entry((b.school_year, &b.key)).or_insert(b);
            if b.scope.rank() > slot.scope.rank() {
                *slot = b;
            }
        }
        let mut breaks: Vec<&SchoolBreak> = by_key.into_values().collect();
        breaks.sort_by_key(|b| (b.from, b.to));
        breaks
    }

    /// What `date` is for this school.
    pub fn status(&self, date: Date) -> DayStatus {
        let declared = self
            .declared
            .iter()
            .find(|d| d.date == date)
            .map(|d| d.kind);
        if is_fixed_holiday(date) || declared == Some(DeclaredKind::Holiday) {
            return DayStatus::Holiday;
        }
        if self.effective_breaks().iter().any(|b| b.contains(date)) {
            return DayStatus::SchoolBreak;
        }
        match declared {
            Some(DeclaredKind::Workday) => return DayStatus::SchoolDay,
            Some(DeclaredKind::DayOff) => return DayStatus::DayOff,
            _ => {}
        }
        if self.week(SchoolYear::of(date)).rests_on(date.weekday()) {
            DayStatus::RestDay
        } else {
            DayStatus::SchoolDay
        }
    }

    pub fn is_school_day(&self, date: Date) -> bool {
        self.status(date) == DayStatus::SchoolDay
    }
}

#[cfg(test)]
mod tests;

/// One change to the calendar, as the integration or a school's director asks for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CalendarChange {
    /// Declares (or re-declares) a national date: a moving holiday or a transfer.
    DeclareDay(DeclaredDay),
    RemoveDay(Date),
    /// Sets a break, replacing the one of the same year, key and scope.
    SetBreak(SchoolBreak),
    RemoveBreak {
        school_year: SchoolYear,
        key: BreakKey,
        scope: BreakScope,
    },
    SetWeek {
        school: Bin,
        school_year: SchoolYear,
        week: SchoolWeek,
    },
    SetRegion {
        school: Bin,
        region: Option<Region>,
    },
}

impl CalendarChange {
    /// A short account for the audit log.
    pub fn describe(&self) -> String {
        match self {
            CalendarChange::DeclareDay(d) => format!("{} is {} ({})", d.date, d.kind, d.name),
            CalendarChange::RemoveDay(d) => format!("{d} declaration removed"),
            CalendarChange::SetBreak(b) => {
                format!("{} break {} {}..{}", b.school_year, b.key, b.from, b.to)
            }
            CalendarChange::RemoveBreak {
                school_year, key, ..
            } => format!("{school_year} break {key} removed"),
            CalendarChange::SetWeek {
                school_year, week, ..
            } => format!("{school_year} week {week}"),
            CalendarChange::SetRegion { region, .. } => match region {
                Some(r) => format!("region {r}"),
                None => "region cleared".into(),
            },
        }
    }

    /// The audit log's entity: the school for a school's change, else the national calendar.
    pub fn entity_id(&self) -> String {
        let school = match self {
            CalendarChange::SetBreak(b) => match &b.scope {
                BreakScope::School(s) => Some(*s),
                BreakScope::Region(r) => return format!("region/{r}"),
                BreakScope::National => None,
            },
            CalendarChange::RemoveBreak { scope, .. } => match scope {
                BreakScope::School(s) => Some(*s),
                BreakScope::Region(r) => return format!("region/{r}"),
                BreakScope::National => None,
            },
            CalendarChange::SetWeek { school, .. } | CalendarChange::SetRegion { school, .. } => {
                Some(*school)
            }
            _ => None,
        };
        school.map_or_else(|| "national".into(), |s| format!("school/{s}"))
    }
}
