//! The per-voucher pass mint counts: one row per voucher and fixed window, so the limit
//! (`services::passes::mint`) holds across restarts and across server processes on one
//! database.
//!
//! A mint is counted by one statement, an upsert whose update only runs while the window has
//! room: `RETURNING` yields the new count, or no row when the window is full. PostgreSQL
//! re-checks the condition on the latest row version under the row lock, SQLite holds the
//! database's write lock for the statement, so concurrent mints never count past the limit.
//! A SQLite server counts in
//! memory and stores behind (`services::passes::mint_memory`: `mint_counts_in_window` loads a
//! window, `store_mint_counts` writes "at least" counts). Counts go through the store's
//! `counts` pool, whose commits do not wait for the disk (why that is safe:
//! `SqliteStore::counts_pool`, `PostgresStore::connect`).

use async_trait::async_trait;
use shared::VoucherId;
use sqlx::{QueryBuilder, Row as _};
use time::OffsetDateTime;

super::per_backend! {
    use crate::store::{MintLimitStore, StoreError};

    #[async_trait]
    impl MintLimitStore for Store {
        async fn count_mint(
            &self,
            voucher: VoucherId,
            window_start: OffsetDateTime,
            limit: u32,
        ) -> Result<bool, StoreError> {
            // One statement is atomic on its own: no transaction round trips.
            let minted: Option<i32> = sqlx::query_scalar(
                "INSERT INTO mint_windows (voucher_id, window_start, minted) VALUES ($1, $2, 1) \
                 ON CONFLICT (voucher_id, window_start) \
                 DO UPDATE SET minted = mint_windows.minted + 1 WHERE mint_windows.minted < $3 \
                 RETURNING minted",
            )
            .bind(uuid(voucher.as_uuid()))
            .bind(ts(window_start))
            .bind(i64::from(limit))
            .fetch_optional(&self.counts)
            .await?;
            Ok(minted.is_some())
        }

        async fn forget_mint_windows(&self, before: OffsetDateTime) -> Result<u64, StoreError> {
            let deleted = sqlx::query("DELETE FROM mint_windows WHERE window_start < $1")
                .bind(ts(before))
                .execute(&self.pool)
                .await?
                .rows_affected();
            Ok(deleted)
        }

        async fn mint_counts_in_window(
            &self,
            window_start: OffsetDateTime,
        ) -> Result<Vec<(VoucherId, u32)>, StoreError> {
            let rows = sqlx::query(
                "SELECT voucher_id, minted FROM mint_windows WHERE window_start = $1",
            )
            .bind(ts(window_start))
            // The main pool: on SQLite a reader never waits for the counts connection, which
            // may be inside a checkpoint (every mint waits for this load).
            .fetch_all(&self.pool)
            .await?;
            rows.iter()
                .map(|row| {
                    let minted: i32 = row.try_get("minted")?;
                    Ok((
                        VoucherId::from_uuid(get_uuid(row, "voucher_id")?),
                        u32::try_from(minted).unwrap_or(0),
                    ))
                })
                .collect()
        }

        async fn store_mint_counts(
            &self,
            counts: &[(VoucherId, OffsetDateTime, u32)],
        ) -> Result<(), StoreError> {
            let mut tx = write_counts(self).await?;
            if !counts.is_empty() {
                let mut q = QueryBuilder::<Db>::new(
                    "INSERT INTO mint_windows (voucher_id, window_start, minted) ",
                );
                Bulk::new()
                    .column(counts.iter().map(|(voucher, _, _)| uuid(voucher.as_uuid())))
                    .column(counts.iter().map(|(_, window_start, _)| ts(*window_start)))
                    .column(counts.iter().map(|(_, _, minted)| i64::from(*minted)))
                    .push_rows(&mut q);
                q.push(
                    " ON CONFLICT (voucher_id, window_start) DO UPDATE SET minted = \
                     CASE WHEN excluded.minted > mint_windows.minted \
                     THEN excluded.minted ELSE mint_windows.minted END",
                );
                q.build().execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(())
        }
    }
}
