//! Every SQL statement of the store, prepared on both backends, so a dialect slip fails here
//! and not on the first server that runs the query.
//!
//! The queries are written once in `src/store/sql/*.rs` and compiled for SQLite and for
//! PostgreSQL (`per_backend!`); what differs comes from `src/store/sql/dialect/*.rs`. This test
//! reads those files (`sql_statements/extract.rs`), rebuilds each statement as each backend's
//! code sends it — the dialect's own constants and helpers substituted, read from the dialect
//! files, not copied here — and asks a freshly migrated database of each backend to prepare
//! it (`Executor::prepare`: parsed and planned, never run). All failures are reported at once,
//! with the file, the line and the statement.
//!
//! The extraction is checked too: a query call whose SQL it cannot rebuild, or a literal
//! that reads like a statement but no query call reaches, fails the test; so does a
//! statement count below the floor, so a broken extractor cannot pass by finding nothing.
//! Statements built at run time (`QueryBuilder`) are listed in [`DYNAMIC`] with the tests
//! that run them on both backends.
//!
//! `SQL_STATEMENTS_PRINT=1` prints every statement as rebuilt.
//!
//! SQLite always runs. PostgreSQL runs when `TEST_DATABASE_URL` points at a server (a
//! database of its own is created and dropped); `REQUIRE_POSTGRES=1` makes a missing URL a
//! failure instead of a skip.

#[path = "sql_statements/extract.rs"]
mod extract;

use std::path::Path;
use std::time::Instant;

use extract::{extract, Extraction, Source, Statement};
use sqlx::{Connection, Executor, SqlSafeStr};
use wallet_server::store::{PostgresStore, SqliteStore};

#[path = "support/scratch_db.rs"]
mod scratch_db;

/// Where the store's SQL lives.
const SQL_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/src/store/sql");

/// Query calls whose SQL the extractor rebuilds (as counted when this test was written:
/// lower it only when queries are removed on purpose).
const MIN_SITES: usize = 130;
/// Distinct statements per backend (likewise).
const MIN_STATEMENTS: usize = 133;

/// A statement assembled at run time, which cannot be prepared from the source alone.
struct Dynamic {
    file: &'static str,
    /// The text `QueryBuilder::new` starts from.
    opening: &'static str,
    /// Why it is not prepared here, and what runs it on both backends instead.
    why: &'static str,
}

