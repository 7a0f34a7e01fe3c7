//! The calendar's small words, parsed at the edge: a school year (`2026-2027`), a region and
//! a break's key (lower-case slugs, so "the winter break of Almaty" is spelled one way).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::{Date, Month};

/// Why a calendar word does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarWordError {
    #[error(
        "a school year is written YYYY-YYYY with consecutive years from 2000 to 2100 (e.g. 2026-2027), got {0:?}"
    )]
    SchoolYear(String),
    #[error("a {what} is 2 to 40 characters a-z, 0-9 and _ (e.g. almaty_city), got {value:?}")]
    Slug { what: &'static str, value: String },
}

/// A school year: 1 September of `start` to 31 August of the next year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SchoolYear {
    start: i32,
}

impl SchoolYear {
    pub fn starting(start: i32) -> Option<Self> {
        // Both of its years are years the service handles.
        (shared::time::YEARS.contains(&start) && shared::time::YEARS.contains(&(start + 1)))
            .then_some(SchoolYear { start })
    }

    /// The school year a date belongs to.
    pub fn of(date: Date) -> Self {
        let start = if date.month() >= Month::September {
            date.year()
        } else {
            date.year() - 1
        };
        SchoolYear { start }
    }

    pub fn start_year(&self) -> i32 {
        self.start
    }

    pub fn first_day(&self) -> Date {
        Date::from_calendar_date(self.start, Month::September, 1).unwrap_or(Date::MIN)
    }

    pub fn last_day(&self) -> Date {
        Date::from_calendar_date(self.start + 1, Month::August, 31).unwrap_or(Date::MAX)
    }

    pub fn contains(&self, date: Date) -> bool {
        SchoolYear::of(date) == *self
    }
}

impl fmt::Display for SchoolYear {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.start, self.start + 1)
    }
}

impl FromStr for SchoolYear {
    type Err = CalendarWordError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || CalendarWordError::SchoolYear(s.to_string());
        let (a, b) = s.split_once('-').ok_or_else(bad)?;
        let digits = |p: &str| p.len() == 4 && p.bytes().all(|c| c.is_ascii_digit());
        if !digits(a) || !digits(b) {
            return Err(bad());
        }
        let (a, b): (i32, i32) = (a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?);
        if b != a + 1 {
            return Err(bad());
        }
        SchoolYear::starting(a).ok_or_else(bad)
    }
}

impl Serialize for SchoolYear {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for SchoolYear {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

fn slug(what: &'static str, s: &str) -> Result<String, CalendarWordError> {
    let ok = (2..=40).contains(&s.len())
        && s.bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_');
    if ok {
        Ok(s.to_string())
    } else {
        Err(CalendarWordError::Slug {
            what,
            value: s.chars().take(60).collect(),
        })
    }
}

macro_rules! slug_word {
    ($ty:ident, $what:literal) => {
        #[doc = concat!("A ", $what, ": a lower-case slug.")]
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $ty(String);

        impl $ty {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl FromStr for $ty {
            type Err = CalendarWordError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                slug($what, s).map($ty)
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

slug_word!(Region, "region");
slug_word!(BreakKey, "break key");
