//! The database a test's servers run on: SQLite in the data directory, or a fresh PostgreSQL
//! database on the server `TEST_DATABASE_URL` points at (dropped when the test ends), so one
//! HTTP story can be told on both backends. `REQUIRE_POSTGRES=1` makes a missing
//! `TEST_DATABASE_URL` a failure instead of a skip.

#[path = "../../../wallet-server/tests/support/scratch_db.rs"]
mod scratch_db;

use std::path::Path;

/// Where the servers of a test keep their data.
pub enum Backend {
    Sqlite,
    Postgres {
        admin_url: String,
        name: String,
        url: String,
    },
}

impl Backend {
    /// SQLite, then PostgreSQL when the environment offers it.
    pub async fn all() -> Vec<Backend> {
        let mut all = vec![Backend::Sqlite];
        all.extend(Backend::postgres().await);
        all
    }

    /// A fresh PostgreSQL database; `None` (with a word on stderr) without
    /// `TEST_DATABASE_URL`.
    pub async fn postgres() -> Option<Backend> {
        let Ok(admin_url) = std::env::var("TEST_DATABASE_URL") else {
            assert!(
                std::env::var("REQUIRE_POSTGRES").as_deref() != Ok("1"),
                "REQUIRE_POSTGRES=1 but TEST_DATABASE_URL is not set"
            );
            eprintln!("TEST_DATABASE_URL not set: PostgreSQL is not tested");
            return None;
        };
        let (name, url) = scratch_db::create_database(&admin_url, "http").await;
        Some(Backend::Postgres {
            admin_url,
            name,
            url,
        })
    }

    pub fn name(&self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres { .. } => "postgres",
        }
    }

    /// The server arguments that pick this database.
    pub fn args(&self) -> Vec<&str> {
        match self {
            Backend::Sqlite => Vec::new(),
            Backend::Postgres { url, .. } => vec!["--database-url", url],
        }
    }

    /// The audit entries of one entity, oldest first: `(action, actor, reason)`. The audit
    /// log has no HTTP view, so the test reads the database the servers wrote.
    pub async fn audit_trail(
        &self,
        data_dir: &Path,
        kind: &str,
        id: &str,
    ) -> Vec<(String, String, Option<String>)> {
        const SQL: &str = "SELECT action, actor, reason FROM audit_log \
                           WHERE entity_kind = $1 AND entity_id = $2 ORDER BY id";
        match self {
            Backend::Sqlite => {
                let url = format!("sqlite://{}", data_dir.join("wallet.db").display());
                let pool = sqlx::SqlitePool::connect(&url).await.expect("open sqlite");
                let rows = sqlx::query_as(SQL)
                    .bind(kind)
                    .bind(id)
                    .fetch_all(&pool)
                    .await;
                pool.close().await;
                rows.expect("read the audit log")
            }
            Backend::Postgres { url, .. } => {
                let pool = sqlx::PgPool::connect(url).await.expect("connect postgres");
                let rows = sqlx::query_as(SQL)
                    .bind(kind)
                    .bind(id)
                    .fetch_all(&pool)
                    .await;
                pool.close().await;
                rows.expect("read the audit log")
            }
        }
    }

    /// Drops the PostgreSQL database (ending its connections); nothing for SQLite.
    pub async fn drop_database(self) {
        if let Backend::Postgres {
            admin_url, name, ..
        } = self
        {
            if let Err(e) = scratch_db::drop_database(&admin_url, &name).await {
                eprintln!("could not drop database {name}: {e}");
            }
        }
    }
}
