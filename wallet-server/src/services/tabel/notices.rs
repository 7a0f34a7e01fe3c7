//! Табель notices to each school's social pedagogue, through the outbox (kind `notice`,
//! recipient `school:<BIN>`), delivered to NOBD (the school's own system, `--nobd-url`) and
//! shown on every page of the school console until the month is approved ([`open_for`]):
//!
//! - on the 1st of a month at 09:00 Astana, that the previous month's табель is ready;
//! - on the 4th at 09:00, a reminder to schools whose табель of that month is not yet
//!   approved.
//!
//! Each is a durable job keyed by the табель's month (`YYYY-MM`) that schedules the next
//! month's run. A notice's id is derived from its kind, school and month, so a job run again
//! (after a crash, or by two workers) queues nothing twice.

use shared::time::{service_day, start_of_service_day, YearMonth};
use shared::Bin;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::domain::job::JobKind;
use crate::domain::job::NewJob;
use crate::domain::outbox::{OutboxKind, OutboxMessage, OutboxState};
use crate::store::{Store, StoreError};

/// Local hour the notices are due at.
const HOUR: i64 = 9;

/// The outbox recipient of a school's staff.
pub fn recipient(school: Bin) -> String {
    format!("school:{school}")
}

/// Which notice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    /// The month's табель can be checked and approved.
    Ready,
    /// The month's табель is still not approved.
    Reminder,
}

impl Notice {
    fn kind(self) -> JobKind {
        match self {
            Notice::Ready => JobKind::TabelReady,
            Notice::Reminder => JobKind::TabelReminder,
        }
    }

    /// Day of the next month the notice about `month` is due.
    fn day_of_next_month(self) -> i64 {
        match self {
            Notice::Ready => 1,
            Notice::Reminder => 4,
        }
    }

    /// When the notice about `month` is due: the 1st or 4th of the next month, 09:00 Astana.
    pub fn due(self, month: YearMonth) -> OffsetDateTime {
        let day = month.next().first_day() + Duration::days(self.day_of_next_month() - 1);
        start_of_service_day(day) + Duration::hours(HOUR)
    }

    /// The job that sends this notice about `month`.
    pub fn job(self, month: YearMonth, now: OffsetDateTime) -> NewJob {
        NewJob::new(self.kind(), month.to_string(), self.due(month), now)
    }

    /// The month whose notice is the next to send (or is still being sent) at `now`.
    pub fn current_month(self, now: OffsetDateTime) -> YearMonth {
        let this = YearMonth::of(service_day(now));
        let previous = crate::domain::tabel::previous(this);
        if now < self.due(previous) + Duration::days(1) {
            previous
        } else {
            this
        }
    }

    /// The outbox id of this notice to `school` about `month`: the same every time (UUIDv8
    /// from SHA-256 of kind, school and month).
    pub fn message_id(self, school: Bin, month: YearMonth) -> Uuid {
        OutboxMessage::derived_id(&format!("{}|{school}|{month}", self.kind()))
    }

    /// The notice to `school` about `month`.
    pub fn message(self, school: Bin, month: YearMonth, now: OffsetDateTime) -> OutboxMessage {
        let (ru, kk) = texts(self, month);
        let body = serde_json::json!({
            "type": self.kind().as_str(),
            "school_bin": school.to_string(),
            "month": month.to_string(),
            "text_ru": ru,
            "text_kk": kk,
        });
        OutboxMessage {
            id: self.message_id(school, month),
            kind: OutboxKind::Notice,
            recipient: recipient(school),
            body: body.to_string(),
            state: OutboxState::Pending,
            attempts: 0,
            created_at: now,
            next_attempt_at: now,
            sent_at: None,
        }
    }
}

const MONTHS_RU: [&str; 12] = [
    "январь",
    "февраль",
    "март",
    "апрель",
    "май",
    "июнь",
    "июль",
    "август",
    "сентябрь",
    "октябрь",
    "ноябрь",
    "декабрь",
];
const MONTHS_KK: [&str; 12] = [
    "қаңтар",
    "ақпан",
    "наурыз",
    "сәуір",
    "мамыр",
    "маусым",
    "шілде",
    "тамыз",
    "қыркүйек",
    "қазан",
    "қараша",
    "желтоқсан",
];

/// The notice's text in Russian and Kazakh.
pub fn texts(notice: Notice, month: YearMonth) -> (String, String) {
    let i = usize::from(u8::from(month.month())) - 1;
    let (ru, kk, year) = (MONTHS_RU[i], MONTHS_KK[i], month.year());
    match notice {
        Notice::Ready => (
            format!(
                "Табель питания за {ru} {year} г. сформирован. Проверьте его и передайте \
                 директору на утверждение."
            ),
            format!(
                "{year} жылғы {kk} айының тамақтану табелі дайын. Оны тексеріп, директорға \
                 бекітуге жіберіңіз."
            ),
        ),
        Notice::Reminder => (
            format!(
                "Напоминание: табель питания за {ru} {year} г. ещё не утверждён. Пожалуйста, \
                 утвердите его."
            ),
            format!(
                "Еске салу: {year} жылғы {kk} айының тамақтану табелі әлі бекітілген жоқ. \
                 Оны бекітіңіз."
            ),
        ),
    }
}

