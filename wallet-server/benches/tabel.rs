//! The табель floor: a school of 2,000 students with a full month of meals must be served in
//! at most 200 ms as JSON and 1 s as XLSX or PDF, on SQLite and on PostgreSQL.
//!
//! Each backend is seeded once through the store API (an eligibility list of 2,000
//! primary-grade rows, every voucher activated, a terminal enrolled, one meal per student on
//! every working day of October 2026 pushed in batches of 500, plus a few hundred duplicates).
//! Then, per backend, `tabel_<backend>/<format>` measures what a download costs end to end
//! from the database: `tabel_for` (approval lookup, facts query, build) and the render.
//! `tabel_<backend>/facts` is the facts query alone; `tabel_pure/*` times `build` and each
//! renderer on facts already in memory, to tell what bounds a format.
//!
//! SQLite always runs (a temporary file); PostgreSQL runs when `TEST_DATABASE_URL` points at
//! a server: a fresh database `bench_<uuid>` is created and dropped at the end.
//!
//! Run: `TEST_DATABASE_URL=postgres://… cargo bench -p wallet-server --bench tabel`

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode};
use shared::sync::{MealBatch, MealEvent, MealSlot, Method};
use shared::time::{start_of_service_day, YearMonth};
use shared::{Bin, Iin, Sex, VoucherId};
use time::macros::{date, datetime};
use time::{Date, OffsetDateTime};
use tokio::runtime::Runtime;
use uuid::Uuid;
use wallet_server::domain::audit::{Actor, AuditEntry};
use wallet_server::domain::calendar::SchoolCalendar;
use wallet_server::domain::list::{RowOutcome, ValidList, ValidRow};
use wallet_server::domain::meal::VoucherFacts;
use wallet_server::domain::tabel::{build, calendar, Tabel, TabelFacts};
use wallet_server::domain::terminal::{EnrollmentCode, NewTerminal};
use wallet_server::domain::voucher::{SchoolYear, VoucherState};
use wallet_server::domain::{Category, Programme, Relation, Representative, School, Student};
use wallet_server::services::tabel::render::{self, Format};
use wallet_server::services::tabel::tabel_for;
use wallet_server::store::{SqliteStore, Store};

mod support;

/// Students in the school.
const STUDENTS: usize = 2_000;
/// Students per class: 20 classes a grade, grades 1 to 4.
const CLASS_SIZE: usize = 25;
const LETTERS: [&str; 20] = [
    "А", "Б", "В", "Г", "Д", "Е", "Ж", "З", "И", "К", "Л", "М", "Н", "О", "П", "Р", "С", "Т", "У",
    "Ф",
];
/// Meals per push, as a terminal sends them.
const BATCH: usize = 500;
/// Second meals in the same slot and day: kept as `duplicate`, listed, not billed.
const DUPLICATES: usize = 300;
/// The default meal price (tiyn) passed to `tabel_for`.
const PRICE: i64 = 95_000;

const SURNAMES: [&str; 40] = [
    "Ахметов",
    "Бекова",
    "Жумабаев",
    "Исмаилова",
    "Касымов",
    "Нурланова",
    "Омаров",
    "Сагинтаева",
    "Тулегенов",
    "Абдрахманова",
    "Есенов",
    "Мухамедова",
    "Серикбаев",
    "Утегенова",
    "Кенжебаев",
    "Байжанова",
    "Ержанов",
    "Калиева",
    "Мусин",
    "Рахимова",
    "Смагулов",
    "Токтарова",
    "Шарипов",
    "Ибраева",
    "Жаксылыков",
    "Алиева",
    "Досмухамедов",
    "Кожахметова",
    "Нуржанов",
    "Садыкова",
    "Иванов",
    "Петрова",
    "Ким",
    "Ли",
    "Цой",
    "Сергеева",
    "Оспанов",
    "Турсынбаева",
    "Мамыров",
    "Ермекова",
];
const GIVEN: [&str; 50] = [
    "Алия",
    "Нурлан",
    "Дана",
    "Арман",
    "Айгерим",
    "Ерлан",
    "Мадина",
    "Данияр",
    "Асель",
    "Тимур",
    "Аружан",
    "Алихан",
    "Камила",
    "Санжар",
    "Жанель",
    "Ислам",
    "Амина",
    "Нурсултан",
    "Томирис",
    "Ернур",
    "Айлин",
    "Мирас",
    "Сабина",
    "Диас",
    "Адема",
    "Алдияр",
    "Инкар",
    "Бекзат",
    "Милана",
    "Руслан",
    "Зарина",
    "Алан",
    "Аяна",
    "Еркебулан",
    "Дильназ",
    "Абылай",
    "Карина",
    "Азамат",
    "Медина",
    "Ильяс",
    "Дария",
    "Мансур",
    "Нурай",
    "Айдос",
    "Сафия",
    "Олжас",
    "Вероника",
    "Максим",
    "Анастасия",
    "Артём",
];
const PATRONYMICS: [&str; 8] = [
    "Серикович",
    "Маратовна",
    "Ерланович",
    "Болатовна",
    "Кайратович",
    "Нурлановна",
    "Александрович",
    "Талгатовна",
];

