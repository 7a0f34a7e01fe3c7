//! The store story: one scenario, run against every backend, proving they behave the same.
//!
//! SQLite always runs (a temporary file). PostgreSQL runs when `TEST_DATABASE_URL` points at
//! a server (`.ci/run` starts one); each run creates its own database and drops it after.
//! Set `REQUIRE_POSTGRES=1` to make a missing `TEST_DATABASE_URL` a failure instead of a skip.

mod calendar;
mod consent_jobs;
mod console;
mod corrections;
mod counter;
mod entitlement;
mod gas;
mod intake;
mod meal_groups;
mod mint_facts;
mod mint_limits;
mod notices;
mod ops;
mod reports;
mod roster_race;
mod signals;
mod tabel;
mod terminals;
mod wallet_core;

use std::sync::Arc;

use shared::{Bin, Iin, Sex, VoucherId};
use sqlx::Connection;
use time::macros::{date, datetime};
use time::OffsetDateTime;
use wallet_server::domain::audit::{Actor, AuditEntry};
use wallet_server::domain::voucher::{NewVoucher, SchoolYear, VoucherState};
use wallet_server::domain::{Category, Programme, Relation, Representative, School, Student};
use wallet_server::store::{Formed, PostgresStore, SqliteStore, Store, StoreError, VoucherStore};

#[path = "../support/scratch_db.rs"]
mod scratch_db;
use scratch_db::database_url;

const T0: OffsetDateTime = datetime!(2026-09-01 03:00 UTC);

fn iin(born: time::Date, sex: Sex) -> Iin {
    (1000u16..1100)
        .find_map(|s| Iin::generate(born, sex, s))
        .expect("an issuable serial exists")
}

fn bin(first11: [u8; 11]) -> Bin {
    Bin::generate(&first11).expect("issuable BIN")
}

fn month() -> shared::time::YearMonth {
    "2026-09".parse().expect("month")
}

fn year() -> SchoolYear {
    SchoolYear {
        first_day: date!(2026 - 09 - 01),
        last_day: date!(2027 - 05 - 31),
    }
}

fn audit(id: VoucherId, action: &str, from: Option<VoucherState>, to: VoucherState) -> AuditEntry {
    AuditEntry {
        at: T0,
        actor: Actor::System,
        entity_kind: "voucher",
        entity_id: id.to_string(),
        action: action.into(),
        from_state: from.map(|s| s.to_string()),
        to_state: Some(to.to_string()),
        reason: Some(format!("story: {action}")),
    }
}

fn new_voucher(student: &Student) -> NewVoucher {
    NewVoucher {
        id: VoucherId::new(),
        programme: Programme::SchoolMeals,
        student: student.iin,
        school: student.school,
        period: year(),
        formed_at: T0,
    }
}

struct People {
    school: School,
    other_school: School,
    kid: Student,
    sibling: Student,
    stranger_kid: Student,
    mother: Representative,
    father: Representative,
    guardian: Representative,
}

fn people() -> People {
    let school = School {
        bin: bin([0, 5, 0, 1, 4, 0, 0, 0, 1, 2, 3]),
        name: "Школа №1".into(),
    };
    let other_school = School {
        bin: bin([0, 7, 0, 2, 4, 0, 0, 0, 4, 5, 6]),
        name: "Гимназия №2".into(),
    };
    let student = |name: &str, born, grade, class: &str, school: &School| Student {
        iin: iin(born, Sex::Female),
        full_name: name.into(),
        school: school.bin,
        grade,
        class_label: class.into(),
        category: Category::Primary,
    };
    let rep = |name: &str, born, sex, phone: Option<&str>| Representative {
        iin: iin(born, sex),
        full_name: name.into(),
        phone: phone.map(str::to_string),
    };
    People {
        kid: student("Бекова Алия", date!(2018 - 02 - 03), 2, "2А", &school),
        sibling: student("Бекова Дина", date!(2017 - 04 - 05), 3, "3Б", &school),
        stranger_kid: student("Ли Мира", date!(2018 - 06 - 07), 2, "2В", &other_school),
        mother: rep(
            "Бекова Сауле",
            date!(1988 - 01 - 02),
            Sex::Female,
            Some("77010000001"),
        ),
        father: rep("Беков Марат", date!(1985 - 03 - 04), Sex::Male, None),
        guardian: rep("Ахметова Роза", date!(1960 - 05 - 06), Sex::Female, None),
        school,
        other_school,
    }
}

