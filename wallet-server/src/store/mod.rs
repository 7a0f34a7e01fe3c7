//! Storage behind one trait, two implementations: SQLite (embedded default) and PostgreSQL
//! (production). The services only ever see `dyn Store`, so both backends must behave the
//! same; `tests/store_story/` runs one scenario against each to prove it.
//!
//! Every query is written once in `sql/` and expanded for both backends (see `sql/mod.rs`);
//! `sqlite/` and `postgres/` only open their pools. Migrations stay per backend
//! (`migrations/<backend>/`), applied at open.

mod consent_jobs;
mod console;
mod counter;
mod facts_cache;
pub mod grouped;
mod monthly;
mod ops;
mod postgres;
mod signals;
mod sql;
mod sqlite;

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use shared::{Bin, Iin, VoucherId};
use time::OffsetDateTime;

use crate::domain::audit::{AuditEntry, AuditRecord};
use crate::domain::feedback::{ComplaintLimit, Feedback, FeedbackStored};
use crate::domain::list::{ListOutcome, ValidList};
use crate::domain::meal::{MealJudge, MealRecord};
use crate::domain::outbox::OutboxMessage;
use crate::domain::tabel::StoredApproval;
use crate::domain::terminal::{
    CardBinding, CardBound, EnrollmentCode, NewTerminal, RosterPage, TerminalRecord,
};
use crate::domain::voucher::{NewVoucher, Voucher, VoucherState, VoucherView};
use crate::domain::{Relation, Representative, School, Student};
use shared::time::YearMonth;

pub use consent_jobs::*;
pub use console::{ConsoleSession, ConsoleStore, DayMeal};
pub use counter::{
    ClassShift, CounterStore, ExpectedStudent, SeenPage, ServedMeal, WorkerManualCount,
};
pub use monthly::MonthlyStore;
pub use ops::OpsStore;
pub use postgres::PostgresStore;
pub use signals::{MintNote, SignalFacts, SignalStore, StoredSignal};
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
    /// A group of requests (`grouped.rs`) found the database out of reach: each gets the
    /// cause.
    #[error(transparent)]
    Batch(std::sync::Arc<StoreError>),
}

impl StoreError {
    /// The database cannot be reached right now (down, restarting, no connection within the
    /// pool's wait): a retry later may succeed, nothing was changed.
    pub fn is_unavailable(&self) -> bool {
        let e = match self {
            StoreError::Database(e) => e,
            StoreError::Batch(e) => return e.is_unavailable(),
            _ => return false,
        };
        match e {
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::WorkerCrashed => true,
            // SQLSTATE class 08 (connection exception) and 57P (the server is shutting
            // down, crashed or starting up).
            sqlx::Error::Database(db) => db
                .code()
                .is_some_and(|c| c.starts_with("08") || c.starts_with("57P")),
            _ => false,
        }
    }
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

/// Liveness of the storage itself.
#[async_trait]
pub trait Health: Send + Sync {
    fn backend(&self) -> Backend;

    /// A cheap round trip, for readiness checks.
    async fn ping(&self) -> Result<(), StoreError>;
}

/// Schools, students and their representatives.
#[async_trait]
pub trait PeopleStore: Send + Sync {
    async fn upsert_school(&self, school: &School, now: OffsetDateTime) -> Result<(), StoreError>;
    async fn school(&self, bin: Bin) -> Result<Option<School>, StoreError>;