/// The measured month and the moment the табель is asked for (the month has ended).
fn month() -> YearMonth {
    "2026-10".parse().expect("month")
}
const ASKED_AT: OffsetDateTime = datetime!(2026-11-02 06:00 UTC);
const LISTED_AT: OffsetDateTime = datetime!(2026-09-01 03:00 UTC);

fn school() -> School {
    School {
        bin: Bin::generate(&[0, 9, 0, 1, 4, 0, 0, 0, 2, 0, 0]).expect("issuable BIN"),
        name: "Школа-гимназия №200 им. Абая".into(),
    }
}

/// Hands out distinct IINs: every call takes a fresh serial, so no two collide.
struct Iins {
    serial: u16,
}

impl Iins {
    fn next(&mut self, born: Date, sex: Sex) -> Iin {
        loop {
            self.serial += 1;
            if let Some(iin) = Iin::generate(born, sex, self.serial) {
                return iin;
            }
        }
    }
}

/// The eligibility list: 2,000 primary-grade students, each with a mother.
fn eligibility_list() -> ValidList {
    let school = school();
    let mut iins = Iins { serial: 0 };
    let rows = (0..STUDENTS)
        .map(|i| {
            let grade = 1 + i / (CLASS_SIZE * LETTERS.len());
            let letter = LETTERS[(i / CLASS_SIZE) % LETTERS.len()];
            let sex = if i % 2 == 0 { Sex::Female } else { Sex::Male };
            let born = Date::from_calendar_date(
                2020 - i32::try_from(grade).expect("grade"),
                time::Month::try_from(1 + u8::try_from(i % 12).expect("month")).expect("month"),
                1 + u8::try_from((i / 12) % 28).expect("day"),
            )
            .expect("birth date");
            let student = Student {
                iin: iins.next(born, sex),
                full_name: format!(
                    "{} {} {}",
                    SURNAMES[i % SURNAMES.len()],
                    GIVEN[(i / SURNAMES.len()) % GIVEN.len()],
                    PATRONYMICS[i % PATRONYMICS.len()]
                ),
                school: school.bin,
                grade: u8::try_from(grade).expect("grade"),
                class_label: format!("{grade}{letter}"),
                category: Category::Primary,
            };
            let mother = Representative {
                iin: iins.next(date!(1990 - 04 - 04), Sex::Female),
                full_name: format!("{} Сауле", SURNAMES[i % SURNAMES.len()]),
                phone: Some(format!("7701{i:07}")),
            };
            ValidRow {
                index: i,
                student,
                representatives: vec![(mother, Relation::Mother)],
                forms_voucher: true,
                warnings: Vec::new(),
            }
        })
        .collect();
    ValidList {
        id: Uuid::now_v7(),
        school,
        programme: Programme::SchoolMeals,
        period: "2026-09".parse().expect("period"),
        voucher_period: SchoolYear {
            first_day: date!(2026 - 09 - 01),
            last_day: date!(2027 - 05 - 31),
        },
        received_at: LISTED_AT,
        received_by: Actor::System,
        content_hash: "bench".into(),
        rows,
        rejected: Vec::new(),
    }
}

