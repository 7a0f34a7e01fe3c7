//! A parent's rating of the service and optional complaint, as recorded, and how many
//! complaints a parent may make in a day: each goes to e-Otinish, where a person answers it,
//! so a script repeating one must not flood that queue.

use shared::{Iin, VoucherId};
use time::OffsetDateTime;
use uuid::Uuid;

/// A parent's rating (1–5) and optional complaint about a voucher's service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Feedback {
    pub id: Uuid,
    pub voucher_id: VoucherId,
    pub representative: Iin,
    pub rating: u8,
    pub complaint: Option<String>,
    pub created_at: OffsetDateTime,
}

/// Most complaints a parent may make about one voucher in one service day (Astana time):
/// room for a complaint and its follow-ups, not for a flood.
pub const MAX_COMPLAINTS_PER_DAY: i64 = 3;

/// The complaints a new one is counted with: the parent's on the voucher since `since`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ComplaintLimit {
    pub since: OffsetDateTime,
    pub max: i64,
    /// When the count starts again (the next service day).
    pub lifts_at: OffsetDateTime,
}

impl ComplaintLimit {
    /// The limit of the service day `now` falls in.
    pub fn of_day(now: OffsetDateTime) -> Self {
        let day = shared::time::service_day(now);
        ComplaintLimit {
            since: shared::time::start_of_service_day(day),
            max: MAX_COMPLAINTS_PER_DAY,
            lifts_at: shared::time::end_of_service_day(day),
        }
    }
}

/// What became of feedback given to the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedbackStored {
    Stored,
    /// A complaint over the day's limit: nothing was stored or queued.
    ComplaintLimitReached,
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn the_complaint_day_is_the_astana_service_day() {
        let limit = ComplaintLimit::of_day(datetime!(2026-11-24 18:59 UTC));
        assert_eq!(limit.since, datetime!(2026-11-24 00:00 +5));
        assert_eq!(limit.lifts_at, datetime!(2026-11-25 00:00 +5));
        let next = ComplaintLimit::of_day(datetime!(2026-11-24 19:00 UTC));
        assert_eq!(next.since, limit.lifts_at);
        assert_eq!(limit.max, MAX_COMPLAINTS_PER_DAY);
    }
}
