//! SQLite: UUIDs as hyphenated text, dates as `YYYY-MM-DD`, instants as fixed-width UTC text
//! (`2026-09-01T02:00:00.000000Z`, so text order is time order). Writes open with
//! `BEGIN IMMEDIATE`, so two writers queue on the lock instead of failing midway.

use sqlx::Row as _;
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use crate::store::{Backend, StoreError};

pub(crate) type Db = sqlx::Sqlite;
pub(crate) type Conn = sqlx::SqliteConnection;
pub(crate) type DbRow = sqlx::sqlite::SqliteRow;
pub(crate) type Store = crate::store::SqliteStore;
pub(crate) const BACKEND: Backend = Backend::Sqlite;

const INSTANT: &[time::format_description::BorrowedFormatItem<'static>] = time::macros::format_description!(
    "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z"
);

/// A write transaction: `BEGIN IMMEDIATE` takes the write lock up front.
pub(crate) async fn write(store: &Store) -> Result<sqlx::Transaction<'static, Db>, StoreError> {
    Ok(store.pool.begin_with("BEGIN IMMEDIATE").await?)
}

/// A write transaction on the pass mint counts' own connection ([`Store::counts`]).
pub(crate) async fn write_counts(
    store: &Store,
) -> Result<sqlx::Transaction<'static, Db>, StoreError> {
    Ok(store.counts.begin_with("BEGIN IMMEDIATE").await?)
}

pub(crate) fn uuid(u: Uuid) -> String {
    u.to_string()
}

pub(crate) fn ts(t: OffsetDateTime) -> String {
    t.to_offset(time::UtcOffset::UTC)
        .format(INSTANT)
        .unwrap_or_default()
}

pub(crate) fn date(d: Date) -> String {
    d.to_string()
}

pub(crate) fn parse_ts(s: &str) -> Result<OffsetDateTime, StoreError> {
    time::PrimitiveDateTime::parse(s, INSTANT)
        .map(|t| t.assume_utc())
        .map_err(|_| StoreError::Corrupt("stored instant does not parse".into()))
}

pub(crate) fn parse_date(s: &str) -> Result<Date, StoreError> {
    Date::parse(s, time::macros::format_description!("[year]-[month]-[day]"))
        .map_err(|_| StoreError::Corrupt("stored date does not parse".into()))
}

pub(crate) fn get_ts(row: &DbRow, col: &str) -> Result<OffsetDateTime, StoreError> {
    parse_ts(row.try_get(col)?)
}

pub(crate) fn get_opt_ts(row: &DbRow, col: &str) -> Result<Option<OffsetDateTime>, StoreError> {
    row.try_get::<Option<&str>, _>(col)?
        .map(parse_ts)
        .transpose()
}

pub(crate) fn get_date(row: &DbRow, col: &str) -> Result<Date, StoreError> {
    parse_date(row.try_get(col)?)
}

pub(crate) fn get_uuid(row: &DbRow, col: &str) -> Result<Uuid, StoreError> {
    Uuid::parse_str(row.try_get(col)?)
        .map_err(|_| StoreError::Corrupt(format!("stored {col} is not a UUID")))
}

/// How a UUID and a small integer come back from a scalar query.
pub(crate) type StoredUuid = String;
pub(crate) type SmallInt = i64;

pub(crate) fn parse_uuid(s: StoredUuid) -> Result<Uuid, StoreError> {
    Uuid::parse_str(&s).map_err(|_| StoreError::Corrupt("stored id is not a UUID".into()))
}

/// The rows and helpers every query module shares, for this backend.
pub(in crate::store) use crate::store::sql::people::sqlite::*;

/// This backend's half of the query modules that others call inside their own transactions.
pub(in crate::store) use crate::store::sql::{
    calendar::sqlite as calendar, calendar_guard::sqlite as calendar_guard,
    eligibility_write::sqlite as eligibility_write, entitlements::sqlite as entitlements,
    jobs::sqlite as jobs, meal_push::sqlite as meal_push, meal_void::sqlite as meal_void,
    tabel::sqlite as tabel, vouchers::sqlite as vouchers, wallet_events::sqlite as wallet_events,
};

/// The meal-push group commit and the denials it stores (`meal_group`).
pub(in crate::store) use crate::store::sql::{
    meal_group::sqlite as meal_group, signals::sqlite as signals,
};