fn accept_all(_: &MealEvent, _: Option<&VoucherFacts>, _: &[MealSlot]) -> Option<String> {
    None
}

fn meal(voucher: VoucherId, day: Date, minute: i64) -> MealEvent {
    MealEvent {
        event_id: Uuid::now_v7(),
        voucher_id: voucher,
        slot: shared::SlotName::whole_day(),
        service_day: day,
        served_at: start_of_service_day(day) + time::Duration::minutes(11 * 60 + minute),
        method: if minute % 3 == 0 {
            Method::Qr
        } else {
            Method::Card
        },
        pass_nonce: None,
        manual_reason: None,
        worker: None,
    }
}

/// What the seed put in: the expected totals of the табель.
struct Seeded {
    working_days: usize,
}

/// Seeds a school month through the store API.
async fn seed(store: &dyn Store) -> Seeded {
    let t = Instant::now();
    let list = eligibility_list();
    let outcome = store
        .apply_eligibility_list(&list)
        .await
        .expect("apply list");
    let vouchers: Vec<VoucherId> = outcome
        .rows
        .iter()
        .map(|(_, o)| match o {
            RowOutcome::VoucherFormed(id) => *id,
            other => panic!("expected a voucher, got {other:?}"),
        })
        .collect();
    assert_eq!(vouchers.len(), STUDENTS);
    let listed = t.elapsed();

    for id in &vouchers {
        let audit = AuditEntry {
            at: LISTED_AT + time::Duration::hours(2),
            actor: Actor::System,
            entity_kind: "voucher",
            entity_id: id.to_string(),
            action: "activate".into(),
            from_state: Some(VoucherState::Formed.to_string()),
            to_state: Some(VoucherState::Activated.to_string()),
            reason: None,
        };
        store
            .transition_voucher(*id, VoucherState::Formed, VoucherState::Activated, &audit)
            .await
            .expect("activate");
    }
    let activated = t.elapsed();

    store
        .create_enrollment_code(&EnrollmentCode {
            code_hash: "bench-code".into(),
            school: school().bin,
            created_by: Actor::System,
            created_at: LISTED_AT,
            expires_at: LISTED_AT + time::Duration::days(1),
        })
        .await
        .expect("code");
    let new = NewTerminal {
        id: Uuid::now_v7(),
        name: "столовая".into(),
        token_hash: "bench-token".into(),
    };
    store
        .enroll_terminal("bench-code", &new, LISTED_AT + time::Duration::hours(1))
        .await
        .expect("enroll");
    let terminal = store
        .terminal_by_token("bench-token")
        .await
        .expect("lookup")
        .expect("enrolled");

    let days: Vec<Date> = month()
        .days()
        .filter(|d| calendar::column(&SchoolCalendar::default(), *d).school_day)
        .collect();
    let mut pushed = 0usize;
    let push = |events: Vec<MealEvent>, now: OffsetDateTime| {
        let terminal = terminal.clone();
        async move {
            let n = events.len();
            let results = store
                .record_meals(
                    &terminal,
                    &MealBatch {
                        events,
                        unsent_after: Some(0),
                        voids: Vec::new(),
                        denials: Vec::new(),
                    },
                    now,
                    &accept_all,
                )
                .await
                .expect("push");
            assert_eq!(results.len(), n);
        }
    };
    for day in &days {
        let received = start_of_service_day(*day) + time::Duration::hours(15);
        let events: Vec<MealEvent> = vouchers
            .iter()
            .enumerate()
            .map(|(i, v)| meal(*v, *day, i64::try_from(i / 20).expect("minute")))
            .collect();
        for chunk in events.chunks(BATCH) {
            push(chunk.to_vec(), received).await;
            pushed += chunk.len();
        }
    }
    // Second meals in the same slot: a terminal that scanned a card twice.
    let second: Vec<MealEvent> = (0..DUPLICATES)
        .map(|k| {
            let v = vouchers[(k * 7) % STUDENTS];
            meal(v, days[k % days.len()], 90)
        })
        .collect();
    push(second, ASKED_AT - time::Duration::days(1)).await;
    pushed += DUPLICATES;
    let total = t.elapsed();
    eprintln!(
        "seeded {} students, {} meals ({} working days, {} duplicates) in {:.1?} \
         (list {:.1?}, activation {:.1?}, meals {:.1?})",
        STUDENTS,
        pushed,
        days.len(),
        DUPLICATES,
        total,
        listed,
        activated - listed,
        total - activated
    );
    Seeded {
        working_days: days.len(),
    }
}

