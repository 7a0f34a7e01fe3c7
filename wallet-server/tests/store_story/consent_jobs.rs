//! The consent-and-jobs chapter of the store story: consent conversations (start once per
//! student and year, compare-and-set moves with their SMS, jobs and vouchers), the durable
//! jobs (claim, lease, completion, retry, concurrent claims) and outbox delivery (the same).
//! Uses its own school and people.

use std::collections::HashMap;
use std::sync::Arc;

use shared::{Bin, Iin, Sex, VoucherId};
use time::macros::{date, datetime};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;
use wallet_server::audit::Actor;
use wallet_server::consent::{ConsentState, Language};
use wallet_server::domain::Programme;
use wallet_server::eligibility::{
    validate_list, ListRequest, Reception, RepresentativeIn, RowOutcome, SchoolIn, StudentIn,
};
use wallet_server::jobs::JobKind;
use wallet_server::store::{
    consent_audit, Claim, ConsentContact, ConsentRequest, ConsentTransition, JobState, NewConsent,
    NewJob, OutboxKind, OutboxMessage, OutboxState, Retry, Store, StoreError,
};
use wallet_server::vouchers::{NewVoucher, SchoolYear, SchoolYearRule, VoucherState};

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
        full_name: format!("Родитель {}", &who.expose()[..4]),
        relation: if who == mother { "mother" } else { "father" }.into(),
        phone: phone.map(str::to_string),
    };
    let student = |i: usize, reps: Vec<RepresentativeIn>| StudentIn {
        iin: kids[i].expose(),
        full_name: format!("Ученик {i}"),
        grade: 7,
        class_label: "7А".into(),
        category: "asp".into(),
        representatives: reps,
    };
    let req = ListRequest {
        school: SchoolIn {
            bin: school().to_string(),
            name: "Школа согласий".into(),
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
    jobs_story(&store).await;
    concurrent_job_claims(&store).await;
    outbox_story(&store).await;
    expiry_story(&store, agreed_voucher).await;
}

/// Starts, duplicates, `no_phone`, the oldest open request of a phone, and every move.
async fn consent_story(store: &Arc<dyn Store>, w: &World) -> VoucherId {
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

    // The same list again: the same requests, nothing written.
    let outbox_before = store.outbox(1000).await.expect("outbox").len();
    let again = store
        .start_consents(&[new_consent(a, Some(w.mother), T0), new_consent(c, None, T0)])
        .await
        .expect("again");
    assert!(again.iter().all(|s| !s.new));
    assert_eq!(
        (again[0].request.id, again[1].request.id),
        (ra.id, started[2].request.id)
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

    // Replies go to the oldest open request of the phone.
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
    let mut reminded = transition(&ra, ConsentState::Reminded, t1);
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
    let t2 = t1 + Duration::hours(1);
    let help = store
        .transition_consent(&transition(&ra, ConsentState::Reminded, t2))
        .await
        .expect("help");
    assert_eq!(
        (help.state, help.reminded_at, help.finished_at),
        (ConsentState::Reminded, Some(t1), None)
    );

    // Agreement forms the voucher in the same transaction.
    let mut agree = transition(&help, ConsentState::Agreed, t2);
    let voucher = NewVoucher {
        id: VoucherId::new(),
        programme: Programme::SchoolMeals,
        student: a,
        school: school(),
        period: year(),
        formed_at: t2,
    };
    let form_audit = wallet_server::audit::AuditEntry {
        entity_kind: "voucher",
        entity_id: voucher.id.to_string(),
        ..consent_audit(
            ra.id,
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
    let rb = store
        .open_consent_for_phone(PHONE)
        .await
        .expect("open")
        .expect("b is open");
    assert_eq!(rb.id, started[1].request.id);
    let rb = store
        .transition_consent(&transition(&rb, ConsentState::Refused, t2))
        .await
        .expect("refuse");
    assert_eq!((rb.state, rb.voucher), (ConsentState::Refused, None));

    // A later month's list: the agreed request stands, its voucher stays the same.
    let later = store
        .start_consents(&[new_consent(a, Some(w.mother), t2 + Duration::days(30))])
        .await
        .expect("later");
    assert_eq!(
        (later[0].new, later[0].request.voucher),
        (false, Some(voucher.id))
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
            rc.id,
            Actor::System,
            t2,
            "note",
            None,
            None,
            "story",
        ))
        .await
        .expect("audit");
    voucher.id
}

fn claim(worker: &str, now: OffsetDateTime) -> Claim<'_> {
    Claim {
        worker,
        now,
        lease: Duration::seconds(60),
        limit: 10,
    }
}

/// Scheduling, claiming, leases, completion with a next run, retries and giving up.
async fn jobs_story(store: &Arc<dyn Store>) {
    let kinds = [JobKind::DailyReport];
    let j1 = NewJob::new(JobKind::DailyReport, "2026-11-02", T0, T0);
    assert!(store.schedule_job(&j1).await.expect("schedule"));
    let dup = NewJob::new(
        JobKind::DailyReport,
        "2026-11-02",
        T0 + Duration::hours(1),
        T0,
    );
    assert!(!store.schedule_job(&dup).await.expect("schedule again"));
    let early = store
        .claim_jobs(&kinds, claim("w1", T0 - Duration::seconds(1)))
        .await
        .expect("claim");
    assert!(early.is_empty(), "not due yet");
    let got = store
        .claim_jobs(&kinds, claim("w1", T0))
        .await
        .expect("claim");
    assert_eq!(
        got.iter()
            .map(|j| (j.id, j.state, j.attempts))
            .collect::<Vec<_>>(),
        [(j1.id, JobState::Running, 1)]
    );
    assert_eq!(got[0].locked_by.as_deref(), Some("w1"));
    assert!(
        store
            .claim_jobs(&kinds, claim("w2", T0))
            .await
            .expect("claim")
            .is_empty(),
        "leased"
    );
    assert!(store
        .claim_jobs(&[JobKind::VoucherExpiry], claim("w2", T0))
        .await
        .expect("claim")
        .is_empty());
    assert!(!store
        .complete_job(j1.id, "w2", T0, None)
        .await
        .expect("not w2's"));
    let next = NewJob::new(
        JobKind::DailyReport,
        "2026-11-03",
        T0 + Duration::days(1),
        T0,
    );
    assert!(store
        .complete_job(j1.id, "w1", T0, Some(&next))
        .await
        .expect("complete"));
    assert!(!store
        .complete_job(j1.id, "w1", T0, Some(&next))
        .await
        .expect("only once"));
    let done = store
        .job(JobKind::DailyReport, "2026-11-02")
        .await
        .expect("read")
        .expect("job");
    assert_eq!(
        (done.state, done.finished_at, done.locked_by),
        (JobState::Done, Some(T0), None)
    );

    // A worker dies holding the next job: after the lease another takes it over.
    let t1 = T0 + Duration::days(1);
    let held = store
        .claim_jobs(&kinds, claim("dead", t1))
        .await
        .expect("claim");
    assert_eq!(held.iter().map(|j| j.id).collect::<Vec<_>>(), [next.id]);
    assert!(store
        .claim_jobs(&kinds, claim("w2", t1 + Duration::seconds(59)))
        .await
        .expect("claim")
        .is_empty());
    let taken = store
        .claim_jobs(&kinds, claim("w2", t1 + Duration::seconds(60)))
        .await
        .expect("claim");
    assert_eq!(
        taken.iter().map(|j| (j.id, j.attempts)).collect::<Vec<_>>(),
        [(next.id, 2)]
    );
    assert!(!store
        .complete_job(next.id, "dead", t1, None)
        .await
        .expect("lease lost"));

    // Retry later, then give up.
    let retry = Retry {
        worker: "w2",
        at: t1 + Duration::minutes(5),
        error: "boom",
        give_up: false,
    };
    assert!(!store
        .retry_job(
            next.id,
            &Retry {
                worker: "dead",
                ..retry.clone()
            }
        )
        .await
        .expect("not its"));
    assert!(store.retry_job(next.id, &retry).await.expect("retry"));
    let pending = store
        .job(JobKind::DailyReport, "2026-11-03")
        .await
        .expect("read")
        .expect("job");
    assert_eq!(
        (pending.state, pending.due_at, pending.last_error.as_deref()),
        (JobState::Pending, retry.at, Some("boom"))
    );
    assert!(store
        .claim_jobs(&kinds, claim("w3", t1 + Duration::minutes(4)))
        .await
        .expect("claim")
        .is_empty());
    let again = store
        .claim_jobs(&kinds, claim("w3", retry.at))
        .await
        .expect("claim");
    assert_eq!(again[0].attempts, 3);
    let give_up = Retry {
        worker: "w3",
        at: retry.at,
        error: "still boom",
        give_up: true,
    };
    assert!(store.retry_job(next.id, &give_up).await.expect("give up"));
    let failed = store
        .job(JobKind::DailyReport, "2026-11-03")
        .await
        .expect("read")
        .expect("job");
    assert_eq!(
        (failed.state, failed.last_error.as_deref()),
        (JobState::Failed, Some("still boom"))
    );
    assert!(store
        .claim_jobs(&kinds, claim("w4", t1 + Duration::days(9)))
        .await
        .expect("claim")
        .is_empty());
    assert!(store.jobs(1000).await.expect("jobs").len() >= 2);
}

/// Claims racing from many workers never hand out one job twice.
async fn concurrent_job_claims(store: &Arc<dyn Store>) {
    let kinds = [JobKind::VoucherExpiry];
    for i in 0..30 {
        let job = NewJob::new(JobKind::VoucherExpiry, format!("race-{i}"), T0, T0);
        store.schedule_job(&job).await.expect("schedule");
    }
    let mut workers = Vec::new();
    for w in 0..6 {
        let store = store.clone();
        workers.push(tokio::spawn(async move {
            let name = format!("racer-{w}");
            let mut mine = Vec::new();
            loop {
                let c = Claim {
                    limit: 4,
                    ..claim(&name, T0)
                };
                let got = store.claim_jobs(&kinds, c).await.expect("claim");
                if got.is_empty() {
                    return mine;
                }
                mine.extend(got.into_iter().map(|j| j.key));
            }
        }));
    }
    let mut seen: HashMap<String, usize> = HashMap::new();
    for w in workers {
        for key in w.await.expect("worker") {
            *seen.entry(key).or_default() += 1;
        }
    }
    assert_eq!(seen.len(), 30);
    assert!(
        seen.values().all(|&n| n == 1),
        "a job was claimed twice: {seen:?}"
    );
}

fn claim_all<'a>(worker: &'a str, now: OffsetDateTime) -> Claim<'a> {
    Claim {
        limit: 1000,
        ..claim(worker, now)
    }
}

