//! The pure rules of a consent conversation: its states and the moves between them, how a
//! parent's reply is read, and when a programme's reminder and reply deadlines fall.
//!
//! Deadlines are civil-law periods (Civil Code of the Republic of Kazakhstan, art. 171) in
//! Astana calendar days: a period of N days starts the day after the event (the day an SMS
//! goes out) and ends at the end of its N-th day. "3 calendar days" after an SMS sent on
//! Monday are Tuesday, Wednesday and Thursday, so the reminder is due when Friday begins —
//! and, being an SMS, goes out at 09:00 ([`quiet_hours`](crate::domain::quiet_hours)).

mod conversation;
pub mod texts;

pub use conversation::*;

use serde::{Deserialize, Serialize};
use shared::time::{end_of_service_day, service_day};
use time::{Date, Duration, OffsetDateTime};

use crate::domain::outbox::OutboxKind;
use crate::domain::{quiet_hours, words, Programme};

/// Where a consent conversation is (DESIGN.md §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConsentState {
    /// The start SMS went out; waiting for a reply.
    Pending,
    /// No reply in time: the one reminder went out.
    Reminded,
    /// The parent answered `3#1`: the voucher is formed.
    Agreed,
    /// The parent answered `3#2`.
    Refused,
    /// No reply after the reminder.
    TimedOut,
    /// No phone number to ask: the process ended at once.
    NoPhone,
}

words!(ConsentState, "consent state", {
    Pending => "pending", Reminded => "reminded", Agreed => "agreed", Refused => "refused",
    TimedOut => "timed_out", NoPhone => "no_phone",
});

impl ConsentState {
    /// Whether the rules allow going from `self` to `to`. `no_phone` is only ever a
    /// starting (and final) state. `pending → timed_out` is for programmes whose reply
    /// window closes before a reminder would be due.
    pub fn can_become(self, to: ConsentState) -> bool {
        use ConsentState::*;
        matches!(
            (self, to),
            (Pending, Reminded) | (Pending | Reminded, Agreed | Refused | TimedOut)
        )
    }

    /// Waiting for the parent.
    pub fn is_open(self) -> bool {
        matches!(self, ConsentState::Pending | ConsentState::Reminded)
    }
}

/// The language SMS texts are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Language {
    #[default]
    Ru,
    Kk,
}

words!(Language, "language", { Ru => "ru", Kk => "kk" });

/// What a parent's SMS says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reply {
    /// `3#1`
    Agree,
    /// `3#2`
    Refuse,
    /// Anything else: the parent gets a help SMS.
    Unrecognised,
}

impl Reply {
    /// Reads a reply, tolerating spaces anywhere (`3 # 1`), letter case and the full-width
    /// `＃` some phones send.
    pub fn parse(text: &str) -> Reply {
        let compact: String = text
            .chars()
            .filter(|c| !c.is_whitespace())
            .map(|c| if c == '＃' { '#' } else { c })
            .flat_map(char::to_lowercase)
            .collect();
        match compact.as_str() {
            "3#1" => Reply::Agree,
            "3#2" => Reply::Refuse,
            _ => Reply::Unrecognised,
        }
    }
}

/// How long a parent has to answer after the reminder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyWindow {
    /// This many full calendar days after the day of the reminder (school meals: 3).
    DaysAfterReminder(u8),
    /// Until the end of this day of the month the request started in, or of the next
    /// month when the start was later in the month (gas: the 25th).
    UntilDayOfMonth(u8),
}

/// A programme's consent deadlines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConsentWindows {
    /// Full calendar days after the day of the start SMS before the reminder.
    pub remind_after_days: u8,
    pub reply: ReplyWindow,
}

/// The next deadline of a conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deadline {
    /// Send the reminder at this instant.
    Remind(OffsetDateTime),
    /// The conversation times out at this instant.
    Expire(OffsetDateTime),
}

/// When a civil-law period of `days` full Astana calendar days after the day of `event` has
/// run out: the period starts the day after the event's day and ends at the end of its last
/// day, so this is the first instant of the day after that.
fn full_days_after(event: OffsetDateTime, days: u8) -> OffsetDateTime {
    end_of_service_day(service_day(event) + Duration::days(i64::from(days)))
}