/// The scenario every backend must pass.
async fn story(store: Arc<dyn Store>) {
    store.ping().await.expect("ping");
    let p = people();

    // Schools: insert, read, rename.
    store.upsert_school(&p.school, T0).await.expect("school");
    store
        .upsert_school(&p.other_school, T0)
        .await
        .expect("school");
    assert_eq!(
        store.school(p.school.bin).await.expect("read"),
        Some(p.school.clone())
    );
    let renamed = School {
        name: "Школа №1 им. Абая".into(),
        ..p.school.clone()
    };
    store.upsert_school(&renamed, T0).await.expect("rename");
    assert_eq!(
        store.school(p.school.bin).await.expect("read"),
        Some(renamed)
    );
    let unknown = bin([9, 9, 0, 1, 4, 0, 0, 0, 1, 2, 3]);
    assert_eq!(store.school(unknown).await.expect("read"), None);

    // A student of an unknown school is refused and leaves nothing behind.
    let orphaned = Student {
        school: unknown,
        ..p.kid.clone()
    };
    assert!(store.upsert_student(&orphaned, T0).await.is_err());
    assert_eq!(store.student(p.kid.iin).await.expect("read"), None);

    for s in [&p.kid, &p.sibling, &p.stranger_kid] {
        store.upsert_student(s, T0).await.expect("student");
    }
    assert_eq!(
        store.student(p.kid.iin).await.expect("read"),
        Some(p.kid.clone())
    );

    // Representatives: order is mother, father, guardian whatever the insertion order.
    for r in [&p.guardian, &p.father, &p.mother] {
        store
            .upsert_representative(r, T0)
            .await
            .expect("representative");
    }
    store
        .link_representative(p.kid.iin, p.guardian.iin, Relation::Guardian)
        .await
        .expect("link");
    store
        .link_representative(p.kid.iin, p.father.iin, Relation::Father)
        .await
        .expect("link");
    store
        .link_representative(p.kid.iin, p.mother.iin, Relation::Mother)
        .await
        .expect("link");
    store
        .link_representative(p.kid.iin, p.mother.iin, Relation::Mother)
        .await
        .expect("idempotent");
    store
        .link_representative(p.sibling.iin, p.mother.iin, Relation::Mother)
        .await
        .expect("link");
    let reps = store.representatives_of(p.kid.iin).await.expect("reps");
    let order: Vec<_> = reps.iter().map(|(r, rel)| (r.iin, *rel)).collect();
    assert_eq!(
        order,
        vec![
            (p.mother.iin, Relation::Mother),
            (p.father.iin, Relation::Father),
            (p.guardian.iin, Relation::Guardian)
        ]
    );
    assert_eq!(reps[0].0.phone.as_deref(), Some("77010000001"));
    // An update without a phone keeps the known phone.
    let no_phone = Representative {
        phone: None,
        ..p.mother.clone()
    };
    store
        .upsert_representative(&no_phone, T0)
        .await
        .expect("update");
    let reps = store.representatives_of(p.kid.iin).await.expect("reps");
    assert_eq!(reps[0].0.phone.as_deref(), Some("77010000001"));

    voucher_story(&store, &p).await;
    audit_story(&store, &p).await;
}

