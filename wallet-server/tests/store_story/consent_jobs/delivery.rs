//! The delivery half of the consent-and-jobs chapter: durable jobs (claim, lease,
//! completion with a next run, retry, giving up, concurrent claims), outbox delivery (the
//! same), and the query the voucher-expiry sweep runs.

use std::collections::HashMap;
use std::sync::Arc;

use shared::VoucherId;
use time::macros::{date, datetime};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;
use wallet_server::domain::audit::Actor;
use wallet_server::domain::consent::consent_audit;
use wallet_server::domain::job::JobKind;
use wallet_server::domain::job::{JobState, NewJob};
use wallet_server::domain::outbox::{OutboxKind, OutboxState};
use wallet_server::domain::voucher::VoucherState;
use wallet_server::store::{Claim, Retry, Store};

use super::{sms, PHONE, T0};

pub(super) fn claim(worker: &str, now: OffsetDateTime) -> Claim<'_> {
    Claim {
        worker,
        now,
        lease: Duration::seconds(60),
        limit: 10,
    }
}

/// Scheduling, claiming, leases, completion with a next run, retries and giving up.
pub(super) async fn jobs_story(store: &Arc<dyn Store>) {
    let next = claim_and_complete(store).await;
    lease_retry_and_give_up(store, next).await;
}

/// A job is claimed once, by one worker, and completed with its next run.
async fn claim_and_complete(store: &Arc<dyn Store>) -> NewJob {
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
    next
}

/// A worker dies holding a job: after the lease another takes it over; retries; give up.
async fn lease_retry_and_give_up(store: &Arc<dyn Store>, next: NewJob) {
    let kinds = [JobKind::DailyReport];
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
pub(super) async fn concurrent_job_claims(store: &Arc<dyn Store>) {
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
pub(super) async fn outbox_story(store: &Arc<dyn Store>) {
    drain(store).await;
    let (m2, now) = claim_and_send(store).await;
    lease_retry_and_give_up_message(store, m2, now).await;
}

/// Far in the future: the SMS of the conversations are all due; deliver them first.
const FAR: OffsetDateTime = datetime!(2027-12-07 04:00 UTC);

/// The conversations' SMS are waiting; deliver them all.
async fn drain(store: &Arc<dyn Store>) {
    let far = FAR;
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
}

/// Two messages, two workers: each claimed by one; a sent message stays sent.
async fn claim_and_send(store: &Arc<dyn Store>) -> (Uuid, OffsetDateTime) {
    let t = FAR + Duration::days(1);
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
    (m2.id, now)
}

/// w2 dies: after the lease m2 is claimed again (m1, sent, never); retry; give up.
async fn lease_retry_and_give_up_message(store: &Arc<dyn Store>, m2: Uuid, now: OffsetDateTime) {
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
        [(m2, 2)]
    );
    let retry = Retry {
        worker: "w3",
        at: later + Duration::minutes(1),
        error: "503",
        give_up: false,
    };
    assert!(!store
        .message_retry(
            m2,
            &Retry {
                worker: "w2",
                ..retry.clone()
            }
        )
        .await
        .expect("stale"));
    assert!(store.message_retry(m2, &retry).await.expect("retry"));
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
    assert!(store.message_retry(m2, &give_up).await.expect("give up"));
    let failed = store.outbox_message(m2).await.expect("read").expect("m2");
    assert_eq!((failed.state, failed.attempts), (OutboxState::Failed, 3));
    assert!(store
        .claim_messages(&[OutboxKind::Sms], claim_all("w5", FAR + Duration::days(9)))
        .await
        .expect("claim")
        .is_empty());
    assert!(!store
        .message_sent(m2, retry.at)
        .await
        .expect("failed stays failed"));
}

/// Racing deliverers never share a message.
pub(super) async fn concurrent_outbox_claims(store: &Arc<dyn Store>) {
    let t = FAR + Duration::days(2);
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
pub(super) async fn expiry_story(store: &Arc<dyn Store>, voucher: VoucherId) {
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
    let expired = wallet_server::domain::audit::AuditEntry {
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