const DYNAMIC: &[Dynamic] = &[
    Dynamic {
        file: "meal_push.rs",
        opening: "INSERT INTO meals (event_id, voucher_id, student_iin, school_bin, \
                  terminal_id, service_day, slot, served_at, method, status, reason, \
                  received_at, pass_nonce, manual_reason, worker, school_seq) ",
        why: "a multi-row VALUES list (push_values) and its ON CONFLICT suffix; every meal \
              push runs it (store story `terminals`, and `meal_rule_props`, on both backends)",
    },
    Dynamic {
        file: "eligibility_write.rs",
        opening: "INSERT INTO students (iin, full_name, school_bin, grade, class_label, category, updated_at) ",
        why: "all rows as bound columns (the dialect's `Bulk`: arrays unnested on PostgreSQL, one JSON document on SQLite) and an ON CONFLICT suffix; every eligibility list runs it (store story `wallet_core`, \
              `entitlement` and `intake`, on both backends)",
    },
    Dynamic {
        file: "eligibility_write.rs",
        opening: "INSERT INTO representatives (iin, full_name, phone, updated_at) ",
        why: "all rows as bound columns (the dialect's `Bulk`: arrays unnested on PostgreSQL, one JSON document on SQLite) and an ON CONFLICT suffix; every eligibility list runs it (store story `wallet_core`, \
              `entitlement` and `intake`, on both backends)",
    },
    Dynamic {
        file: "eligibility_write.rs",
        opening: "INSERT INTO student_representatives (student_iin, representative_iin, relation) ",
        why: "all rows as bound columns (the dialect's `Bulk`: arrays unnested on PostgreSQL, one JSON document on SQLite) and an ON CONFLICT suffix; every eligibility list runs it (store story `wallet_core`, \
              `entitlement` and `intake`, on both backends)",
    },
    Dynamic {
        file: "eligibility_write.rs",
        opening: "DELETE FROM student_representatives WHERE (student_iin, representative_iin) IN (",
        why: "the unnamed representatives as bound columns (the dialect's `Bulk`); every eligibility list runs it (store story `wallet_core`, \
              `entitlement` and `intake`, on both backends)",
    },
    Dynamic {
        file: "eligibility_write.rs",
        opening: "UPDATE vouchers SET state = 'revoked', roster_seq = ",
        why: "the revoked vouchers as one bound column (the dialect's `Bulk`); every eligibility list runs it (store story `wallet_core`, \
              `entitlement` and `intake`, on both backends)",
    },
    Dynamic {
        file: "eligibility_write.rs",
        opening: "INSERT INTO vouchers (id, programme, student_iin, school_bin, state, valid_from, valid_until, formed_at, updated_at, activated_at, roster_seq) ",
        why: "all rows as bound columns (the dialect's `Bulk`: arrays unnested on PostgreSQL, one JSON document on SQLite); every eligibility list runs it (store story `wallet_core`, \
              `entitlement` and `intake`, on both backends)",
    },
    Dynamic {
        file: "eligibility_write.rs",
        opening: "INSERT INTO audit_log (at, actor, entity_kind, entity_id, action, from_state, to_state, reason) ",
        why: "all rows as bound columns (the dialect's `Bulk`: arrays unnested on PostgreSQL, one JSON document on SQLite); every eligibility list runs it (store story `wallet_core`, \
              `entitlement` and `intake`, on both backends)",
    },
    Dynamic {
        file: "eligibility_write.rs",
        opening: "INSERT INTO eligibility_entries (programme, period, student_iin, school_bin, list_id, status, voucher_id, updated_at) ",
        why: "all rows as bound columns (the dialect's `Bulk`: arrays unnested on PostgreSQL, one JSON document on SQLite) and an ON CONFLICT suffix; every eligibility list runs it (store story `wallet_core`, \
              `entitlement` and `intake`, on both backends)",
    },
    Dynamic {
        file: "mint_windows.rs",
        opening: "INSERT INTO mint_windows (voucher_id, window_start, minted) ",
        why: "the counts as bound columns (the dialect's `Bulk`): `store_mint_counts` with the \
              \"at least\" ON CONFLICT suffix, `MintCounts` (a group of mints) with the \
              \"while it has room\" one; the store story `mint_limits` runs both on both backends",
    },
    Dynamic {
        file: "vouchers.rs",
        opening: "WITH asked (voucher_id, rep) AS (",
        why: "a group of represented-voucher lookups as bound columns (the dialect's `Bulk`); \
              every store story chapter that mints or reads a parent's voucher runs it",
    },
    Dynamic {
        file: "signals.rs",
        opening: "INSERT INTO pass_mints (day, parent_key, voucher_id, school_bin, first_at) ",
        why: "the waiting mint notes as bound columns (the dialect's `Bulk`); the store story \
              `signals` stores notes with it on both backends, a repeated note in one call too",
    },
];

#[derive(Debug, Clone, Copy, PartialEq)]
enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// Every `.rs` file under `dir`, named relative to `root`, sorted.
fn read_dir(root: &Path, dir: &Path, out: &mut Vec<Source>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| {
        panic!(
            "reading {}: {e} (did the store's SQL move? update SQL_DIR)",
            dir.display()
        )
    });
    let mut paths: Vec<_> = entries.map(|e| e.expect("dir entry").path()).collect();
    paths.sort();
    for path in paths {
        if path.is_dir() {
            read_dir(root, &path, out);
        } else if path.extension().is_some_and(|x| x == "rs") {
            let name = path
                .strip_prefix(root)
                .expect("under the root")
                .display()
                .to_string();
            let text = std::fs::read_to_string(&path).expect("read source");
            out.push(Source { name, text });
        }
    }
}

/// The query files and the dialect files, split.
fn sources() -> (Vec<Source>, Vec<Source>) {
    let root = Path::new(SQL_DIR);
    let mut all = Vec::new();
    read_dir(root, root, &mut all);
    all.into_iter()
        .partition(|s| !matches!(s.name.as_str(), "dialect/sqlite.rs" | "dialect/postgres.rs"))
}