    /// Inserts or updates a student; the school must exist.
    async fn upsert_student(
        &self,
        student: &Student,
        now: OffsetDateTime,
    ) -> Result<(), StoreError>;
    /// A student wherever they study (lists and integrations; staff read through
    /// [`PeopleStore::student_at_school`]).
    async fn student(&self, iin: Iin) -> Result<Option<Student>, StoreError>;
    /// A student of `school` only: another school's student is `None`, as if unknown.
    async fn student_at_school(&self, school: Bin, iin: Iin)
        -> Result<Option<Student>, StoreError>;

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
}

/// Vouchers and their audit trail.
#[async_trait]
pub trait VoucherStore: Send + Sync {
    /// Forms a voucher unless a live one (formed or activated) exists for the same
    /// programme, student and period; appends `audit` only when a new one is formed.
    async fn form_voucher(
        &self,
        voucher: &NewVoucher,
        audit: &AuditEntry,
    ) -> Result<Formed, StoreError>;
    /// A voucher of any school (lists, jobs and tests; staff read through
    /// [`voucher_at_school`](Self::voucher_at_school), parents through the represented ones).
    async fn voucher(&self, id: VoucherId) -> Result<Option<Voucher>, StoreError>;
    /// A voucher of `school` only: another school's voucher is `None`, as if unknown.
    async fn voucher_at_school(
        &self,
        school: Bin,
        id: VoucherId,
    ) -> Result<Option<Voucher>, StoreError>;
    /// Moves a voucher from `from` to `to` atomically with its audit entry. Fails with
    /// `Conflict` (and changes nothing) when the current state is not `from`.
    async fn transition_voucher(
        &self,
        id: VoucherId,
        from: VoucherState,
        to: VoucherState,
        audit: &AuditEntry,
    ) -> Result<Voucher, StoreError>;
    /// Vouchers of the students a representative represents, newest first, with the number
    /// of billable meals in `month`.
    async fn vouchers_of_representative(
        &self,
        rep: Iin,
        month: YearMonth,
    ) -> Result<Vec<VoucherView>, StoreError>;
    /// One voucher, only if `rep` represents its student (otherwise `None`, as if it did
    /// not exist).
    async fn voucher_of_representative(
        &self,
        id: VoucherId,
        rep: Iin,
        month: YearMonth,
    ) -> Result<Option<VoucherView>, StoreError>;
    /// The voucher alone (no view columns, no meal count), only if `rep` represents its
    /// student: what minting a pass needs, on the hottest path of the morning.
    async fn represented_voucher(
        &self,
        id: VoucherId,
        rep: Iin,
    ) -> Result<Option<Voucher>, StoreError>;
    /// Vouchers of a school's students, by class then name.
    async fn vouchers_of_school(
        &self,
        school: Bin,
        month: YearMonth,
    ) -> Result<Vec<VoucherView>, StoreError>;

