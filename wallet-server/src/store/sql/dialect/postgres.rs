//! PostgreSQL: native `uuid`, `date` and `timestamptz`; the codecs are the identity. Writes
//! that must see a consistent row use `SELECT … FOR UPDATE` or a conditional UPDATE inside a
//! plain transaction, so concurrent servers never lose an update or double a transition.

use sqlx::Row as _;
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use crate::store::{Backend, StoreError};

pub(crate) type Db = sqlx::Postgres;
pub(crate) type Conn = sqlx::PgConnection;
pub(crate) type DbRow = sqlx::postgres::PgRow;
pub(crate) type Store = crate::store::PostgresStore;
pub(crate) const BACKEND: Backend = Backend::Postgres;

/// A write transaction.
pub(crate) async fn write(store: &Store) -> Result<sqlx::Transaction<'static, Db>, StoreError> {
    Ok(store.pool.begin().await?)
}

/// A write transaction on the pass mint counts' own pool ([`Store::counts`]).
pub(crate) async fn write_counts(
    store: &Store,
) -> Result<sqlx::Transaction<'static, Db>, StoreError> {
    Ok(store.counts.begin().await?)
}

pub(crate) fn uuid(u: Uuid) -> Uuid {
    u
}

pub(crate) fn ts(t: OffsetDateTime) -> OffsetDateTime {
    t
}

pub(crate) fn date(d: Date) -> Date {
    d
}

pub(crate) fn get_ts(row: &DbRow, col: &str) -> Result<OffsetDateTime, StoreError> {
    Ok(row.try_get(col)?)
}

pub(crate) fn get_opt_ts(row: &DbRow, col: &str) -> Result<Option<OffsetDateTime>, StoreError> {
    Ok(row.try_get(col)?)
}

pub(crate) fn get_date(row: &DbRow, col: &str) -> Result<Date, StoreError> {
    Ok(row.try_get(col)?)
}

pub(crate) fn get_uuid(row: &DbRow, col: &str) -> Result<Uuid, StoreError> {
    Ok(row.try_get(col)?)
}

/// How a UUID and a small integer come back from a scalar query.
pub(crate) type StoredUuid = Uuid;
pub(crate) type SmallInt = i16;

pub(crate) fn parse_uuid(u: StoredUuid) -> Result<Uuid, StoreError> {
    Ok(u)
}

/// The rows and helpers every query module shares, for this backend.
pub(in crate::store) use crate::store::sql::people::postgres::*;

/// This backend's half of the query modules that others call inside their own transactions.
pub(in crate::store) use crate::store::sql::{
    calendar::postgres as calendar, calendar_guard::postgres as calendar_guard,
    eligibility_write::postgres as eligibility_write, entitlements::postgres as entitlements,
    jobs::postgres as jobs, meal_push::postgres as meal_push, meal_void::postgres as meal_void,
    tabel::postgres as tabel, vouchers::postgres as vouchers,
    wallet_events::postgres as wallet_events,
};

/// The meal-push group commit and the denials it stores (`meal_group`).
pub(in crate::store) use crate::store::sql::{
    meal_group::postgres as meal_group, signals::postgres as signals,
};

/// The advisory lock namespace of meal pushes (the school's BIN is the other key).
const MEAL_PUSH_LOCK: i32 = 0x4D45_414C; // "MEAL"

/// Pushes of one school take turns: an advisory lock on the school, held until commit.
pub(crate) async fn lock_school_pushes(
    conn: &mut Conn,
    school: shared::Bin,
) -> Result<(), StoreError> {
    sqlx::query("SELECT pg_advisory_xact_lock($1, hashtext($2))")
        .bind(MEAL_PUSH_LOCK)
        .bind(school.to_string())
        .execute(conn)
        .await?;
    Ok(())
}

/// Whether a write was aborted as a deadlock (SQLSTATE 40P01 or 40001) and may be run again.
pub(crate) fn is_deadlock(e: &StoreError) -> bool {
    match e {
        StoreError::Database(sqlx::Error::Database(db)) => {
            matches!(db.code().as_deref(), Some("40P01" | "40001"))
        }
        _ => false,
    }
}

/// A claim's row-picking suffix: each claimer skips the rows another is locking.
pub(crate) const SKIP_LOCKED: &str = " FOR UPDATE SKIP LOCKED";

/// What [`text_list`] binds.
pub(crate) type TextList = Vec<String>;

