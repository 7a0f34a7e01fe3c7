//! Tests of the store against real SQLite files in a temporary directory: durability
//! settings, file permissions, migrations, the meal rule, the push queue and roster pulls.

use shared::pass::PassSigner;
use shared::sync::{EnrollResponse, MealSlot};
use shared::sync::{MealResult, MealVerdict, Method, RosterEntry, SchoolInfo, SyncResponse};
use shared::VoucherId;
use time::macros::{date, datetime};

use super::*;
use crate::decide::{Meal, Roster, Student};

const SCHOOL: &str = "990340001230";

fn open(dir: &tempfile::TempDir) -> Store {
    Store::open(&dir.path().join("terminal.db")).expect("open")
}

fn entry(name: &str, card: Option<&str>) -> RosterEntry {
    RosterEntry {
        voucher_id: VoucherId::new(),
        student_name: name.into(),
        class_label: "5Б".into(),
        card_uid: card.map(|c| c.parse().expect("uid")),
        active: true,
        valid_until: date!(2027 - 05 - 31),
        valid_from: time::Date::MIN,
        entitled: None,
        shift: None,
        alert: None,
    }
}

fn pull(roster: Vec<RosterEntry>, full: bool) -> SyncResponse {
    let (signer, _) = PassSigner::generate().expect("key");
    let mut keys = shared::pass::KeySet::new();
    keys.insert(signer.public_key());
    SyncResponse {
        school: SchoolInfo {
            bin: SCHOOL.parse().expect("bin"),
            name: "Школа №1".into(),
        },
        cursor: 7,
        roster,
        full,
        keys: keys.published(),
        slots: vec![MealSlot::whole_day()],
        server_time: datetime!(2026-09-01 06:00 UTC),
        progress: None,
        meals_seen: Vec::new(),
        meals_cursor: None,
    }
}

fn meal_of(entry: &RosterEntry, slot: &str, day: Date) -> Meal {
    Meal {
        student: Student {
            voucher_id: entry.voucher_id,
            name: entry.student_name.clone(),
            class_label: entry.class_label.clone(),
            active: true,
            valid_until: entry.valid_until,
            valid_from: entry.valid_from,
            entitled: entry.entitled.clone(),
            shift: entry.shift,
            alert: entry.alert.as_ref().map(|a| a.to_string()),
        },
        method: Method::Card,
        service_day: day,
        slot: slot.into(),
        served_at: datetime!(2026-09-01 06:30 UTC),
        pass_nonce: None,
    }
}

fn inserted(recorded: Recorded) -> Uuid {
    match recorded {
        Recorded::Inserted(id) => id,
        Recorded::AlreadyAte => panic!("refused a first meal"),
    }
}

#[test]
fn durability_settings_are_applied() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(&dir);
    let (journal, synchronous, foreign_keys, busy) = store.pragmas().expect("pragmas");
    assert_eq!(journal, "wal");
    assert_eq!(synchronous, 2, "synchronous=FULL");
    assert_eq!(foreign_keys, 1);
    assert_eq!(busy, 5000);
}

#[cfg(unix)]
#[test]
fn the_file_and_its_wal_are_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(&dir);
    let e = entry("A", None);
    store
        .record_meal(&meal_of(&e, "day", date!(2026 - 09 - 01)), Stamp::default())
        .expect("insert");
    for name in ["terminal.db", "terminal.db-wal", "terminal.db-shm"] {
        let mode = std::fs::metadata(dir.path().join(name))
            .expect("exists")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{name}: {:o}", mode & 0o777);
    }
    drop(store);
    let path = dir.path().join("terminal.db");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    Store::open(&path).expect("reopen");
    let mode = std::fs::metadata(&path)
        .expect("exists")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "a readable file is tightened on open");
}

