//! The per-voucher pass mint counts: one row per voucher and fixed window, so the limit
//! (`services::passes::mint`) holds across restarts and across server processes on one
//! database.
//!
//! Mints are counted by one statement per group of concurrent mints (`MintCounts`), an
//! upsert whose update only runs while the window has room: `RETURNING` yields the new
//! count, or no row when the window is full. PostgreSQL re-checks the condition on the
//! latest row version under the row lock, SQLite holds the database's write lock for the
//! statement, so concurrent mints never count past the limit. A SQLite server counts in
//! memory and stores behind (`services::passes::mint_memory`: `mint_counts_in_window` loads a
//! window, `store_mint_counts` writes "at least" counts). Counts go through the store's
//! `counts` pool, whose commits do not wait for the disk (why that is safe:
//! `SqliteStore::counts_pool`, `PostgresStore::connect`).

use std::collections::{BTreeMap, HashMap};

use async_trait::async_trait;
use shared::VoucherId;
use sqlx::{QueryBuilder, Row as _};
use time::OffsetDateTime;

super::per_backend! {
    use crate::store::grouped::GroupWork;
    use crate::store::{MintLimitStore, StoreError};

    #[async_trait]
    impl MintLimitStore for Store {
        async fn count_mint(
            &self,
            voucher: VoucherId,
            window_start: OffsetDateTime,
            limit: u32,
        ) -> Result<bool, StoreError> {
            // With the other mints of the moment, in one statement (`MintCounts`).
            self.mint_counts.submit((voucher, window_start, limit)).await
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

    /// The pass mint counts, run in groups (`store/grouped.rs`) on the `counts` pool: one
    /// `(voucher, window start, limit)` per mint, answered with whether it had room.
    pub(in crate::store) struct MintCounts(pub(in crate::store) sqlx::Pool<Db>);

    #[async_trait]
    impl GroupWork for MintCounts {
        type Job = (VoucherId, OffsetDateTime, u32);
        type Answer = bool;
        async fn run(&self, mints: &[Self::Job]) -> Result<Vec<bool>, StoreError> {
            count_mints(&self.0, mints).await
        }
    }

    /// Counts a group of mints. One upsert per window adds each
    /// voucher's mints of the group at once, and only while the window had room; its
    /// `RETURNING` count less what was added is the count before, from which the group's
    /// mints of that voucher are granted in order. A refused mint of a group may leave the
    /// stored count above the limit (by fewer than the group's mints of the voucher); a
    /// full window never grows.
    async fn count_mints(
        pool: &sqlx::Pool<Db>,
        mints: &[(VoucherId, OffsetDateTime, u32)],
    ) -> Result<Vec<bool>, StoreError> {
        let mut granted = vec![false; mints.len()];
        // The group's mints by window and limit (one window but at a window's turn), then
        // by voucher, each voucher's in arrival order. Vouchers sorted: concurrent groups of
        // several servers lock their rows in the same order, so they never deadlock.
        let mut by_window: HashMap<(OffsetDateTime, u32), BTreeMap<VoucherId, Vec<usize>>> =
            HashMap::new();
        for (i, (voucher, window, limit)) in mints.iter().enumerate() {
            by_window
                .entry((*window, *limit))
                .or_default()
                .entry(*voucher)
                .or_default()
                .push(i);
        }
        for ((window, limit), by_voucher) in by_window {
            let by_voucher: Vec<(VoucherId, Vec<usize>)> = by_voucher.into_iter().collect();
            let mut q = QueryBuilder::<Db>::new(
                "INSERT INTO mint_windows (voucher_id, window_start, minted) ",
            );
            Bulk::new()
                .column(by_voucher.iter().map(|(voucher, _)| uuid(voucher.as_uuid())))
                .column(by_voucher.iter().map(|_| ts(window)))
                .column(by_voucher.iter().map(|(_, asked)| asked.len() as i64))
                .push_rows(&mut q);
            q.push(
                " ON CONFLICT (voucher_id, window_start) \
                 DO UPDATE SET minted = mint_windows.minted + excluded.minted \
                 WHERE mint_windows.minted < ",
            );
            q.push_bind(i64::from(limit));
            q.push(" RETURNING voucher_id, minted");
            let rows = q.build().fetch_all(pool).await?;
            let mut after = HashMap::with_capacity(rows.len());
            for row in &rows {
                let minted: i64 = row.try_get::<i32, _>("minted")?.into();
                after.insert(VoucherId::from_uuid(get_uuid(row, "voucher_id")?), minted);
            }
            for (voucher, asked) in by_voucher {
                // Not returned: the window was full before the group.
                let Some(minted) = after.get(&voucher) else {
                    continue;
                };
                let before = minted - asked.len() as i64;
                // The group's k-th mint of the voucher (from 0) finds `before + k` counted.
                for (k, i) in asked.into_iter().enumerate() {
                    granted[i] = before + (k as i64) < i64::from(limit);
                }
            }
        }
        Ok(granted)
    }
}