async fn voucher_story(store: &Arc<dyn Store>, p: &People) {
    // Forming is idempotent per (programme, student, period).
    let first = new_voucher(&p.kid);
    let formed = store
        .form_voucher(&first, &audit(first.id, "form", None, VoucherState::Formed))
        .await
        .expect("form");
    let Formed::New(v) = formed else {
        panic!("expected a new voucher, got {formed:?}")
    };
    assert_eq!(
        (v.id, v.state, v.valid_from, v.valid_until),
        (
            first.id,
            VoucherState::Formed,
            year().first_day,
            year().last_day
        )
    );
    assert_eq!(v.formed_at, T0);
    assert_eq!(v.activated_at, None);
    let again = new_voucher(&p.kid);
    let formed = store
        .form_voucher(&again, &audit(again.id, "form", None, VoucherState::Formed))
        .await
        .expect("form again");
    assert_eq!(formed, Formed::Existing(v.clone()));
    assert_eq!(
        store.voucher(again.id).await.expect("read"),
        None,
        "nothing formed twice"
    );

    // Activation: compare-and-set on the state.
    let later = T0 + time::Duration::hours(2);
    let activate = AuditEntry {
        at: later,
        ..audit(
            v.id,
            "activate",
            Some(VoucherState::Formed),
            VoucherState::Activated,
        )
    };
    let active = store
        .transition_voucher(
            v.id,
            VoucherState::Formed,
            VoucherState::Activated,
            &activate,
        )
        .await
        .expect("activate");
    assert_eq!(active.state, VoucherState::Activated);
    assert_eq!(active.activated_at, Some(later));
    assert_eq!(active.updated_at, later);
    let err = store
        .transition_voucher(
            v.id,
            VoucherState::Formed,
            VoucherState::Activated,
            &activate,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::Conflict { current } if current == "activated"),
        "{err:?}"
    );
    let missing = VoucherId::new();
    let err = store
        .transition_voucher(
            missing,
            VoucherState::Formed,
            VoucherState::Activated,
            &activate,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound), "{err:?}");

    // Two racing transitions: exactly one wins.
    let sib = new_voucher(&p.sibling);
    store
        .form_voucher(&sib, &audit(sib.id, "form", None, VoucherState::Formed))
        .await
        .expect("form");
    let a = audit(
        sib.id,
        "activate",
        Some(VoucherState::Formed),
        VoucherState::Activated,
    );
    let (r1, r2) = tokio::join!(
        store.transition_voucher(sib.id, VoucherState::Formed, VoucherState::Activated, &a),
        store.transition_voucher(sib.id, VoucherState::Formed, VoucherState::Activated, &a),
    );
    assert_eq!(
        [r1.is_ok(), r2.is_ok()].iter().filter(|ok| **ok).count(),
        1,
        "{r1:?} {r2:?}"
    );
    assert_eq!(
        store
            .audit_trail("voucher", &sib.id.to_string())
            .await
            .expect("trail")
            .len(),
        2
    );

    // The wallet view: the mother sees both children, the guardian one, a stranger none.
    let mine = store
        .vouchers_of_representative(p.mother.iin, month())
        .await
        .expect("list");
    assert_eq!(mine.len(), 2);
    assert!(mine
        .iter()
        .all(|view| view.school_name == "Школа №1 им. Абая"));
    let theirs = store
        .vouchers_of_representative(p.guardian.iin, month())
        .await
        .expect("list");
    assert_eq!(theirs.len(), 1);
    assert_eq!(
        (
            theirs[0].student_name.as_str(),
            theirs[0].class_label.as_str()
        ),
        ("Бекова Алия", "2А")
    );
    let stranger = iin(date!(1970 - 01 - 01), Sex::Male);
    assert!(store
        .vouchers_of_representative(stranger, month())
        .await
        .expect("list")
        .is_empty());

    // The school view: its own students only, by class then name.
    let other = new_voucher(&p.stranger_kid);
    store
        .form_voucher(&other, &audit(other.id, "form", None, VoucherState::Formed))
        .await
        .expect("form");
    let school = store
        .vouchers_of_school(p.school.bin, month())
        .await
        .expect("list");
    let classes: Vec<_> = school.iter().map(|v| v.class_label.as_str()).collect();
    assert_eq!(classes, vec!["2А", "3Б"]);
    assert_eq!(
        store
            .vouchers_of_school(p.other_school.bin, month())
            .await
            .expect("list")
            .len(),
        1
    );

    // A revoked voucher frees the slot: a new live one may be formed for the same period.
    let revoke = audit(
        v.id,
        "revoke",
        Some(VoucherState::Activated),
        VoucherState::Revoked,
    );
    store
        .transition_voucher(
            v.id,
            VoucherState::Activated,
            VoucherState::Revoked,
            &revoke,
        )
        .await
        .expect("revoke");
    let reformed = new_voucher(&p.kid);
    let formed = store
        .form_voucher(
            &reformed,
            &audit(reformed.id, "form", None, VoucherState::Formed),
        )
        .await
        .expect("form after revoke");
    assert!(
        matches!(formed, Formed::New(ref n) if n.id == reformed.id),
        "{formed:?}"
    );
    assert_eq!(
        store.voucher(v.id).await.expect("read").map(|v| v.state),
        Some(VoucherState::Revoked)
    );
}

