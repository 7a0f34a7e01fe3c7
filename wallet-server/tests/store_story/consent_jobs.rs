//! The consent-and-jobs chapter of the store story: consent conversations (start once per
//! student and month, an agreement standing for the year, compare-and-set moves with their
//! SMS, jobs and vouchers), the durable
//! jobs (claim, lease, completion, retry, concurrent claims) and outbox delivery (the same).
//! Uses its own school and people.

mod again;
mod delivery;

use std::sync::Arc;

use shared::{Bin, Iin, Sex, VoucherId};
use time::macros::{date, datetime};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;
use wallet_server::domain::audit::Actor;
use wallet_server::domain::consent::{
    consent_audit, ConsentContact, ConsentRequest, ConsentTransition, NewConsent,
};
use wallet_server::domain::consent::{ConsentState, Language};
use wallet_server::domain::job::JobKind;
use wallet_server::domain::job::{JobState, NewJob};
use wallet_server::domain::list::{
    validate_list, ListRequest, Reception, RepresentativeIn, RowOutcome, SchoolIn, StudentIn,
};
use wallet_server::domain::outbox::{OutboxKind, OutboxMessage, OutboxState};
use wallet_server::domain::programme_dates::ProgrammeDates;
use wallet_server::domain::voucher::{NewVoucher, SchoolYear, SchoolYearRule, VoucherState};
use wallet_server::domain::Programme;
use wallet_server::store::{Store, StoreError};

const T0: OffsetDateTime = datetime!(2026-11-02 04:00 UTC);
const PHONE: &str = "77015550011";

fn year() -> SchoolYear {
    SchoolYear {
        first_day: date!(2026 - 09 - 01),
        last_day: date!(2027 - 05 - 31),
    }
}

fn school() -> Bin {
    Bin::generate(&[0, 3, 0, 1, 4, 0, 0, 0, 6, 6, 1]).expect("BIN")
}

fn iin(born: time::Date, sex: Sex) -> Iin {
    (4000u16..4100)
        .find_map(|s| Iin::generate(born, sex, s))
        .expect("an issuable serial exists")
}

struct World {
    kids: [Iin; 3],
    mother: Iin,
}

/// One list with three upper-grade children: two of the same mother (with a phone), one
/// whose only representative has none.
async fn world(store: &Arc<dyn Store>) -> World {
    let kids = [
        iin(date!(2012 - 01 - 01), Sex::Male),
        iin(date!(2013 - 02 - 02), Sex::Female),
        iin(date!(2014 - 03 - 03), Sex::Male),
    ];
    let mother = iin(date!(1984 - 04 - 04), Sex::Female);
    let other = iin(date!(1980 - 05 - 05), Sex::Male);
    let rep = |who: Iin, phone: Option<&str>| RepresentativeIn {
        iin: who.expose(),
        full_name: format!("Родитель {}", &who.expose()[..4])
            .parse()
            .expect("name"),
        relation: if who == mother { "mother" } else { "father" }.into(),
        phone: phone.map(str::to_string),
    };
    let student = |i: usize, reps: Vec<RepresentativeIn>| StudentIn {
        iin: kids[i].expose(),
        full_name: format!("Ученик {i}").parse().expect("name"),
        grade: 7,
        class_label: "7А".parse().expect("class"),
        category: "asp".into(),
        representatives: reps,
    };
    let req = ListRequest {
        school: SchoolIn {
            bin: school().to_string(),
            name: "Школа согласий".parse().expect("school"),
        },
        programme: "school_meals".into(),
        period: "2026-11".into(),
        students: vec![
            student(0, vec![rep(mother, Some("+7 701 555 00 11"))]),
            student(1, vec![rep(mother, Some("+7 701 555 00 11"))]),
            student(2, vec![rep(other, None)]),
        ],
    };
    let rule = SchoolYearRule::default();
    let reception = Reception {
        received_at: T0,
        received_by: Actor::Integration("pep".into()),
        school_year: &rule,
        programme_dates: ProgrammeDates::pilot_2026(),
        content_hash: "consent".into(),
    };
    let list = validate_list(&req, reception).expect("valid list");
    let outcome = store.apply_eligibility_list(&list).await.expect("apply");
    assert!(outcome
        .rows
        .iter()
        .all(|(_, o)| *o == RowOutcome::AwaitingConsent));
    World { kids, mother }
}

