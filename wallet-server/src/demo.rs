//! `--demo`: a school with students and parents to try the API on, and a banner that says
//! how. Seeding is idempotent, so restarting on the same data directory changes nothing.
//!
//! All people here are invented; their IINs are generated with valid check digits.

use std::net::SocketAddr;

use shared::{Bin, Iin, Sex};
use time::{Date, Month};

use crate::app::AppState;
use crate::audit::{Actor, AuditEntry};
use crate::domain::{Category, Programme, Relation, Representative, School, Student};
use crate::store::{Formed, StoreError};
use crate::vouchers::{NewVoucher, VoucherState};

/// The demo school's BIN.
pub const DEMO_SCHOOL_BIN: &str = "050140001238";
/// A second school, to see that staff of one school see nothing of the other.
pub const OTHER_SCHOOL_BIN: &str = "070240004567";

struct Kid {
    name: &'static str,
    born: (i32, Month, u8),
    sex: Sex,
    grade: u8,
    class: &'static str,
    category: Category,
    school: &'static str,
}

struct Adult {
    name: &'static str,
    born: (i32, Month, u8),
    sex: Sex,
    phone: Option<&'static str>,
    /// (index into KIDS, relation)
    of: &'static [(usize, Relation)],
}

const KIDS: &[Kid] = &[
    Kid {
        name: "Сапарова Айгерим Ерлановна",
        born: (2018, Month::March, 14),
        sex: Sex::Female,
        grade: 2,
        class: "2А",
        category: Category::Primary,
        school: DEMO_SCHOOL_BIN,
    },
    Kid {
        name: "Сапаров Нурлан Ерланович",
        born: (2013, Month::June, 2),
        sex: Sex::Male,
        grade: 7,
        class: "7Б",
        category: Category::Asp,
        school: DEMO_SCHOOL_BIN,
    },
    Kid {
        name: "Ким Дана Сергеевна",
        born: (2019, Month::October, 21),
        sex: Sex::Female,
        grade: 1,
        class: "1В",
        category: Category::Primary,
        school: DEMO_SCHOOL_BIN,
    },
    Kid {
        name: "Жумабеков Арман Маратович",
        born: (2011, Month::January, 30),
        sex: Sex::Male,
        grade: 9,
        class: "9А",
        category: Category::Orphan,
        school: DEMO_SCHOOL_BIN,
    },
    Kid {
        name: "Омаров Тимур Асланович",
        born: (2017, Month::September, 9),
        sex: Sex::Male,
        grade: 3,
        class: "3А",
        category: Category::Primary,
        school: OTHER_SCHOOL_BIN,
    },
];

const ADULTS: &[Adult] = &[
    Adult {
        name: "Сапарова Гульнара Маратовна",
        born: (1988, Month::May, 12),
        sex: Sex::Female,
        phone: Some("77011234567"),
        of: &[(0, Relation::Mother), (1, Relation::Mother)],
    },
    Adult {
        name: "Сапаров Ерлан Нурланович",
        born: (1986, Month::February, 1),
        sex: Sex::Male,
        phone: Some("77017654321"),
        of: &[(0, Relation::Father), (1, Relation::Father)],
    },
    Adult {
        name: "Ким Ольга Викторовна",
        born: (1990, Month::July, 7),
        sex: Sex::Female,
        phone: None,
        of: &[(2, Relation::Mother)],
    },
    Adult {
        name: "Жумабекова Сауле Кайратовна",
        born: (1975, Month::December, 3),
        sex: Sex::Female,
        phone: Some("77051112233"),
        of: &[(3, Relation::Guardian)],
    },
    Adult {
        name: "Омарова Алия Болатовна",
        born: (1992, Month::April, 18),
        sex: Sex::Female,
        phone: Some("77079998877"),
        of: &[(4, Relation::Mother)],
    },
];

/// Builds a valid IIN for a demo person (serials start at 1234 and skip unissuable ones).
fn iin_for(born: (i32, Month, u8), sex: Sex) -> Option<Iin> {
    let date = Date::from_calendar_date(born.0, born.1, born.2).ok()?;
    (1234u16..1300).find_map(|serial| Iin::generate(date, sex, serial))
}

/// The demo parent used in the banner's example (mother of two).
pub fn demo_parent() -> Option<Iin> {
    iin_for(ADULTS[0].born, ADULTS[0].sex)
}

