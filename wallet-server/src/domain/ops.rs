//! What operators watch, as facts the store reads at scrape time: the outbox, the jobs, the
//! terminals' last contact and the database pool. Metrics turn these into gauges; the
//! thresholds that decide "overdue" and the contact-age buckets are rules, so they live here.

use shared::Bin;
use time::{Duration, OffsetDateTime};

/// A job still waiting this long after it fell due counts as overdue (the scheduler claims
/// due jobs within seconds, and a handler retries with backoff from 30 s).
pub const JOB_OVERDUE_AFTER: Duration = Duration::minutes(5);

/// The outbox of one message kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxFacts {
    pub kind: String,
    /// Waiting to be delivered (due or held, e.g. an SMS at night).
    pub pending: i64,
    /// Given up after the last attempt.
    pub failed: i64,
    /// When the oldest pending message was queued.
    pub oldest_pending: Option<OffsetDateTime>,
    /// The earliest `next_attempt_at` among pending messages already due: delivery is
    /// stuck when this lies far in the past (a held SMS is not due, so nights stay quiet).
    pub oldest_due: Option<OffsetDateTime>,
}

/// The durable jobs of one kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobFacts {
    pub kind: String,
    /// Pending or running with `due_at` passed.
    pub due: i64,
    /// Due for more than [`JOB_OVERDUE_AFTER`].
    pub overdue: i64,
    /// Given up after the last attempt.
    pub failed: i64,
}

/// How recently a terminal was last heard from, in buckets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContactAge {
    Under5m,
    Under1h,
    Under1d,
    Older,
}

impl ContactAge {
    pub const ALL: [ContactAge; 4] = [
        ContactAge::Under5m,
        ContactAge::Under1h,
        ContactAge::Under1d,
        ContactAge::Older,
    ];

    /// The bucket's upper bound (exclusive); `None` for the last.
    pub fn bound(self) -> Option<Duration> {
        match self {
            ContactAge::Under5m => Some(Duration::minutes(5)),
            ContactAge::Under1h => Some(Duration::hours(1)),
            ContactAge::Under1d => Some(Duration::days(1)),
            ContactAge::Older => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ContactAge::Under5m => "under_5m",
            ContactAge::Under1h => "5m_to_1h",
            ContactAge::Under1d => "1h_to_1d",
            ContactAge::Older => "over_1d",
        }
    }
}

/// A school's active (not revoked) terminals and when any of them last synced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchoolContact {
    pub school: Bin,
    /// The latest contact of any of its terminals (enrollment when none has synced yet).
    pub last_contact: OffsetDateTime,
    /// Terminals per [`ContactAge`] bucket, in [`ContactAge::ALL`] order.
    pub by_age: [i64; 4],
}

/// The database connection pool, as sqlx reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolFacts {
    /// Open connections, idle or in use.
    pub size: u32,
    pub idle: u32,
    pub max: u32,
}

impl PoolFacts {
    pub fn in_use(&self) -> u32 {
        self.size.saturating_sub(self.idle)
    }
}

/// Everything a scrape reads from the store, gathered by `services::ops::snapshot`. A part
/// that could not be read (the database is down or slow) is `None`: its gauges are left
/// out of that scrape rather than reported as zero.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpsSnapshot {
    pub now: OffsetDateTime,
    pub pool: PoolFacts,
    /// How long taking a connection waited; `None` when the database could not be used.
    pub acquire_wait: Option<std::time::Duration>,
    pub outbox: Option<Vec<OutboxFacts>>,
    pub jobs: Option<Vec<JobFacts>>,
    pub terminals: Option<Vec<SchoolContact>>,
}