#[test]
fn migrations_run_once_and_state_survives_reopening() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(&dir);
    assert_eq!(store.schema_version().expect("version"), schema::VERSION);
    assert!(!store.state().expect("state").enrolled());
    let enrolled = EnrollResponse {
        terminal_id: Uuid::now_v7(),
        token: "secret-token".into(),
        school: SchoolInfo {
            bin: SCHOOL.parse().expect("bin"),
            name: "Школа".into(),
        },
    };
    store
        .save_enrollment("http://server", &enrolled)
        .expect("save");
    drop(store);
    let again = open(&dir);
    assert_eq!(again.schema_version().expect("version"), schema::VERSION);
    let state = again.state().expect("state");
    assert!(state.enrolled());
    assert_eq!(state.terminal_id, Some(enrolled.terminal_id));
    assert_eq!(state.school, Some(SCHOOL.parse().expect("bin")));
    assert_eq!(
        state.device_token.as_ref().map(DeviceToken::expose),
        Some("secret-token")
    );
    assert!(!format!("{state:?}").contains("secret-token"));
}

#[test]
fn a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(&dir);
    store
        .conn
        .pragma_update(None, "user_version", 99)
        .expect("bump");
    drop(store);
    let err = Store::open(&dir.path().join("terminal.db")).expect_err("too new");
    assert!(matches!(err, StoreError::TooNew { found: 99, .. }), "{err}");
}

#[test]
fn the_meal_rule_holds_in_the_database_even_across_connections() {
    let dir = tempfile::tempdir().expect("tempdir");
    let first = open(&dir);
    let second = open(&dir);
    let e = entry("A", None);
    let day = date!(2026 - 09 - 01);
    inserted(
        first
            .record_meal(&meal_of(&e, "lunch", day), Stamp::default())
            .expect("insert"),
    );
    assert_eq!(
        second
            .record_meal(&meal_of(&e, "lunch", day), Stamp::default())
            .expect("insert"),
        Recorded::AlreadyAte
    );
    inserted(
        second
            .record_meal(&meal_of(&e, "breakfast", day), Stamp::default())
            .expect("insert"),
    );
    inserted(
        second
            .record_meal(
                &meal_of(&e, "lunch", date!(2026 - 09 - 02)),
                Stamp::default(),
            )
            .expect("insert"),
    );
    // One free meal a day whatever the slot: that day's meal is found, a day without is not.
    assert!(first.earlier_meal(e.voucher_id, day).expect("q").is_some());
    assert!(first
        .earlier_meal(e.voucher_id, date!(2026 - 09 - 03))
        .expect("q")
        .is_none());
    assert_eq!(first.meals_on(day).expect("count"), 2);
    assert_eq!(first.unsent_count().expect("count"), 3);
}

#[test]
fn the_push_queue_is_oldest_first_and_answers_leave_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut store = open(&dir);
    let day = date!(2026 - 09 - 01);
    let ids: Vec<Uuid> = (0..5)
        .map(|i| {
            let e = entry(&format!("S{i}"), None);
            inserted(
                store
                    .record_meal(&meal_of(&e, "day", day), Stamp::default())
                    .expect("insert"),
            )
        })
        .collect();
    let batch = store.unsent(3).expect("unsent");
    assert_eq!(
        batch.iter().map(|e| e.event_id).collect::<Vec<_>>(),
        ids[..3]
    );
    assert_eq!(batch[0].service_day, day);
    assert_eq!(batch[0].method, Method::Card);
    let answer = |id, status| MealResult {
        event_id: id,
        status,
        reason: None,
    };
    let results = vec![
        answer(ids[0], MealVerdict::Accepted),
        answer(ids[1], MealVerdict::Duplicate),
        MealResult {
            reason: Some("voucher revoked".into()),
            ..answer(ids[2], MealVerdict::Rejected)
        },
        answer(Uuid::now_v7(), MealVerdict::Accepted),
    ];
    let at = datetime!(2026-09-01 07:00 UTC);
    let summary = store.mark_results(&results, at).expect("mark");
    assert_eq!(
        summary,
        MarkSummary {
            accepted: 1,
            duplicate: 1,
            rejected: 1,
            unknown: 1
        }
    );
    let rest: Vec<Uuid> = store
        .unsent(10)
        .expect("unsent")
        .iter()
        .map(|e| e.event_id)
        .collect();
    assert_eq!(rest, ids[3..]);
    assert_eq!(
        store.server_verdict(ids[2]).expect("verdict"),
        Some(("rejected".into(), Some("voucher revoked".into())))
    );
    // The same answer again (a replayed push) changes nothing.
    let again = store.mark_results(&results[..1], at).expect("mark");
    assert_eq!(again.unknown, 1);
    assert_eq!(store.unsent_count().expect("count"), 2);
}

