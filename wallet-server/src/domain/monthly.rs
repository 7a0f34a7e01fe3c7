//! The rules of a monthly programme as data: one voucher per recipient and month, a consent
//! conversation by SMS each month, an activation window, expiry, a handover to the provider
//! and "one activated voucher per key (a personal account) per month".
//!
//! The gas order (seed 002) is the first such programme ([`crate::domain::gas`] holds its
//! values and texts); a third programme of this shape is another [`MonthlyRules`] value and
//! its texts, not new code. Consent deadlines are the programme's [`ConsentWindows`]; SMS
//! keep [`quiet_hours`]; days are Astana days.

use shared::time::{end_of_service_day, service_day, start_of_service_day, YearMonth};
use time::{Date, OffsetDateTime};

use crate::domain::consent::ConsentWindows;
use crate::domain::outbox::OutboxKind;
use crate::domain::programme_dates::ProgrammeDates;
use crate::domain::{quiet_hours, Programme};

/// The days of a month the programme's steps fall on (day numbers, clamped to the month).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MonthDays {
    /// The start SMS goes out on this day (at the opening of quiet hours, 09:00); a list
    /// received earlier in the month waits for it.
    pub start: u8,
    /// The last day a list of the month is taken (later: `after_update_deadline`).
    pub update_until: u8,
    /// Activation is open from `activate_from` to `activate_until`, both included; a voucher
    /// not activated expires at the end of `activate_until`.
    pub activate_from: u8,
    pub activate_until: u8,
    /// The month's activated vouchers go to the provider when this day begins.
    pub handover: u8,
}

/// The SMS texts of a programme; `{name}` stands for the recipient's full name, `{link}`
/// for the wallet link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MonthlyTexts {
    pub start: &'static str,
    /// Put before the start text in the one reminder.
    pub reminder_mark: &'static str,
    pub agreed: &'static str,
    pub refused: &'static str,
    pub help: &'static str,
}

impl MonthlyTexts {
    pub fn start(&self, name: &str) -> String {
        self.start.replace("{name}", name)
    }

    pub fn reminder(&self, name: &str) -> String {
        format!("{}\n{}", self.reminder_mark, self.start(name))
    }

    pub fn agreed(&self, link: &str) -> String {
        self.agreed.replace("{link}", link)
    }
}

/// A monthly programme's rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MonthlyRules {
    pub programme: Programme,
    pub days: MonthDays,
    pub consent: ConsentWindows,
    pub texts: MonthlyTexts,
    /// The programme's dates (configurable; `--demo`: around the demo clock).
    pub dates: ProgrammeDates,
}

/// Why a list of a month is refused as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MonthlyListRefusal {
    OutsideProgramme,
    TooFarAhead,
    AfterUpdateDeadline,
}

impl MonthlyListRefusal {
    pub fn code(&self) -> &'static str {
        match self {
            MonthlyListRefusal::OutsideProgramme => "outside_programme",
            MonthlyListRefusal::TooFarAhead => "list_too_far_ahead",
            MonthlyListRefusal::AfterUpdateDeadline => "after_update_deadline",
        }
    }

    /// What the sender is told.
    pub fn message(&self) -> &'static str {
        match self {
            MonthlyListRefusal::OutsideProgramme => {
                "no day of the list's month is in the programme's dates"
            }
            MonthlyListRefusal::TooFarAhead => "a list is taken at most for the next month",
            MonthlyListRefusal::AfterUpdateDeadline => {
                "the month's list is taken only until its update deadline (the 14th for gas)"
            }
        }
    }
}

/// The `day`-th of `month`, clamped to its last day.
pub fn day_of(month: YearMonth, day: u8) -> Date {
    let last = month.last_day();
    last.replace_day(day.clamp(1, last.day())).unwrap_or(last)
}

impl MonthlyRules {
    /// When the month's start SMS may go out: its start day at 09:00 Astana.
    pub fn start_at(&self, month: YearMonth) -> OffsetDateTime {
        let day = start_of_service_day(day_of(month, self.days.start));
        quiet_hours::first_delivery(OutboxKind::Sms, day)
    }

    /// When a start SMS queued at `now` for `month` goes out.
    pub fn start_sms_at(&self, month: YearMonth, now: OffsetDateTime) -> OffsetDateTime {
        quiet_hours::first_delivery(OutboxKind::Sms, now.max(self.start_at(month)))
    }