fn sms(to: &str, text: &str, at: OffsetDateTime) -> OutboxMessage {
    OutboxMessage {
        id: Uuid::now_v7(),
        kind: OutboxKind::Sms,
        recipient: to.into(),
        body: text.into(),
        state: OutboxState::Pending,
        attempts: 0,
        created_at: at,
        next_attempt_at: at,
        sent_at: None,
    }
}

fn new_consent(kid: Iin, contact: Option<Iin>, at: OffsetDateTime) -> NewConsent {
    let id = Uuid::now_v7();
    let voucher = NewVoucher {
        id: VoucherId::new(),
        programme: Programme::SchoolMeals,
        student: kid,
        school: school(),
        period: year(),
        formed_at: at,
    };
    let state = if contact.is_some() {
        ConsentState::Pending
    } else {
        ConsentState::NoPhone
    };
    NewConsent {
        id,
        programme: Programme::SchoolMeals,
        student: kid,
        school: school(),
        period: year(),
        contact: contact.map(|representative| ConsentContact {
            representative,
            phone: PHONE.into(),
            language: Language::Kk,
        }),
        month: shared::time::month_of(at),
        reason: None,
        at,
        sms: contact.map(|_| sms(PHONE, "start", at)),
        job: contact.map(|_| {
            NewJob::new(
                JobKind::ConsentRemind,
                id.to_string(),
                at + Duration::days(3),
                at,
            )
        }),
        audit: consent_audit(id, Actor::System, at, "start", None, Some(state), "story"),
        voucher_audit: consent_audit(id, Actor::System, at, "form", None, None, "story"),
        voucher,
    }
}

fn transition(req: &ConsentRequest, to: ConsentState, at: OffsetDateTime) -> ConsentTransition {
    ConsentTransition {
        id: req.id,
        from: req.state,
        to,
        at,
        reason: None,
        sms: Some(sms(PHONE, to.as_str(), at)),
        job: None,
        voucher: None,
        audit: consent_audit(
            req.id,
            Actor::System,
            at,
            to.as_str(),
            Some(req.state),
            Some(to),
            "story",
        ),
    }
}

pub async fn story(store: Arc<dyn Store>) {
    let w = world(&store).await;
    let agreed_voucher = consent_story(&store, &w).await;
    delivery::jobs_story(&store).await;
    delivery::concurrent_job_claims(&store).await;
    delivery::outbox_story(&store).await;
    delivery::concurrent_outbox_claims(&store).await;
    delivery::expiry_story(&store, agreed_voucher).await;
}

/// Starts, duplicates, `no_phone`, the oldest open request of a phone, and every move.
async fn consent_story(store: &Arc<dyn Store>, w: &World) -> VoucherId {
    let (ra, rb, no_phone) = first_start(store, w).await;
    let rc = starting_again(store, w, &ra, no_phone).await;
    let help = remind_and_help(store, &ra).await;
    let (ra, voucher) = agree_and_refuse(store, w, &help, rb).await;
    later_list(store, w, &ra, voucher, rc).await;
    again::asking_again(store, w, rb).await;
    voucher
}

/// The time of the replies.
const T2: OffsetDateTime = datetime!(2026-11-05 05:00 UTC);

