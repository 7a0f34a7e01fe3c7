//! The pure rules of a consent conversation: its states and the moves between them, how a
//! parent's reply is read, and when a programme's reminder and reply deadlines fall.
//!
//! Deadlines are Astana calendar days: the day the SMS goes out counts as the first day, so
//! "3 calendar days" after a start on Monday ends when Thursday begins (Astana midnight).

mod conversation;
pub mod texts;

pub use conversation::*;

use serde::{Deserialize, Serialize};
use shared::time::{end_of_service_day, service_day, start_of_service_day};
use time::{Date, Duration, OffsetDateTime};

use crate::domain::{words, Programme};

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
    /// This many calendar days after the reminder (school meals: 3).
    DaysAfterReminder(u8),
    /// Until the end of this day of the month the request started in, or of the next
    /// month when the start was later in the month (gas: the 25th).
    UntilDayOfMonth(u8),
}

/// A programme's consent deadlines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConsentWindows {
    /// Calendar days from the start SMS to the reminder.
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

/// The first instant of the Astana day `days` calendar days after the day of `from`.
fn calendar_days_after(from: OffsetDateTime, days: u8) -> OffsetDateTime {
    start_of_service_day(service_day(from) + Duration::days(i64::from(days)))
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

    /// The first deadline after the start SMS.
    pub fn after_start(&self, started: OffsetDateTime) -> Deadline {
        let remind = calendar_days_after(started, self.remind_after_days);
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

    /// When the conversation times out, the reminder having gone out at `reminded`.
    pub fn expiry_after_reminder(
        &self,
        started: OffsetDateTime,
        reminded: OffsetDateTime,
    ) -> OffsetDateTime {
        match self.reply {
            ReplyWindow::DaysAfterReminder(days) => calendar_days_after(reminded, days),
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
    fn school_meals_remind_after_three_calendar_days_and_end_three_days_later() {
        let w = ConsentWindows::of(Programme::SchoolMeals);
        // Monday 14:00 Astana (09:00 UTC): the reminder when Thursday begins in Astana.
        let start = datetime!(2026-09-07 09:00 UTC);
        let remind = datetime!(2026-09-09 19:00 UTC); // 2026-09-10 00:00 +05
        assert_eq!(w.after_start(start), Deadline::Remind(remind));
        // 00:30 Astana on Tuesday is still Monday in UTC: Astana days count.
        assert_eq!(
            w.after_start(datetime!(2026-09-07 19:30 UTC)),
            Deadline::Remind(datetime!(2026-09-10 19:00 UTC))
        );
        let reminded = remind + Duration::minutes(1);
        assert_eq!(
            w.expiry_after_reminder(start, reminded),
            datetime!(2026-09-12 19:00 UTC)
        );
        // Three days of clock movement always reach the deadline.
        assert!(start + Duration::days(3) >= remind);
    }

    #[test]
    fn gas_reminds_after_seven_days_and_closes_after_the_25th() {
        let w = ConsentWindows::of(Programme::Gas);
        let start = datetime!(2026-11-07 05:00 UTC);
        assert_eq!(
            w.after_start(start),
            Deadline::Remind(datetime!(2026-11-13 19:00 UTC))
        );
        assert_eq!(
            w.expiry_after_reminder(start, datetime!(2026-11-14 08:00 UTC)),
            datetime!(2026-11-25 19:00 UTC)
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
