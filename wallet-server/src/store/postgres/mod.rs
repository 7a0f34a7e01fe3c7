//! The PostgreSQL store: what production runs. Same behaviour as the SQLite store (the
//! store story test runs against both); native types (`uuid`, `date`, `timestamptz`).
//!
//! Writes that must see a consistent row use `SELECT … FOR UPDATE` or a conditional UPDATE,
//! so concurrent servers never lose an update or double a transition.

use sqlx::postgres::{PgPool, PgPoolOptions};

use super::StoreError;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// PostgreSQL implementation of [`Store`].
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pub(in crate::store) pool: PgPool,
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
        Ok(PostgresStore { pool })
    }
}