/// Queues `notice` about `month` to every school with vouchers in it (the reminder only to
/// those whose табель is not approved); how many were queued now.
pub async fn queue(
    store: &dyn Store,
    notice: Notice,
    month: YearMonth,
    now: OffsetDateTime,
) -> Result<usize, StoreError> {
    let mut queued = 0;
    for school in store.schools_with_vouchers(month).await? {
        if notice == Notice::Reminder && store.tabel_approval(school, month).await?.is_some() {
            continue;
        }
        if store
            .enqueue_message_once(&notice.message(school, month, now))
            .await?
        {
            queued += 1;
        }
    }
    Ok(queued)
}

/// A notice the school's staff still have to act on: shown on every console page until its
/// month is approved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenNotice {
    pub month: YearMonth,
    pub notice: Notice,
    pub text_ru: String,
    pub text_kk: String,
}

/// How many of a school's latest notices are looked at (a few per month).
const NOTICES_LOOKED_AT: i64 = 24;

/// The school's notices whose month is not approved yet, the latest one per month, oldest
/// month first. Read from the outbox, so what is shown is what was delivered.
pub async fn open_for(store: &dyn Store, school: Bin) -> Result<Vec<OpenNotice>, StoreError> {
    let messages = store
        .messages_to(&recipient(school), OutboxKind::Notice, NOTICES_LOOKED_AT)
        .await?;
    let mut latest = std::collections::BTreeMap::new();
    for m in messages {
        let Ok(body) = serde_json::from_str::<serde_json::Value>(&m.body) else {
            continue;
        };
        let notice = match body["type"].as_str() {
            Some(t) if t == JobKind::TabelReady.as_str() => Notice::Ready,
            Some(t) if t == JobKind::TabelReminder.as_str() => Notice::Reminder,
            _ => continue,
        };
        let Some(month) = body["month"].as_str().and_then(|m| m.parse().ok()) else {
            continue;
        };
        // Oldest first: a later notice of the month (the reminder) replaces the earlier.
        latest.insert(month, notice);
    }
    let mut open = Vec::new();
    for (month, notice) in latest {
        if store.tabel_approval(school, month).await?.is_none() {
            let (text_ru, text_kk) = texts(notice, month);
            open.push(OpenNotice {
                month,
                notice,
                text_ru,
                text_kk,
            });
        }
    }
    Ok(open)
}

/// Schedules the next notice of each kind (idempotent: the job key is the month).
pub async fn seed(store: &dyn Store, now: OffsetDateTime) -> Result<(), StoreError> {
    for notice in [Notice::Ready, Notice::Reminder] {
        store
            .schedule_job(&notice.job(notice.current_month(now), now))
            .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    fn month(s: &str) -> YearMonth {
        s.parse().expect("month")
    }

    #[test]
    fn notices_are_due_the_1st_and_4th_at_nine_in_astana() {
        let sep = month("2026-09");
        assert_eq!(Notice::Ready.due(sep), datetime!(2026-10-01 09:00 +5));
        assert_eq!(Notice::Reminder.due(sep), datetime!(2026-10-04 09:00 +5));
        let dec = month("2026-12");
        assert_eq!(Notice::Ready.due(dec), datetime!(2027-01-01 09:00 +5));
        let job = Notice::Reminder.job(sep, datetime!(2026-09-15 00:00 UTC));
        assert_eq!(
            (job.kind, job.key.as_str()),
            (JobKind::TabelReminder, "2026-09")
        );
    }

    #[test]
    fn the_seeded_month_is_the_one_whose_notice_comes_next() {
        // On the 2nd the ready notice of last month is a day late at most: still seeded.
        let early = datetime!(2026-10-02 08:00 +5);
        assert_eq!(Notice::Ready.current_month(early), month("2026-09"));
        assert_eq!(Notice::Reminder.current_month(early), month("2026-09"));
        let mid = datetime!(2026-10-15 12:00 +5);
        assert_eq!(Notice::Ready.current_month(mid), month("2026-10"));
        assert_eq!(Notice::Reminder.current_month(mid), month("2026-10"));
    }

    #[test]
    fn a_notice_id_depends_on_kind_school_and_month_only() {
        let a: Bin = "050140001238".parse().expect("bin");
        let b: Bin = "070240004567".parse().expect("bin");
        let sep = month("2026-09");
        let id = Notice::Ready.message_id(a, sep);
        assert_eq!(id, Notice::Ready.message_id(a, sep));
        for other in [
            Notice::Reminder.message_id(a, sep),
            Notice::Ready.message_id(b, sep),
            Notice::Ready.message_id(a, sep.next()),
        ] {
            assert_ne!(id, other);
        }
        let m = Notice::Reminder.message(a, sep, datetime!(2026-10-04 04:00 UTC));
        assert_eq!(
            (m.kind, m.recipient.as_str()),
            (OutboxKind::Notice, "school:050140001238")
        );
        assert!(m.body.contains("сентябрь 2026"), "{}", m.body);
    }
}