#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error("demo data is inconsistent: {0}")]
    Data(&'static str),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Seeds the demo schools, students, parents and vouchers.
pub async fn seed(state: &AppState) -> Result<(), SeedError> {
    let store = &state.store;
    let now = state.clock.now();
    let schools = [
        (DEMO_SCHOOL_BIN, "КГУ «Средняя школа №1» (демо)"),
        (OTHER_SCHOOL_BIN, "КГУ «Школа-гимназия №2» (демо)"),
    ];
    for (bin, name) in schools {
        let bin: Bin = bin.parse().map_err(|_| SeedError::Data("school BIN"))?;
        store
            .upsert_school(
                &School {
                    bin,
                    name: name.into(),
                },
                now,
            )
            .await?;
    }
    let mut kids = Vec::new();
    for k in KIDS {
        let student = Student {
            iin: iin_for(k.born, k.sex).ok_or(SeedError::Data("student IIN"))?,
            full_name: k.name.into(),
            school: k
                .school
                .parse()
                .map_err(|_| SeedError::Data("school BIN"))?,
            grade: k.grade,
            class_label: k.class.into(),
            category: k.category,
        };
        store.upsert_student(&student, now).await?;
        kids.push(student);
    }
    for a in ADULTS {
        let rep = Representative {
            iin: iin_for(a.born, a.sex).ok_or(SeedError::Data("adult IIN"))?,
            full_name: a.name.into(),
            phone: a.phone.map(str::to_string),
        };
        store.upsert_representative(&rep, now).await?;
        for &(kid, relation) in a.of {
            let kid = kids.get(kid).ok_or(SeedError::Data("kid index"))?;
            store
                .link_representative(kid.iin, rep.iin, relation)
                .await?;
        }
    }
    form_primary_vouchers(state, &kids).await
}

/// Primary-grade students get a voucher at once (no SMS consent); the first is activated so
/// the wallet has something to show in every state.
async fn form_primary_vouchers(state: &AppState, kids: &[Student]) -> Result<(), SeedError> {
    let now = state.clock.now();
    let today = shared::time::service_day(now);
    let period = state
        .school_year
        .school_year_of(today)
        .ok_or(SeedError::Data("school year"))?;
    for (i, kid) in kids.iter().enumerate() {
        if !(1..=4).contains(&kid.grade) && kid.category != Category::Primary {
            continue;
        }
        let new = NewVoucher {
            id: shared::VoucherId::new(),
            programme: Programme::SchoolMeals,
            student: kid.iin,
            school: kid.school,
            period,
            formed_at: now,
        };
        let audit = AuditEntry {
            at: now,
            actor: Actor::Demo,
            entity_kind: "voucher",
            entity_id: new.id.to_string(),
            action: "form".into(),
            from_state: None,
            to_state: Some(VoucherState::Formed.to_string()),
            reason: Some("demo seed: primary grade".into()),
        };
        let formed = state.store.form_voucher(&new, &audit).await?;
        if i == 0 {
            if let Formed::New(v) = formed {
                let audit = AuditEntry {
                    entity_id: v.id.to_string(),
                    action: "activate".into(),
                    from_state: Some(VoucherState::Formed.to_string()),
                    to_state: Some(VoucherState::Activated.to_string()),
                    reason: Some("demo seed".into()),
                    ..audit
                };
                state
                    .store
                    .transition_voucher(v.id, VoucherState::Formed, VoucherState::Activated, &audit)
                    .await?;
            }
        }
    }
    Ok(())
}

/// What to print on start: where it runs and how to try it.
pub fn banner(addr: SocketAddr, database: &str) -> String {
    let base = format!("http://{addr}");
    let parent = demo_parent().map(|i| i.expose()).unwrap_or_default();
    format!(
        "\
Social Wallet demo is running.
  listening on {base}
  database     {database}
  API document {base}/openapi.json

Try it (copy and paste):

  # a parent's token (mother of two demo students) and her vouchers
  TOKEN=$(curl -s -X POST {base}/dev/token -H 'content-type: application/json' \\
    -d '{{\"sub\":\"{parent}\",\"role\":\"parent\"}}' | sed -E 's/.*\"token\":\"([^\"]+)\".*/\\1/')
  curl -s {base}/v1/wallet/vouchers -H \"authorization: Bearer $TOKEN\"

  # the social pedagogue of the demo school and the school's vouchers
  STAFF=$(curl -s -X POST {base}/dev/token -H 'content-type: application/json' \\
    -d '{{\"sub\":\"pedagogue-1\",\"role\":\"social_pedagogue\",\"school\":\"{DEMO_SCHOOL_BIN}\"}}' \\
    | sed -E 's/.*\"token\":\"([^\"]+)\".*/\\1/')
  curl -s {base}/v1/schools/{DEMO_SCHOOL_BIN}/vouchers -H \"authorization: Bearer $STAFF\"

  # health, readiness, metrics
  curl -s {base}/healthz; curl -s {base}/readyz; curl -s {base}/metrics | head

  # move the demo clock forward (deadlines, reports)
  curl -s -X POST {base}/dev/clock -H 'content-type: application/json' \\
    -d '{{\"now\":\"2026-12-01T09:00:00+05:00\"}}'
"
    )
}
