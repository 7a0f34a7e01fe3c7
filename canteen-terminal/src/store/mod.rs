//! The terminal's local database (DESIGN §2 canteen-terminal `store`): one SQLite file
//! holding the enrollment (device token), the roster, the pass keys, the meal slots and
//! every meal served, pushed or not.
//!
//! The file is created owner-only (mode 0600: it holds the device token) and opened with
//! `journal_mode=WAL` and `synchronous=FULL`, so a meal whose insert returned is on disk
//! before the worker sees green, whatever happens next (`kill -9`, power cut). The decision
//! loop and the sync thread each open their own [`Store`]; WAL lets one read while the
//! other writes, and `busy_timeout` covers the short moments both write.
//!
//! The schema is versioned with `PRAGMA user_version` ([`schema`]); the roster and keys live
//! in [`roster`], meals in [`meals`], the single `state` row here.

mod counter;
mod meals;
mod roster;
mod schema;

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{params, Connection, OpenFlags};
use shared::sync::EnrollResponse;
use shared::Bin;
use time::format_description::well_known::Rfc3339;
use time::{Date, OffsetDateTime};
use uuid::Uuid;

pub use counter::{VoidRefused, Voidable, VOID_WINDOW};
pub use meals::{MarkSummary, Recorded, Stamp};
pub use roster::{ApplySummary, Snapshot};

/// How long a statement waits for the other connection's write to finish.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Something went wrong with the local database.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("cannot prepare the database file {path}: {source}")]
    File {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the database holds a value it cannot read back ({0})")]
    Corrupt(String),
    #[error("SQLite refused WAL mode (journal_mode stays {0}); is the file on a network share?")]
    NoWal(String),
    #[error("the database has schema version {found}, newer than this program knows ({known})")]
    TooNew { found: i64, known: i64 },
}

/// The device token: a secret. `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct DeviceToken(String);

impl DeviceToken {
    pub fn new(token: String) -> Self {
        Self(token)
    }

    /// The token itself, for the `Authorization` header only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for DeviceToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DeviceToken(***)")
    }
}

/// The single `state` row: who this terminal is and how far it has synced.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TerminalState {
    pub server_url: Option<String>,
    pub school: Option<Bin>,
    pub school_name: Option<String>,
    pub terminal_id: Option<Uuid>,
    pub device_token: Option<DeviceToken>,
    pub cursor: i64,
    /// Server time minus local time, as measured at the last pull.
    pub clock_offset_ms: i64,
    pub last_sync_at: Option<OffsetDateTime>,
    /// Server time of the last successful roster pull.
    pub last_roster_at: Option<OffsetDateTime>,
    /// When the server last refused the device token.
    pub revoked_at: Option<OffsetDateTime>,
}

impl TerminalState {
    /// Whether the terminal has a device token.
    pub fn enrolled(&self) -> bool {
        self.device_token.is_some()
    }
}

/// A connection to the terminal's database.
#[derive(Debug)]
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

