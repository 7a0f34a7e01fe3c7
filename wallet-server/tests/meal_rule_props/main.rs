//! Property test of the meal rule through the real store: a random set of meal events from
//! three terminals — good meals, second meals in a slot, meals on an inactive or unknown
//! voucher, meals stamped in the wrong slot — pushed in any interleaving, in batches of any
//! size, with replays and with pushes racing each other, always ends the same way:
//!
//! - the billed set is exactly one meal per (student, day) among the valid events, whatever
//!   the number of slots (issue 19: one free meal per day);
//! - every other valid event is a `duplicate`, every invalid one `rejected`;
//! - a replay answers what the first push answered, and the books hold each stored event
//!   once with that verdict.
//!
//! SQLite always (a temporary file); PostgreSQL too when `TEST_DATABASE_URL` is set (its own
//! database, dropped after; `REQUIRE_POSTGRES=1` makes a missing URL a failure).

mod world;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::Ordering;
use std::sync::Arc;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use shared::sync::{MealBatch, MealEvent, MealSlot, MealVerdict, Method};
use shared::VoucherId;
use sqlx::Connection;
use uuid::Uuid;
use wallet_server::domain::meal::MealStatus;
use wallet_server::domain::meal::VoucherFacts;
use wallet_server::store::{PostgresStore, SqliteStore, Store};

use world::{school, World, ACTIVE, FIRST_DAY, NOW, SLOTS};

#[path = "../support/scratch_db.rs"]
mod scratch_db;
use scratch_db::database_url;

/// One generated meal: terminal, student (see [`ACTIVE`]), day, slot, minute in the slot,
/// and whether the terminal stamped it with the other slot's name.
#[derive(Debug, Clone)]
struct Spec {
    terminal: usize,
    student: usize,
    day: i64,
    slot: usize,
    minute: u16,
    mislabelled: bool,
}

impl Spec {
    fn valid(&self) -> bool {
        self.student < ACTIVE && !self.mislabelled
    }

    fn event(&self, vouchers: &[VoucherId]) -> MealEvent {
        let day = FIRST_DAY + time::Duration::days(self.day);
        let (_, start) = SLOTS[self.slot];
        let astana = time::UtcOffset::from_hms(5, 0, 0).expect("+5");
        let served_at = day
            .midnight()
            .assume_offset(astana)
            .saturating_add(time::Duration::minutes(i64::from(start + self.minute)))
            .to_offset(time::UtcOffset::UTC);
        let slot = if self.mislabelled {
            1 - self.slot
        } else {
            self.slot
        };
        MealEvent {
            event_id: Uuid::now_v7(),
            voucher_id: vouchers[self.student],
            slot: SLOTS[slot].0.parse().expect("slot"),
            service_day: day,
            served_at,
            method: Method::Card,
            pass_nonce: None,
            manual_reason: None,
            worker: None,
        }
    }
}

fn any_spec() -> impl Strategy<Value = Spec> {
    (
        0usize..3,
        prop_oneof![8 => 0usize..ACTIVE, 1 => Just(ACTIVE), 1 => Just(ACTIVE + 1)],
        0i64..3,
        0usize..2,
        0u16..120,
        prop::bool::weighted(0.1),
    )
        .prop_map(|(terminal, student, day, slot, minute, mislabelled)| Spec {
            terminal,
            student,
            day,
            slot,
            minute,
            mislabelled,
        })
}

/// How the events are pushed: an order key per event, the batch size limits, and per
/// batch whether an earlier batch is replayed after it and whether it races the next one.
#[derive(Debug, Clone)]
struct Schedule {
    order: Vec<u64>,
    sizes: Vec<usize>,
    replays: Vec<Option<prop::sample::Index>>,
    races: Vec<bool>,
}

fn any_case() -> impl Strategy<Value = (Vec<Spec>, Schedule)> {
    prop::collection::vec(any_spec(), 1..28).prop_flat_map(|specs| {
        let n = specs.len();
        let schedule = (
            prop::collection::vec(any::<u64>(), n),
            prop::collection::vec(1usize..6, n),
            prop::collection::vec(
                prop::option::weighted(0.25, any::<prop::sample::Index>()),
                n,
            ),
            prop::collection::vec(prop::bool::weighted(0.3), n),
        )
            .prop_map(|(order, sizes, replays, races)| Schedule {
                order,
                sizes,
                replays,
                races,
            });
        (Just(specs), schedule)
    })
}