/// The first list: two conversations and a `no_phone` record, with their first jobs.
async fn first_start(store: &Arc<dyn Store>, w: &World) -> (ConsentRequest, Uuid, Uuid) {
    let [a, b, c] = w.kids;
    let started = store
        .start_consents(&[
            new_consent(a, Some(w.mother), T0),
            new_consent(b, Some(w.mother), T0 + Duration::seconds(1)),
            new_consent(c, None, T0),
        ])
        .await
        .expect("start");
    assert!(started.iter().all(|s| s.new));
    let states: Vec<_> = started.iter().map(|s| s.request.state).collect();
    assert_eq!(
        states,
        [
            ConsentState::Pending,
            ConsentState::Pending,
            ConsentState::NoPhone
        ]
    );
    let ra = started[0].request.clone();
    assert_eq!(
        (ra.phone.as_deref(), ra.language),
        (Some(PHONE), Language::Kk)
    );
    assert_eq!((ra.student_name.as_str(), ra.period), ("Ученик 0", year()));
    assert_eq!(ra.representative, Some(w.mother));
    assert!(ra
        .parent_name
        .as_deref()
        .is_some_and(|n| n.starts_with("Родитель")));
    assert_eq!(started[2].request.phone, None);
    assert!(started[2].request.finished_at.is_some());
    let remind = store
        .job(JobKind::ConsentRemind, &ra.id.to_string())
        .await
        .expect("job");
    assert_eq!(
        remind.map(|j| (j.state, j.due_at)),
        Some((JobState::Pending, T0 + Duration::days(3)))
    );

    (ra, started[1].request.id, started[2].request.id)
}

/// The same list again changes nothing; a number turning up starts a conversation.
async fn starting_again(
    store: &Arc<dyn Store>,
    w: &World,
    ra: &ConsentRequest,
    no_phone: Uuid,
) -> Uuid {
    let [a, _, c] = w.kids;
    let outbox_before = store.outbox(1000).await.expect("outbox").len();
    let again = store
        .start_consents(&[new_consent(a, Some(w.mother), T0), new_consent(c, None, T0)])
        .await
        .expect("again");
    assert!(again.iter().all(|s| !s.new));
    assert_eq!(
        (again[0].request.id, again[1].request.id),
        (ra.id, no_phone)
    );
    assert_eq!(
        store.outbox(1000).await.expect("outbox").len(),
        outbox_before
    );
    // A number turns up for the `no_phone` child: a new conversation; after that, a list
    // without the number keeps it.
    let rc = store
        .start_consents(&[new_consent(c, Some(w.mother), T0 + Duration::seconds(2))])
        .await
        .expect("c");
    assert!(rc[0].new && rc[0].request.state == ConsentState::Pending);
    let rc = rc[0].request.clone();
    let kept = store
        .start_consents(&[new_consent(c, None, T0)])
        .await
        .expect("kept");
    assert_eq!((kept[0].new, kept[0].request.id), (false, rc.id));

    rc.id
}

/// The oldest open request of a phone, the reminder (compare-and-set), a reply that is no
/// answer.
async fn remind_and_help(store: &Arc<dyn Store>, ra: &ConsentRequest) -> ConsentRequest {
    let oldest = store.open_consent_for_phone(PHONE).await.expect("open");
    assert_eq!(oldest.map(|r| r.id), Some(ra.id));
    assert_eq!(
        store
            .open_consent_for_phone("77010000000")
            .await
            .expect("open"),
        None
    );

    // The reminder, compare-and-set.
    let t1 = T0 + Duration::days(3);
    let mut reminded = transition(ra, ConsentState::Reminded, t1);
    reminded.job = Some(NewJob::new(
        JobKind::ConsentTimeout,
        ra.id.to_string(),
        t1 + Duration::days(3),
        t1,
    ));
    let ra = store.transition_consent(&reminded).await.expect("remind");
    assert_eq!(
        (ra.state, ra.reminded_at, ra.finished_at),
        (ConsentState::Reminded, Some(t1), None)
    );
    match store.transition_consent(&reminded).await {
        Err(StoreError::Conflict { current }) => assert_eq!(current, "reminded"),
        other => panic!("a second reminder must conflict: {other:?}"),
    }
    assert!(store
        .job(JobKind::ConsentTimeout, &ra.id.to_string())
        .await
        .expect("job")
        .is_some());

    // A reply that is no answer: state, reminder time and finish untouched.
    let t2 = T2;
    let help = store
        .transition_consent(&transition(&ra, ConsentState::Reminded, t2))
        .await
        .expect("help");
    assert_eq!(
        (help.state, help.reminded_at, help.finished_at),
        (ConsentState::Reminded, Some(t1), None)
    );

    help
}

