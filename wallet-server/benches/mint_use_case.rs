//! The whole JSON mint use case (`services::passes::issue`: the represented-voucher lookup,
//! the programme's dates, the mint counted in the store, the signature, the note for the
//! signals) on a real store, next to a bare Ed25519 signature, so their ratio shows. One
//! Tokio thread, as a server pinned to one core; 32 mints at once, as the load generator's
//! parents; 64 activated vouchers taken round-robin.
//!
//! `{backend}_cache_hit`: the lookup answered from the represented-voucher cache (the usual
//! case when a phone refreshes its pass); `{backend}_cache_miss`: the cache switched off, the
//! database asked every time. SQLite always; PostgreSQL when `TEST_DATABASE_URL` is set.
//!
//! Run: `cargo bench -p wallet-server --bench mint_use_case -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ring::signature::Ed25519KeyPair;
use shared::pass::{PassSigner, PAYLOAD_LEN, PREFIX};
use shared::{Iin, Sex, VoucherId};
use time::macros::{date, datetime};
use time::{Duration, OffsetDateTime};
use tokio::runtime::Runtime;
use wallet_server::domain::audit::Actor;
use wallet_server::domain::list::{
    ListRequest, Reception, RepresentativeIn, RowOutcome, SchoolIn, StudentIn,
};
use wallet_server::domain::programme_dates::ProgrammeDates;
use wallet_server::domain::voucher::SchoolYearRule;
use wallet_server::services::mint_notes::MintNotes;
use wallet_server::services::passes::keys::SharedKeyRing;
use wallet_server::services::passes::mint::MintLimiter;
use wallet_server::services::passes::{issue, Minting};
use wallet_server::services::{lists, vouchers};
use wallet_server::store::{SqliteStore, Store};

mod support;

/// The fixed instant everything happens at (a school day in the programme).
const NOW: OffsetDateTime = datetime!(2026-10-05 03:00 UTC);
const STUDENTS: u16 = 64;
const AT_ONCE: u64 = 32;

/// Switches a store's represented-voucher cache on or off.
type CacheSwitch = Box<dyn Fn(bool)>;

/// One school's list of `STUDENTS` primary pupils, each with a parent of their own.
fn seed_list() -> ListRequest {
    let person = |born, sex, serial: u16| {
        (serial..serial + 50)
            .find_map(|s| Iin::generate(born, sex, s))
            .expect("issuable IIN")
    };
    ListRequest {
        school: SchoolIn {
            bin: "050140001238".into(),
            name: "Школа".parse().expect("name"),
        },
        programme: "school_meals".into(),
        period: "2026-10".into(),
        students: (0..STUDENTS)
            .map(|i| StudentIn {
                iin: person(date!(2018 - 03 - 14), Sex::Female, 1000 + i * 60).expose(),
                full_name: "Ученица".parse().expect("name"),
                grade: 2,
                class_label: "2А".parse().expect("class"),
                category: "primary".into(),
                representatives: vec![RepresentativeIn {
                    iin: person(date!(1987 - 06 - 01), Sex::Female, 1000 + i * 60).expose(),
                    full_name: "Родитель".parse().expect("name"),
                    relation: "mother".into(),
                    phone: None,
                }],
            })
            .collect(),
    }
}

/// Applies the list and activates every voucher: (parent, voucher) pairs.
async fn seed(store: &Arc<dyn Store>) -> Vec<(Iin, VoucherId)> {
    let request = seed_list();
    let rule = SchoolYearRule::default();
    let reception = Reception {
        received_at: NOW,
        received_by: Actor::Integration("pep".into()),
        school_year: &rule,
        programme_dates: ProgrammeDates::pilot_2026(),
        content_hash: "bench".into(),
    };
    let (_, outcome) = lists::accept(store.as_ref(), &request, reception)
        .await
        .expect("list");
    let mut pairs = Vec::new();
    for ((_, row), student) in outcome.rows.iter().zip(&request.students) {
        let RowOutcome::VoucherFormed(id) = row else {
            panic!("voucher formed: {row:?}")
        };
        let parent: Iin = student.representatives[0].iin.parse().expect("iin");
        vouchers::activate(store.as_ref(), parent, *id, NOW)
            .await
            .expect("activate");
        pairs.push((parent, *id));
    }
    pairs
}