    /// The audit trail of one entity, oldest first.
    async fn audit_trail(
        &self,
        entity_kind: &str,
        entity_id: &str,
    ) -> Result<Vec<AuditRecord>, StoreError>;
}

/// Monthly eligibility lists.
#[async_trait]
pub trait EligibilityStore: Send + Sync {
    /// Applies a validated list in one transaction: registers the school, stores students
    /// and representatives, forms vouchers for rows that get one, records who is on the
    /// list, and revokes the vouchers of students the list no longer carries.
    async fn apply_eligibility_list(&self, list: &ValidList) -> Result<ListOutcome, StoreError>;
}

/// What school staff manage: ID cards and terminal enrollment codes.
#[async_trait]
pub trait SchoolOpsStore: Send + Sync {
    /// Binds a card to a student of `school`. Rebinding the same pair is harmless; a new card
    /// replaces the student's old one; a card bound to another student of this school is a
    /// `Conflict`; a card bound at another school is taken over (unbound from that school's
    /// student with an audit entry and a roster change, in the same transaction); a student
    /// not of this school is `NotFound`.
    async fn bind_card(&self, binding: &CardBinding) -> Result<CardBound, StoreError>;
    /// Stores a one-time enrollment code by its hash.
    async fn create_enrollment_code(&self, code: &EnrollmentCode) -> Result<(), StoreError>;
}

/// The per-voucher pass mint counts (`services::passes::mint`), shared by every server
/// process on the database.
#[async_trait]
pub trait MintLimitStore: Send + Sync {
    /// Counts one mint of `voucher` in the window starting at `window_start` if fewer than
    /// `limit` (≥ 1) are counted there; `false` (nothing counted) for a full window. One
    /// statement, atomic: concurrent calls, in any process, never count past `limit`.
    async fn count_mint(
        &self,
        voucher: VoucherId,
        window_start: OffsetDateTime,
        limit: u32,
    ) -> Result<bool, StoreError>;
    /// Deletes the counts of windows that started before `before`; how many.
    async fn forget_mint_windows(&self, before: OffsetDateTime) -> Result<u64, StoreError>;
    /// The counts stored for the window starting at `window_start`, for a process that
    /// counts in memory (`services::passes::mint_memory`).
    async fn mint_counts_in_window(
        &self,
        window_start: OffsetDateTime,
    ) -> Result<Vec<(VoucherId, u32)>, StoreError>;
    /// Stores counts made in memory, in one transaction: each `(voucher, window_start)` row
    /// becomes at least its count (a lower one never overwrites a higher).
    async fn store_mint_counts(
        &self,
        counts: &[(VoucherId, OffsetDateTime, u32)],
    ) -> Result<(), StoreError>;
}

/// Meals and feedback as the wallet shows them.
#[async_trait]
pub trait WalletRecordStore: Send + Sync {
    /// Meals recorded on a voucher, newest first, only if `rep` represents its student and
    /// only those recorded by the voucher's school (the walls are in the query itself).
    async fn meals_of_voucher(
        &self,
        id: VoucherId,
        rep: Iin,
    ) -> Result<Vec<MealRecord>, StoreError>;
    /// Stores feedback and, in the same transaction, the complaint's outbox message — unless
    /// it is a complaint and the parent's complaints on the voucher since `limit.since`
    /// already number `limit.max`: then nothing is stored.
    async fn add_feedback(
        &self,
        feedback: &Feedback,
        outbox: Option<&OutboxMessage>,
        limit: &ComplaintLimit,
    ) -> Result<FeedbackStored, StoreError>;
    /// Outbox messages, newest first (at most `limit`).
    async fn outbox(&self, limit: i64) -> Result<Vec<OutboxMessage>, StoreError>;
}

/// Canteen terminals: enrollment, device tokens, roster pulls, meal pushes.
#[async_trait]
pub trait TerminalStore: Send + Sync {
    /// Uses a one-time code (by hash) and enrolls the terminal at the code's school.
    /// Unknown code → `NotFound`; used or expired → `Conflict { current: "used" | "expired" }`.
    async fn enroll_terminal(
        &self,
        code_hash: &str,
        terminal: &NewTerminal,
        now: OffsetDateTime,
    ) -> Result<School, StoreError>;
    /// The terminal holding this token, unless revoked.
    async fn terminal_by_token(
        &self,
        token_hash: &str,
    ) -> Result<Option<TerminalRecord>, StoreError>;
    async fn terminals_of_school(&self, school: Bin) -> Result<Vec<TerminalRecord>, StoreError>;
    /// Revokes a terminal of `school` (idempotent); `NotFound` for another school's.
    async fn revoke_terminal(
        &self,
        school: Bin,
        id: uuid::Uuid,
        audit: &AuditEntry,
    ) -> Result<(), StoreError>;
    /// Notes that a terminal called in.
    async fn touch_terminal(&self, id: uuid::Uuid, now: OffsetDateTime) -> Result<(), StoreError>;
    /// Roster changes of a school after `cursor` (the whole roster of live vouchers for 0 or
    /// a cursor the server does not know).
    async fn roster_since(&self, school: Bin, cursor: i64) -> Result<RosterPage, StoreError>;
    /// The school's meal slots (empty: the default whole-day slot applies).
    async fn meal_slots(&self, school: Bin) -> Result<Vec<shared::sync::MealSlot>, StoreError>;
    async fn set_meal_slots(
        &self,
        school: Bin,
        slots: &[shared::sync::MealSlot],
    ) -> Result<(), StoreError>;
    /// Records a batch of meals in one transaction: replays answer as before; rejected
    /// events (per `judge`) are kept as rejected; the meal rule makes a second meal in a
    /// slot a `duplicate`.
    async fn record_meals(
        &self,
        terminal: &TerminalRecord,
        batch: &shared::sync::MealBatch,
        now: OffsetDateTime,
        judge: MealJudge<'_>,
    ) -> Result<Vec<shared::sync::MealResult>, StoreError>;
    /// Applies several terminals' pushes in one write transaction (group commit), in order:
    /// each push's denials, meals and voids exactly as on its own, a push seeing the ones
    /// before it. One answer per push; all or nothing.
    async fn record_pushes(
        &self,
        pushes: &[MealPush<'_>],
    ) -> Result<Vec<shared::sync::MealBatchResult>, StoreError>;
}

/// One terminal's push, as [`TerminalStore::record_pushes`] applies it.
pub struct MealPush<'a> {
    pub terminal: &'a TerminalRecord,
    pub batch: &'a shared::sync::MealBatch,
    /// When the server received it.
    pub now: OffsetDateTime,
    /// The meal rule for this terminal's school at `now`.
    pub judge: MealJudge<'a>,
}

/// The табель: its facts, approvals and meal prices.
#[async_trait]
pub trait TabelStore: Send + Sync {
    /// Students with a voucher in the month, the month's meals, the previous month's late
    /// meals, slots and the meal price (`default_price_tiyn` unless the school has its own).
    async fn tabel_facts(
        &self,
        school: Bin,
        month: YearMonth,
        default_price_tiyn: i64,
    ) -> Result<crate::domain::tabel::TabelFacts, StoreError>;
    async fn tabel_approval(
        &self,
        school: Bin,
        month: YearMonth,
    ) -> Result<Option<StoredApproval>, StoreError>;
    /// Freezes a month; `Conflict` if it is already approved (nothing changes).
    async fn approve_tabel(
        &self,
        school: Bin,
        month: YearMonth,
        approval: &StoredApproval,
        audit: &AuditEntry,
    ) -> Result<(), StoreError>;
    async fn set_meal_price(
        &self,
        school: Bin,
        programme: crate::domain::Programme,
        price_tiyn: i64,
        now: OffsetDateTime,
    ) -> Result<(), StoreError>;
}

/// The school calendar and the director's confirmations of meals on non-school days.
#[async_trait]
pub trait CalendarStore: Send + Sync {
    /// What decides a school's days over whole school years `first..=last`: its weeks, the
    /// declared national dates, and the breaks of the country, its region and itself.
    /// `NotFound` for an unknown school.
    async fn school_calendar(
        &self,
        school: Bin,
        first: crate::domain::calendar::SchoolYear,
        last: crate::domain::calendar::SchoolYear,
    ) -> Result<crate::domain::calendar::SchoolCalendar, StoreError>;
    /// The school's region, if set; `NotFound` for an unknown school.
    async fn school_region(
        &self,
        school: Bin,
    ) -> Result<Option<crate::domain::calendar::Region>, StoreError>;
    /// A school year's declared dates and its breaks of every scope.
    async fn national_calendar(
        &self,
        year: crate::domain::calendar::SchoolYear,
    ) -> Result<
        (
            Vec<crate::domain::calendar::DeclaredDay>,
            Vec<crate::domain::calendar::SchoolBreak>,
        ),
        StoreError,
    >;
    /// Applies one change with its audit entry. `Conflict { current: "approved BIN/YYYY-MM" }`
    /// when a month the change touches is approved for a school it applies to; `NotFound`
    /// when it removes what is not there or names an unknown school. Nothing changes then.
    async fn change_calendar(
        &self,
        change: &crate::domain::calendar::CalendarChange,
        audit: &AuditEntry,
    ) -> Result<(), StoreError>;
    /// Records the director's confirmation of a meal (by event id) of `month`, with its audit
    /// entry; `true` when new, `false` when it was confirmed before (nothing written).
    /// `Conflict` when the month is approved.
    async fn confirm_off_day_meal(
        &self,
        school: Bin,
        event_id: uuid::Uuid,
        month: YearMonth,
        audit: &AuditEntry,
    ) -> Result<bool, StoreError>;
    /// One meal of a school by its event id, as the табель sees it.
    async fn school_meal(
        &self,
        school: Bin,
        event_id: uuid::Uuid,
    ) -> Result<Option<crate::domain::tabel::MealFact>, StoreError>;
}

/// Daily reports to NOBD.
/// A day's report as the store holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DayReport {
    /// Built: the latest version's body, as sent.
    Stored(String),
    /// Not built yet: every school's figures counted now, by BIN.
    Live(Vec<crate::domain::report::SchoolDay>),
}