async fn audit_story(store: &Arc<dyn Store>, p: &People) {
    let list = store
        .vouchers_of_representative(p.guardian.iin, month())
        .await
        .expect("list");
    let revoked = list
        .iter()
        .find(|v| v.voucher.state == VoucherState::Revoked)
        .expect("revoked one");
    let trail = store
        .audit_trail("voucher", &revoked.voucher.id.to_string())
        .await
        .expect("trail");
    let actions: Vec<_> = trail
        .iter()
        .map(|r| (r.action.as_str(), r.to_state.as_deref()))
        .collect();
    assert_eq!(
        actions,
        vec![
            ("form", Some("formed")),
            ("activate", Some("activated")),
            ("revoke", Some("revoked"))
        ],
        "one entry per change, none for the idempotent re-form or the refused transition"
    );
    assert!(trail.windows(2).all(|w| w[0].id < w[1].id));
    assert_eq!(trail[0].actor, "system");
    assert_eq!(trail[1].at, T0 + time::Duration::hours(2));
}

/// Tries to edit the audit log behind the store's back: the database itself refuses.
macro_rules! assert_audit_log_is_append_only {
    ($conn:expr) => {{
        let mut conn = $conn;
        let update = sqlx::query("UPDATE audit_log SET actor = 'mallory'")
            .execute(&mut conn)
            .await;
        assert!(update.is_err(), "UPDATE on audit_log must fail");
        let delete = sqlx::query("DELETE FROM audit_log")
            .execute(&mut conn)
            .await;
        assert!(delete.is_err(), "DELETE on audit_log must fail");
    }};
}

#[tokio::test]
async fn story_on_sqlite() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("nested").join("wallet.db");
    let store = SqliteStore::open_file(&path).await.expect("open sqlite");
    story(Arc::new(store.clone())).await;
    let url = format!("sqlite://{}", path.display());
    let raw = wallet_core::Raw::Sqlite(sqlx::SqlitePool::connect(&url).await.expect("raw pool"));
    wallet_core::story(Arc::new(store.clone()), raw).await;
    let raw = wallet_core::Raw::Sqlite(sqlx::SqlitePool::connect(&url).await.expect("raw pool"));
    intake::story(Arc::new(store.clone()), raw).await;
    terminals::story(Arc::new(store.clone())).await;
    counter::story(Arc::new(store.clone())).await;
    meal_groups::story(Arc::new(store.clone())).await;
    consent_jobs::story(Arc::new(store.clone())).await;
    tabel::story(Arc::new(store.clone())).await;
    notices::story(Arc::new(store.clone())).await;
    console::story(Arc::new(store.clone())).await;
    entitlement::story(Arc::new(store.clone())).await;
    corrections::story(Arc::new(store.clone())).await;
    reports::story(
        Arc::new(store.clone()),
        date!(2026 - 11 - 17),
        "050140001238",
        false,
    )
    .await;
    calendar::story(Arc::new(store.clone())).await;
    signals::story(Arc::new(store.clone())).await;
    let cached = store.clone();
    mint_facts::story(Arc::new(store.clone()), move || cached.facts_cache_stats()).await;
    let second = SqliteStore::open_file(&path).await.expect("a second pool");
    mint_limits::story(Arc::new(store.clone()), Arc::new(second.clone())).await;
    roster_race::story(Arc::new(store.clone()), Arc::new(second.clone())).await;
    gas::story(Arc::new(store.clone()), Arc::new(second)).await;
    ops::story(Arc::new(store.clone()), 8).await;
    // Reopening applies no migration twice and keeps the data.
    let reopened = SqliteStore::open_file(&path).await.expect("reopen");
    assert_eq!(
        reopened
            .vouchers_of_school(people().school.bin, month())
            .await
            .expect("list")
            .len(),
        3
    );
    let conn = sqlx::SqliteConnection::connect(&url)
        .await
        .expect("raw connection");
    assert_audit_log_is_append_only!(conn);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("nested"))
            .expect("dir")
            .permissions()
            .mode();
        assert_eq!(
            mode & 0o077,
            0,
            "data directory must be private, got {mode:o}"
        );
        for file in ["wallet.db", "wallet.db-wal", "wallet.db-shm"] {
            let mode = std::fs::metadata(dir.path().join("nested").join(file))
                .expect("database file")
                .permissions()
                .mode();
            assert_eq!(
                mode & 0o777,
                0o600,
                "{file} must be owner-only, got {mode:o}"
            );
        }
    }
}

