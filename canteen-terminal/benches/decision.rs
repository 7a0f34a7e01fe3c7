//! Benchmark of the decision path (budget: p99 scan-to-decision under 15 ms).
//!
//! - `verify_pass`: the Ed25519 pass check alone.
//! - `decide_qr_lookup_only`: pass check, roster lookup and meal-rule check against SQLite,
//!   no write (the path of every denial).
//! - `scan_to_decision_{qr,card}_durable`: everything the terminal does between a scan and
//!   its verdict, including the meal insert committed with `synchronous=FULL` (an fsync) on a
//!   file under the target directory (a real disk, not tmpfs).
//!
//! The roster holds 2000 students; the clock moves one day forward every time all of them
//! have eaten, so every measured scan is an accepted, recorded meal.

use std::sync::Arc;

use canteen_terminal::decide::{decide, DecisionContext};
use canteen_terminal::scanner::Scan;
use canteen_terminal::store::Store;
use canteen_terminal::terminal::{Settings, Terminal};
use criterion::{criterion_group, criterion_main, Criterion};
use shared::pass::{self, KeySet, PassClaims, PassSigner};
use shared::sync::{EnrollResponse, MealSlot, RosterEntry, SchoolInfo, SyncResponse};
use shared::time::ManualClock;
use shared::{Bin, CardUid, VoucherId};
use time::macros::{date, datetime};
use time::{Duration, OffsetDateTime};

const STUDENTS: usize = 2000;
const START: OffsetDateTime = datetime!(2026-09-01 06:00 UTC);

struct Fixture {
    _dir: tempfile::TempDir,
    path: std::path::PathBuf,
    school: Bin,
    keys: KeySet,
    passes: Vec<String>,
    cards: Vec<CardUid>,
}

/// `STUDENTS` students with cards and a pass each, signed by `signer`.
fn students(signer: &PassSigner, school: Bin) -> (Vec<RosterEntry>, Vec<String>, Vec<CardUid>) {
    let mut roster = Vec::new();
    let mut passes = Vec::new();
    let mut cards = Vec::new();
    for i in 0..STUDENTS {
        let voucher_id = VoucherId::new();
        let card = CardUid::from_bytes([0x10, 0, 0, (i >> 8) as u8, i as u8]);
        roster.push(RosterEntry {
            voucher_id,
            student_name: format!("Ученик {i}"),
            class_label: "4А".into(),
            card_uid: Some(card),
            active: true,
            valid_until: date!(2030 - 05 - 31),
            valid_from: time::Date::MIN,
            entitled: None,
            shift: None,
            alert: None,
        });
        let claims = PassClaims {
            voucher_id,
            school,
            valid_from: datetime!(2026-01-01 00:00 UTC),
            valid_until: datetime!(2030-01-01 00:00 UTC),
            nonce: [i as u8; 8],
        };
        passes.push(signer.mint(&claims).expect("mint"));
        cards.push(card);
    }
    (roster, passes, cards)
}

/// A database as a synced terminal has it, on a real disk.
fn fixture() -> Fixture {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("tempdir");
    let path = dir.path().join("bench.db");
    let school: Bin = "990340001230".parse().expect("bin");
    let (signer, _) = PassSigner::generate().expect("key");
    let mut keys = KeySet::new();
    keys.insert(signer.public_key());
    let (roster, passes, cards) = students(&signer, school);
    let mut store = Store::open(&path).expect("store");
    let info = SchoolInfo {
        bin: school,
        name: "Школа".into(),
    };
    let enrolled = EnrollResponse {
        terminal_id: uuid::Uuid::now_v7(),
        token: "t".into(),
        school: info.clone(),
    };
    store
        .save_enrollment("http://s", &enrolled)
        .expect("enroll");
    let pulled = SyncResponse {
        school: info,
        cursor: 1,
        roster,
        full: true,
        keys: keys.published(),
        slots: vec![MealSlot::whole_day()],
        server_time: START,
        progress: None,
        meals_seen: Vec::new(),
        meals_cursor: None,
    };
    store.apply_sync(&pulled, 0, START).expect("apply");
    Fixture {
        _dir: dir,
        path,
        school,
        keys,
        passes,
        cards,
    }
}

fn terminal(f: &Fixture, clock: Arc<ManualClock>) -> Terminal {
    let settings = Settings {
        school: f.school,
        leeway: Duration::minutes(2),
        roster_max_age: Duration::days(10_000),
    };
    Terminal::new(Store::open(&f.path).expect("store"), clock, settings).expect("terminal")
}

fn benches(c: &mut Criterion) {
    let f = fixture();
    c.bench_function("verify_pass", |b| {
        b.iter(|| pass::verify(&f.passes[7], &f.keys, START).expect("valid"))
    });

    let store = Store::open(&f.path).expect("store");
    let mut i = 0;
    c.bench_function("decide_qr_lookup_only", |b| {
        b.iter(|| {
            i = (i + 1) % STUDENTS;
            let ctx = DecisionContext {
                ready: true,
                keys: &f.keys,
                school: f.school,
                now: START,
                leeway: Duration::minutes(2),
                slots: &[],
                roster: &store,
            };
            decide(&Scan::Qr(f.passes[i].clone()), &ctx).expect("decided")
        })
    });

    for (name, qr) in [
        ("scan_to_decision_qr_durable", true),
        ("scan_to_decision_card_durable", false),
    ] {
        let clock = Arc::new(ManualClock::at(
            START + Duration::days(if qr { 0 } else { 500 }),
        ));
        let mut term = terminal(&f, Arc::clone(&clock));
        let mut i = 0;
        c.bench_function(name, |b| {
            b.iter(|| {
                i += 1;
                if i % STUDENTS == 0 {
                    clock.advance(Duration::days(1));
                }
                let scan = if qr {
                    Scan::Qr(f.passes[i % STUDENTS].clone())
                } else {
                    Scan::Card(f.cards[i % STUDENTS])
                };
                let verdict = term.handle_scan(&scan);
                assert!(verdict.accepted(), "{verdict:?}");
                verdict
            })
        });
    }
}

criterion_group!(decision, benches);
criterion_main!(decision);