/// A list of text values bound as one parameter: a `text[]` (see [`in_list`]).
pub(crate) fn text_list<S: AsRef<str>>(items: &[S]) -> TextList {
    items.iter().map(|s| s.as_ref().to_string()).collect()
}

/// What [`uuid_list`] binds.
pub(crate) type UuidList = Vec<Uuid>;

/// A list of UUIDs bound as one parameter: a `uuid[]` (see [`in_list`]).
pub(crate) fn uuid_list(ids: &[Uuid]) -> UuidList {
    ids.to_vec()
}

/// `IN` the list ([`text_list`], [`uuid_list`]) bound at `param` (e.g. `"$1"`).
///
/// A statement that binds a long list (a list's students) runs unprepared
/// (`.persistent(false)`), so PostgreSQL plans it for the array it gets: a prepared
/// statement moves to a generic plan after five runs, where `= ANY` of a parameter is
/// searched element by element for every row the plan scans. On a table whose statistics
/// lag behind a bulk load (a first month's lists) that plan is a sequential scan, and one
/// read of a 5,000-student list took 7 s. Planned for the actual array, `= ANY` is an
/// index search per element or a hashed lookup per row: linear either way. The same held
/// for a push's reads of its 500 events as 500 parameters of a prepared `IN (…)`: planned
/// generic while `meals` looked empty, each was a sequential scan that rebuilt and searched
/// the 500-element array for every row (BENCHMARKS.md, issue 18, seventh pass).
pub(crate) fn in_list(param: &str) -> String {
    format!("= ANY({param})")
}

/// A row lock for the rest of a write transaction.
pub(crate) const FOR_UPDATE: &str = " FOR UPDATE";

/// The Astana day (UTC+5, no daylight saving) of the instant in column `t`.
pub(crate) const ASTANA_DAY_OF_T: &str =
    "CAST((t AT TIME ZONE 'UTC') + INTERVAL '5 hours' AS DATE)";

/// What to `SELECT` for one row per school of a stored report body bound at `$3` (`$1` its
/// day, `$2` its version), in `daily_report_figures`' column order. Migration 0021's
/// backfill reads bodies the same way.
pub(crate) const REPORT_FIGURES_OF_BODY: &str = "value ->> 'bin', $1, $2, \
     CAST(value ->> 'vouchers_formed' AS BIGINT), CAST(value ->> 'vouchers_activated' AS BIGINT), \
     CAST(value ->> 'vouchers_revoked' AS BIGINT), CAST(value ->> 'meals_served' AS BIGINT), \
     CAST(value ->> 'duplicates' AS BIGINT), CAST(value ->> 'students_fed' AS BIGINT) \
     FROM jsonb_array_elements(CAST($3 AS jsonb) -> 'schools') AS s(value)";

/// Rows inserted by one statement whatever their number (a list's 5,000 students): each
/// column is bound as one array and the arrays are unnested,
/// `INSERT INTO t (a, b) SELECT * FROM UNNEST($1, $2) …`. A `VALUES` list of 5,000 rows
/// has 40,000 parameters that PostgreSQL parses, plans and copies every time (13% of a
/// list's intake); this statement is the same text for any size, so it is prepared once.
#[derive(Default)]
pub(crate) struct Bulk {
    columns: Vec<BindColumn>,
}

/// Binds one column's array to the statement being built.
type BindColumn = Box<dyn FnOnce(&mut sqlx::QueryBuilder<Db>) + Send>;

impl Bulk {
    pub(crate) fn new() -> Self {
        Bulk::default()
    }

    /// The next column's values, one per row, in the statement's column order.
    pub(crate) fn column<T, I>(mut self, values: I) -> Self
    where
        I: IntoIterator<Item = T>,
        Vec<T>: for<'t> sqlx::Encode<'t, Db> + sqlx::Type<Db> + Send + 'static,
    {
        let values: Vec<T> = values.into_iter().collect();
        self.columns.push(Box::new(move |q| {
            q.push_bind(values);
        }));
        self
    }

    /// Appends the rows (a `SELECT`) to `query`, an `INSERT INTO t (a, b) ` so far.
    pub(crate) fn push_rows(self, query: &mut sqlx::QueryBuilder<Db>) {
        query.push("SELECT * FROM UNNEST(");
        for (i, bind) in self.columns.into_iter().enumerate() {
            if i > 0 {
                query.push(", ");
            }
            bind(query);
        }
        query.push(")");
    }
}