/// The store's statements as `backend`'s code sends them.
fn extraction(backend: Backend) -> Extraction {
    let (modules, dialects) = sources();
    let file = format!("dialect/{}.rs", backend.name());
    let dialect = dialects
        .iter()
        .find(|d| d.name == file)
        .unwrap_or_else(|| panic!("no {file} under {SQL_DIR}"));
    extract(&modules, dialect).unwrap_or_else(|e| panic!("cannot read the source: {e}"))
}

/// The extraction, after checking it missed nothing: every query call rebuilt, every
/// statement-like literal reached, the dynamic statements exactly those listed, the floor
/// met.
fn checked(backend: Backend) -> Vec<Statement> {
    let x = extraction(backend);
    let b = backend.name();
    let mut problems = Vec::new();
    problems.extend(
        x.errors
            .iter()
            .map(|e| format!("cannot rebuild the SQL of {e}")),
    );
    problems.extend(x.unreached.iter().map(|u| {
        format!("a statement no query call reaches (teach sql_statements/extract.rs): {u}")
    }));
    for site in &x.dynamic {
        let listed = DYNAMIC
            .iter()
            .any(|d| d.file == site.file && site.opening.starts_with(d.opening));
        if !listed {
            problems.push(format!(
                "{}:{}: a statement built at run time that DYNAMIC does not list: {:?}",
                site.file, site.line, site.opening
            ));
        }
    }
    for d in DYNAMIC {
        let found = x
            .dynamic
            .iter()
            .any(|s| s.file == d.file && s.opening.starts_with(d.opening));
        if !found {
            problems.push(format!(
                "DYNAMIC lists a statement no longer built in {}: {:?} ({})",
                d.file, d.opening, d.why
            ));
        }
    }
    if x.sites < MIN_SITES {
        problems.push(format!(
            "only {} query calls rebuilt, fewer than the floor of {MIN_SITES}",
            x.sites
        ));
    }
    if x.statements.len() < MIN_STATEMENTS {
        problems.push(format!(
            "only {} statements, fewer than the floor of {MIN_STATEMENTS}",
            x.statements.len()
        ));
    }
    assert!(
        problems.is_empty(),
        "{b}: the extraction is not sound ({} problems):\n{}",
        problems.len(),
        problems.join("\n")
    );
    if std::env::var_os("SQL_STATEMENTS_PRINT").is_some() {
        for s in &x.statements {
            eprintln!("{b} {}:\n    {}", s.sites.join(", "), s.sql);
        }
    }
    eprintln!(
        "{b}: {} statements from {} query calls ({} built at run time, listed)",
        x.statements.len(),
        x.sites,
        x.dynamic.len()
    );
    x.statements
}

/// Prepares each statement; one line (sites, error, statement) per failure.
async fn prepare_all<C>(conn: &mut C, statements: &[Statement]) -> Vec<String>
where
    for<'c> &'c mut C: Executor<'c>,
{
    let mut failures = Vec::new();
    for s in statements {
        let sql = sqlx::AssertSqlSafe(s.sql.clone()).into_sql_str();
        if let Err(e) = (&mut *conn).prepare(sql).await {
            failures.push(format!("{}: {e}\n    {}", s.sites.join(", "), s.sql));
        }
    }
    failures
}

/// The self-check: copies of the store's statements with the slips a hurried edit makes,
/// written the way the store writes queries. Each backend must refuse exactly the one that
/// is not its dialect, and the report must name the file, the line and the statement.
const SLIP_FILE: &str = "slip.rs";
const SLIP_SOURCE: &str = r#"
super::per_backend! {
    async fn slips(conn: &mut Conn, name: &str) -> Result<(), StoreError> {
        // Right on both: the lock clause comes from the dialect.
        let lock = format!("SELECT 1 FROM students WHERE iin = $1{FOR_UPDATE}");
        sqlx::query(sqlx::AssertSqlSafe(lock)).execute(&mut *conn).await?;
        // PostgreSQL only: the lock clause written out.
        sqlx::query("SELECT 1 FROM students WHERE iin = $1 FOR UPDATE")
            .execute(&mut *conn)
            .await?;
        // SQLite only: instr() is no PostgreSQL function.
        sqlx::query("SELECT bin, name FROM schools WHERE instr(name, $1) > 0")
            .bind(name)
            .execute(&mut *conn)
            .await?;
        Ok(())
    }
}
"#;

