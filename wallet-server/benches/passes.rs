//! Cost of one dynamic QR pass: minting (Ed25519 sign + base45), verifying, and rendering.
//! `bare_ed25519_sign` signs a message of the signed length (`SW1:` + 42-byte payload) with
//! ring directly: the floor that minting is compared against.
//!
//! Run: `cargo bench -p wallet-server --bench passes`

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ring::signature::Ed25519KeyPair;
use shared::pass::{self, KeySet, PassClaims, PassSigner, PAYLOAD_LEN, PREFIX};
use time::{Duration, OffsetDateTime};
use wallet_server::services::passes::render;

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

criterion_group!(benches, passes);
criterion_main!(benches);
