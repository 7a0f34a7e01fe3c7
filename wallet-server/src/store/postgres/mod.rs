//! The PostgreSQL store: what production runs. Same behaviour as the SQLite store (the
//! store story test runs against both); native types (`uuid`, `date`, `timestamptz`).
//!
//! Writes that must see a consistent row use `SELECT … FOR UPDATE` or a conditional UPDATE,
//! so concurrent servers never lose an update or double a transition.

mod facts_listener;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::Connection;

use super::facts_cache::FactsCache;
use super::grouped::Grouped;
use super::sql::{mint_windows, vouchers};
use super::StoreError;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// PostgreSQL implementation of [`Store`].
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pub(in crate::store) pool: PgPool,
    /// Connections for a pass mint's two grouped statements, the counts and the
    /// represented-voucher lookups (see [`PostgresStore::connect`]).
    pub(in crate::store) counts: PgPool,
    /// One connection, opened by the listener when it starts.
    listen_pool: PgPool,
    /// Off until its listener listens (`facts_listener.rs`), started at the first lookup.
    facts: Arc<FactsCache>,
    listening: Arc<AtomicBool>,
    /// Represented-voucher lookups that missed the cache, in groups (`grouped.rs`).
    pub(in crate::store) represented: Grouped<vouchers::postgres::RepresentedLookups>,
    /// Pass mint counts, in groups, through `counts`.
    pub(in crate::store) mint_counts: Grouped<mint_windows::postgres::MintCounts>,
}

impl PostgresStore {
    /// Connects to `url` and applies migrations.
    ///
    /// Two pools: the main one, and a small one for a pass mint's grouped statements (the
    /// represented-voucher lookup and the count), which plans once (`plan_cache_mode=
    /// force_generic_plan`) and whose commits do not wait for the WAL flush
    /// (`synchronous_commit=off`).
    ///
    /// Planning: a group's lookup knows its arrays' sizes, so PostgreSQL found a custom plan
    /// for each cheaper than its one generic plan and planned every group anew, 224 µs each,
    /// more than the lookup ran (measured, issue 18). The generic plan is the one wanted: an
    /// index scan per key. Commits: a count is the only write whose
    /// loss costs nothing but a few extra passes: if PostgreSQL itself crashes, the counts
    /// of its last fraction of a second (at most three `wal_writer_delay`s) may be forgotten,
    /// and nothing is ever corrupted. Every other write waits for the disk. Measured in
    /// BENCHMARKS.md (issue 18): a WAL flush per mint was the database's largest cost.
    ///
    /// Every connection runs with `jit=off`. PostgreSQL JIT-compiles a query whose estimated
    /// cost passes `jit_above_cost`, and the estimate grows with stale statistics: the
    /// daily report's per-school counts compiled for about 200 ms each to run for 10 ms
    /// (measured, issue 18). This server's queries are short; compiling never pays.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let options = PgConnectOptions::from_str(url)?.options([("jit", "off")]);
        let pool = pool_options(16).connect_with(options.clone()).await?;
        MIGRATOR.run(&pool).await?;
        let counts = pool_options(4).connect_lazy_with(options.options([
            ("synchronous_commit", "off"),
            ("plan_cache_mode", "force_generic_plan"),
        ]));
        Ok(PostgresStore {
            represented: Grouped::new(vouchers::postgres::RepresentedLookups(counts.clone())),
            mint_counts: Grouped::new(mint_windows::postgres::MintCounts(counts.clone())),
            pool,
            counts,
            listen_pool: PgPoolOptions::new().max_connections(1).connect_lazy(url)?,
            facts: Arc::new(FactsCache::new(false)),
            listening: Arc::new(AtomicBool::new(false)),
        })
    }

    /// The represented-voucher cache; the first call starts its listener (so a store that
    /// never mints holds no extra connection). Must be called on the Tokio runtime.
    /// Represented-voucher lookups answered from memory so far, and whether the cache
    /// answers now (tests and benches).
    pub fn facts_cache_stats(&self) -> (u64, bool) {
        (self.facts.hits(), self.facts.is_live())
    }

    /// Switches the cache off (or back on), so a bench can time the lookup it spares. On
    /// PostgreSQL the listener switches it on again when it reconnects.
    pub fn set_facts_cache(&self, on: bool) {
        self.facts.set_live(on);
    }

    pub(in crate::store) fn facts(&self) -> &FactsCache {
        if !self.listening.swap(true, Ordering::AcqRel) {
            let cache = Arc::downgrade(&self.facts);
            tokio::spawn(facts_listener::run(self.listen_pool.clone(), cache));
        }
        &self.facts
    }
}

/// How long a pooled connection may sit idle and still be trusted without a ping.
const TRUSTED_IDLE: Duration = Duration::from_secs(1);

/// The server's pools: a request waits at most 3 s for a connection, so when PostgreSQL is
/// down or restarting it gets a prompt 503 instead of hanging. sqlx pings every connection
/// as it goes back to the pool, so one used within the last second is known good; only one
/// idle for longer (PostgreSQL may have restarted meanwhile) is pinged before use. Pinging
/// every acquire (sqlx's default) cost a round trip per query: a third of a mint's trips.
fn pool_options(max: u32) -> PgPoolOptions {
    PgPoolOptions::new()
        .max_connections(max)
        .acquire_timeout(Duration::from_secs(3))
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for > TRUSTED_IDLE {
                    conn.ping().await?;
                }
                Ok(true)
            })
        })
}
