//! Where a `--demo` worker may be told to stop forever, so a fault drill can kill the
//! process exactly there. The knob travels with the ports because both kinds of worker (the
//! job scheduler and the outbox) read it from there.

use std::str::FromStr;

use crate::domain::job::JobKind;

/// `--demo` test knob (`WALLET_DEMO_STALL`): a point where a worker stops forever, so a
/// test can kill the process exactly there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StallPoint {
    /// `job:<kind>:before` — claimed, handler not run.
    JobBefore(JobKind),
    /// `job:<kind>:after` — handler's effect committed, job not completed.
    JobAfter(JobKind),
    /// `outbox:after_send` — the gateway acknowledged an SMS, not yet recorded as sent.
    OutboxAfterSend,
}

impl FromStr for StallPoint {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("{s:?}: expected job:<kind>:before|after or outbox:after_send");
        match s.split(':').collect::<Vec<_>>().as_slice() {
            ["outbox", "after_send"] => Ok(StallPoint::OutboxAfterSend),
            ["job", kind, when] => {
                let kind: JobKind = kind.parse().map_err(|_| bad())?;
                match *when {
                    "before" => Ok(StallPoint::JobBefore(kind)),
                    "after" => Ok(StallPoint::JobAfter(kind)),
                    _ => Err(bad()),
                }
            }
            _ => Err(bad()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stall_points_parse() {
        assert_eq!(
            "job:consent_remind:after".parse(),
            Ok(StallPoint::JobAfter(JobKind::ConsentRemind))
        );
        assert_eq!(
            "job:voucher_expiry:before".parse(),
            Ok(StallPoint::JobBefore(JobKind::VoucherExpiry))
        );
        assert_eq!("outbox:after_send".parse(), Ok(StallPoint::OutboxAfterSend));
        for bad in [
            "",
            "job:nope:before",
            "job:consent_remind",
            "outbox",
            "job:consent_remind:during",
        ] {
            assert!(bad.parse::<StallPoint>().is_err(), "{bad}");
        }
    }
}
