//! The limits each figure is compared with, measured in the same run: bare Ed25519 signing
//! with `ring` on one core, and a bare batched insert of meal rows into a database with the
//! server's own schema (all indexes and foreign keys), as fast as one writer can go.

use std::str::FromStr;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context};
use ring::signature::{Ed25519KeyPair, KeyPair};
use serde::Serialize;
use sqlx::{Executor, QueryBuilder};
use time::{Date, OffsetDateTime};
use wallet_server::domain::audit::Actor;
use wallet_server::domain::list::{validate_list, ListRequest, Reception};
use wallet_server::domain::programme_dates::ProgrammeDates;
use wallet_server::domain::voucher::SchoolYearRule;

/// Ed25519 signatures per second on this core for `duration`.
pub fn sign_rate(duration: Duration) -> anyhow::Result<f64> {
    let rng = ring::rand::SystemRandom::new();
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).map_err(|_| anyhow!("key generation"))?;
    let key = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).map_err(|_| anyhow!("key parse"))?;
    let _ = key.public_key();
    let mut payload = [7u8; 42];
    let started = Instant::now();
    let mut n = 0u64;
    while started.elapsed() < duration {
        for _ in 0..256 {
            payload[0] = payload[0].wrapping_add(1);
            std::hint::black_box(key.sign(&payload));
        }
        n += 256;
    }
    Ok(n as f64 / started.elapsed().as_secs_f64())
}

#[derive(Debug, Clone, Serialize)]
pub struct BareInsert {
    pub backend: &'static str,
    pub rows: usize,
    pub batch: usize,
    pub rows_per_s: f64,
}

struct Row {
    voucher: String,
    student: String,
    day: Date,
}

/// Where the bare insert goes: a fresh SQLite file, or a fresh database on the PostgreSQL
/// server the wallet server uses.
pub enum BareTarget {
    Sqlite(std::path::PathBuf),
    Postgres(String),
}

pub async fn bare_insert(
    target: &BareTarget,
    students: usize,
    days: u32,
    batch: usize,
) -> anyhow::Result<BareInsert> {
    match target {
        BareTarget::Sqlite(path) => sqlite(path, students, days, batch).await,
        BareTarget::Postgres(url) => postgres(url, students, days, batch).await,
    }
}

/// A school with `students` formed vouchers, through the server's own list intake.
async fn prepare(store: &dyn wallet_server::store::Store, students: usize) -> anyhow::Result<()> {
    let bin = super::seed::bin(999)?;
    let plan = super::seed::SeedPlan {
        schools: 1,
        students,
        terminals: 0,
        days: 0,
        concurrency: 1,
    };
    let now = OffsetDateTime::now_utc();
    let period = shared::time::month_of(now).to_string();
    let (body, _) = super::seed::list(999, &bin, &plan, &period)?;
    let request: ListRequest = serde_json::from_value(body)?;
    let rule = SchoolYearRule::default();
    let reception = Reception {
        received_at: now,
        received_by: Actor::Demo,
        school_year: &rule,
        programme_dates: ProgrammeDates::around(shared::time::service_day(now)),
        content_hash: "loadgen-bare".into(),
    };
    let list = validate_list(&request, reception).map_err(|e| anyhow!("bare list: {e}"))?;
    store.apply_eligibility_list(&list).await?;
    Ok(())
}

fn rows(vouchers: Vec<(String, String)>, days: u32) -> Vec<Row> {
    let first = shared::time::service_day(OffsetDateTime::now_utc());
    (0..days)
        .flat_map(|d| {
            let day = first + time::Duration::days(i64::from(d));
            vouchers.iter().map(move |(v, s)| Row {
                voucher: v.clone(),
                student: s.clone(),
                day,
            })
        })
        .collect()
}

