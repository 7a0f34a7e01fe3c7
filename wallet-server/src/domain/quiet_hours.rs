//! Quiet hours: an SMS reaches a parent only in the daytime, 09:00–21:00 Astana time. One
//! rule, used twice: when an SMS is queued (its first attempt is set to the next daytime
//! instant) and by the outbox worker at delivery (an SMS that comes due at night, or a retry
//! whose backoff lands in the night, waits for the morning without an attempt being counted).
//! Other outbox kinds (reports, complaints, notices) go to systems and are not held.

use shared::time::ASTANA;
use time::macros::time;
use time::{Duration, OffsetDateTime, Time, UtcOffset};

use crate::domain::outbox::OutboxKind;

/// The first minute an SMS may go out.
pub const OPENS: Time = time!(09:00);
/// The first minute an SMS may no longer go out (the window is `[OPENS, CLOSES)`).
pub const CLOSES: Time = time!(21:00);

/// Whether a message of `kind` may be delivered at `at`.
pub fn may_deliver(kind: OutboxKind, at: OffsetDateTime) -> bool {
    if kind != OutboxKind::Sms {
        return true;
    }
    let local = at.to_offset(ASTANA).time();
    (OPENS..CLOSES).contains(&local)
}

/// The first instant at or after `at` when a message of `kind` may be delivered: `at` itself
/// in the daytime (and for every kind but SMS), else the next 09:00 Astana (in UTC).
pub fn first_delivery(kind: OutboxKind, at: OffsetDateTime) -> OffsetDateTime {
    if may_deliver(kind, at) {
        return at;
    }
    let local = at.to_offset(ASTANA);
    let day = if local.time() < OPENS {
        local.date()
    } else {
        local.date() + Duration::DAY
    };
    day.with_time(OPENS)
        .assume_offset(ASTANA)
        .to_offset(UtcOffset::UTC)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const SMS: OutboxKind = OutboxKind::Sms;

    #[test]
    fn sms_go_out_from_nine_until_before_nine_in_the_evening() {
        assert!(may_deliver(SMS, datetime!(2026-11-30 09:00 +5)));
        assert!(may_deliver(SMS, datetime!(2026-11-30 20:59:59 +5)));
        assert!(!may_deliver(SMS, datetime!(2026-11-30 21:00 +5)));
        assert!(!may_deliver(SMS, datetime!(2026-11-30 08:59:59 +5)));
        // Astana's time of day decides, not UTC's: 04:00 UTC is 09:00 in Astana.
        assert!(may_deliver(SMS, datetime!(2026-11-30 04:00 UTC)));
        assert!(!may_deliver(SMS, datetime!(2026-11-30 16:00 UTC)));
    }

    #[test]
    fn an_sms_queued_at_night_waits_for_the_morning() {
        // A list at 23:30: the start SMS at 09:00 the next morning.
        assert_eq!(
            first_delivery(SMS, datetime!(2026-11-30 23:30 +5)),
            datetime!(2026-12-01 04:00 UTC)
        );
        // After midnight: the same morning.
        assert_eq!(
            first_delivery(SMS, datetime!(2026-12-01 00:10 +5)),
            datetime!(2026-12-01 09:00 +5)
        );
        // The edges: 20:59 goes at once, 21:00 waits; 09:00 goes, 08:59 waits a minute.
        let edge = datetime!(2026-11-30 20:59 +5);
        assert_eq!(first_delivery(SMS, edge), edge);
        assert_eq!(
            first_delivery(SMS, datetime!(2026-11-30 21:00 +5)),
            datetime!(2026-12-01 09:00 +5)
        );
        let nine = datetime!(2026-11-30 09:00 +5);
        assert_eq!(first_delivery(SMS, nine), nine);
        assert_eq!(first_delivery(SMS, datetime!(2026-11-30 08:59 +5)), nine);
        // Across a month's and a year's end.
        assert_eq!(
            first_delivery(SMS, datetime!(2026-12-31 22:00 +5)),
            datetime!(2027-01-01 09:00 +5)
        );
    }

    #[test]
    fn other_kinds_are_not_held() {
        let night = datetime!(2026-11-30 23:30 +5);
        for kind in [
            OutboxKind::Report,
            OutboxKind::Complaint,
            OutboxKind::Notice,
        ] {
            assert!(may_deliver(kind, night), "{kind}");
            assert_eq!(first_delivery(kind, night), night);
        }
    }
}