/// Pushes of one school take turns: nothing to do, `BEGIN IMMEDIATE` holds the only write lock.
pub(crate) async fn lock_school_pushes(
    _conn: &mut Conn,
    _school: shared::Bin,
) -> Result<(), StoreError> {
    Ok(())
}

/// Whether a write was aborted as a deadlock and may be run again: never, writers queue.
pub(crate) fn is_deadlock(_e: &StoreError) -> bool {
    false
}

/// A claim's row-picking suffix: none, the write transaction already holds the one write lock.
pub(crate) const SKIP_LOCKED: &str = "";

/// What [`text_list`] binds.
pub(crate) type TextList = String;

/// A list of text values bound as one parameter: a JSON array (see [`in_list`]).
pub(crate) fn text_list<S: AsRef<str>>(items: &[S]) -> TextList {
    let items: Vec<&str> = items.iter().map(AsRef::as_ref).collect();
    serde_json::to_string(&items).unwrap_or_default()
}

/// What [`uuid_list`] binds.
pub(crate) type UuidList = String;

/// A list of UUIDs bound as one parameter: a JSON array of their stored text (see
/// [`in_list`]).
pub(crate) fn uuid_list(ids: &[Uuid]) -> UuidList {
    let texts: Vec<String> = ids.iter().map(|id| uuid(*id)).collect();
    serde_json::to_string(&texts).unwrap_or_default()
}

/// `IN` the list ([`text_list`], [`uuid_list`]) bound at `param` (e.g. `"$1"`).
pub(crate) fn in_list(param: &str) -> String {
    format!("IN (SELECT value FROM json_each({param}))")
}

/// A row lock for the rest of a write transaction: none, `BEGIN IMMEDIATE` holds the database.
pub(crate) const FOR_UPDATE: &str = "";

/// The Astana day (UTC+5, no daylight saving) of the instant in column `t`, as stored dates are.
pub(crate) const ASTANA_DAY_OF_T: &str = "date(t, '+5 hours')";

/// What to `SELECT` for one row per school of a stored report body bound at `$3` (`$1` its
/// day, `$2` its version), in `daily_report_figures`' column order. Migration 0021's
/// backfill reads bodies the same way.
pub(crate) const REPORT_FIGURES_OF_BODY: &str = "json_extract(value, '$.bin'), $1, $2, \
     json_extract(value, '$.vouchers_formed'), json_extract(value, '$.vouchers_activated'), \
     json_extract(value, '$.vouchers_revoked'), json_extract(value, '$.meals_served'), \
     json_extract(value, '$.duplicates'), json_extract(value, '$.students_fed') \
     FROM json_each($3, '$.schools')";

/// Rows inserted by one statement whatever their number (a list's 5,000 students): the
/// rows are bound as one JSON array of arrays and read back with `json_each`, as the
/// PostgreSQL dialect unnests one array per column. No parameter limit applies.
#[derive(Default)]
pub(crate) struct Bulk {
    columns: Vec<Vec<serde_json::Value>>,
}

impl Bulk {
    pub(crate) fn new() -> Self {
        Bulk::default()
    }

    /// The next column's values, one per row, in the statement's column order.
    pub(crate) fn column<T, I>(mut self, values: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: Into<serde_json::Value>,
    {
        self.columns
            .push(values.into_iter().map(Into::into).collect());
        self
    }

    /// Appends the rows (a `SELECT`) to `query`, an `INSERT INTO t (a, b) ` so far.
    pub(crate) fn push_rows(self, query: &mut sqlx::QueryBuilder<Db>) {
        let width = self.columns.len();
        let rows = self.columns.first().map_or(0, Vec::len);
        let mut columns: Vec<_> = self.columns.into_iter().map(Vec::into_iter).collect();
        let body: Vec<serde_json::Value> = (0..rows)
            .map(|_| {
                let row = columns.iter_mut();
                row.map(|c| c.next().unwrap_or(serde_json::Value::Null))
                    .collect()
            })
            .collect();
        let fields: Vec<String> = (0..width)
            .map(|i| format!("json_extract(value, '$[{i}]')"))
            .collect();
        query.push("SELECT ");
        query.push(fields.join(", "));
        query.push(" FROM json_each(");
        query.push_bind(serde_json::Value::Array(body).to_string());
        // `WHERE true` keeps an `ON CONFLICT` after it from reading as a join's `ON`.
        query.push(") WHERE true");
    }
}
