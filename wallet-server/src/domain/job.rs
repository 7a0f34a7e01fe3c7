//! The kinds of durable jobs the scheduler knows.

use serde::Serialize;

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
}

crate::domain::words!(JobKind, "job kind", {
    ConsentRemind => "consent_remind", ConsentTimeout => "consent_timeout",
    VoucherExpiry => "voucher_expiry", DailyReport => "daily_report",
    TabelReady => "tabel_ready", TabelReminder => "tabel_reminder",
});

/// Wait before attempt `attempts + 1`: 30 s, doubling, at most an hour.
pub fn backoff(attempts: i64) -> time::Duration {
    let exponent = u32::try_from(attempts.clamp(1, 8) - 1).unwrap_or(0);
    (time::Duration::seconds(30) * 2_i32.pow(exponent)).min(time::Duration::hours(1))
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
