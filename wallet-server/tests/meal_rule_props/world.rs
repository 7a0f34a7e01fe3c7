//! The world every case of the meal rule property runs in: one store holding a school with
//! two meal slots and three enrolled terminals; each case adds students of its own.

use std::sync::atomic::{AtomicU16, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use shared::sync::MealSlot;
use shared::{Bin, Iin, Sex, VoucherId};
use time::macros::{date, datetime};
use time::{Date, OffsetDateTime};
use uuid::Uuid;
use wallet_server::domain::audit::{Actor, AuditEntry};
use wallet_server::domain::list::RowOutcome;
use wallet_server::domain::terminal::{EnrollmentCode, NewTerminal, TerminalRecord};
use wallet_server::domain::voucher::VoucherState;
use wallet_server::domain::{Category, School, Student};
use wallet_server::store::Store;

#[path = "../support/lists.rs"]
pub mod lists;

pub const T0: OffsetDateTime = datetime!(2026-11-01 03:00 UTC);
/// The server's clock during the pushes: after every meal of the drill.
pub const NOW: OffsetDateTime = datetime!(2026-11-10 12:00 UTC);
pub const FIRST_DAY: Date = date!(2026 - 11 - 02);
/// (name, first minute) of the school's two slots, two hours each (Astana time).
pub const SLOTS: [(&str, u16); 2] = [("breakfast", 8 * 60), ("lunch", 12 * 60)];
/// Students 0..ACTIVE have activated vouchers, ACTIVE has a formed one, ACTIVE + 1 is an
/// unknown voucher.
pub const ACTIVE: usize = 4;

pub fn school() -> School {
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
pub struct World {
    pub store: Arc<dyn Store>,
    pub terminals: Vec<TerminalRecord>,
    /// Each case gets students of its own (distinct birth dates).
    cases: AtomicU16,
    /// Every student listed so far.
    listed: Mutex<Vec<Student>>,
    /// Verdicts over all cases: accepted, duplicate, rejected (the run must see each).
    pub seen: [AtomicUsize; 3],
}

impl World {
    pub async fn new(store: Arc<dyn Store>) -> World {
        store.upsert_school(&school(), T0).await.expect("school");
        let slots: Vec<MealSlot> = SLOTS
            .iter()
            .map(|(name, start)| MealSlot {
                name: (*name).into(),
                start_minute: *start,
                end_minute: start + 120,
                shift: None,
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
            listed: Mutex::new(Vec::new()),
            seen: Default::default(),
        }
    }

    /// Vouchers of this case's students: `ACTIVE` activated, one formed, one unknown. They
    /// come from the school's November list, sent again by each case with its students
    /// added (a list replaces the one before, so it names everyone still in play).
    pub async fn vouchers(&self) -> Vec<VoucherId> {
        let case = self.cases.fetch_add(1, Ordering::Relaxed);
        let students: Vec<Student> = (0..=ACTIVE)
            .map(|s| {
                let born =
                    date!(2016 - 01 - 01) + time::Duration::days(i64::from(case) * 8 + s as i64);
                Student {
                    iin: (1000u16..1200)
                        .find_map(|serial| Iin::generate(born, Sex::Female, serial))
                        .expect("iin"),
                    full_name: format!("Свойство {case} {s}"),
                    school: school().bin,
                    grade: 2,
                    class_label: "2Б".into(),
                    category: Category::Primary,
                }
            })
            .collect();
        let listed = {
            let mut listed = self.listed.lock().expect("listed");
            listed.extend(students.iter().cloned());
            listed.clone()
        };
        let list = lists::primary_list(&school(), "2026-11", &listed, T0);
        let outcome = self
            .store
            .apply_eligibility_list(&list)
            .await
            .expect("list");
        let mut ids = Vec::new();
        let this_case = &outcome.rows[listed.len() - students.len()..];
        for (s, (_, row)) in this_case.iter().enumerate() {
            let RowOutcome::VoucherFormed(id) = row else {
                panic!("row {s} formed no voucher: {row:?}");
            };
            if s < ACTIVE {
                self.store
                    .transition_voucher(
                        *id,
                        VoucherState::Formed,
                        VoucherState::Activated,
                        &audit(id.to_string(), "activate"),
                    )
                    .await
                    .expect("activate");
            }
            ids.push(*id);
        }
        ids.push(VoucherId::new());
        ids
    }
}