/// The batches, in push order: (terminal, events), each from one terminal.
fn batches(events: &[(usize, MealEvent)], schedule: &Schedule) -> Vec<(usize, Vec<MealEvent>)> {
    let mut order: Vec<usize> = (0..events.len()).collect();
    order.sort_by_key(|&i| schedule.order[i]);
    let mut out: Vec<(usize, Vec<MealEvent>)> = Vec::new();
    for i in order {
        let (terminal, event) = &events[i];
        let limit = schedule.sizes[out.len() % schedule.sizes.len()];
        match out.last_mut() {
            Some((t, batch)) if t == terminal && batch.len() < limit => batch.push(event.clone()),
            _ => out.push((*terminal, vec![event.clone()])),
        }
    }
    out
}

async fn push(world: &World, terminal: usize, events: &[MealEvent]) -> Vec<(Uuid, MealVerdict)> {
    let judge = |e: &MealEvent, f: Option<&VoucherFacts>, s: &[MealSlot]| {
        let programme = wallet_server::domain::programme_dates::ProgrammeDates::pilot_2026();
        wallet_server::domain::meal::judge(school().bin, &programme, NOW, e, f, s)
    };
    let batch = MealBatch {
        events: events.to_vec(),
        unsent_after: Some(0),
        voids: Vec::new(),
        denials: Vec::new(),
    };
    let results = world
        .store
        .record_meals(&world.terminals[terminal], &batch, NOW, &judge)
        .await
        .expect("push");
    assert_eq!(results.len(), events.len());
    results
        .into_iter()
        .map(|r| (r.event_id, r.status))
        .collect()
}

/// Pushes the events as the schedule says; returns every event's verdict (a replay must
/// answer what the first push answered).
async fn push_all(
    world: &World,
    events: &[(usize, MealEvent)],
    schedule: &Schedule,
) -> BTreeMap<Uuid, MealVerdict> {
    let batches = batches(events, schedule);
    let mut verdicts: BTreeMap<Uuid, MealVerdict> = BTreeMap::new();
    let mut record = |answers: Vec<(Uuid, MealVerdict)>| {
        for (id, verdict) in answers {
            let first = *verdicts.entry(id).or_insert(verdict);
            assert_eq!(first, verdict, "a replay of {id} answered differently");
        }
    };
    let mut i = 0;
    while i < batches.len() {
        let (t, batch) = &batches[i];
        if schedule.races[i % schedule.races.len()] && i + 1 < batches.len() {
            let (t2, batch2) = &batches[i + 1];
            let (a, b) = tokio::join!(push(world, *t, batch), push(world, *t2, batch2));
            record(a);
            record(b);
            i += 2;
        } else {
            record(push(world, *t, batch).await);
            i += 1;
        }
        if let Some(pick) = &schedule.replays[(i - 1) % schedule.replays.len()] {
            let (t, batch) = &batches[pick.index(i)];
            record(push(world, *t, batch).await);
        }
    }
    // Everything once more, each terminal its own events in one batch: nothing changes (an
    // event id is the terminal's own, so only its terminal can replay it).
    for t in 0..world.terminals.len() {
        let own: Vec<MealEvent> = events
            .iter()
            .filter(|(by, _)| *by == t)
            .map(|(_, e)| e.clone())
            .collect();
        record(push(world, t, &own).await);
    }
    verdicts
}

/// Runs one case; panics (failing the property) when the rule does not hold.
async fn check(world: &World, specs: Vec<Spec>, schedule: Schedule) {
    let vouchers = world.vouchers().await;
    let events: Vec<(usize, MealEvent)> = specs
        .iter()
        .map(|s| (s.terminal, s.event(&vouchers)))
        .collect();
    let spec_of: BTreeMap<Uuid, &Spec> = events
        .iter()
        .zip(&specs)
        .map(|((_, e), s)| (e.event_id, s))
        .collect();
    let verdicts = push_all(world, &events, &schedule).await;
    for verdict in verdicts.values() {
        let i = match verdict {
            MealVerdict::Accepted => 0,
            MealVerdict::Duplicate => 1,
            MealVerdict::Rejected => 2,
        };
        world.seen[i].fetch_add(1, Ordering::Relaxed);
    }
    let key = |s: &Spec| (s.student, s.day);
    let valid_keys: BTreeSet<_> = specs.iter().filter(|s| s.valid()).map(key).collect();
    let mut billed = BTreeSet::new();
    for (id, verdict) in &verdicts {
        let spec = spec_of[id];
        match verdict {
            MealVerdict::Rejected => assert!(!spec.valid(), "a valid meal rejected: {spec:?}"),
            MealVerdict::Accepted => {
                assert!(spec.valid(), "an invalid meal accepted: {spec:?}");
                assert!(billed.insert(key(spec)), "billed twice: {spec:?}");
            }
            MealVerdict::Duplicate => assert!(spec.valid(), "{spec:?}"),
        }
    }
    assert_eq!(billed, valid_keys, "one billable meal per student and day");

    // The books agree: each stored event once, with the verdict it was answered.
    let mut stored = BTreeMap::new();
    for voucher in &vouchers {
        for meal in world
            .store
            .meals_of_voucher(*voucher, world::lists::parent().iin)
            .await
            .expect("meals")
        {
            assert!(stored.insert(meal.event_id, meal.status).is_none());
        }
    }
    for (id, verdict) in &verdicts {
        let spec = spec_of[id];
        let expected = match verdict {
            MealVerdict::Accepted => Some(MealStatus::Accepted),
            MealVerdict::Duplicate => Some(MealStatus::Duplicate),
            // An unknown voucher has no row to attach the meal to: answered, not stored.
            MealVerdict::Rejected if spec.student > ACTIVE => None,
            MealVerdict::Rejected => Some(MealStatus::Rejected),
        };
        assert_eq!(stored.get(id).copied(), expected, "{spec:?}");
    }
    let unknown = specs.iter().filter(|s| s.student > ACTIVE).count();
    assert_eq!(
        stored.len(),
        verdicts.len() - unknown,
        "nothing else is stored"
    );
}