#[test]
fn the_push_queue_and_the_meal_rule_use_their_indexes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(&dir);
    let plan = |sql: &str| -> String {
        let mut stmt = store
            .conn
            .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
            .expect("plan");
        let rows = stmt.query_map([], |r| r.get::<_, String>(3)).expect("rows");
        rows.map(|r| r.expect("row")).collect::<Vec<_>>().join("; ")
    };
    let unsent =
        plan("SELECT event_id FROM meals WHERE pushed_at IS NULL ORDER BY event_id LIMIT 500");
    assert!(unsent.contains("meals_unsent"), "{unsent}");
    let rule = plan(
        "SELECT 1 FROM meals WHERE voucher_id = 'a' AND service_day = '2026-09-01' AND slot = 'day' \
         AND voided_at IS NULL",
    );
    assert!(rule.contains("meals_one_per_slot"), "{rule}");
    let card = plan("SELECT 1 FROM roster WHERE card_uid = '0102ABCDEF'");
    assert!(card.contains("INDEX"), "{card}");
}

#[test]
fn a_full_pull_replaces_the_roster_and_an_incremental_one_patches_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut store = open(&dir);
    let a = entry("Алия", Some("0000000001"));
    let b = entry("Бауыржан", Some("0000000002"));
    let at = datetime!(2026-09-01 06:00 UTC);
    let summary = store
        .apply_sync(&pull(vec![a.clone(), b.clone()], true), 1500, at)
        .expect("apply");
    assert_eq!(summary.roster_active, 2);
    assert_eq!(summary.keys, 1);
    assert_eq!(summary.slots, 1);
    let snap = store.snapshot().expect("snapshot");
    assert_eq!(snap.state.cursor, 7);
    assert_eq!(snap.state.clock_offset_ms, 1500);
    assert_eq!(snap.state.last_roster_at, Some(at));
    assert_eq!(snap.keys.len(), 1);
    assert_eq!(snap.slots, vec![MealSlot::whole_day()]);

    // Incremental: b is revoked, a's card moves to a new student c.
    let mut b_revoked = b.clone();
    b_revoked.active = false;
    let c = entry("Сая", Some("0000000001"));
    store
        .apply_sync(&pull(vec![b_revoked, c.clone()], false), 0, at)
        .expect("apply");
    let card1 = "0000000001".parse().expect("uid");
    assert_eq!(
        store.by_card(card1).expect("q").map(|s| s.name),
        Some("Сая".into())
    );
    assert_eq!(
        store.by_voucher(a.voucher_id).expect("q").map(|s| s.name),
        Some("Алия".into())
    );
    let b_now = store.by_voucher(b.voucher_id).expect("q").expect("kept");
    assert!(!b_now.active);
    assert_eq!(store.roster_active().expect("count"), 2);

    // Full: only c remains.
    store
        .apply_sync(&pull(vec![c.clone()], true), 0, at)
        .expect("apply");
    assert_eq!(store.by_voucher(a.voucher_id).expect("q"), None);
    assert_eq!(store.roster_active().expect("count"), 1);
}

#[test]
fn bad_keys_and_impossible_slots_are_dropped() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut store = open(&dir);
    let mut pulled = pull(vec![], true);
    let mut wrong = pulled.keys[0].clone();
    wrong.kid = "00000000".into();
    pulled.keys.push(wrong);
    pulled.keys.push(shared::pass::PublicKey {
        kid: "zz".into(),
        public_key: "nope".into(),
    });
    pulled.slots.push(MealSlot {
        name: "never".into(),
        start_minute: 600,
        end_minute: 600,
        shift: None,
    });
    let summary = store
        .apply_sync(&pulled, 0, datetime!(2026-09-01 06:00 UTC))
        .expect("apply");
    assert_eq!(summary.keys, 1);
    assert_eq!(summary.slots, 1);
    assert_eq!(store.snapshot().expect("snapshot").keys.len(), 1);
}
