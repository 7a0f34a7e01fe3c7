//! The kinds of durable jobs the scheduler knows.

use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

/// What a job does; stored as a word next to the job's key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobKind {
    /// Send a consent conversation's one reminder (key: the consent request id).
    ConsentRemind,
    /// End a consent conversation nobody answered (key: the consent request id).
    ConsentTimeout,
    /// Expire vouchers whose validity has ended (key: the Astana date of the sweep).
    VoucherExpiry,
    /// The daily report to NOBD (key: the report's date); run by the табель module's handler.
    DailyReport,
    /// Tell each school's social pedagogue that a month's табель is ready (key: the month,
    /// `YYYY-MM`; due the 1st of the next month, 09:00 Astana).
    TabelReady,
    /// Remind a school whose табель of the month is not yet approved (key: the month; due
    /// the 4th of the next month, 09:00 Astana).
    TabelReminder,
    /// Compute a day's signals of misuse (key: the Astana date; due 00:30 the day after).
    Signals,
    /// A monthly programme's (gas) one reminder (key: the recipient's consent id).
    MonthlyRemind,
    /// A monthly programme's reply window closed (key: the recipient's consent id).
    MonthlyTimeout,
    /// A monthly programme's month handed over to its provider (key: `gas:YYYY-MM`).
    MonthlyHandover,
}

crate::domain::words!(JobKind, "job kind", {
    ConsentRemind => "consent_remind", ConsentTimeout => "consent_timeout",
    VoucherExpiry => "voucher_expiry", DailyReport => "daily_report",
    TabelReady => "tabel_ready", TabelReminder => "tabel_reminder",
    Signals => "signals",
    MonthlyRemind => "monthly_remind", MonthlyTimeout => "monthly_timeout",
    MonthlyHandover => "monthly_handover",
});

/// Wait before attempt `attempts + 1`: 30 s, doubling, at most an hour.
pub fn backoff(attempts: i64) -> time::Duration {
    let exponent = u32::try_from(attempts.clamp(1, 8) - 1).unwrap_or(0);
    (time::Duration::seconds(30) * 2_i32.pow(exponent)).min(time::Duration::hours(1))
}

/// Where a job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    Pending,
    /// Claimed by a worker until its lease ends.
    Running,
    Done,
    /// Gave up after too many attempts (`last_error` says why).
    Failed,
}

super::words!(JobState, "job state", {
    Pending => "pending", Running => "running", Done => "done", Failed => "failed",
});

/// A job to schedule. `(kind, key)` is unique: scheduling it again changes nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewJob {
    pub id: Uuid,
    pub kind: JobKind,
    /// What the job is about: a consent request id, a date.
    pub key: String,
    pub due_at: OffsetDateTime,
    pub created_at: OffsetDateTime,
}

impl NewJob {
    pub fn new(
        kind: JobKind,
        key: impl Into<String>,
        due_at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> NewJob {
        NewJob {
            id: Uuid::now_v7(),
            kind,
            key: key.into(),
            due_at,
            created_at: now,
        }
    }
}

/// A job as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub id: Uuid,
    pub kind: JobKind,
    pub key: String,
    pub due_at: OffsetDateTime,
    pub state: JobState,
    pub attempts: i64,
    pub locked_by: Option<String>,
    pub locked_until: Option<OffsetDateTime>,
    pub last_error: Option<String>,
    pub created_at: OffsetDateTime,
    pub finished_at: Option<OffsetDateTime>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_half_a_minute_up_to_an_hour() {
        let secs: Vec<i64> = (1..=9).map(|a| backoff(a).whole_seconds()).collect();
        assert_eq!(secs, [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]);
        assert_eq!(backoff(0).whole_seconds(), 30);
    }
}
