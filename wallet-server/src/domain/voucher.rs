//! Vouchers: the entitlement of one student to one programme for one period, and the rules
//! of its life (`formed` → `activated` → `expired` | `revoked`).
//!
//! The state machine lives here and only here; the store applies a transition atomically
//! (compare-and-set on the current state, plus an audit entry) but never decides one.

use serde::{Deserialize, Serialize};
use shared::{Bin, CardUid, Iin, VoucherId};
use time::{Date, Month, OffsetDateTime};

use crate::domain::{words, Category, Programme, UnknownWord};

/// Where a voucher is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum VoucherState {
    Formed,
    Activated,
    Expired,
    Revoked,
}

words!(VoucherState, "voucher state", {
    Formed => "formed", Activated => "activated", Expired => "expired", Revoked => "revoked",
});

impl VoucherState {
    /// Whether the rules allow going from `self` to `to`.
    pub fn can_become(self, to: VoucherState) -> bool {
        use VoucherState::*;
        matches!(
            (self, to),
            (Formed, Activated) | (Formed | Activated, Expired) | (Formed | Activated, Revoked)
        )
    }

    /// `expired` and `revoked` are final.
    pub fn is_final(self) -> bool {
        matches!(self, VoucherState::Expired | VoucherState::Revoked)
    }
}

/// A voucher as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Voucher {
    pub id: VoucherId,
    pub programme: Programme,
    pub student: Iin,
    pub school: Bin,
    pub state: VoucherState,
    /// First day of validity (Astana date).
    pub valid_from: Date,
    /// Last day of validity, inclusive (Astana date).
    pub valid_until: Date,
    pub formed_at: OffsetDateTime,
    pub activated_at: Option<OffsetDateTime>,
    pub updated_at: OffsetDateTime,
}

/// A voucher with the names people need to recognise it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VoucherView {
    pub voucher: Voucher,
    pub student_name: String,
    pub class_label: String,
    pub category: Category,
    pub school_name: String,
    /// The student's bound ID card, if any.
    pub card: Option<CardUid>,
    /// Billable meals in the month asked for (0 where no month was asked).
    pub meals_this_month: i64,
    /// A revoked voucher of a student who then got one at another school this period: that
    /// school (the student moved there).
    pub moved_to: Option<Bin>,
    /// The school whose voucher of the student was revoked before this one was formed (the
    /// student moved from there).
    pub moved_from: Option<Bin>,
}

/// A new voucher about to be formed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewVoucher {
    pub id: VoucherId,
    pub programme: Programme,
    pub student: Iin,
    pub school: Bin,
    pub period: SchoolYear,
    pub formed_at: OffsetDateTime,
}

/// The validity period of a school-meals voucher: by default 1 September to 31 May.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SchoolYear {
    pub first_day: Date,
    pub last_day: Date,
}

/// Start and end (month, day) of the school year; configurable because regions and
/// programmes differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SchoolYearRule {
    pub start: (Month, u8),
    pub end: (Month, u8),
}

impl Default for SchoolYearRule {
    fn default() -> Self {
        SchoolYearRule {
            start: (Month::September, 1),
            end: (Month::May, 31),
        }
    }
}

impl SchoolYearRule {
    /// The school year a date belongs to; in the summer break, the one that starts next.
    pub fn school_year_of(&self, day: Date) -> Option<SchoolYear> {
        let start_this = Date::from_calendar_date(day.year(), self.start.0, self.start.1).ok()?;
        let start_year = if day >= start_this {
            day.year()
        } else {
            let end_this = Date::from_calendar_date(day.year(), self.end.0, self.end.1).ok()?;
            if day <= end_this {
                day.year() - 1
            } else {
                day.year()
            }
        };
        let first_day = Date::from_calendar_date(start_year, self.start.0, self.start.1).ok()?;
        let last_day = Date::from_calendar_date(start_year + 1, self.end.0, self.end.1).ok()?;
        Some(SchoolYear {
            first_day,
            last_day,
        })
    }
}

/// Parse a stored state word (the database only ever holds words we wrote).
pub fn parse_state(s: &str) -> Result<VoucherState, UnknownWord> {
    s.parse()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;
    use VoucherState::*;

    #[test]
    fn transitions_follow_the_design() {
        let all = [Formed, Activated, Expired, Revoked];
        let allowed: Vec<_> = all
            .iter()
            .flat_map(|&a| all.iter().map(move |&b| (a, b)))
            .filter(|&(a, b)| a.can_become(b))
            .collect();
        assert_eq!(
            allowed,
            vec![
                (Formed, Activated),
                (Formed, Expired),
                (Formed, Revoked),
                (Activated, Expired),
                (Activated, Revoked),
            ]
        );
        assert!(Expired.is_final() && Revoked.is_final());
        assert!(!Formed.is_final() && !Activated.is_final());
    }

    #[test]
    fn state_words_round_trip() {
        for s in [Formed, Activated, Expired, Revoked] {
            assert_eq!(parse_state(s.as_str()).expect("round trip"), s);
        }
        assert!(parse_state("active").is_err());
    }

    #[test]
    fn school_year_runs_september_to_may_and_summer_belongs_to_the_next() {
        let rule = SchoolYearRule::default();
        let y = |d| rule.school_year_of(d).expect("school year");
        let y2026 = SchoolYear {
            first_day: date!(2026 - 09 - 01),
            last_day: date!(2027 - 05 - 31),
        };
        assert_eq!(y(date!(2026 - 09 - 01)), y2026);
        assert_eq!(y(date!(2026 - 11 - 24)), y2026);
        assert_eq!(y(date!(2027 - 05 - 31)), y2026);
        assert_eq!(y(date!(2027 - 01 - 15)), y2026);
        assert_eq!(y(date!(2026 - 06 - 01)), y2026, "summer: the coming year");
        assert_eq!(y(date!(2026 - 08 - 31)), y2026);
        assert_eq!(y(date!(2026 - 05 - 31)).first_day, date!(2025 - 09 - 01));
    }
}