/// Runs the self-check on `conn`; `Err` says how it went wrong.
async fn self_check<C>(conn: &mut C, backend: Backend) -> Result<(), String>
where
    for<'c> &'c mut C: Executor<'c>,
{
    let (_, dialects) = sources();
    let file = format!("dialect/{}.rs", backend.name());
    let dialect = dialects.iter().find(|d| d.name == file).expect("dialect");
    let slip = Source {
        name: SLIP_FILE.into(),
        text: SLIP_SOURCE.into(),
    };
    let x = extract(&[slip], dialect).expect("read the slips");
    if !x.errors.is_empty() || !x.unreached.is_empty() {
        return Err(format!("the slips were not read: {x:?}"));
    }
    let slips: Vec<Statement> = x
        .statements
        .into_iter()
        .filter(|s| s.sites.iter().all(|at| at.starts_with(SLIP_FILE)))
        .collect();
    // Three on SQLite; two on PostgreSQL, where the lock written out is the dialect's.
    if slips.len() < 2 {
        return Err(format!("expected the slip statements, read {slips:#?}"));
    }
    let failures = prepare_all(conn, &slips).await;
    let refused = match backend {
        Backend::Sqlite => "SELECT 1 FROM students WHERE iin = $1 FOR UPDATE",
        Backend::Postgres => "SELECT bin, name FROM schools WHERE instr(name, $1) > 0",
    };
    let line = 1 + SLIP_SOURCE
        .lines()
        .position(|l| l.contains(refused))
        .expect("the slip is in the source");
    match failures.as_slice() {
        [report]
            if report.starts_with(&format!("{SLIP_FILE}:{line}: "))
                && report.ends_with(&format!("\n    {refused}")) =>
        {
            Ok(())
        }
        _ => Err(format!(
            "expected exactly {SLIP_FILE}:{line} refused ({refused}), got:\n{}",
            failures.join("\n")
        )),
    }
}

/// Fails the test with every statement that did not prepare, then with the self-check.
fn report(backend: Backend, statements: usize, failures: &[String], slips: Result<(), String>) {
    assert!(
        failures.is_empty(),
        "{}: {} of {statements} statements do not prepare:\n\n{}",
        backend.name(),
        failures.len(),
        failures.join("\n\n")
    );
    if let Err(e) = slips {
        panic!(
            "{}: the self-check with dialect slips failed: {e}",
            backend.name()
        );
    }
}
#[test]
fn the_extractor_rebuilds_every_query_call() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        checked(backend);
    }
}

#[tokio::test]
async fn every_statement_prepares_on_sqlite() {
    let started = Instant::now();
    let statements = checked(Backend::Sqlite);
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("statements.db");
    let store = SqliteStore::open_file(&path)
        .await
        .expect("open and migrate");
    let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display()))
        .await
        .expect("connect");
    let failures = prepare_all(&mut conn, &statements).await;
    let slips = self_check(&mut conn, Backend::Sqlite).await;
    drop((conn, store));
    eprintln!(
        "sqlite: prepared {} statements in {:.1?}",
        statements.len(),
        started.elapsed()
    );
    report(Backend::Sqlite, statements.len(), &failures, slips);
}

#[tokio::test]
async fn every_statement_prepares_on_postgres() {
    let Some(admin_url) = scratch_db::admin_url("the PostgreSQL statements") else {
        return;
    };
    let started = Instant::now();
    let statements = checked(Backend::Postgres);
    let (name, url) = scratch_db::create_database(&admin_url, "statements").await;
    let store = PostgresStore::connect(&url)
        .await
        .expect("open and migrate");
    let mut conn = sqlx::PgConnection::connect(&url).await.expect("connect");
    let failures = prepare_all(&mut conn, &statements).await;
    let slips = self_check(&mut conn, Backend::Postgres).await;
    conn.close().await.expect("close");
    drop(store);
    scratch_db::drop_database(&admin_url, &name)
        .await
        .expect("drop database");
    eprintln!(
        "postgres: prepared {} statements in {:.1?}",
        statements.len(),
        started.elapsed()
    );
    report(Backend::Postgres, statements.len(), &failures, slips);
}