/// Two terminals push the same students' meals at once, in opposite orders — the pattern
/// that makes PostgreSQL abort one transaction as a deadlock. Both pushes must succeed, with
/// one billable meal per student and the other terminal's a duplicate.
async fn opposite_orders(world: &World) {
    let mut active = Vec::new();
    for _ in 0..12 {
        active.extend(world.vouchers().await.into_iter().take(ACTIVE));
    }
    for day in 0..3 {
        let spec = |student| Spec {
            terminal: 0,
            student,
            day,
            slot: 1,
            minute: 5,
            mislabelled: false,
        };
        let forward: Vec<MealEvent> = (0..active.len())
            .map(|i| spec(0).event(&[active[i]]))
            .collect();
        let backward: Vec<MealEvent> = (0..active.len())
            .rev()
            .map(|i| spec(0).event(&[active[i]]))
            .collect();
        let (a, b) = tokio::join!(push(world, 1, &forward), push(world, 2, &backward));
        let accepted = a
            .iter()
            .chain(&b)
            .filter(|(_, v)| *v == MealVerdict::Accepted)
            .count();
        let duplicates = a
            .iter()
            .chain(&b)
            .filter(|(_, v)| *v == MealVerdict::Duplicate)
            .count();
        assert_eq!((accepted, duplicates), (active.len(), active.len()));
    }
}

fn run_property(rt: &tokio::runtime::Runtime, store: Arc<dyn Store>, cases: u32) {
    let world = rt.block_on(World::new(store));
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&any_case(), |(specs, schedule)| {
            rt.block_on(check(&world, specs, schedule));
            Ok(())
        })
        .unwrap_or_else(|e| panic!("the meal rule failed: {e}"));
    rt.block_on(opposite_orders(&world));
    let seen = world.seen.each_ref().map(|n| n.load(Ordering::Relaxed));
    eprintln!("meal rule over {cases} cases: accepted, duplicate, rejected = {seen:?}");
    assert!(
        seen.iter().all(|&n| n > 0),
        "the cases covered every verdict: {seen:?}"
    );
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

#[test]
fn any_interleaving_of_pushes_bills_the_same_set_on_sqlite() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rt = runtime();
    let store = rt
        .block_on(SqliteStore::open_file(&dir.path().join("props.db")))
        .expect("open sqlite");
    run_property(&rt, Arc::new(store), 48);
}

#[test]
fn any_interleaving_of_pushes_bills_the_same_set_on_postgres() {
    let Some(admin_url) = scratch_db::admin_url("the meal rule on PostgreSQL") else {
        return;
    };
    let rt = runtime();
    let name = format!("props_{}", VoucherId::new().as_uuid().simple());
    let admin = || async {
        sqlx::PgConnection::connect(&admin_url)
            .await
            .expect("connect admin")
    };
    rt.block_on(async {
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin().await)
            .await
            .expect("create database");
    });
    let url = database_url(&admin_url, &name);
    let store = rt
        .block_on(PostgresStore::connect(&url))
        .expect("open postgres");
    run_property(&rt, Arc::new(store), 24);
    rt.block_on(async {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE {name} WITH (FORCE)"
        )))
        .execute(&mut admin().await)
        .await
        .expect("drop database");
    });
}