/// When an SMS queued at `queued` goes out (quiet hours).
fn sms_leaves(queued: OffsetDateTime) -> OffsetDateTime {
    quiet_hours::first_delivery(OutboxKind::Sms, queued)
}

/// The `day`-th of the month of `date` (clamped to the month's last day).
fn day_of_month(date: Date, day: u8) -> Date {
    let month = shared::time::YearMonth::of(date);
    let last = month.last_day();
    last.replace_day(day.min(last.day())).unwrap_or(last)
}

impl ConsentWindows {
    /// The rules of each programme (the 2023 school-meals order; the 2024 gas order).
    pub fn of(programme: Programme) -> ConsentWindows {
        match programme {
            Programme::SchoolMeals => ConsentWindows {
                remind_after_days: 3,
                reply: ReplyWindow::DaysAfterReminder(3),
            },
            Programme::Gas => ConsentWindows {
                remind_after_days: 7,
                reply: ReplyWindow::UntilDayOfMonth(25),
            },
        }
    }

    /// When a month-bound reply window closes for a conversation started at `started`.
    fn month_bound_expiry(started: OffsetDateTime, day: u8) -> OffsetDateTime {
        let start_day = service_day(started);
        let mut last = day_of_month(start_day, day);
        if last < start_day {
            let next = shared::time::YearMonth::of(start_day).next().first_day();
            last = day_of_month(next, day);
        }
        end_of_service_day(last)
    }

    /// The first deadline after the start SMS was queued at `started`. The period counts
    /// from the day the SMS goes out; the reminder, an SMS itself, is due no earlier than the
    /// morning after the period ran out.
    pub fn after_start(&self, started: OffsetDateTime) -> Deadline {
        let remind = sms_leaves(full_days_after(sms_leaves(started), self.remind_after_days));
        match self.reply {
            ReplyWindow::DaysAfterReminder(_) => Deadline::Remind(remind),
            ReplyWindow::UntilDayOfMonth(day) => {
                let expiry = Self::month_bound_expiry(started, day);
                if remind < expiry {
                    Deadline::Remind(remind)
                } else {
                    Deadline::Expire(expiry)
                }
            }
        }
    }