async fn tabel(store: &dyn Store) -> Tabel {
    tabel_for(store, school().bin, month(), ASKED_AT, PRICE)
        .await
        .expect("tabel")
}

async fn facts(store: &dyn Store) -> TabelFacts {
    store
        .tabel_facts(school().bin, month(), PRICE)
        .await
        .expect("facts")
}

/// The seeded табель is what the seed says: every student, every working day, the duplicates
/// listed apart.
fn check(t: &Tabel, seeded: &Seeded) {
    let meals = u32::try_from(STUDENTS * seeded.working_days).expect("meals");
    assert_eq!(t.rows.len(), STUDENTS);
    assert_eq!(t.totals.meals, meals);
    assert_eq!(t.totals.students_fed, u32::try_from(STUDENTS).expect("n"));
    assert_eq!(t.excluded.len(), DUPLICATES);
    assert_eq!(t.payable_tiyn, i64::from(meals) * PRICE);
}

/// Benches one backend end to end; returns its facts for the pure stages.
fn bench_backend(c: &mut Criterion, rt: &Runtime, backend: &str, store: &dyn Store) -> Tabel {
    let seeded = rt.block_on(seed(store));
    let once = rt.block_on(tabel(store));
    check(&once, &seeded);
    for format in Format::ALL {
        let bytes = render::render(&once, format).expect("render");
        eprintln!("{backend}: {format:?} is {} bytes", bytes.len());
    }

    let mut group = c.benchmark_group(format!("tabel_{backend}"));
    group.sampling_mode(SamplingMode::Flat);
    group.bench_function("facts", |b| {
        b.iter(|| rt.block_on(facts(store)).meals.len())
    });
    group.bench_function("tabel_for", |b| {
        b.iter(|| rt.block_on(tabel(store)).rows.len())
    });
    for format in Format::ALL {
        group.bench_function(format.file_extension(), |b| {
            b.iter(|| {
                let t = rt.block_on(tabel(store));
                render::render(&t, format).expect("render").len()
            })
        });
    }
    group.finish();
    once
}

/// The stages without a database: `build` on facts in memory, and each renderer.
fn bench_pure(c: &mut Criterion, facts: &TabelFacts, tabel: &Tabel) {
    let mut group = c.benchmark_group("tabel_pure");
    group.sampling_mode(SamplingMode::Flat);
    group.bench_function("build", |b| {
        b.iter(|| build(black_box(facts), month(), ASKED_AT).rows.len())
    });
    for format in Format::ALL {
        group.bench_function(format!("render_{}", format.file_extension()), |b| {
            b.iter(|| {
                render::render(black_box(tabel), format)
                    .expect("render")
                    .len()
            })
        });
    }
    group.finish();
}

fn tabel_floor(c: &mut Criterion) {
    let rt = Runtime::new().expect("tokio runtime");

    let dir = tempfile::tempdir().expect("tempdir");
    let sqlite = rt
        .block_on(SqliteStore::open_file(&dir.path().join("bench.db")))
        .expect("open sqlite");
    let from_sqlite = bench_backend(c, &rt, "sqlite", &sqlite);
    let facts = rt.block_on(facts(&sqlite));

    if let Some((db, pg)) = support::postgres(&rt) {
        let from_pg = bench_backend(c, &rt, "postgres", &pg);
        assert_eq!(from_pg, from_sqlite, "both backends give the same табель");
        rt.block_on(async { drop(pg) });
        drop(db);
    }

    bench_pure(c, &facts, &from_sqlite);
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    targets = tabel_floor
}
criterion_main!(benches);
