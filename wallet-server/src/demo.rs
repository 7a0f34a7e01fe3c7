//! `--demo`: a school with students and parents to try the API on, and a banner that says
//! how. Seeding is idempotent, so restarting on the same data directory changes nothing.
//!
//! All people here are invented; their IINs are generated with valid check digits.

pub mod gas;

use shared::{Bin, Iin, Sex, VoucherId};
use time::{Date, Month};

use crate::domain::audit::{Actor, AuditEntry};
use crate::domain::list::{ListRequest, Reception, RepresentativeIn, SchoolIn, StudentIn};
use crate::domain::programme_dates::ProgrammeDates;
use crate::domain::voucher::SchoolYearRule;
use crate::domain::voucher::VoucherState;
use crate::domain::{Category, Relation};
use crate::services::lists::{self, ReceiveError};
use crate::services::Deps;
use crate::store::{Store, StoreError};

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
    #[error("demo list refused: {0}")]
    List(crate::domain::list::ListError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What the banner needs to know about the seeded data.
#[derive(Debug, Clone)]
pub struct DemoInfo {
    /// The demo mother of two (one voucher activated, the other child awaits consent).
    pub parent: Iin,
    /// A parent whose child's voucher is formed but not yet activated.
    pub parent_to_activate: Iin,
    pub voucher_to_activate: Option<VoucherId>,
    pub activated_voucher: Option<VoucherId>,
    /// When the demo's programme runs (a year either side of the demo clock by default).
    pub programme_dates: ProgrammeDates,
}

fn list_for(school: &str, name: &str, period: &str) -> Result<ListRequest, SeedError> {
    let mut students = Vec::new();
    for (index, k) in KIDS.iter().enumerate().filter(|(_, k)| k.school == school) {
        let iin = iin_for(k.born, k.sex).ok_or(SeedError::Data("student IIN"))?;
        let mut representatives = Vec::new();
        for a in ADULTS {
            for &(kid, relation) in a.of.iter().filter(|(kid, _)| *kid == index) {
                let _ = kid;
                representatives.push(RepresentativeIn {
                    iin: iin_for(a.born, a.sex)
                        .ok_or(SeedError::Data("adult IIN"))?
                        .expose(),
                    full_name: a.name.parse().map_err(|_| SeedError::Data("adult name"))?,
                    relation: relation.as_str().into(),
                    phone: a.phone.map(str::to_string),
                });
            }
        }
        students.push(StudentIn {
            iin: iin.expose(),
            full_name: k
                .name
                .parse()
                .map_err(|_| SeedError::Data("student name"))?,
            grade: i64::from(k.grade),
            class_label: k.class.parse().map_err(|_| SeedError::Data("class"))?,
            category: k.category.as_str().into(),
            representatives,
        });
    }
    Ok(ListRequest {
        school: SchoolIn {
            bin: school.into(),
            name: name.parse().map_err(|_| SeedError::Data("school name"))?,
        },
        programme: "school_meals".into(),
        period: period.into(),
        students,
    })
}

/// Seeds the demo schools through the same eligibility intake PEP uses, then activates
/// one voucher so the wallet shows every state.
pub async fn seed(
    deps: &Deps,
    school_year: &SchoolYearRule,
    programme_dates: ProgrammeDates,
) -> Result<DemoInfo, SeedError> {
    let now = deps.clock.now();
    let period = shared::time::month_of(now).to_string();
    let schools = [
        (DEMO_SCHOOL_BIN, "КГУ «Средняя школа №1» (демо)"),
        (OTHER_SCHOOL_BIN, "КГУ «Школа-гимназия №2» (демо)"),
    ];
    for (bin, name) in schools {
        // Seed a school once: a restart must not replace a list sent since (that would
        // revoke the vouchers of students it added).
        let parsed: Bin = bin.parse().map_err(|_| SeedError::Data("school BIN"))?;
        if deps.store.school(parsed).await?.is_some() {
            continue;
        }
        let request = list_for(bin, name, &period)?;
        let reception = Reception {
            received_at: now,
            received_by: Actor::Demo,
            school_year,
            programme_dates,
            content_hash: "demo".into(),
        };
        let (list, _) = lists::accept(deps.store.as_ref(), &request, reception)
            .await
            .map_err(|e| match e {
                ReceiveError::Invalid(e) => SeedError::List(e),
                ReceiveError::Store(e) => SeedError::Store(e),
            })?;
        if !list.rejected.is_empty() {
            return Err(SeedError::Data("a demo row was rejected"));
        }
    }
    let parent = demo_parent().ok_or(SeedError::Data("adult IIN"))?;
    let parent_to_activate =
        iin_for(ADULTS[2].born, ADULTS[2].sex).ok_or(SeedError::Data("adult IIN"))?;
    let month = shared::time::month_of(now);
    let first = first_voucher(deps.store.as_ref(), parent, month).await?;
    if let Some(v) = first.filter(|v| v.state == VoucherState::Formed) {
        let audit = AuditEntry {
            at: now,
            actor: Actor::Demo,
            entity_kind: "voucher",
            entity_id: v.id.to_string(),
            action: "activate".into(),
            from_state: Some(VoucherState::Formed.to_string()),
            to_state: Some(VoucherState::Activated.to_string()),
            reason: Some("demo seed".into()),
        };
        deps.store
            .transition_voucher(v.id, VoucherState::Formed, VoucherState::Activated, &audit)
            .await?;
    }
    Ok(DemoInfo {
        parent,
        parent_to_activate,
        voucher_to_activate: first_voucher(deps.store.as_ref(), parent_to_activate, month)
            .await?
            .filter(|v| v.state == VoucherState::Formed)
            .map(|v| v.id),
        activated_voucher: first_voucher(deps.store.as_ref(), parent, month)
            .await?
            .filter(|v| v.state == VoucherState::Activated)
            .map(|v| v.id),
        programme_dates,
    })
}

async fn first_voucher(
    store: &dyn Store,
    parent: Iin,
    month: shared::time::YearMonth,
) -> Result<Option<crate::domain::voucher::Voucher>, SeedError> {
    let views = store.vouchers_of_representative(parent, month).await?;
    Ok(views
        .into_iter()
        .map(|v| v.voucher)
        .find(|v| !v.state.is_final()))
}

/// A school that is not seeded, for the banner's example list (so the example does not
/// replace the demo school's list).
fn example_school() -> Option<Bin> {
    Bin::generate(&[0, 8, 0, 3, 4, 0, 0, 0, 2, 3, 4])
}

/// The example list of the banner: one good row, one with a broken IIN.
fn example_list() -> Option<String> {
    let school = example_school()?;
    let kid = iin_for((2018, Month::April, 1), Sex::Male)?.expose();
    let mum = iin_for((1990, Month::January, 15), Sex::Female)?.expose();
    let teen = iin_for((2012, Month::May, 20), Sex::Female)?.expose();
    let broken = format!("{}0", &kid[..11]);
    let broken = if broken == kid {
        format!("{}1", &kid[..11])
    } else {
        broken
    };
    Some(format!(
        r#"{{"school":{{"bin":"{school}","name":"Школа №3 (пример)"}},"programme":"school_meals","period":"PERIOD","students":[{{"iin":"{kid}","full_name":"Ахметов Али","grade":2,"class_label":"2Б","category":"primary","representatives":[{{"iin":"{mum}","full_name":"Ахметова Жанар","relation":"mother","phone":"+77015550011"}}]}},{{"iin":"{teen}","full_name":"Ахметова Мадина","grade":8,"class_label":"8А","category":"asp","representatives":[{{"iin":"{mum}","full_name":"Ахметова Жанар","relation":"mother","phone":"+77015550011"}}]}},{{"iin":"{broken}","full_name":"Ошибка Ввода","grade":3,"class_label":"3А","category":"primary","representatives":[{{"iin":"{mum}","full_name":"Ахметова Жанар","relation":"mother"}}]}}]}}"#
    ))
}

/// What to print on start: where it runs and how to try it.
pub fn banner(base: &str, database: &str, info: &DemoInfo, period: &str, console: &str) -> String {
    let token = |json: &str| {
        format!(
            "$(curl -s -X POST {base}/dev/token -H 'content-type: application/json' \\\n    -d '{json}' | sed -E 's/.*\"token\":\"([^\"]+)\".*/\\1/')"
        )
    };
    let parent = info.parent.expose();
    let parent2 = info.parent_to_activate.expose();
    let voucher = info
        .voucher_to_activate
        .map(|v| v.to_string())
        .unwrap_or_else(|| "<voucher id from the list above>".into());
    let list = example_list().unwrap_or_default().replace("PERIOD", period);
    let (first, last) = (
        info.programme_dates.first_day(),
        info.programme_dates.last_day(),
    );
    let kid = iin_for(KIDS[0].born, KIDS[0].sex)
        .map(|i| i.expose())
        .unwrap_or_default();
    format!(
        "\
Social Wallet demo is running.
  listening on {base}
  database     {database}
  API document {base}/openapi.json
  programme    {first} to {last} (lists are taken up to next month)
  (all people are invented; their IINs only look real)

School console (open in a browser): {console}
  sign in on the demo page: pick a role (social pedagogue or director) and a demo school

Try it (copy and paste):

  # 1. PEP sends a school's monthly list: a primary pupil gets a voucher, an 8th-grader waits
  #    for her mother's SMS consent (see the outbox), a row with a bad IIN is rejected
  INTEG={integ}
  curl -s -X POST {base}/v1/integration/eligibility-lists -H \"authorization: Bearer $INTEG\" \\
    -H 'content-type: application/json' -d '{list}'
  curl -s {base}/v1/integration/outbox -H \"authorization: Bearer $INTEG\"
  # the mother agrees by SMS: the voucher is formed at once
  curl -s -X POST {base}/v1/integration/sms/inbound -H \"authorization: Bearer $INTEG\" \\
    -H 'content-type: application/json' -d '{{\"phone\":\"+77015550011\",\"text\":\"3#1\"}}'

  # 2. a parent (mother of two) and her vouchers
  TOKEN={parent_token}
  curl -s {base}/v1/wallet/vouchers -H \"authorization: Bearer $TOKEN\"

  # 3. another parent activates her daughter's voucher and mints a pass as PNG and JSON
  MUM={mum_token}
  curl -s -X POST {base}/v1/wallet/vouchers/{voucher}/activate -H \"authorization: Bearer $MUM\"
  curl -s -X POST {base}/v1/wallet/vouchers/{voucher}/passes -H \"authorization: Bearer $MUM\" \\
    -H 'accept: image/png' -o pass.png && zbarimg -q --raw pass.png   # zbar-tools
  curl -s -X POST {base}/v1/wallet/vouchers/{voucher}/passes -H \"authorization: Bearer $MUM\" \\
    -H 'accept: application/json'

  # 4. the social pedagogue of the demo school: vouchers, an ID card, a terminal code
  STAFF={staff_token}
  curl -s {base}/v1/schools/{DEMO_SCHOOL_BIN}/vouchers -H \"authorization: Bearer $STAFF\"
  curl -s -X POST {base}/v1/schools/{DEMO_SCHOOL_BIN}/cards -H \"authorization: Bearer $STAFF\" \\
    -H 'content-type: application/json' -d '{{\"student_iin\":\"{kid}\",\"card_uid\":\"0102ABCDEF\"}}'
  curl -s -X POST {base}/v1/schools/{DEMO_SCHOOL_BIN}/terminals -H \"authorization: Bearer $STAFF\"

  # health, readiness, metrics; move the demo clock forward (deadlines, reports)
  curl -s {base}/healthz; curl -s {base}/readyz; curl -s {base}/metrics | head
  curl -s -X POST {base}/dev/clock -H 'content-type: application/json' \\
    -d '{{\"now\":\"2026-12-01T09:00:00+05:00\"}}'
",
        integ = token(r#"{"sub":"pep","role":"integration"}"#),
        parent_token = token(&format!(r#"{{"sub":"{parent}","role":"parent"}}"#)),
        mum_token = token(&format!(r#"{{"sub":"{parent2}","role":"parent"}}"#)),
        staff_token = token(&format!(
            r#"{{"sub":"pedagogue-1","role":"social_pedagogue","school":"{DEMO_SCHOOL_BIN}"}}"#
        )),
    )
}
