//! Cost of one dynamic QR pass: minting (Ed25519 sign + base45), verifying, and rendering.
//! `bare_ed25519_sign` signs a message of the signed length (`SW1:` + 42-byte payload) with
//! ring directly: the floor that minting is compared against.
//!
//! `mint_limit/*` is the per-voucher limit counted in the store (one upsert per mint, a new
//! voucher each time as in a lunch rush): one at a time, and 32 at once (what the HTTP mint
//! path sees with many parents). SQLite always; PostgreSQL when `TEST_DATABASE_URL` is set.
//!
//! Run: `cargo bench -p wallet-server --bench passes`

use std::hint::black_box;
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ring::signature::Ed25519KeyPair;
use shared::pass::{self, KeySet, PassClaims, PassSigner, PAYLOAD_LEN, PREFIX};
use time::{Duration, OffsetDateTime};
use tokio::runtime::Runtime;
use wallet_server::services::passes::mint::MintLimiter;
use wallet_server::services::passes::render;
use wallet_server::store::{SqliteStore, Store};

mod support;

fn passes(c: &mut Criterion) {
    let (signer, pkcs8) = PassSigner::generate().expect("generate key");
    let now = OffsetDateTime::now_utc();
    let claims = PassClaims {
        voucher_id: shared::VoucherId::new(),
        school: "050140001238".parse().expect("valid BIN"),
        valid_from: now - Duration::minutes(1),
        valid_until: now + Duration::hours(8),
        nonce: signer.nonce().expect("nonce"),
    };
    let text = signer.mint(&claims).expect("mint");
    let mut keys = KeySet::new();
    keys.insert(signer.public_key());
    pass::verify(&text, &keys, now).expect("the pass verifies");

    let key_pair = Ed25519KeyPair::from_pkcs8_maybe_unchecked(&pkcs8).expect("key pair");
    let message = [0x5a_u8; PREFIX.len() + PAYLOAD_LEN];
    assert_eq!(message.len(), 46);

    let mut group = c.benchmark_group("passes");
    group.throughput(Throughput::Elements(1));
    group.bench_function("mint", |b| {
        b.iter(|| signer.mint(black_box(&claims)).expect("mint"))
    });
    group.bench_function("verify", |b| {
        b.iter(|| pass::verify(black_box(&text), &keys, now).expect("verify"))
    });
    group.bench_function("bare_ed25519_sign", |b| {
        b.iter(|| key_pair.sign(black_box(&message)))
    });
    group.bench_function("render_png", |b| {
        b.iter(|| render::png(black_box(&text), render::DEFAULT_MODULE_PX).expect("png"))
    });
    group.bench_function("render_svg", |b| {
        b.iter(|| render::svg(black_box(&text)).expect("svg"))
    });
    group.finish();
}

/// Mints counted by `tasks` tasks at once; the time of `iters` mints in all.
fn count_at_once(
    rt: &Runtime,
    store: &Arc<dyn Store>,
    limiter: &Arc<MintLimiter>,
    tasks: u64,
    iters: u64,
) -> std::time::Duration {
    let now = OffsetDateTime::now_utc();
    rt.block_on(async {
        let started = std::time::Instant::now();
        let mut handles = Vec::new();
        for t in 0..tasks {
            let (store, limiter) = (store.clone(), limiter.clone());
            let share = iters / tasks + u64::from(t < iters % tasks);
            handles.push(tokio::spawn(async move {
                for _ in 0..share {
                    let id = shared::VoucherId::new();
                    let counted = limiter.check(&store, id, now).await;
                    assert_eq!(counted.expect("store"), Ok(()));
                }
            }));
        }
        for h in handles {
            h.await.expect("task");
        }
        started.elapsed()
    })
}

fn mint_limit(c: &mut Criterion) {
    let rt = Runtime::new().expect("tokio runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let sqlite = rt
        .block_on(SqliteStore::open_file(&dir.path().join("wallet.db")))
        .expect("open sqlite");
    let mut stores: Vec<(&str, Arc<dyn Store>)> = vec![("sqlite", Arc::new(sqlite))];
    let pg = support::postgres(&rt);
    if let Some((_, store)) = &pg {
        stores.push(("postgres", Arc::new(store.clone())));
    }
    let limiter = Arc::new(MintLimiter::new(30, Duration::minutes(10)));
    let mut group = c.benchmark_group("mint_limit");
    group.throughput(Throughput::Elements(1));
    for (backend, store) in &stores {
        group.bench_function(format!("{backend}_one_at_a_time"), |b| {
            b.iter_custom(|iters| count_at_once(&rt, store, &limiter, 1, iters))
        });
        group.bench_function(format!("{backend}_32_at_once"), |b| {
            b.iter_custom(|iters| count_at_once(&rt, store, &limiter, 32, iters))
        });
    }
    group.finish();
    // The PostgreSQL pools go inside the runtime, before their database.
    rt.block_on(async { drop(stores) });
    if let Some((db, store)) = pg {
        rt.block_on(async { drop(store) });
        drop(db);
    }
}

criterion_group!(benches, passes, mint_limit);
criterion_main!(benches);
