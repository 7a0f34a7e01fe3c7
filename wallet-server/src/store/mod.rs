//! Storage behind one trait, two implementations: SQLite (embedded default) and PostgreSQL
//! (production). The services only ever see `dyn Store`, so both backends must behave the
//! same; `tests/store_story.rs` runs one scenario against each to prove it.
//!
//! Each backend owns its SQL and its migrations (`migrations/<backend>/`), applied at open.

mod postgres;
mod sqlite;

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use shared::{Bin, Iin, VoucherId};
use time::OffsetDateTime;

use crate::audit::{AuditEntry, AuditRecord};
use crate::domain::{Relation, Representative, School, Student};
use crate::vouchers::{NewVoucher, Voucher, VoucherState, VoucherView};

pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;

/// What can go wrong in storage, in words the services can act on.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// The row changed under us: the state was not the one the caller expected.
    #[error("conflict: current state is {current}")]
    Conflict { current: String },
    /// A value read from the database does not parse; the database was edited by hand or
    /// a migration is missing.
    #[error("corrupt row: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
}

/// Result of forming a voucher: it is idempotent by (programme, student, period).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Formed {
    /// A new voucher was formed.
    New(Voucher),
    /// A live voucher already existed for this student, programme and period.
    Existing(Voucher),
}

impl Formed {
    pub fn voucher(&self) -> &Voucher {
        match self {
            Formed::New(v) | Formed::Existing(v) => v,
        }
    }
}

/// Which backend a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn as_str(&self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// The server's storage. Every method is one transaction.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    fn backend(&self) -> Backend;

    /// A cheap round trip, for readiness checks.
    async fn ping(&self) -> Result<(), StoreError>;

    async fn upsert_school(&self, school: &School, now: OffsetDateTime) -> Result<(), StoreError>;
    async fn school(&self, bin: Bin) -> Result<Option<School>, StoreError>;

    /// Inserts or updates a student; the school must exist.
    async fn upsert_student(
        &self,
        student: &Student,
        now: OffsetDateTime,
    ) -> Result<(), StoreError>;
    async fn student(&self, iin: Iin) -> Result<Option<Student>, StoreError>;

    async fn upsert_representative(
        &self,
        rep: &Representative,
        now: OffsetDateTime,
    ) -> Result<(), StoreError>;
    /// Records that `rep` represents `student` (idempotent; the relation is updated).
    async fn link_representative(
        &self,
        student: Iin,
        rep: Iin,
        relation: Relation,
    ) -> Result<(), StoreError>;
    /// The representatives of a student, mother first, then father, then guardians.
    async fn representatives_of(
        &self,
        student: Iin,
    ) -> Result<Vec<(Representative, Relation)>, StoreError>;

    /// Forms a voucher unless a live one (formed or activated) exists for the same
    /// programme, student and period; appends `audit` only when a new one is formed.
    async fn form_voucher(
        &self,
        voucher: &NewVoucher,
        audit: &AuditEntry,
    ) -> Result<Formed, StoreError>;
    async fn voucher(&self, id: VoucherId) -> Result<Option<Voucher>, StoreError>;
    /// Moves a voucher from `from` to `to` atomically with its audit entry. Fails with
    /// `Conflict` (and changes nothing) when the current state is not `from`.
    async fn transition_voucher(
        &self,
        id: VoucherId,
        from: VoucherState,
        to: VoucherState,
        audit: &AuditEntry,
    ) -> Result<Voucher, StoreError>;
    /// Vouchers of the students a representative represents, newest first.
    async fn vouchers_of_representative(&self, rep: Iin) -> Result<Vec<VoucherView>, StoreError>;
    /// Vouchers of a school's students, by class then name.
    async fn vouchers_of_school(&self, school: Bin) -> Result<Vec<VoucherView>, StoreError>;

    /// The audit trail of one entity, oldest first.
    async fn audit_trail(
        &self,
        entity_kind: &str,
        entity_id: &str,
    ) -> Result<Vec<AuditRecord>, StoreError>;
}

/// Opens the store the configuration asks for: PostgreSQL for a `postgres://` URL,
/// otherwise SQLite at `<data_dir>/wallet.db` (created on first start).
pub async fn open(
    database_url: Option<&str>,
    data_dir: &Path,
) -> Result<Arc<dyn Store>, StoreError> {
    match database_url {
        Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            Ok(Arc::new(PostgresStore::connect(url).await?))
        }
        Some(url) if url.starts_with("sqlite:") => Ok(Arc::new(SqliteStore::connect(url).await?)),
        Some(other) => Err(StoreError::Database(sqlx::Error::Configuration(
            format!(
                "DATABASE_URL must start with postgres:// or sqlite: (got {:?})",
                other.split(':').next().unwrap_or("")
            )
            .into(),
        ))),
        None => Ok(Arc::new(
            SqliteStore::open_file(&data_dir.join("wallet.db")).await?,
        )),
    }
}

/// Parses a stored word or reports the row as corrupt.
pub(crate) fn parse_stored<T: std::str::FromStr>(what: &str, s: &str) -> Result<T, StoreError> {
    s.parse()
        .map_err(|_| StoreError::Corrupt(format!("stored {what} does not parse")))
}
