//! The wallet-core chapter of the store story: eligibility lists, cards, enrollment codes,
//! meals on a voucher, feedback and the outbox. Uses its own schools and people, so it does
//! not disturb the first chapter's counts.

use std::sync::Arc;

use shared::{Bin, CardUid, Iin, Sex, VoucherId};
use time::macros::{date, datetime};
use time::OffsetDateTime;
use uuid::Uuid;
use wallet_server::domain::audit::Actor;
use wallet_server::domain::feedback::{ComplaintLimit, FeedbackStored};
use wallet_server::domain::list::{
    validate_list, ListRequest, Reception, RepresentativeIn, RowOutcome, RowRejection, SchoolIn,
    StudentIn,
};
use wallet_server::domain::meal::{MealMethod, MealStatus};
use wallet_server::domain::programme_dates::ProgrammeDates;
use wallet_server::domain::terminal::{CardBinding, CardBound, EnrollmentCode};
use wallet_server::domain::voucher::{SchoolYearRule, VoucherState};
use wallet_server::services::feedback;
use wallet_server::store::{Store, StoreError};

/// The terminal the raw meals are recorded by (meals are a terminal's, by event id).
const RAW_TERMINAL: uuid::Uuid = uuid::uuid!("0190f0c0-0000-7000-8000-00000000beef");

