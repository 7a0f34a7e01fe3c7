//! The parent's event feed (issue 19): meals, refused scans and voucher changes of the
//! parent's own children, in the order the server recorded them, so an app can poll with
//! the cursor of the last event it saw. Ordered by (recorded at, source, key): a meal that
//! synced late still comes after everything the app has already seen.

use serde::Serialize;
use shared::VoucherId;
use time::OffsetDateTime;

use crate::domain::meal::MealStatus;

/// Where the app stopped: opaque to it (`<unix ns>.<source>.<key>`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct FeedCursor {
    pub recorded_at: OffsetDateTime,
    /// 1 meals, 2 refused scans, 3 voucher changes; 0 before all of them.
    pub source: i32,
    pub key: String,
}

/// A cursor text that is not one the server handed out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not a cursor of this feed")]
pub struct BadCursor;

impl FeedCursor {
    /// Before the first event.
    pub fn start() -> FeedCursor {
        FeedCursor {
            recorded_at: OffsetDateTime::UNIX_EPOCH,
            source: 0,
            key: String::new(),
        }
    }

    pub fn encode(&self) -> String {
        format!(
            "{}.{}.{}",
            self.recorded_at.unix_timestamp_nanos(),
            self.source,
            self.key
        )
    }

    /// Parses a cursor text; keys are what the store makes: hex digits, dashes, digits.
    pub fn parse(text: &str) -> Result<FeedCursor, BadCursor> {
        let mut parts = text.splitn(3, '.');
        let (Some(nanos), Some(source), Some(key)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(BadCursor);
        };
        // At most 19 digits (the API states the pattern): up to the 23rd century.
        if nanos.len() > 19 {
            return Err(BadCursor);
        }
        let nanos: i128 = nanos.parse().map_err(|_| BadCursor)?;
        let source: i32 = source.parse().map_err(|_| BadCursor)?;
        let key_ok = key.len() <= 80
            && key
                .chars()
                .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c) || c == '-');
        if !(0..=3).contains(&source) || !key_ok || nanos < 0 {
            return Err(BadCursor);
        }
        let recorded_at =
            OffsetDateTime::from_unix_timestamp_nanos(nanos).map_err(|_| BadCursor)?;
        Ok(FeedCursor {
            recorded_at,
            source,
            key: key.to_string(),
        })
    }
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FeedItem {
    /// A meal pushed by a terminal, with the server's verdict.
    Meal {
        slot: String,
        method: String,
        status: MealStatus,
        #[serde(skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// A scan the terminal refused, with its reason code.
    Denial { reason: String, method: String },
    /// A change of the voucher (`form`, `activate`, `revoke`, `expire`, …).
    Voucher {
        action: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        from_state: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        to_state: Option<String>,
    },
}

/// One event of the feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedEvent {
    pub cursor: FeedCursor,
    pub voucher: VoucherId,
    /// When it happened (served, scanned, changed).
    pub at: OffsetDateTime,
    pub item: FeedItem,
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn a_cursor_reads_back_what_it_wrote() {
        let cursor = FeedCursor {
            recorded_at: datetime!(2026-11-24 07:00:01.123456 UTC),
            source: 1,
            key: "0190a0b1-c2d3-7e4f-8a9b-0c1d2e3f4a5b".into(),
        };
        assert_eq!(FeedCursor::parse(&cursor.encode()), Ok(cursor));
        assert_eq!(
            FeedCursor::parse(&FeedCursor::start().encode()),
            Ok(FeedCursor::start())
        );
    }

    #[test]
    fn texts_the_server_never_handed_out_are_refused() {
        for bad in [
            "", "1", "1.1", "x.1.ab", "1.9.ab", "1.1.AB", "-5.1.ab", "1.1.a b", "1.1.'",
        ] {
            assert_eq!(FeedCursor::parse(bad), Err(BadCursor), "{bad:?}");
        }
    }
}