    /// Whether a list for `month` may be taken at `now`: a month of the programme, the
    /// current one (until its update deadline) or the next.
    pub fn check_list(
        &self,
        month: YearMonth,
        now: OffsetDateTime,
    ) -> Result<(), MonthlyListRefusal> {
        if !self.dates.overlaps(month) {
            return Err(MonthlyListRefusal::OutsideProgramme);
        }
        let today = service_day(now);
        let current = YearMonth::of(today);
        if month > current.next() {
            return Err(MonthlyListRefusal::TooFarAhead);
        }
        if month < current || (month == current && today > day_of(month, self.days.update_until)) {
            return Err(MonthlyListRefusal::AfterUpdateDeadline);
        }
        Ok(())
    }

    /// The last day a voucher of `month` is valid (and may be activated).
    pub fn valid_until(&self, month: YearMonth) -> Date {
        day_of(month, self.days.activate_until)
    }

    /// Whether a voucher of `month` may be activated at `now`.
    pub fn may_activate(&self, month: YearMonth, now: OffsetDateTime) -> bool {
        let today = service_day(now);
        day_of(month, self.days.activate_from) <= today && today <= self.valid_until(month)
    }

    /// When the unactivated vouchers of `month` expire: the end of their last valid day.
    pub fn expires_at(&self, month: YearMonth) -> OffsetDateTime {
        end_of_service_day(self.valid_until(month))
    }

    /// When the month's activated vouchers go to the provider.
    pub fn handover_at(&self, month: YearMonth) -> OffsetDateTime {
        start_of_service_day(day_of(month, self.days.handover)).max(self.expires_at(month))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::gas;
    use time::macros::{date, datetime};

    fn month(s: &str) -> YearMonth {
        s.parse().expect("month")
    }

    fn rules() -> MonthlyRules {
        gas::rules(ProgrammeDates::around(date!(2027 - 01 - 01)))
    }

    #[test]
    fn a_list_of_the_third_waits_for_the_seventh_at_nine() {
        let r = rules();
        let jan = month("2027-01");
        assert_eq!(
            r.start_sms_at(jan, datetime!(2027-01-03 12:00 +5)),
            datetime!(2027-01-07 09:00 +5)
        );
        // From the 7th on: at once in the daytime, else the next morning.
        assert_eq!(
            r.start_sms_at(jan, datetime!(2027-01-10 12:00 +5)),
            datetime!(2027-01-10 12:00 +5)
        );
        assert_eq!(
            r.start_sms_at(jan, datetime!(2027-01-10 22:00 +5)),
            datetime!(2027-01-11 09:00 +5)
        );
    }

    #[test]
    fn lists_are_taken_until_the_fourteenth() {
        let r = rules();
        let jan = month("2027-01");
        assert_eq!(r.check_list(jan, datetime!(2027-01-14 23:59 +5)), Ok(()));
        assert_eq!(
            r.check_list(jan, datetime!(2027-01-15 00:00 +5)),
            Err(MonthlyListRefusal::AfterUpdateDeadline)
        );
        assert_eq!(
            r.check_list(month("2027-02"), datetime!(2027-01-20 10:00 +5)),
            Ok(())
        );
        assert_eq!(
            r.check_list(month("2027-03"), datetime!(2027-01-20 10:00 +5)),
            Err(MonthlyListRefusal::TooFarAhead)
        );
        assert_eq!(
            r.check_list(month("2026-12"), datetime!(2027-01-02 10:00 +5)),
            Err(MonthlyListRefusal::AfterUpdateDeadline)
        );
        let pilot = gas::rules(gas::pilot_dates());
        assert_eq!(
            pilot.check_list(month("2025-05"), datetime!(2025-05-01 10:00 +5)),
            Err(MonthlyListRefusal::OutsideProgramme)
        );
    }

    #[test]
    fn activation_runs_from_the_seventh_to_the_end_of_the_twenty_fifth() {
        let r = rules();
        let jan = month("2027-01");
        assert!(!r.may_activate(jan, datetime!(2027-01-06 23:59 +5)));
        assert!(r.may_activate(jan, datetime!(2027-01-07 00:00 +5)));
        assert!(r.may_activate(jan, datetime!(2027-01-25 23:59 +5)));
        assert!(!r.may_activate(jan, datetime!(2027-01-26 00:00 +5)));
        assert!(!r.may_activate(jan, datetime!(2027-02-10 12:00 +5)));
        assert_eq!(r.valid_until(jan), date!(2027 - 01 - 25));
        assert_eq!(r.expires_at(jan), datetime!(2027-01-26 00:00 +5));
        assert_eq!(r.handover_at(jan), datetime!(2027-01-26 00:00 +5));
    }

    #[test]
    fn texts_fill_the_name_and_the_link() {
        let t = rules().texts;
        assert!(t
            .start("Иванова Айгуль")
            .starts_with("Уважаемый (ая) Иванова Айгуль!"));
        assert!(t.reminder("А").contains("Уважаемый (ая) А!"));
        assert!(t
            .agreed("https://x.example")
            .contains("<https://x.example>"));
    }
}