/// Delivery leases on the outbox: claimed once, sent once, retried, given up.
async fn outbox_story(store: &Arc<dyn Store>) {
    // The conversations' SMS are waiting; deliver them all first.
    let far = T0 + Duration::days(400);
    let waiting = store
        .claim_messages(&[OutboxKind::Sms], claim_all("drain", far))
        .await
        .expect("claim");
    assert!(
        waiting.len() >= 6,
        "the consent SMS are in the outbox: {}",
        waiting.len()
    );
    assert!(waiting
        .iter()
        .all(|m| m.recipient == PHONE && m.attempts == 1));
    for m in &waiting {
        assert!(store.message_sent(m.id, far).await.expect("sent"));
    }
    assert!(store
        .claim_messages(&[OutboxKind::Sms], claim_all("drain", far))
        .await
        .expect("claim")
        .is_empty());

    let t = far + Duration::days(1);
    let m1 = sms("77010000001", "one", t);
    let m2 = sms("77010000002", "two", t + Duration::seconds(1));
    store.enqueue_message(&m1).await.expect("enqueue");
    store.enqueue_message(&m2).await.expect("enqueue");
    let complaints = store
        .claim_messages(
            &[OutboxKind::Complaint],
            claim_all("w", t + Duration::hours(1)),
        )
        .await
        .expect("claim");
    assert!(
        complaints.iter().all(|m| m.kind == OutboxKind::Complaint),
        "kinds are respected"
    );
    let now = t + Duration::seconds(1);
    let first = store
        .claim_messages(
            &[OutboxKind::Sms],
            Claim {
                limit: 1,
                ..claim("w1", now)
            },
        )
        .await
        .expect("claim");
    assert_eq!(
        first.iter().map(|m| (m.id, m.attempts)).collect::<Vec<_>>(),
        [(m1.id, 1)]
    );
    let second = store
        .claim_messages(&[OutboxKind::Sms], claim("w2", now))
        .await
        .expect("claim");
    assert_eq!(second.iter().map(|m| m.id).collect::<Vec<_>>(), [m2.id]);
    assert!(store
        .claim_messages(&[OutboxKind::Sms], claim("w3", now))
        .await
        .expect("claim")
        .is_empty());
    assert!(store.message_sent(m1.id, now).await.expect("sent"));
    assert!(!store.message_sent(m1.id, now).await.expect("only once"));
    let sent = store
        .outbox_message(m1.id)
        .await
        .expect("read")
        .expect("m1");
    assert_eq!(
        (sent.state, sent.sent_at, sent.attempts),
        (OutboxState::Sent, Some(now), 1)
    );

    // w2 dies: after the lease m2 is claimed again (m1, sent, never).
    let later = now + Duration::seconds(60);
    let retaken = store
        .claim_messages(&[OutboxKind::Sms], claim("w3", later))
        .await
        .expect("claim");
    assert_eq!(
        retaken
            .iter()
            .map(|m| (m.id, m.attempts))
            .collect::<Vec<_>>(),
        [(m2.id, 2)]
    );
    let retry = Retry {
        worker: "w3",
        at: later + Duration::minutes(1),
        error: "503",
        give_up: false,
    };
    assert!(!store
        .message_retry(
            m2.id,
            &Retry {
                worker: "w2",
                ..retry.clone()
            }
        )
        .await
        .expect("stale"));
    assert!(store.message_retry(m2.id, &retry).await.expect("retry"));
    assert!(store
        .claim_messages(&[OutboxKind::Sms], claim("w4", later))
        .await
        .expect("claim")
        .is_empty());
    let third = store
        .claim_messages(&[OutboxKind::Sms], claim("w4", retry.at))
        .await
        .expect("claim");
    assert_eq!(third.iter().map(|m| m.attempts).collect::<Vec<_>>(), [3]);
    let give_up = Retry {
        worker: "w4",
        at: retry.at,
        error: "refused",
        give_up: true,
    };
    assert!(store.message_retry(m2.id, &give_up).await.expect("give up"));
    let failed = store
        .outbox_message(m2.id)
        .await
        .expect("read")
        .expect("m2");
    assert_eq!((failed.state, failed.attempts), (OutboxState::Failed, 3));
    assert!(store
        .claim_messages(&[OutboxKind::Sms], claim_all("w5", far + Duration::days(9)))
        .await
        .expect("claim")
        .is_empty());
    assert!(!store
        .message_sent(m2.id, retry.at)
        .await
        .expect("failed stays failed"));

    // Racing deliverers never share a message.
    let t = far + Duration::days(2);
    for i in 0..30 {
        store
            .enqueue_message(&sms(PHONE, &format!("race {i}"), t))
            .await
            .expect("enqueue");
    }
    let mut racers = Vec::new();
    for w in 0..6 {
        let store = store.clone();
        racers.push(tokio::spawn(async move {
            let name = format!("racer-{w}");
            let mut mine = Vec::new();
            loop {
                let c = Claim {
                    limit: 4,
                    ..claim(&name, t)
                };
                let got = store
                    .claim_messages(&[OutboxKind::Sms], c)
                    .await
                    .expect("claim");
                if got.is_empty() {
                    return mine;
                }
                mine.extend(got.into_iter().map(|m| m.id));
            }
        }));
    }
    let mut seen: HashMap<Uuid, usize> = HashMap::new();
    for r in racers {
        for id in r.await.expect("racer") {
            *seen.entry(id).or_default() += 1;
        }
    }
    assert_eq!(seen.len(), 30);
    assert!(
        seen.values().all(|&n| n == 1),
        "a message was claimed twice"
    );
}

