//! Upgrading a database that already holds data. A test database starts empty, so a
//! migration that rebuilds or re-keys tables is otherwise only ever run on no rows. Here the
//! schema is brought to the version just before such a migration, rows are written as that
//! version's code wrote them, and the store is then opened as the server opens it at start-up
//! (which applies the remaining migrations). The rows must come through unchanged, the new
//! keys must hold, and the store must go on working on them.
//!
//! Migration 0022 (`intake_keys`): an entry's list and school became one key, entitlements
//! lost their keys, and on SQLite both tables are rebuilt.
//!
//! SQLite always runs; PostgreSQL when `TEST_DATABASE_URL` is set (`REQUIRE_POSTGRES=1` makes
//! its absence a failure).

#[path = "support/lists.rs"]
mod lists;
#[path = "support/scratch_db.rs"]
mod scratch_db;

use std::path::{Path, PathBuf};

use shared::{Bin, Iin, Sex};
use sqlx::migrate::Migrator;
use sqlx::{Connection, PgConnection, SqliteConnection};
use time::macros::{date, datetime};
use wallet_server::domain::list::RowOutcome;
use wallet_server::domain::voucher::SchoolYearRule;
use wallet_server::domain::{Category, School, Student};
use wallet_server::store::{PostgresStore, SqliteStore, Store};

/// A connection to either backend, for the raw SQL of an older version.
enum Conn {
    Sqlite(SqliteConnection),
    Postgres(PgConnection),
}

impl Conn {
    async fn open(url: &str) -> Self {
        if url.starts_with("sqlite:") {
            Conn::Sqlite(SqliteConnection::connect(url).await.expect("connect"))
        } else {
            Conn::Postgres(PgConnection::connect(url).await.expect("connect"))
        }
    }

    async fn migrate(&mut self, migrator: &Migrator) {
        match self {
            Conn::Sqlite(c) => migrator.run(c).await,
            Conn::Postgres(c) => migrator.run(c).await,
        }
        .expect("migrate to the version before");
    }

    async fn execute(&mut self, sql: String) -> Result<(), sqlx::Error> {
        let query = sqlx::AssertSqlSafe(sql);
        match self {
            Conn::Sqlite(c) => sqlx::query(query).execute(c).await.map(|_| ()),
            Conn::Postgres(c) => sqlx::query(query).execute(c).await.map(|_| ()),
        }
    }

    /// The first column of every row, as text.
    async fn lines(&mut self, sql: &'static str) -> Vec<String> {
        let rows: Vec<(String,)> = match self {
            Conn::Sqlite(c) => sqlx::query_as(sql).fetch_all(c).await,
            Conn::Postgres(c) => sqlx::query_as(sql).fetch_all(c).await,
        }
        .expect("rows");
        rows.into_iter().map(|(l,)| l).collect()
    }

    async fn close(self) {
        match self {
            Conn::Sqlite(c) => c.close().await,
            Conn::Postgres(c) => c.close().await,
        }
        .expect("close");
    }
}

/// The first migration this file upgrades across.
const REKEYED: i64 = 22;
const VOUCHER: &str = "0190a0a0-0000-7000-8000-000000000001";
const LIST_A: &str = "0190a0a0-0000-7000-8000-00000000000a";
const LIST_B: &str = "0190a0a0-0000-7000-8000-00000000000b";
const WRITTEN: &str = "2026-09-01T04:00:00.000000Z";

fn school(last: u8) -> School {
    School {
        bin: (0..10)
            .find_map(|d| Bin::generate(&[5, 1, 0, 3, 4, 0, 0, 0, 7, d, last]))
            .expect("bin"),
        name: format!("Школа до миграции {last}"),
    }
}

fn kid(at: &School, i: u16) -> Student {
    Student {
        iin: (100 * i..100 * i + 10)
            .find_map(|s| Iin::generate(date!(2017 - 02 - 03), Sex::Male, s))
            .expect("iin"),
        full_name: format!("Ученик {i}"),
        school: at.bin,
        grade: 2,
        class_label: "2Б".into(),
        category: Category::Primary,
    }
}

/// A copy of the backend's migrations older than `version`, as a directory a [`Migrator`]
/// reads: the same files, so the store's own migrator finds them applied unchanged.
fn migrations_before(backend: &str, version: i64) -> tempfile::TempDir {
    let source = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(backend);
    let copy = tempfile::tempdir().expect("tempdir");
    for entry in std::fs::read_dir(&source).expect("migrations") {
        let path = entry.expect("entry").path();
        let name = path.file_name().and_then(|n| n.to_str()).expect("name");
        let number: i64 = name
            .split('_')
            .next()
            .and_then(|n| n.parse().ok())
            .expect("version");
        if number < version {
            std::fs::copy(&path, copy.path().join(name)).expect("copy");
        }
    }
    copy
}