async fn sqlite(
    path: &std::path::Path,
    students: usize,
    days: u32,
    batch: usize,
) -> anyhow::Result<BareInsert> {
    let url = format!("sqlite://{}?mode=rwc", path.display());
    let store = wallet_server::store::open(Some(&url), path.parent().unwrap_or(path)).await?;
    prepare(store.as_ref(), students).await?;
    drop(store);
    let options = sqlx::sqlite::SqliteConnectOptions::from_str(&url)?
        .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
        .synchronous(sqlx::sqlite::SqliteSynchronous::Full)
        .foreign_keys(true);
    let pool = sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await?;
    let vouchers: Vec<(String, String)> = sqlx::query_as("SELECT id, student_iin FROM vouchers")
        .fetch_all(&pool)
        .await?;
    let rows = rows(vouchers, days);
    let started = Instant::now();
    for chunk in rows.chunks(batch) {
        let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
        let mut q = QueryBuilder::new(
            "INSERT INTO meals (event_id, voucher_id, student_iin, school_bin, terminal_id, service_day, \
             slot, served_at, method, status, reason, received_at, pass_nonce) ",
        );
        let now = stamp(OffsetDateTime::now_utc());
        q.push_values(chunk, |mut b, r| {
            b.push_bind(uuid::Uuid::now_v7().to_string())
                .push_bind(&r.voucher)
                .push_bind(&r.student)
                .push_bind("261140009990")
                .push_bind(uuid::Uuid::nil().to_string())
                .push_bind(r.day.to_string())
                .push_bind("day")
                .push_bind(stamp(
                    shared::time::start_of_service_day(r.day) + time::Duration::hours(7),
                ))
                .push_bind("qr")
                .push_bind("accepted")
                .push_bind(Option::<String>::None)
                .push_bind(now.clone())
                .push_bind(Option::<String>::None);
        });
        q.push(" ON CONFLICT DO NOTHING");
        tx.execute(q.build()).await?;
        tx.commit().await?;
    }
    Ok(BareInsert {
        backend: "sqlite",
        rows: rows.len(),
        batch,
        rows_per_s: rows.len() as f64 / started.elapsed().as_secs_f64(),
    })
}

fn stamp(t: OffsetDateTime) -> String {
    let f = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z"
    );
    t.to_offset(time::UtcOffset::UTC)
        .format(f)
        .unwrap_or_default()
}

async fn postgres(
    url: &str,
    students: usize,
    days: u32,
    batch: usize,
) -> anyhow::Result<BareInsert> {
    let admin = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect(url)
        .await?;
    let name = format!("loadgen_bare_{}", std::process::id());
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name}"
    )))
    .execute(&admin)
    .await?;
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&admin)
        .await?;
    let (base, _) = url
        .rsplit_once('/')
        .ok_or_else(|| anyhow!("database URL without a database name"))?;
    let db_url = format!("{base}/{name}");
    let result = postgres_run(&db_url, students, days, batch).await;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
    )))
    .execute(&admin)
    .await
    .context("dropping the bare database")?;
    result
}

async fn postgres_run(
    url: &str,
    students: usize,
    days: u32,
    batch: usize,
) -> anyhow::Result<BareInsert> {
    let store = wallet_server::store::open(Some(url), std::path::Path::new(".")).await?;
    prepare(store.as_ref(), students).await?;
    drop(store);
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect(url)
        .await?;
    let vouchers: Vec<(String, String)> =
        sqlx::query_as("SELECT id::text, student_iin FROM vouchers")
            .fetch_all(&pool)
            .await?;
    let rows = rows(vouchers, days);
    let started = Instant::now();
    for chunk in rows.chunks(batch) {
        let mut tx = pool.begin().await?;
        let mut q = QueryBuilder::new(
            "INSERT INTO meals (event_id, voucher_id, student_iin, school_bin, terminal_id, service_day, \
             slot, served_at, method, status, reason, received_at, pass_nonce) ",
        );
        let now = OffsetDateTime::now_utc();
        q.push_values(chunk, |mut b, r| {
            b.push_bind(uuid::Uuid::now_v7())
                .push_bind(uuid::Uuid::parse_str(&r.voucher).unwrap_or_default())
                .push_bind(&r.student)
                .push_bind("261140009990")
                .push_bind(uuid::Uuid::nil())
                .push_bind(r.day)
                .push_bind("day")
                .push_bind(shared::time::start_of_service_day(r.day) + time::Duration::hours(7))
                .push_bind("qr")
                .push_bind("accepted")
                .push_bind(Option::<String>::None)
                .push_bind(now)
                .push_bind(Option::<String>::None);
        });
        q.push(" ON CONFLICT DO NOTHING");
        tx.execute(q.build()).await?;
        tx.commit().await?;
    }
    Ok(BareInsert {
        backend: "postgres",
        rows: rows.len(),
        batch,
        rows_per_s: rows.len() as f64 / started.elapsed().as_secs_f64(),
    })
}