/// A data directory that already exists (made by an installer or an operator with the usual
/// umask) and a database copied in readable by all: the files end up owner-only.
#[cfg(unix)]
#[tokio::test]
async fn database_files_in_an_existing_directory_are_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    use wallet_server::store::Health;
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    std::fs::create_dir(&data).expect("data dir");
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let mode = |file: &str| {
        std::fs::metadata(data.join(file))
            .expect("file")
            .permissions()
            .mode()
            & 0o777
    };
    let path = data.join("wallet.db");
    let store = SqliteStore::open_file(&path).await.expect("open");
    store.ping().await.expect("ping");
    for file in ["wallet.db", "wallet.db-wal", "wallet.db-shm"] {
        assert_eq!(mode(file), 0o600, "{file}");
    }
    drop(store);
    for file in ["wallet.db", "wallet.db-wal", "wallet.db-shm"] {
        if data.join(file).exists() {
            std::fs::set_permissions(data.join(file), std::fs::Permissions::from_mode(0o644))
                .expect("loosen");
        }
    }
    let reopened = SqliteStore::connect(&format!("sqlite://{}", path.display()))
        .await
        .expect("reopen by URL");
    reopened.ping().await.expect("ping");
    for file in ["wallet.db", "wallet.db-wal", "wallet.db-shm"] {
        assert_eq!(mode(file), 0o600, "{file} tightened on open");
    }
}

#[tokio::test]
async fn story_on_postgres() {
    let Some(admin_url) = scratch_db::admin_url("the PostgreSQL store story") else {
        return;
    };
    let name = format!("story_{}", uuid_suffix());
    let mut admin = sqlx::PgConnection::connect(&admin_url)
        .await
        .expect("connect admin");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await
        .expect("create database");
    let url = database_url(&admin_url, &name);
    let store = PostgresStore::connect(&url).await.expect("open postgres");
    story(Arc::new(store.clone())).await;
    let raw = wallet_core::Raw::Postgres(sqlx::PgPool::connect(&url).await.expect("raw pool"));
    wallet_core::story(Arc::new(store.clone()), raw).await;
    let raw = wallet_core::Raw::Postgres(sqlx::PgPool::connect(&url).await.expect("raw pool"));
    intake::story(Arc::new(store.clone()), raw).await;
    terminals::story(Arc::new(store.clone())).await;
    counter::story(Arc::new(store.clone())).await;
    meal_groups::story(Arc::new(store.clone())).await;
    consent_jobs::story(Arc::new(store.clone())).await;
    tabel::story(Arc::new(store.clone())).await;
    notices::story(Arc::new(store.clone())).await;
    console::story(Arc::new(store.clone())).await;
    entitlement::story(Arc::new(store.clone())).await;
    corrections::story(Arc::new(store.clone())).await;
    reports::story(
        Arc::new(store.clone()),
        date!(2026 - 11 - 17),
        "050140001238",
        true,
    )
    .await;
    calendar::story(Arc::new(store.clone())).await;
    signals::story(Arc::new(store.clone())).await;
    let cached = store.clone();
    mint_facts::story(Arc::new(store.clone()), move || cached.facts_cache_stats()).await;
    let second = PostgresStore::connect(&url).await.expect("a second pool");
    let b = second.clone();
    mint_facts::across_processes(
        Arc::new(store.clone()),
        Arc::new(second.clone()),
        move || b.facts_cache_stats(),
    )
    .await;
    mint_limits::story(Arc::new(store.clone()), Arc::new(second.clone())).await;
    roster_race::story(Arc::new(store.clone()), Arc::new(second.clone())).await;
    gas::story(Arc::new(store.clone()), Arc::new(second)).await;
    ops::story(Arc::new(store.clone()), 16).await;
    let reopened = PostgresStore::connect(&url).await.expect("reopen");
    assert_eq!(
        reopened
            .vouchers_of_school(people().school.bin, month())
            .await
            .expect("list")
            .len(),
        3
    );
    assert_audit_log_is_append_only!(sqlx::PgConnection::connect(&url).await.expect("raw"));
    drop((store, reopened));
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE {name} WITH (FORCE)"
    )))
    .execute(&mut admin)
    .await
    .expect("drop database");
}

fn uuid_suffix() -> String {
    VoucherId::new().as_uuid().simple().to_string()
}