/// Where a row of [`ReportStore::school_days`] comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FiguresSource {
    /// Counted now from vouchers and meals.
    Live,
    /// As stored in this version of the day's report.
    Stored { version: u32 },
    /// The day's report was built (figures zero: a marker).
    Built,
}

impl FiguresSource {
    pub(crate) fn parse(src: &str, version: i64) -> Result<FiguresSource, StoreError> {
        match src {
            "live" => Ok(FiguresSource::Live),
            "built" => Ok(FiguresSource::Built),
            "stored" => u32::try_from(version)
                .map(|version| FiguresSource::Stored { version })
                .map_err(|_| StoreError::Corrupt("report version".into())),
            other => Err(StoreError::Corrupt(format!("figures source {other:?}"))),
        }
    }
}

/// One school's figures of one day from one source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayFigures {
    pub day: time::Date,
    pub source: FiguresSource,
    pub figures: crate::domain::report::SchoolDay,
}

#[async_trait]
pub trait ReportStore: Send + Sync {
    /// Per school (every school), the day's voucher changes and meals.
    async fn daily_facts(
        &self,
        day: time::Date,
    ) -> Result<Vec<crate::domain::report::SchoolDay>, StoreError>;
    /// The day's meal figures, what a correction compares, of every school (`None`: the
    /// daily sweep) or of `schools` only (a group of pushes corrects its own schools'
    /// lines), by BIN, in one statement; a BIN with no school row gives nothing.
    async fn day_meals(
        &self,
        day: time::Date,
        schools: Option<&[Bin]>,
    ) -> Result<Vec<crate::domain::report::SchoolMeals>, StoreError>;
    /// The latest version of a day's report as sent (the corrections' newest, else the
    /// first).
    async fn stored_report(&self, day: time::Date) -> Result<Option<String>, StoreError>;
    /// A day's report in one statement: the latest stored body, else every school's facts.
    async fn report_of_day(&self, day: time::Date) -> Result<DayReport, StoreError>;
    /// One school's days `first..=last` in one statement: live counts, stored figures per
    /// report version and which days' reports were built ([`DayFigures`], unordered).
    async fn school_days(
        &self,
        school: Bin,
        first: time::Date,
        last: time::Date,
    ) -> Result<Vec<DayFigures>, StoreError>;
    /// Schools with a school-meals voucher in `month` (as the табель counts them), by BIN.
    async fn schools_with_vouchers(&self, month: YearMonth) -> Result<Vec<Bin>, StoreError>;
    /// Stores a day's report and queues its outbox message in one transaction; `false` (and
    /// nothing queued) when the day was already stored.
    async fn save_report(
        &self,
        day: time::Date,
        body: &str,
        message: &OutboxMessage,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;
    /// Stores a correction (`version` ≥ 2) of a day's report with its reason and queues its
    /// message in one transaction; `false` (nothing queued) when that version is stored.
    async fn save_report_version(
        &self,
        day: time::Date,
        version: u32,
        body: &str,
        reason: &str,
        message: &OutboxMessage,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;
}

/// The server's storage: every capability, each method one transaction.
pub trait Store:
    Health
    + PeopleStore
    + VoucherStore
    + EligibilityStore
    + SchoolOpsStore
    + MintLimitStore
    + WalletRecordStore
    + TerminalStore
    + TabelStore
    + CalendarStore
    + ConsentStore
    + JobStore
    + OutboxStore
    + ReportStore
    + ConsoleStore
    + CounterStore
    + OpsStore
    + SignalStore
    + MonthlyStore
    + 'static
{
}

impl<T> Store for T where
    T: Health
        + PeopleStore
        + VoucherStore
        + EligibilityStore
        + SchoolOpsStore
        + MintLimitStore
        + WalletRecordStore
        + TerminalStore
        + TabelStore
        + CalendarStore
        + ConsentStore
        + JobStore
        + OutboxStore
        + ReportStore
        + ConsoleStore
        + CounterStore
        + OpsStore
        + SignalStore
        + MonthlyStore
        + 'static
{
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