    /// When the conversation times out, the reminder having been queued at `reminded`: the
    /// reply period counts from the day the reminder goes out.
    pub fn expiry_after_reminder(
        &self,
        started: OffsetDateTime,
        reminded: OffsetDateTime,
    ) -> OffsetDateTime {
        match self.reply {
            ReplyWindow::DaysAfterReminder(days) => full_days_after(sms_leaves(reminded), days),
            ReplyWindow::UntilDayOfMonth(day) => Self::month_bound_expiry(started, day),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;
    use ConsentState::*;

    #[test]
    fn transitions_follow_the_design() {
        let all = [Pending, Reminded, Agreed, Refused, TimedOut, NoPhone];
        let allowed: Vec<_> = all
            .iter()
            .flat_map(|&a| all.iter().map(move |&b| (a, b)))
            .filter(|&(a, b)| a.can_become(b))
            .collect();
        assert_eq!(
            allowed,
            vec![
                (Pending, Reminded),
                (Pending, Agreed),
                (Pending, Refused),
                (Pending, TimedOut),
                (Reminded, Agreed),
                (Reminded, Refused),
                (Reminded, TimedOut),
            ]
        );
        assert!(Pending.is_open() && Reminded.is_open());
        for s in [Agreed, Refused, TimedOut, NoPhone] {
            assert!(!s.is_open(), "{s}");
            assert_eq!(s.as_str().parse::<ConsentState>().expect("round trip"), s);
        }
    }

    #[test]
    fn replies_tolerate_spaces_and_case_but_nothing_else() {
        for agree in ["3#1", " 3 # 1 ", "3#1\n", "3\t#1", "3＃1"] {
            assert_eq!(Reply::parse(agree), Reply::Agree, "{agree:?}");
        }
        for refuse in ["3#2", "3 #2", " 3# 2"] {
            assert_eq!(Reply::parse(refuse), Reply::Refuse, "{refuse:?}");
        }
        for other in ["", "да", "3#3", "31", "3#1 да", "#1", "3#12", "1"] {
            assert_eq!(Reply::parse(other), Reply::Unrecognised, "{other:?}");
        }
    }

    #[test]
    fn school_meals_remind_after_three_full_days_in_the_morning() {
        let w = ConsentWindows::of(Programme::SchoolMeals);
        // Monday 14:00: the period is Tuesday, Wednesday, Thursday; the reminder is due when
        // Friday begins, and quiet hours move it to Friday 09:00.
        let monday = datetime!(2026-11-30 14:00 +5);
        assert_eq!(monday.weekday(), time::Weekday::Monday);
        let friday_nine = datetime!(2026-12-04 09:00 +5);
        assert_eq!(w.after_start(monday), Deadline::Remind(friday_nine));
        // Not a minute earlier, whatever the hour of the start on Monday.
        for hour in [0, 9, 20] {
            let start = datetime!(2026-11-30 00:00 +5) + Duration::hours(hour);
            assert_eq!(
                w.after_start(start),
                Deadline::Remind(friday_nine),
                "{hour}h"
            );
        }
        // 00:30 Astana on Tuesday is still Monday in UTC: Astana days count.
        assert_eq!(
            w.after_start(datetime!(2026-11-30 19:30 UTC)),
            Deadline::Remind(datetime!(2026-12-05 09:00 +5))
        );
        // A list at 23:30 Monday: the start SMS leaves Tuesday 09:00, so the period is
        // Wednesday to Friday and the reminder Saturday 09:00.
        assert_eq!(
            w.after_start(datetime!(2026-11-30 23:30 +5)),
            Deadline::Remind(datetime!(2026-12-05 09:00 +5))
        );
    }

    #[test]
    fn school_meals_time_out_three_full_days_after_the_day_of_the_reminder() {
        let w = ConsentWindows::of(Programme::SchoolMeals);
        let monday = datetime!(2026-11-30 14:00 +5);
        // The reminder went out Friday 09:00: Saturday, Sunday, Monday; the end when Tuesday
        // begins.
        let friday_nine = datetime!(2026-12-04 09:00 +5);
        let tuesday = datetime!(2026-12-08 00:00 +5);
        assert_eq!(w.expiry_after_reminder(monday, friday_nine), tuesday);
        assert_eq!(
            w.expiry_after_reminder(monday, datetime!(2026-12-04 20:59 +5)),
            tuesday
        );
        // A reminder job that ran late at night: the SMS leaves Saturday morning, and the
        // parent's three days count from then.
        assert_eq!(
            w.expiry_after_reminder(monday, datetime!(2026-12-04 21:00 +5)),
            datetime!(2026-12-09 00:00 +5)
        );
    }

    #[test]
    fn gas_reminds_after_seven_days_and_closes_after_the_25th() {
        let w = ConsentWindows::of(Programme::Gas);
        // Saturday the 7th: seven full days are the 8th to the 14th; the reminder the 15th at
        // 09:00.
        let start = datetime!(2026-11-07 05:00 UTC);
        assert_eq!(
            w.after_start(start),
            Deadline::Remind(datetime!(2026-11-15 09:00 +5))
        );
        assert_eq!(
            w.expiry_after_reminder(start, datetime!(2026-11-14 08:00 UTC)),
            datetime!(2026-11-25 19:00 UTC)
        );
        // Started on the 18th: the reminder would be due on the 26th, after the window
        // closed at the end of the 25th.
        assert_eq!(
            w.after_start(datetime!(2026-11-18 05:00 UTC)),
            Deadline::Expire(datetime!(2026-11-25 19:00 UTC))
        );
        // The 17th: the reminder on the 25th at 09:00, inside the window.
        assert_eq!(
            w.after_start(datetime!(2026-11-17 05:00 UTC)),
            Deadline::Remind(datetime!(2026-11-25 09:00 +5))
        );
        // Started on the 20th: no time for a reminder; the window closes after the 25th.
        assert_eq!(
            w.after_start(datetime!(2026-11-20 05:00 UTC)),
            Deadline::Expire(datetime!(2026-11-25 19:00 UTC))
        );
        // Started after the 25th: the next month's 25th.
        let late = datetime!(2026-11-27 05:00 UTC);
        assert_eq!(
            w.expiry_after_reminder(late, late + Duration::days(7)),
            datetime!(2026-12-25 19:00 UTC)
        );
    }
}