/// Brings the database at `url` to the version before [`REKEYED`] and writes, as that
/// version's code did: two schools with a list each for 2026-09, a voucher formed from the
/// first list, entries waiting for consent, and the month's entitlements.
async fn write_old_rows(url: &str, backend: &str, a: &School, b: &School, kids: &[Student]) {
    let dir = migrations_before(backend, REKEYED);
    let mut conn = Conn::open(url).await;
    conn.migrate(&Migrator::new(dir.path()).await.expect("read migrations"))
        .await;
    let year = SchoolYearRule::default()
        .school_year_of(date!(2026 - 09 - 01))
        .expect("school year");
    let [a1, a2, b1] = kids else {
        panic!("three students")
    };
    let statements = [
        format!(
            "INSERT INTO schools (bin, name, created_at) VALUES ('{}', '{}', '{WRITTEN}'), ('{}', '{}', '{WRITTEN}')",
            a.bin, a.name, b.bin, b.name
        ),
        format!(
            "INSERT INTO students (iin, full_name, school_bin, grade, class_label, category, updated_at) VALUES {}",
            kids.iter()
                .map(|k| format!(
                    "('{}', '{}', '{}', 2, '2Б', 'primary', '{WRITTEN}')",
                    k.iin.expose(), k.full_name, k.school
                ))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        format!(
            "INSERT INTO vouchers (id, programme, student_iin, school_bin, state, valid_from, valid_until, formed_at, updated_at) \
             VALUES ('{VOUCHER}', 'school_meals', '{}', '{}', 'formed', '{}', '{}', '{WRITTEN}', '{WRITTEN}')",
            a1.iin.expose(), a.bin, year.first_day, year.last_day
        ),
        format!(
            "INSERT INTO eligibility_lists (id, school_bin, programme, period, received_at, received_by, content_hash, rows_total, rows_accepted) \
             VALUES ('{LIST_A}', '{}', 'school_meals', '2026-09', '{WRITTEN}', 'system', 'old-a', 2, 2), \
                    ('{LIST_B}', '{}', 'school_meals', '2026-09', '{WRITTEN}', 'system', 'old-b', 1, 1)",
            a.bin, b.bin
        ),
        format!(
            "INSERT INTO eligibility_entries (programme, period, student_iin, school_bin, list_id, status, voucher_id, updated_at) \
             VALUES ('school_meals', '2026-09', '{}', '{}', '{LIST_A}', 'voucher_formed', '{VOUCHER}', '{WRITTEN}'), \
                    ('school_meals', '2026-09', '{}', '{}', '{LIST_A}', 'awaiting_consent', NULL, '{WRITTEN}'), \
                    ('school_meals', '2026-09', '{}', '{}', '{LIST_B}', 'awaiting_consent', NULL, '{WRITTEN}')",
            a1.iin.expose(), a.bin, a2.iin.expose(), a.bin, b1.iin.expose(), b.bin
        ),
        format!(
            "INSERT INTO entitlements (programme, student_iin, school_bin, month, source, first_day, last_day, updated_at) \
             VALUES ('school_meals', '{}', '{}', '2026-09', 'list', '2026-09-01', '2026-09-30', '{WRITTEN}'), \
                    ('school_meals', '{}', '{}', '2026-09', 'list', '2026-09-10', '2026-09-30', '{WRITTEN}')",
            a1.iin.expose(), a.bin, b1.iin.expose(), b.bin
        ),
    ];
    for sql in statements {
        conn.execute(sql).await.expect("old row");
    }
    conn.close().await;
}

/// Every entry and entitlement as one line of text each, in key order (the same on both
/// backends: each column cast to text).
async fn rows(url: &str) -> Vec<String> {
    let mut conn = Conn::open(url).await;
    let mut lines = Vec::new();
    for sql in [
        "SELECT 'entry ' || programme || ' ' || period || ' ' || student_iin || ' ' || school_bin \
         || ' ' || CAST(list_id AS TEXT) || ' ' || status || ' ' \
         || COALESCE(CAST(voucher_id AS TEXT), '-') || ' ' || CAST(updated_at AS TEXT) \
         FROM eligibility_entries ORDER BY programme, period, student_iin",
        "SELECT 'entitlement ' || programme || ' ' || student_iin || ' ' || school_bin || ' ' \
         || month || ' ' || source || ' ' || CAST(first_day AS TEXT) || ' ' \
         || CAST(last_day AS TEXT) || ' ' || CAST(updated_at AS TEXT) \
         FROM entitlements ORDER BY programme, student_iin, school_bin, month",
    ] {
        lines.extend(conn.lines(sql).await);
    }
    conn.close().await;
    lines
}

/// Stores an October entry for `student` naming list A with `school`; whether it was stored.
async fn entry_of_list_a_at(url: &str, student: &Student, school: &School) -> bool {
    let mut conn = Conn::open(url).await;
    let stored = conn
        .execute(format!(
            "INSERT INTO eligibility_entries (programme, period, student_iin, school_bin, list_id, \
             status, voucher_id, updated_at) VALUES ('school_meals', '2026-10', '{}', '{}', \
             '{LIST_A}', 'awaiting_consent', NULL, '{WRITTEN}')",
            student.iin.expose(),
            school.bin
        ))
        .await
        .is_ok();
    conn.close().await;
    stored
}

/// The story, once the backend's database holds the old rows at `url` and `store` has
/// opened it (applying the remaining migrations).
async fn story(store: &dyn Store, url: &str, before: &[String], a: &School, b: &School) {
    assert_eq!(
        before.len(),
        5,
        "three entries and two entitlements written"
    );
    assert_eq!(rows(url).await, before, "every row as it was");
    let kids = [kid(a, 1), kid(a, 2), kid(b, 3)];

    // The store works on the upgraded rows: school A's list for the same month again, now
    // with a third student; the voucher formed before the upgrade is the one it reports.
    let third = kid(a, 4);
    let list = lists::primary_list(
        a,
        "2026-09",
        &[kids[0].clone(), kids[1].clone(), third],
        datetime!(2026-09-15 04:00 UTC),
    );
    let outcome = store.apply_eligibility_list(&list).await.expect("list");
    assert!(outcome.revoked.is_empty(), "nobody left the list");
    let formed: Vec<_> = outcome
        .rows
        .iter()
        .map(|(i, o)| match o {
            RowOutcome::VoucherFormed(v) => (*i, v.to_string()),
            other => panic!("row {i}: {other:?}"),
        })
        .collect();
    assert_eq!(formed[0], (0, VOUCHER.to_string()), "the old voucher kept");
    assert_eq!(formed.len(), 3);
    let after = rows(url).await;
    let count = |kind: &str| after.iter().filter(|l| l.starts_with(kind)).count();
    assert_eq!(
        (count("entry "), count("entitlement ")),
        (4, 7),
        "A's three entries, each entitled in September and carried over into October; B's \
         entry and entitlement: {after:#?}"
    );
    let of_b = |rows: &[String]| -> Vec<String> {
        let bin = b.bin.to_string();
        rows.iter().filter(|l| l.contains(&bin)).cloned().collect()
    };
    assert_eq!(of_b(before).len(), 2);
    assert_eq!(of_b(&after), of_b(before), "school B's rows untouched");

    // The new key holds on the rebuilt tables: list A's entries name school A, not B.
    assert!(
        !entry_of_list_a_at(url, &kids[0], b).await,
        "an entry naming a school its list is not from is refused"
    );
    assert!(
        entry_of_list_a_at(url, &kids[0], a).await,
        "the same entry naming A is stored"
    );
}

#[tokio::test]
async fn an_sqlite_database_with_lists_upgrades_across_the_rekeying() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path: &Path = &dir.path().join("wallet.db");
    std::fs::File::create(path).expect("create");
    let url = format!("sqlite://{}", path.display());
    let (a, b) = (school(1), school(2));
    let kids = [kid(&a, 1), kid(&a, 2), kid(&b, 3)];
    write_old_rows(&url, "sqlite", &a, &b, &kids).await;
    let before = rows(&url).await;
    let store = SqliteStore::open_file(path)
        .await
        .expect("open and upgrade");
    story(&store, &url, &before, &a, &b).await;
}

#[tokio::test]
async fn a_postgres_database_with_lists_upgrades_across_the_rekeying() {
    let Some(admin_url) = scratch_db::admin_url("PostgreSQL") else {
        return;
    };
    let (name, url) = scratch_db::create_database(&admin_url, "upgrades").await;
    let (a, b) = (school(1), school(2));
    let kids = [kid(&a, 1), kid(&a, 2), kid(&b, 3)];
    write_old_rows(&url, "postgres", &a, &b, &kids).await;
    let before = rows(&url).await;
    let store = PostgresStore::connect(&url)
        .await
        .expect("open and upgrade");
    story(&store, &url, &before, &a, &b).await;
    drop(store);
    scratch_db::drop_database(&admin_url, &name)
        .await
        .expect("drop database");
}
