//! Property test of the meal rule through the real store: a random set of meal events from
//! three terminals — good meals, second meals in a slot, meals on an inactive or unknown
//! voucher, meals stamped in the wrong slot — pushed in any interleaving, in batches of any
//! size, with replays and with pushes racing each other, always ends the same way:
//!
//! - the billed set is exactly one meal per (student, day, slot) among the valid events;
//! - every other valid event is a `duplicate`, every invalid one `rejected`;
//! - a replay answers what the first push answered, and the books hold each stored event
//!   once with that verdict.
//!
//! SQLite always (a temporary file); PostgreSQL too when `TEST_DATABASE_URL` is set (its own
//! database, dropped after; `REQUIRE_POSTGRES=1` makes a missing URL a failure).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU16, AtomicUsize, Ordering};
use std::sync::Arc;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use shared::sync::{MealBatch, MealEvent, MealSlot, MealVerdict, Method};
use shared::{Bin, Iin, Sex, VoucherId};
use sqlx::Connection;
use time::macros::{date, datetime};
use time::{Date, OffsetDateTime};
use uuid::Uuid;
use wallet_server::audit::{Actor, AuditEntry};
use wallet_server::domain::{Category, Programme, School, Student};
use wallet_server::store::{
    EnrollmentCode, MealStatus, NewTerminal, PostgresStore, SqliteStore, Store, TerminalRecord,
    VoucherFacts,
};
use wallet_server::vouchers::{NewVoucher, SchoolYear, VoucherState};

const T0: OffsetDateTime = datetime!(2026-11-01 03:00 UTC);
/// The server's clock during the pushes: after every meal of the drill.
const NOW: OffsetDateTime = datetime!(2026-11-10 12:00 UTC);
const FIRST_DAY: Date = date!(2026 - 11 - 02);
/// (name, first minute) of the school's two slots, two hours each (Astana time).
const SLOTS: [(&str, u16); 2] = [("breakfast", 8 * 60), ("lunch", 12 * 60)];
/// Students 0..ACTIVE have activated vouchers, ACTIVE has a formed one, ACTIVE + 1 is an
/// unknown voucher.
const ACTIVE: usize = 4;

fn school() -> School {
    School {
        bin: Bin::generate(&[1, 1, 0, 3, 4, 0, 0, 0, 5, 5, 5]).expect("bin"),
        name: "Школа свойств".into(),
    }
}

fn audit(id: String, action: &str) -> AuditEntry {
    AuditEntry {
        at: T0,
        actor: Actor::System,
        entity_kind: "voucher",
        entity_id: id,
        action: action.into(),
        from_state: None,
        to_state: None,
        reason: None,
    }
}

/// The store with the school, its slots and three enrolled terminals.
struct World {
    store: Arc<dyn Store>,
    terminals: Vec<TerminalRecord>,
    /// Each case gets students of its own (distinct birth dates).
    cases: AtomicU16,
    /// Verdicts over all cases: accepted, duplicate, rejected (the run must see each).
    seen: [AtomicUsize; 3],
}

impl World {
    async fn new(store: Arc<dyn Store>) -> World {
        store.upsert_school(&school(), T0).await.expect("school");
        let slots: Vec<MealSlot> = SLOTS
            .iter()
            .map(|(name, start)| MealSlot {
                name: (*name).into(),
                start_minute: *start,
                end_minute: start + 120,
            })
            .collect();
        store
            .set_meal_slots(school().bin, &slots)
            .await
            .expect("slots");
        let mut terminals = Vec::new();
        for t in 0..3 {
            let code = EnrollmentCode {
                code_hash: format!("props-code-{t}"),
                school: school().bin,
                created_by: Actor::System,
                created_at: T0,
                expires_at: T0 + time::Duration::hours(24),
            };
            store.create_enrollment_code(&code).await.expect("code");
            let new = NewTerminal {
                id: Uuid::now_v7(),
                name: format!("касса {t}"),
                token_hash: format!("props-token-{t}"),
            };
            store
                .enroll_terminal(&code.code_hash, &new, T0)
                .await
                .expect("enroll");
            terminals.push(
                store
                    .terminal_by_token(&new.token_hash)
                    .await
                    .expect("lookup")
                    .expect("enrolled"),
            );
        }
        World {
            store,
            terminals,
            cases: AtomicU16::new(0),
            seen: Default::default(),
        }
    }