struct Bench {
    keys: SharedKeyRing,
    limiter: MintLimiter,
    notes: MintNotes,
}

/// `iters` mints, `AT_ONCE` at a time, round-robin over `pairs`; the time they took.
fn mint_at_once(
    rt: &Runtime,
    store: &Arc<dyn Store>,
    bench: &Arc<Bench>,
    pairs: &Arc<Vec<(Iin, VoucherId)>>,
    iters: u64,
) -> std::time::Duration {
    rt.block_on(async {
        let started = std::time::Instant::now();
        let mut tasks = tokio::task::JoinSet::new();
        for t in 0..AT_ONCE {
            let (store, bench, pairs) = (store.clone(), bench.clone(), pairs.clone());
            let share = iters / AT_ONCE + u64::from(t < iters % AT_ONCE);
            tasks.spawn(async move {
                let minting = Minting {
                    keys: &bench.keys,
                    limiter: &bench.limiter,
                    programme: ProgrammeDates::pilot_2026(),
                    notes: &bench.notes,
                };
                for i in 0..share {
                    let n = usize::try_from(t + i * AT_ONCE).unwrap_or(0);
                    let (parent, id) = pairs[n % pairs.len()];
                    let pass = issue(&store, &minting, parent, id, NOW).await;
                    black_box(pass.expect("minted"));
                }
            });
        }
        while let Some(done) = tasks.join_next().await {
            done.expect("task");
        }
        started.elapsed()
    })
}

fn mint_use_case(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let sqlite = rt
        .block_on(SqliteStore::open_file(&dir.path().join("wallet.db")))
        .expect("open sqlite");
    let pg = support::postgres(&rt);
    let mut stores: Vec<(&str, Arc<dyn Store>, CacheSwitch)> = Vec::new();
    let switch = sqlite.clone();
    stores.push((
        "sqlite",
        Arc::new(sqlite),
        Box::new(move |on| switch.set_facts_cache(on)),
    ));
    if let Some((_, store)) = &pg {
        let switch = store.clone();
        stores.push((
            "postgres",
            Arc::new(store.clone()),
            Box::new(move |on| switch.set_facts_cache(on)),
        ));
    }
    let bench = Arc::new(Bench {
        keys: SharedKeyRing::load_or_create(&dir.path().join("keys.json"), NOW).expect("keys"),
        limiter: MintLimiter::new(u32::MAX, Duration::minutes(10)),
        notes: MintNotes::default(),
    });
    let (_, pkcs8) = PassSigner::generate().expect("key");
    let key_pair = Ed25519KeyPair::from_pkcs8_maybe_unchecked(&pkcs8).expect("key pair");
    let message = [0x5a_u8; PREFIX.len() + PAYLOAD_LEN];

    let mut group = c.benchmark_group("mint_use_case");
    group.throughput(Throughput::Elements(1));
    group.bench_function("bare_ed25519_sign", |b| {
        b.iter(|| key_pair.sign(black_box(&message)))
    });
    for (backend, store, cache) in &stores {
        let pairs = Arc::new(rt.block_on(seed(store)));
        // The first mints start PostgreSQL's listener; the cache answers once it listens.
        mint_at_once(&rt, store, &bench, &pairs, AT_ONCE);
        rt.block_on(tokio::time::sleep(std::time::Duration::from_millis(300)));
        group.bench_function(format!("{backend}_cache_hit"), |b| {
            b.iter_custom(|iters| mint_at_once(&rt, store, &bench, &pairs, iters))
        });
        cache(false);
        group.bench_function(format!("{backend}_cache_miss"), |b| {
            b.iter_custom(|iters| mint_at_once(&rt, store, &bench, &pairs, iters))
        });
        cache(true);
    }
    group.finish();
    rt.block_on(async { drop(stores) });
    if let Some((db, store)) = pg {
        rt.block_on(async { drop(store) });
        drop(db);
    }
}

criterion_group!(benches, mint_use_case);
criterion_main!(benches);