/// Agreement forms the voucher in the same transaction; the sibling's request is next.
async fn agree_and_refuse(
    store: &Arc<dyn Store>,
    w: &World,
    help: &ConsentRequest,
    rb: Uuid,
) -> (ConsentRequest, VoucherId) {
    let (a, t2) = (w.kids[0], T2);
    let mut agree = transition(help, ConsentState::Agreed, t2);
    let voucher = NewVoucher {
        id: VoucherId::new(),
        programme: Programme::SchoolMeals,
        student: a,
        school: school(),
        period: year(),
        formed_at: t2,
    };
    let form_audit = wallet_server::domain::audit::AuditEntry {
        entity_kind: "voucher",
        entity_id: voucher.id.to_string(),
        ..consent_audit(
            help.id,
            Actor::Parent(w.mother),
            t2,
            "form",
            None,
            None,
            "story",
        )
    };
    agree.voucher = Some((voucher.clone(), form_audit));
    let ra = store.transition_consent(&agree).await.expect("agree");
    assert_eq!(
        (ra.state, ra.finished_at, ra.voucher),
        (ConsentState::Agreed, Some(t2), Some(voucher.id))
    );
    let formed = store
        .voucher(voucher.id)
        .await
        .expect("read")
        .expect("formed");
    assert_eq!((formed.state, formed.student), (VoucherState::Formed, a));
    let mother_sees = store
        .vouchers_of_representative(w.mother, "2026-11".parse().expect("month"))
        .await
        .expect("wallet");
    assert_eq!(
        mother_sees.iter().map(|v| v.voucher.id).collect::<Vec<_>>(),
        [voucher.id]
    );

    // The next oldest open request of the phone is the sibling's; refusing ends it.
    let rb_id = rb;
    let rb = store
        .open_consent_for_phone(PHONE)
        .await
        .expect("open")
        .expect("b is open");
    assert_eq!(rb.id, rb_id);
    let rb = store
        .transition_consent(&transition(&rb, ConsentState::Refused, t2))
        .await
        .expect("refuse");
    assert_eq!((rb.state, rb.voucher), (ConsentState::Refused, None));

    (ra, voucher.id)
}

/// A later month's list: the agreed request stands, its voucher stays the same.
async fn later_list(
    store: &Arc<dyn Store>,
    w: &World,
    ra: &ConsentRequest,
    voucher: VoucherId,
    rc: Uuid,
) {
    let (a, t2) = (w.kids[0], T2);
    let later = store
        .start_consents(&[new_consent(a, Some(w.mother), t2 + Duration::days(30))])
        .await
        .expect("later");
    assert_eq!(
        (later[0].new, later[0].request.voucher),
        (false, Some(voucher))
    );

    let trail: Vec<String> = store
        .audit_trail("consent", &ra.id.to_string())
        .await
        .expect("trail")
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert_eq!(trail, ["start", "reminded", "reminded", "agreed"]);
    let listed = store.consent_requests(1000).await.expect("list");
    assert_eq!(listed.iter().filter(|r| r.school == school()).count(), 4);
    store
        .append_audit(&consent_audit(
            rc,
            Actor::System,
            t2,
            "note",
            None,
            None,
            "story",
        ))
        .await
        .expect("audit");
}
