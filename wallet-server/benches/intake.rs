//! The list-intake floor: a school's list of 5,000 students is applied in at most 1 s, on
//! SQLite and on PostgreSQL (issue 18; the end-to-end figure with HTTP is the load
//! generator's).
//!
//! `intake_<backend>/fresh_5000` applies a new school's first list each iteration (new
//! school, 5,000 new students, a voucher formed for nine rows in ten, the tenth waiting for
//! consent). `intake_<backend>/resent_5000` sends one school's list again and again, 50
//! students renamed each time, as PEP re-sends a month's list: every row is read, kept and
//! its voucher goes out with the next roster pull.
//!
//! SQLite always runs (a temporary file); PostgreSQL runs when `TEST_DATABASE_URL` points at
//! a server: a fresh database `bench_<uuid>` is created and dropped at the end.
//!
//! Run: `TEST_DATABASE_URL=postgres://… cargo bench -p wallet-server --bench intake`

use std::cell::Cell;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode};
use shared::{Bin, Iin, Sex};
use time::macros::{date, datetime};
use time::OffsetDateTime;
use tokio::runtime::Runtime;
use wallet_server::domain::audit::Actor;
use wallet_server::domain::list::{RowOutcome, ValidList, ValidRow};
use wallet_server::domain::voucher::SchoolYearRule;
use wallet_server::domain::{Category, Programme, Relation, Representative, School, Student};
use wallet_server::store::{SqliteStore, Store};

mod support;

/// Students on a list.
const STUDENTS: usize = 5_000;
/// Every this-many-th row waits for a parent's consent.
const CONSENT_EVERY: usize = 10;
/// Students renamed between two sends of the same list.
const RENAMED: usize = 50;
const RECEIVED: OffsetDateTime = datetime!(2026-10-01 04:00 UTC);

/// The `n`-th student of the run: unique across every list of the run.
fn iin(n: usize) -> Iin {
    let born = date!(2012 - 01 - 01) + time::Duration::days((n % 3_000) as i64);
    let block = 1_000 + 10 * u16::try_from(n / 3_000).expect("serial block");
    (block..block + 10)
        .find_map(|s| Iin::generate(born, Sex::Male, s))
        .expect("issuable IIN")
}

/// The `k`-th school of the run that has a valid BIN.
fn school(k: &Cell<u32>) -> School {
    loop {
        let n = k.get();
        k.set(n + 1);
        let mut digits = [6, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        for (i, d) in format!("{n:06}").bytes().enumerate() {
            digits[5 + i] = d - b'0';
        }
        if let Some(bin) = Bin::generate(&digits) {
            return School {
                bin,
                name: format!("Школа {n}"),
            };
        }
    }
}

fn row(index: usize, at: &School, n: usize) -> ValidRow {
    let waits = index.is_multiple_of(CONSENT_EVERY);
    ValidRow {
        index,
        student: Student {
            iin: iin(n),
            full_name: format!("Ученик {n}"),
            school: at.bin,
            grade: if waits { 7 } else { 1 + (index % 4) as u8 },
            class_label: "1А".into(),
            category: if waits {
                Category::Asp
            } else {
                Category::Primary
            },
        },
        representatives: vec![(
            Representative {
                iin: iin(n + 1_000_000),
                full_name: format!("Родитель {n}"),
                phone: Some("77010000001".into()),
            },
            Relation::Mother,
        )],
        forms_voucher: !waits,
        warnings: Vec::new(),
    }
}

/// A list of `at` naming students `first..first + STUDENTS`.
fn list(at: &School, first: usize, received: OffsetDateTime) -> ValidList {
    let period: shared::time::YearMonth = "2026-10".parse().expect("period");
    ValidList {
        id: uuid::Uuid::now_v7(),
        school: at.clone(),
        programme: Programme::SchoolMeals,
        period,
        voucher_period: SchoolYearRule::default()
            .school_year_of(period.first_day())
            .expect("school year"),
        received_at: received,
        received_by: Actor::System,
        content_hash: uuid::Uuid::now_v7().to_string(),
        rows: (0..STUDENTS).map(|i| row(i, at, first + i)).collect(),
        rejected: Vec::new(),
    }
}

/// Applies `list`; checks every row was taken.
async fn apply(store: &dyn Store, list: &ValidList) {
    let outcome = store.apply_eligibility_list(list).await.expect("apply");
    let formed = outcome
        .rows
        .iter()
        .filter(|(_, r)| matches!(r, RowOutcome::VoucherFormed(_)))
        .count();
    assert_eq!(formed, STUDENTS - STUDENTS / CONSENT_EVERY);
}

fn bench_backend(c: &mut Criterion, rt: &Runtime, backend: &str, store: &dyn Store) {
    let schools = Cell::new(0);
    let students = Cell::new(0);
    let mut group = c.benchmark_group(format!("intake_{backend}"));
    group.sampling_mode(SamplingMode::Flat);
    group.bench_function("fresh_5000", |b| {
        b.iter_custom(|iters| {
            let mut spent = Duration::ZERO;
            for _ in 0..iters {
                let at = school(&schools);
                let fresh = list(&at, students.get(), RECEIVED);
                students.set(students.get() + STUDENTS);
                let started = Instant::now();
                rt.block_on(apply(store, &fresh));
                spent += started.elapsed();
            }
            spent
        })
    });
    let at = school(&schools);
    let mut resent = list(&at, students.get(), RECEIVED);
    rt.block_on(apply(store, &resent));
    let sends = Cell::new(0usize);
    group.bench_function("resent_5000", |b| {
        b.iter_custom(|iters| {
            let mut spent = Duration::ZERO;
            for _ in 0..iters {
                let send = sends.get();
                sends.set(send + 1);
                for r in resent
                    .rows
                    .iter_mut()
                    .skip(send * RENAMED % STUDENTS)
                    .take(RENAMED)
                {
                    r.student.full_name = format!("Переименован {send}");
                }
                resent.id = uuid::Uuid::now_v7();
                resent.received_at = RECEIVED + time::Duration::seconds(send as i64 + 1);
                let started = Instant::now();
                rt.block_on(apply(store, &resent));
                spent += started.elapsed();
            }
            spent
        })
    });
    group.finish();
}

fn intake_floor(c: &mut Criterion) {
    let rt = Runtime::new().expect("tokio runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let sqlite = rt
        .block_on(SqliteStore::open_file(&dir.path().join("bench.db")))
        .expect("open sqlite");
    bench_backend(c, &rt, "sqlite", &sqlite);
    if let Some((db, pg)) = support::postgres(&rt) {
        bench_backend(c, &rt, "postgres", &pg);
        rt.block_on(async { drop(pg) });
        drop(db);
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(10));
    targets = intake_floor
}
criterion_main!(benches);
