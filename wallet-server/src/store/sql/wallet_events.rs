//! The SQL of the parent's event feed (issue 19): meals, refused scans and voucher changes
//! of the children a representative represents, after a cursor, in recorded order. The wall
//! is in the query: every branch joins the representation, and a meal or a refused scan
//! only counts on a voucher of the school whose terminal recorded it.

use shared::{Iin, VoucherId};

use crate::domain::feed::{FeedCursor, FeedEvent, FeedItem};

/// The three sources as one ordered stream: (recorded_at, source, key) is unique and total.
const FEED: &str = "SELECT recorded_at, source, k, voucher_id, at, a, b, c, d FROM (\
     SELECT m.received_at AS recorded_at, 1 AS source, \
     CAST(m.event_id AS TEXT) || CAST(m.terminal_id AS TEXT) AS k, m.voucher_id AS voucher_id, \
     m.served_at AS at, m.slot AS a, m.status AS b, m.reason AS c, m.method AS d \
     FROM meals m JOIN vouchers v ON v.id = m.voucher_id AND v.school_bin = m.school_bin \
     JOIN student_representatives r ON r.student_iin = v.student_iin \
     WHERE r.representative_iin = $1 \
     UNION ALL \
     SELECT s.received_at, 2, CAST(s.event_id AS TEXT) || CAST(s.terminal_id AS TEXT), \
     s.voucher_id, s.at, NULL, NULL, s.reason, s.method \
     FROM scan_denials s JOIN vouchers v ON v.id = s.voucher_id AND v.school_bin = s.school_bin \
     JOIN student_representatives r ON r.student_iin = v.student_iin \
     WHERE r.representative_iin = $1 \
     UNION ALL \
     SELECT l.at, 3, CAST(l.id AS TEXT), v.id, l.at, l.action, l.from_state, l.to_state, NULL \
     FROM audit_log l JOIN vouchers v \
     ON l.entity_kind = 'voucher' AND l.entity_id = CAST(v.id AS TEXT) \
     JOIN student_representatives r ON r.student_iin = v.student_iin \
     WHERE r.representative_iin = $1) e \
     WHERE recorded_at > $2 OR (recorded_at = $2 AND source > $3) \
     OR (recorded_at = $2 AND source = $3 AND k > $4) \
     ORDER BY recorded_at, source, k LIMIT $5";

super::per_backend! {
    use crate::store::{parse_stored, StoreError};
    use sqlx::Row;

    fn item(row: &DbRow, source: i32) -> Result<FeedItem, StoreError> {
        let text = |col: &str| -> Result<Option<String>, StoreError> { Ok(row.try_get(col)?) };
        let required = |col: &str| -> Result<String, StoreError> {
            text(col)?.ok_or_else(|| StoreError::Corrupt(format!("feed column {col}")))
        };
        Ok(match source {
            1 => FeedItem::Meal {
                slot: required("a")?,
                method: required("d")?,
                status: parse_stored("meal status", &required("b")?)?,
                reason: text("c")?,
            },
            2 => FeedItem::Denial { reason: required("c")?, method: required("d")? },
            _ => FeedItem::Voucher {
                action: required("a")?,
                from_state: text("b")?,
                to_state: text("c")?,
            },
        })
    }

    /// At most `limit` events after `after`.
    pub(crate) async fn read(
        store: &Store,
        rep: Iin,
        after: &FeedCursor,
        limit: u32,
    ) -> Result<Vec<FeedEvent>, StoreError> {
        let rows = sqlx::query(FEED)
            .bind(rep.expose())
            .bind(ts(after.recorded_at))
            .bind(after.source)
            .bind(&after.key)
            .bind(i64::from(limit))
            .fetch_all(&store.pool)
            .await?;
        rows.iter()
            .map(|row| {
                let source: i32 = row.try_get("source")?;
                Ok(FeedEvent {
                    cursor: FeedCursor {
                        recorded_at: get_ts(row, "recorded_at")?,
                        source,
                        key: row.try_get("k")?,
                    },
                    voucher: VoucherId::from_uuid(get_uuid(row, "voucher_id")?),
                    at: get_ts(row, "at")?,
                    item: item(row, source)?,
                })
            })
            .collect()
    }
}
