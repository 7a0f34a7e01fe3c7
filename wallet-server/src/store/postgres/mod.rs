//! The PostgreSQL store: what production runs. Same behaviour as the SQLite store (the
//! store story test runs against both); native types (`uuid`, `date`, `timestamptz`).
//!
//! Writes that must see a consistent row use `SELECT … FOR UPDATE` or a conditional UPDATE,
//! so concurrent servers never lose an update or double a transition.

mod facts_listener;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use sqlx::postgres::{PgPool, PgPoolOptions};

use super::facts_cache::FactsCache;
use super::StoreError;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// PostgreSQL implementation of [`Store`].
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pub(in crate::store) pool: PgPool,
    /// One connection, opened by the listener when it starts.
    listen_pool: PgPool,
    /// Off until its listener listens (`facts_listener.rs`), started at the first lookup.
    facts: Arc<FactsCache>,
    listening: Arc<AtomicBool>,
}

impl PostgresStore {
    /// Connects to `url` and applies migrations.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            // A request waits this long for a connection: when PostgreSQL is down or
            // restarting it gets a prompt 503 instead of hanging; broken connections are
            // tested before use and replaced, so the pool recovers by itself.
            .acquire_timeout(std::time::Duration::from_secs(3))
            .test_before_acquire(true)
            .connect(url)
            .await?;
        MIGRATOR.run(&pool).await?;
        Ok(PostgresStore {
            pool,
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
