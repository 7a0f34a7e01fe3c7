//! The embedded SQLite store: one file, no set-up, what `--demo` and small deployments run.
//!
//! WAL journal with `synchronous=FULL`: a committed write survives a power cut. Writes open
//! with `BEGIN IMMEDIATE` so two writers queue on the lock instead of failing midway. The one
//! exception is the pass mint counts (`counts`): see [`SqliteStore::counts`].
//! Instants are stored as fixed-width UTC text (`2026-09-01T02:00:00.000000Z`) so that text
//! order is time order.

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use super::facts_cache::FactsCache;
use super::grouped::Grouped;
use super::sql::{mint_windows, vouchers};
use super::StoreError;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// SQLite implementation of [`Store`].
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pub(in crate::store) pool: SqlitePool,
    /// One connection with `synchronous=NORMAL`, for the pass mint counts only.
    pub(in crate::store) counts: SqlitePool,
    /// One process owns the file: its own writes are all the invalidation there is.
    facts: Arc<FactsCache>,
    /// Represented-voucher lookups that missed the cache, in groups (`grouped.rs`).
    pub(in crate::store) represented: Grouped<vouchers::sqlite::RepresentedLookups>,
    /// Pass mint counts, in groups, through `counts`.
    pub(in crate::store) mint_counts: Grouped<mint_windows::sqlite::MintCounts>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database file, with owner-only permissions on its
    /// directory, and applies migrations.
    pub async fn open_file(path: &Path) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            shared::private_file::create_dir(dir).map_err(|e| {
                StoreError::Database(sqlx::Error::Configuration(
                    format!("cannot create data directory {}: {e}", dir.display()).into(),
                ))
            })?;
        }
        let options = SqliteConnectOptions::new().filename(path);
        Self::with_options(options).await
    }

    /// Opens a `sqlite:` URL (e.g. `sqlite:///var/lib/wallet/wallet.db`).
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::with_options(SqliteConnectOptions::from_str(url)?).await
    }

    async fn with_options(options: SqliteConnectOptions) -> Result<Self, StoreError> {
        private_files(options.get_filename())?;
        let options = options
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10))
            // 16 MiB of pages per connection (SQLite's default is 2 MiB): a mint's voucher
            // lookup found most pages outside a 2 MiB cache with 40,000 vouchers and paid a
            // read(2) per page (BENCHMARKS.md, issue 18).
            .pragma("cache_size", "-16384");
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options.clone())
            .await?;
        MIGRATOR.run(&pool).await?;
        let counts = if in_memory(options.get_filename()) {
            // Another connection would open another, empty database.
            pool.clone()
        } else {
            Self::counts_pool(options).await?
        };
        Ok(SqliteStore {
            represented: Grouped::new(vouchers::sqlite::RepresentedLookups(pool.clone())),
            mint_counts: Grouped::new(mint_windows::sqlite::MintCounts(counts.clone())),
            pool,
            counts,
            facts: Arc::new(FactsCache::new(true)),
        })
    }

    /// The pool the pass mint counts (`sql/mint_windows.rs`) are written through: one
    /// connection whose commits do not wait for the disk (`synchronous=NORMAL` in WAL mode).
    /// A count is the only write whose loss costs nothing but a few extra passes: a power
    /// cut (not a crash of the process, which loses nothing) may forget the last counts
    /// before the next checkpoint, so a voucher could mint up to one more window's worth.
    /// Every other write keeps `FULL`. Measured in BENCHMARKS.md (issue 18): the fsync per
    /// count batch was the largest single cost of a mint after the signature.
    async fn counts_pool(options: SqliteConnectOptions) -> Result<SqlitePool, StoreError> {
        Ok(SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.synchronous(SqliteSynchronous::Normal))
            .await?)
    }

    /// The represented-voucher cache (`store/facts_cache.rs`).
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
        &self.facts
    }
}

/// The database and its side files hold personal data: created `0600` (SQLite gives its
/// `-wal` and `-shm` files the database's mode), and tightened when found readable by
/// others (an existing directory, a copy, an old version's files).
fn in_memory(db: &Path) -> bool {
    db.as_os_str().is_empty() || db == Path::new(":memory:")
}

fn private_files(db: &Path) -> Result<(), StoreError> {
    if in_memory(db) {
        return Ok(());
    }
    let refused = |path: &Path, e: std::io::Error| {
        StoreError::Database(sqlx::Error::Configuration(
            format!("cannot make {} owner-only: {e}", path.display()).into(),
        ))
    };
    if let Some(was) = shared::private_file::prepare(db).map_err(|e| refused(db, e))? {
        tracing::warn!(path = %db.display(), mode = format!("{was:o}"),
            "database file was readable by others; made it owner-only");
    }
    for suffix in ["-wal", "-shm"] {
        let mut side = db.as_os_str().to_owned();
        side.push(suffix);
        let side = std::path::PathBuf::from(side);
        if let Some(was) = shared::private_file::tighten(&side).map_err(|e| refused(&side, e))? {
            tracing::warn!(path = %side.display(), mode = format!("{was:o}"),
                "database side file was readable by others; made it owner-only");
        }
    }
    Ok(())
}