/// The expiry sweep's query: live vouchers past their last day, nothing else.
async fn expiry_story(store: &Arc<dyn Store>, voucher: VoucherId) {
    let last_day = date!(2027 - 05 - 31);
    let on_last_day = store
        .vouchers_past_validity(last_day, 10_000)
        .await
        .expect("sweep");
    assert!(
        !on_last_day.iter().any(|v| v.id == voucher),
        "still valid on its last day"
    );
    let after = store
        .vouchers_past_validity(last_day.next_day().expect("day"), 10_000)
        .await
        .expect("sweep");
    let mine = after
        .iter()
        .find(|v| v.id == voucher)
        .expect("past validity");
    assert!(after
        .iter()
        .all(|v| matches!(v.state, VoucherState::Formed | VoucherState::Activated)));
    let audit = consent_audit(
        Uuid::now_v7(),
        Actor::System,
        T0,
        "expire",
        None,
        None,
        "story",
    );
    let expired = wallet_server::audit::AuditEntry {
        entity_kind: "voucher",
        entity_id: voucher.to_string(),
        ..audit
    };
    store
        .transition_voucher(voucher, mine.state, VoucherState::Expired, &expired)
        .await
        .expect("expire");
    let after = store
        .vouchers_past_validity(last_day.next_day().expect("day"), 10_000)
        .await
        .expect("sweep");
    assert!(
        !after.iter().any(|v| v.id == voucher),
        "expired vouchers are not swept again"
    );
}