impl Store {
    /// Opens (creating owner-only if needed) and migrates the database at `path`.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        prepare_file(path)?;
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let mut conn = Connection::open_with_flags(path, flags)?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        let mode: String =
            conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::NoWal(mode));
        }
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.set_prepared_statement_cache_capacity(32);
        schema::migrate(&mut conn)?;
        Ok(Self {
            conn,
            path: path.to_owned(),
        })
    }

    /// Where the database lives.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The durability settings in force on this connection, read back from SQLite:
    /// `(journal_mode, synchronous, foreign_keys, busy_timeout_ms)`.
    pub fn pragmas(&self) -> Result<(String, i64, i64, i64), StoreError> {
        let number = |name: &str| -> rusqlite::Result<i64> {
            self.conn.pragma_query_value(None, name, |row| row.get(0))
        };
        let journal: String = self
            .conn
            .pragma_query_value(None, "journal_mode", |row| row.get(0))?;
        Ok((
            journal,
            number("synchronous")?,
            number("foreign_keys")?,
            number("busy_timeout")?,
        ))
    }

    /// The schema version (`PRAGMA user_version`).
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        Ok(self
            .conn
            .pragma_query_value(None, "user_version", |row| row.get(0))?)
    }

    /// The `state` row.
    pub fn state(&self) -> Result<TerminalState, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT server_url, school_bin, school_name, terminal_id, device_token, cursor,
                    clock_offset_ms, last_sync_at, last_roster_at, revoked_at
             FROM state WHERE id = 1",
        )?;
        let mut rows = stmt.query([])?;
        let r = rows
            .next()?
            .ok_or_else(|| StoreError::Corrupt("the state row is missing".into()))?;
        let text = |i: usize| r.get::<_, Option<String>>(i);
        let ts = |i: usize| -> Result<Option<OffsetDateTime>, StoreError> {
            text(i)?.map(|t| parse_ts(&t)).transpose()
        };
        Ok(TerminalState {
            server_url: text(0)?,
            school: text(1)?.map(|s| parse_bin(&s)).transpose()?,
            school_name: text(2)?,
            terminal_id: text(3)?.map(|t| parse_uuid(&t)).transpose()?,
            device_token: text(4)?.map(DeviceToken::new),
            cursor: r.get(5)?,
            clock_offset_ms: r.get(6)?,
            last_sync_at: ts(7)?,
            last_roster_at: ts(8)?,
            revoked_at: ts(9)?,
        })
    }

    /// Records a successful enrollment (or re-enrollment after a revocation). The cursor is
    /// reset so the next pull brings the whole roster.
    pub fn save_enrollment(
        &self,
        server_url: &str,
        enrolled: &EnrollResponse,
    ) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE state SET server_url = ?1, school_bin = ?2, school_name = ?3,
                terminal_id = ?4, device_token = ?5, cursor = 0, revoked_at = NULL
             WHERE id = 1",
            params![
                server_url,
                enrolled.school.bin.as_string(),
                enrolled.school.name,
                enrolled.terminal_id.to_string(),
                enrolled.token,
            ],
        )?;
        Ok(())
    }

    /// Remembers which server this terminal talks to.
    pub fn save_server_url(&self, server_url: &str) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE state SET server_url = ?1 WHERE id = 1",
            params![server_url],
        )?;
        Ok(())
    }

    /// The server refused the device token at `at`.
    pub fn mark_revoked(&self, at: OffsetDateTime) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE state SET revoked_at = ?1 WHERE id = 1",
            params![fmt_ts(at)],
        )?;
        Ok(())
    }
}

/// Makes sure the file exists and only its owner can read it, before SQLite opens it.
fn prepare_file(path: &Path) -> Result<(), StoreError> {
    let err = |source| StoreError::File {
        path: path.to_owned(),
        source,
    };
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        shared::private_file::create_dir(parent).map_err(err)?;
    }
    if let Some(was) = shared::private_file::prepare(path).map_err(err)? {
        tracing::warn!(path = %path.display(), mode = format!("{was:o}"),
            "database file was readable by others; made it owner-only");
    }
    Ok(())
}

/// An instant as stored: RFC 3339 in UTC.
pub(crate) fn fmt_ts(at: OffsetDateTime) -> String {
    at.to_offset(time::UtcOffset::UTC)
        .format(&Rfc3339)
        .unwrap_or_else(|_| at.unix_timestamp().to_string())
}

pub(crate) fn parse_ts(text: &str) -> Result<OffsetDateTime, StoreError> {
    OffsetDateTime::parse(text, &Rfc3339).map_err(|_| StoreError::Corrupt(format!("time {text}")))
}

const DATE_FORMAT: &[time::format_description::BorrowedFormatItem<'static>] =
    time::macros::format_description!("[year]-[month]-[day]");

pub(crate) fn fmt_date(day: Date) -> String {
    day.format(DATE_FORMAT).unwrap_or_else(|_| day.to_string())
}

pub(crate) fn parse_date(text: &str) -> Result<Date, StoreError> {
    Date::parse(text, DATE_FORMAT).map_err(|_| StoreError::Corrupt(format!("date {text}")))
}

fn parse_bin(text: &str) -> Result<Bin, StoreError> {
    text.parse()
        .map_err(|_| StoreError::Corrupt(format!("BIN {text}")))
}

pub(crate) fn parse_uuid(text: &str) -> Result<Uuid, StoreError> {
    Uuid::parse_str(text).map_err(|_| StoreError::Corrupt(format!("id {text}")))
}

#[cfg(test)]
mod tests;