/// A raw connection for what no store method writes yet (meals arrive with terminal sync).
pub enum Raw {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

impl Raw {
    async fn insert_meal(
        &self,
        voucher: VoucherId,
        school: Bin,
        student: Iin,
        day: time::Date,
        status: &str,
    ) {
        let event = Uuid::now_v7();
        let served = shared::time::start_of_service_day(day) + time::Duration::hours(8);
        match self {
            Raw::Sqlite(pool) => {
                let ts = |t: OffsetDateTime| {
                    t.format(time::macros::format_description!(
                        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z"
                    ))
                    .expect("format")
                };
                sqlx::query(
                    "INSERT INTO meals (terminal_id, event_id, voucher_id, student_iin, school_bin, service_day, \
                     slot, served_at, method, status, received_at) \
                     VALUES (?, ?, ?, ?, ?, ?, 'day', ?, 'qr', ?, ?)",
                )
                .bind(RAW_TERMINAL.to_string())
                .bind(event.to_string())
                .bind(voucher.to_string())
                .bind(student.expose())
                .bind(school.to_string())
                .bind(day.to_string())
                .bind(ts(served))
                .bind(status)
                .bind(ts(served))
                .execute(pool)
                .await
                .expect("insert meal");
            }
            Raw::Postgres(pool) => {
                sqlx::query(
                    "INSERT INTO meals (terminal_id, event_id, voucher_id, student_iin, school_bin, service_day, \
                     slot, served_at, method, status, received_at) \
                     VALUES ($8, $1, $2, $3, $4, $5, 'day', $6, 'qr', $7, $6)",
                )
                .bind(event)
                .bind(voucher.as_uuid())
                .bind(student.expose())
                .bind(school.to_string())
                .bind(day)
                .bind(served)
                .bind(status)
                .bind(RAW_TERMINAL)
                .execute(pool)
                .await
                .expect("insert meal");
            }
        }
    }
}

const T0: OffsetDateTime = datetime!(2026-10-01 04:00 UTC);

fn iin(born: time::Date, sex: Sex, serial: u16) -> Iin {
    (serial..serial + 60)
        .find_map(|s| Iin::generate(born, sex, s))
        .expect("issuable")
}

fn school_a() -> Bin {
    Bin::generate(&[1, 1, 0, 3, 4, 0, 0, 0, 0, 0, 1]).expect("bin")
}

fn school_b() -> Bin {
    Bin::generate(&[1, 2, 0, 3, 4, 0, 0, 0, 0, 0, 2]).expect("bin")
}

struct Kid {
    iin: Iin,
    grade: i64,
    category: &'static str,
}

fn kids() -> Vec<Kid> {
    vec![
        Kid {
            iin: iin(date!(2018 - 01 - 10), Sex::Male, 2000),
            grade: 2,
            category: "primary",
        },
        Kid {
            iin: iin(date!(2013 - 02 - 11), Sex::Female, 2000),
            grade: 7,
            category: "asp",
        },
        Kid {
            iin: iin(date!(2019 - 03 - 12), Sex::Female, 2000),
            grade: 1,
            category: "primary",
        },
    ]
}

fn parent() -> Iin {
    iin(date!(1985 - 05 - 05), Sex::Female, 3000)
}

fn request(bin: Bin, kids: &[Kid], period: &str) -> ListRequest {
    ListRequest {
        school: SchoolIn {
            bin: bin.to_string(),
            name: format!("Школа {bin}").parse().expect("school"),
        },
        programme: "school_meals".into(),
        period: period.into(),
        students: kids
            .iter()
            .map(|k| StudentIn {
                iin: k.iin.expose(),
                full_name: format!("Ученик {}", k.grade).parse().expect("name"),
                grade: k.grade,
                class_label: format!("{}Б", k.grade).parse().expect("class"),
                category: k.category.into(),
                representatives: vec![RepresentativeIn {
                    iin: parent().expose(),
                    full_name: "Родитель".parse().expect("name"),
                    relation: "mother".into(),
                    phone: Some("87011112233".into()),
                }],
            })
            .collect(),
    }
}

async fn apply(
    store: &Arc<dyn Store>,
    req: &ListRequest,
    at: OffsetDateTime,
) -> Vec<(usize, RowOutcome)> {
    let rule = SchoolYearRule::default();
    let list = validate_list(
        req,
        Reception {
            received_at: at,
            received_by: Actor::Integration("pep".into()),
            school_year: &rule,
            programme_dates: ProgrammeDates::pilot_2026(),
            content_hash: "x".into(),
        },
    )
    .expect("valid list");
    store
        .apply_eligibility_list(&list)
        .await
        .expect("apply")
        .rows
}

pub async fn story(store: Arc<dyn Store>, raw: Raw) {
    let month: shared::time::YearMonth = "2026-10".parse().expect("month");
    let ks = kids();

    // A first list registers the school, forms vouchers for primary grades only.
    let rows = apply(&store, &request(school_a(), &ks, "2026-10"), T0).await;
    let formed: Vec<VoucherId> = rows
        .iter()
        .filter_map(|(_, o)| match o {
            RowOutcome::VoucherFormed(id) => Some(*id),
            _ => None,
        })
        .collect();
    assert_eq!(formed.len(), 2);
    assert_eq!(rows[1], (1, RowOutcome::AwaitingConsent));
    assert_eq!(
        store
            .school(school_a())
            .await
            .expect("school")
            .map(|s| s.name),
        Some(format!("Школа {}", school_a()))
    );
    assert_eq!(
        store.representatives_of(ks[0].iin).await.expect("reps")[0]
            .0
            .phone
            .as_deref(),
        Some("77011112233")
    );

    // The same list again forms nothing new.
    let again = apply(&store, &request(school_a(), &ks, "2026-10"), T0).await;
    assert_eq!(again, rows);
    assert_eq!(
        store
            .vouchers_of_school(school_a(), month)
            .await
            .expect("list")
            .len(),
        2
    );

    // Another school cannot claim the same students for the same period; nothing of those
    // rows is written (the student stays at school A).
    let stolen = apply(&store, &request(school_b(), &ks[..1], "2026-10"), T0).await;
    assert_eq!(
        stolen,
        vec![(0, RowOutcome::Rejected(RowRejection::ClaimedByOtherSchool))]
    );
    assert_eq!(
        store
            .student(ks[0].iin)
            .await
            .expect("student")
            .map(|s| s.school),
        Some(school_a())
    );
    assert!(store
        .vouchers_of_school(school_b(), month)
        .await
        .expect("list")
        .is_empty());

    // A replacing list without the first student revokes that student's voucher.
    let replaced = apply(
        &store,
        &request(school_a(), &ks[1..], "2026-10"),
        T0 + time::Duration::hours(1),
    )
    .await;
    assert_eq!(replaced.len(), 2);
    let first = store
        .voucher(formed[0])
        .await
        .expect("read")
        .expect("exists");
    assert_eq!(first.state, VoucherState::Revoked);
    let trail = store
        .audit_trail("voucher", &formed[0].to_string())
        .await
        .expect("trail");
    assert_eq!(trail.last().map(|r| r.action.as_str()), Some("revoke"));
    assert!(trail
        .last()
        .and_then(|r| r.reason.as_deref())
        .is_some_and(|r| r.contains("no longer")));
    assert_eq!(
        store
            .voucher(formed[1])
            .await
            .expect("read")
            .map(|v| v.state),
        Some(VoucherState::Formed)
    );

    // Next month the first student moves to school B: the live voucher follows.
    let moved = apply(
        &store,
        &request(school_b(), &ks[2..], "2026-11"),
        T0 + time::Duration::days(31),
    )
    .await;
    let RowOutcome::VoucherFormed(new_id) = moved[0].1 else {
        panic!("{moved:?}")
    };
    assert_ne!(new_id, formed[1]);
    assert_eq!(
        store
            .voucher(formed[1])
            .await
            .expect("read")
            .map(|v| v.state),
        Some(VoucherState::Revoked)
    );
    assert_eq!(
        store.voucher(new_id).await.expect("read").map(|v| v.school),
        Some(school_b())
    );

    cards_and_codes(&store, &ks).await;
    meals_feedback_outbox(&store, &raw, new_id, &ks[2], month).await;
}

async fn cards_and_codes(store: &Arc<dyn Store>, ks: &[Kid]) {
    let card: CardUid = "0A1B2C3D4E".parse().expect("uid");
    let bind = |student: Iin, school: Bin, card: CardUid| CardBinding {
        school,
        student,
        card,
        by: Actor::Staff {
            sub: "ped".into(),
            school,
        },
        at: T0,
    };
    assert_eq!(
        store
            .bind_card(&bind(ks[0].iin, school_a(), card))
            .await
            .expect("bind"),
        CardBound::Bound { replaced: None }
    );
    assert_eq!(
        store
            .bind_card(&bind(ks[0].iin, school_a(), card))
            .await
            .expect("again"),
        CardBound::Unchanged
    );
    // Another student of the same school cannot take the card…
    let taken = store
        .bind_card(&bind(ks[1].iin, school_a(), card))
        .await
        .unwrap_err();
    assert!(matches!(taken, StoreError::Conflict { .. }), "{taken:?}");
    // …and school A cannot bind a card to school B's student.
    let other: CardUid = "FFFFFFFF01".parse().expect("uid");
    assert!(matches!(
        store.bind_card(&bind(ks[2].iin, school_a(), other)).await,
        Err(StoreError::NotFound)
    ));
    // A student of another school takes the card over, as if it were free; school A's
    // roster has it nowhere (ks[0] has no live voucher left here: the HTTP test
    // `card_takeover` shows the roster change of one that has).
    let cursor = store
        .roster_since(school_a(), 0)
        .await
        .expect("roster")
        .cursor;
    assert_eq!(
        store
            .bind_card(&bind(ks[2].iin, school_b(), card))
            .await
            .expect("take over"),
        CardBound::Bound { replaced: None }
    );
    let delta = store.roster_since(school_a(), cursor).await.expect("delta");
    let full = store.roster_since(school_a(), 0).await.expect("roster");
    assert!(delta
        .rows
        .iter()
        .chain(&full.rows)
        .all(|r| r.card != Some(card)));
    let trail = store
        .audit_trail("card", &card.to_string())
        .await
        .expect("trail");
    let actions: Vec<&str> = trail.iter().map(|r| r.action.as_str()).collect();
    assert_eq!(actions, ["bind", "unbind", "bind"]);
    let unbound = trail[1].reason.as_deref().unwrap_or_default();
    assert!(unbound.contains(&school_a().to_string()) && unbound.contains(&school_b().to_string()));
    // A new card replaces the student's old one.
    let new_card: CardUid = "0A1B2C3D4F".parse().expect("uid");
    assert_eq!(
        store
            .bind_card(&bind(ks[2].iin, school_b(), new_card))
            .await
            .expect("replace"),
        CardBound::Bound {
            replaced: Some(card)
        }
    );
    let views = store
        .vouchers_of_school(school_b(), "2026-11".parse().expect("m"))
        .await
        .expect("list");
    assert!(views.iter().any(|v| v.card == Some(new_card)));
    assert_eq!(
        store
            .audit_trail("card", &new_card.to_string())
            .await
            .expect("trail")
            .len(),
        1
    );

    let code = EnrollmentCode {
        code_hash: wallet_server::services::enrollment::hash_code("ABCD-EFGH-JKMN"),
        school: school_a(),
        created_by: Actor::Staff {
            sub: "ped".into(),
            school: school_a(),
        },
        created_at: T0,
        expires_at: T0 + time::Duration::hours(24),
    };
    store.create_enrollment_code(&code).await.expect("code");
    assert!(
        store.create_enrollment_code(&code).await.is_err(),
        "a code hash is unique"
    );
}

async fn meals_feedback_outbox(
    store: &Arc<dyn Store>,
    raw: &Raw,
    voucher: VoucherId,
    kid: &Kid,
    month: shared::time::YearMonth,
) {
    assert!(store
        .meals_of_voucher(voucher, parent())
        .await
        .expect("meals")
        .is_empty());
    let november: shared::time::YearMonth = "2026-11".parse().expect("m");
    raw.insert_meal(
        voucher,
        school_b(),
        kid.iin,
        date!(2026 - 11 - 02),
        "accepted",
    )
    .await;
    raw.insert_meal(
        voucher,
        school_b(),
        kid.iin,
        date!(2026 - 11 - 03),
        "accepted",
    )
    .await;
    raw.insert_meal(
        voucher,
        school_b(),
        kid.iin,
        date!(2026 - 11 - 03),
        "duplicate",
    )
    .await;
    raw.insert_meal(
        voucher,
        school_b(),
        kid.iin,
        date!(2026 - 12 - 01),
        "accepted",
    )
    .await;
    let meals = store
        .meals_of_voucher(voucher, parent())
        .await
        .expect("meals");
    assert_eq!(meals.len(), 4);
    assert!(
        meals.windows(2).all(|w| w[0].served_at >= w[1].served_at),
        "newest first"
    );
    assert_eq!(meals[0].service_day, date!(2026 - 12 - 01));
    assert_eq!(
        (meals[0].method, meals[0].status),
        (MealMethod::Qr, MealStatus::Accepted)
    );
    assert!(meals.iter().any(|m| m.status == MealStatus::Duplicate));

    // Only billable meals of the month count; the parent sees them on the voucher.
    let view = store
        .voucher_of_representative(voucher, parent(), november)
        .await
        .expect("view")
        .expect("own");
    assert_eq!(view.meals_this_month, 2);
    assert_eq!(
        store
            .voucher_of_representative(voucher, parent(), month)
            .await
            .expect("view")
            .map(|v| v.meals_this_month),
        Some(0)
    );
    let stranger = iin(date!(1970 - 01 - 01), Sex::Male, 4000);
    assert_eq!(
        store
            .voucher_of_representative(voucher, stranger, november)
            .await
            .expect("view"),
        None
    );
    // The lean lookup used for minting agrees, and hides it from a stranger too.
    assert_eq!(
        store
            .represented_voucher(voucher, parent())
            .await
            .expect("voucher"),
        Some(view.voucher.clone())
    );
    assert_eq!(
        store
            .represented_voucher(voucher, stranger)
            .await
            .expect("voucher"),
        None
    );

    // Feedback with a complaint lands with its outbox message, in one transaction.
    let form = feedback::FeedbackForm::parse(2, Some("Суп холодный".parse().expect("text")))
        .expect("form");
    let (record, message) = feedback::record(&view, parent(), form, T0);
    let today = ComplaintLimit::of_day(T0);
    assert_eq!(
        store
            .add_feedback(&record, message.as_ref(), &today)
            .await
            .expect("feedback"),
        FeedbackStored::Stored
    );
    let plain = feedback::FeedbackForm::parse(5, None).expect("form");
    let (record2, none) = feedback::record(&view, parent(), plain, T0 + time::Duration::seconds(1));
    assert!(none.is_none());
    store
        .add_feedback(&record2, None, &today)
        .await
        .expect("feedback");
    let outbox = store.outbox(10).await.expect("outbox");
    assert_eq!(outbox.len(), 1);
    assert_eq!(outbox[0].recipient, "e-otinish");
    assert!(outbox[0].body.contains("Суп холодный"));
    assert!(
        !outbox[0].body.contains(&kid.iin.expose()),
        "never the child's IIN"
    );
    // A second feedback with the same id is refused and queues nothing.
    let dup = store.add_feedback(&record, message.as_ref(), &today).await;
    assert!(dup.is_err());
    assert_eq!(store.outbox(10).await.expect("outbox").len(), 1);
    complaints_are_limited_per_day(store.as_ref(), &view, T0).await;
}

/// Three complaints a day on a voucher (one made above): the fourth stores and queues
/// nothing; a rating alone is still taken; the next service day counts afresh.
async fn complaints_are_limited_per_day(
    store: &dyn Store,
    view: &wallet_server::domain::voucher::VoucherView,
    t0: OffsetDateTime,
) {
    let give = |complaint: Option<&str>, at: OffsetDateTime| {
        let form = feedback::FeedbackForm::parse(1, complaint.map(|c| c.parse().expect("text")))
            .expect("form");
        feedback::record(view, parent(), form, at)
    };
    let queued = || async { store.outbox(100).await.expect("outbox").len() };
    let before = queued().await;
    for n in 1..=3 {
        let at = t0 + time::Duration::minutes(n);
        let (record, message) = give(Some("Опять холодный суп"), at);
        let stored = store
            .add_feedback(&record, message.as_ref(), &ComplaintLimit::of_day(at))
            .await
            .expect("feedback");
        let expected = if n < 3 {
            FeedbackStored::Stored
        } else {
            FeedbackStored::ComplaintLimitReached
        };
        assert_eq!(stored, expected, "complaint {n} of the day after the first");
    }
    assert_eq!(
        queued().await,
        before + 2,
        "the refused complaint queued nothing"
    );
    let later = t0 + time::Duration::hours(1);
    let (rating, none) = give(None, later);
    let limit = ComplaintLimit::of_day(later);
    assert_eq!(
        store
            .add_feedback(&rating, none.as_ref(), &limit)
            .await
            .expect("rating"),
        FeedbackStored::Stored
    );
    let tomorrow = ComplaintLimit::of_day(t0).lifts_at;
    let (record, message) = give(Some("И сегодня"), tomorrow);
    assert_eq!(
        store
            .add_feedback(&record, message.as_ref(), &ComplaintLimit::of_day(tomorrow))
            .await
            .expect("feedback"),
        FeedbackStored::Stored
    );
    assert_eq!(queued().await, before + 3);
}