    /// Vouchers of this case's students: `ACTIVE` activated, one formed, one unknown.
    async fn vouchers(&self) -> Vec<VoucherId> {
        let case = self.cases.fetch_add(1, Ordering::Relaxed);
        let mut ids = Vec::new();
        for s in 0..=ACTIVE {
            let born = date!(2016 - 01 - 01) + time::Duration::days(i64::from(case) * 8 + s as i64);
            let student = Student {
                iin: (1000u16..1200)
                    .find_map(|serial| Iin::generate(born, Sex::Female, serial))
                    .expect("iin"),
                full_name: format!("Свойство {case} {s}"),
                school: school().bin,
                grade: 2,
                class_label: "2Б".into(),
                category: Category::Primary,
            };
            self.store
                .upsert_student(&student, T0)
                .await
                .expect("student");
            let new = NewVoucher {
                id: VoucherId::new(),
                programme: Programme::SchoolMeals,
                student: student.iin,
                school: student.school,
                period: SchoolYear {
                    first_day: date!(2026 - 09 - 01),
                    last_day: date!(2027 - 05 - 31),
                },
                formed_at: T0,
            };
            let id = self
                .store
                .form_voucher(&new, &audit(new.id.to_string(), "form"))
                .await
                .expect("form")
                .voucher()
                .id;
            if s < ACTIVE {
                self.store
                    .transition_voucher(
                        id,
                        VoucherState::Formed,
                        VoucherState::Activated,
                        &audit(id.to_string(), "activate"),
                    )
                    .await
                    .expect("activate");
            }
            ids.push(id);
        }
        ids.push(VoucherId::new());
        ids
    }
}

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
            slot: SLOTS[slot].0.into(),
            service_day: day,
            served_at,
            method: Method::Card,
            pass_nonce: None,
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
        wallet_server::meals::judge(school().bin, NOW, e, f, s)
    };
    let batch = MealBatch {
        events: events.to_vec(),
        unsent_after: Some(0),
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
    let batches = batches(&events, &schedule);
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
    // Everything once more, from one terminal in one batch: nothing changes.
    let all: Vec<MealEvent> = events.iter().map(|(_, e)| e.clone()).collect();
    record(push(world, 0, &all).await);

    for verdict in verdicts.values() {
        let i = match verdict {
            MealVerdict::Accepted => 0,
            MealVerdict::Duplicate => 1,
            MealVerdict::Rejected => 2,
        };
        world.seen[i].fetch_add(1, Ordering::Relaxed);
    }
    let key = |s: &Spec| (s.student, s.day, s.slot);
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
    assert_eq!(
        billed, valid_keys,
        "one billable meal per student, day and slot"
    );

    // The books agree: each stored event once, with the verdict it was answered.
    let mut stored = BTreeMap::new();
    for voucher in &vouchers {
        for meal in world.store.meals_of_voucher(*voucher).await.expect("meals") {
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
    let Ok(admin_url) = std::env::var("TEST_DATABASE_URL") else {
        assert!(
            std::env::var("REQUIRE_POSTGRES").is_err(),
            "REQUIRE_POSTGRES is set but TEST_DATABASE_URL is not"
        );
        eprintln!("TEST_DATABASE_URL not set: skipping the meal rule on PostgreSQL");
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

/// Replaces the database name in a `postgres://…/name?params` URL.
fn database_url(admin_url: &str, name: &str) -> String {
    let (base, params) = match admin_url.split_once('?') {
        Some((b, p)) => (b, format!("?{p}")),
        None => (admin_url, String::new()),
    };
    let authority_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let root = match base[authority_end..].find('/') {
        Some(i) => &base[..authority_end + i],
        None => base,
    };
    format!("{root}/{name}{params}")
}
