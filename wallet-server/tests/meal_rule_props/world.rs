//! The world every case of the meal rule property runs in: one store holding a school with
//! two meal slots and three enrolled terminals; each case adds students of its own.

use std::sync::atomic::{AtomicU16, AtomicUsize, Ordering};
use std::sync::Arc;

use shared::sync::MealSlot;
use shared::{Bin, Iin, Sex, VoucherId};
use time::macros::{date, datetime};
use time::{Date, OffsetDateTime};
use uuid::Uuid;
use wallet_server::domain::audit::{Actor, AuditEntry};
use wallet_server::domain::terminal::{EnrollmentCode, NewTerminal, TerminalRecord};
use wallet_server::domain::voucher::{NewVoucher, SchoolYear, VoucherState};
use wallet_server::domain::{Category, Programme, School, Student};
use wallet_server::store::Store;

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
    pub async fn vouchers(&self) -> Vec<VoucherId> {
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
