//! The three capability traits the consent service, the scheduler and the outbox worker
//! use, with a worker's claim and retry.
//!
//! Every method is one transaction. The rules (which state may follow which, when a
//! deadline falls, what an SMS says) live in the domain and the services; the store applies
//! a decided change atomically with everything that must go with it (the SMS into the
//! outbox, the next job, the voucher, the audit entry), or not at all.

use async_trait::async_trait;
use shared::Bin;
use time::{Date, Duration, OffsetDateTime};
use uuid::Uuid;

use super::StoreError;
use crate::domain::audit::AuditEntry;
use crate::domain::consent::{ConsentRequest, ConsentStarted, ConsentTransition, NewConsent};
use crate::domain::job::{Job, JobKind, NewJob};
use crate::domain::outbox::{OutboxKind, OutboxMessage};
use crate::domain::voucher::Voucher;

/// A worker's request for due work: what it can handle, who it is, and for how long the
/// claimed items are its own.
#[derive(Debug, Clone, Copy)]
pub struct Claim<'a> {
    pub worker: &'a str,
    pub now: OffsetDateTime,
    pub lease: Duration,
    pub limit: i64,
}

/// How a worker leaves a claimed item it could not finish.
#[derive(Debug, Clone)]
pub struct Retry<'a> {
    pub worker: &'a str,
    /// When to try again — or, when giving up, when it failed.
    pub at: OffsetDateTime,
    pub error: &'a str,
    /// Too many attempts: mark it `failed` for good.
    pub give_up: bool,
}

/// Consent conversations.
#[async_trait]
pub trait ConsentStore: Send + Sync {
    /// Starts conversations in one transaction. For each: if a request of the same
    /// programme, student and school year stands for this list's month (the domain's
    /// `standing`: an agreement, an open conversation, a refusal or silence of this month or a
    /// later one, a `no_phone` of the month while there is still no number), it is returned
    /// unchanged (and, if agreed, its voucher re-linked, see [`NewConsent::voucher`]);
    /// otherwise the request is written with its SMS, job and audit entry.
    async fn start_consents(&self, new: &[NewConsent]) -> Result<Vec<ConsentStarted>, StoreError>;
    async fn consent_request(&self, id: Uuid) -> Result<Option<ConsentRequest>, StoreError>;
    /// The oldest open (`pending` or `reminded`) request of a phone.
    async fn open_consent_for_phone(
        &self,
        phone: &str,
    ) -> Result<Option<ConsentRequest>, StoreError>;
    /// Applies a move with its SMS, job, voucher (linked to the student's waiting list
    /// entries of the year) and audit entry; `Conflict` (nothing changed) when the state is
    /// no longer `from`.
    async fn transition_consent(&self, t: &ConsentTransition)
        -> Result<ConsentRequest, StoreError>;
    /// Requests, newest first (at most `limit`).
    async fn consent_requests(&self, limit: i64) -> Result<Vec<ConsentRequest>, StoreError>;
    /// A school's consent conversations, newest first (the school console's students page).
    async fn consents_of_school(&self, school: Bin) -> Result<Vec<ConsentRequest>, StoreError>;
    /// Appends an audit entry on its own (a reply that changed no state).
    async fn append_audit(&self, entry: &AuditEntry) -> Result<(), StoreError>;
}

/// The durable scheduler's jobs, and what the voucher-expiry job sweeps.
#[async_trait]
pub trait JobStore: Send + Sync {
    /// Inserts the job unless one with the same kind and key exists; `true` if inserted.
    async fn schedule_job(&self, job: &NewJob) -> Result<bool, StoreError>;
    /// Claims due jobs of `kinds` (pending and due, or running with a lease that has
    /// passed), oldest due first: each becomes `running` for `worker` until `now + lease`,
    /// its attempts counted. Concurrent claims never return the same job.
    async fn claim_jobs(&self, kinds: &[JobKind], claim: Claim<'_>)
        -> Result<Vec<Job>, StoreError>;
    /// Marks a job of `worker` done and schedules `next` (a recurring job's next run) in the
    /// same transaction; `false` if the job is no longer this worker's.
    async fn complete_job(
        &self,
        id: Uuid,
        worker: &str,
        now: OffsetDateTime,
        next: Option<&NewJob>,
    ) -> Result<bool, StoreError>;
    /// Puts a job of `worker` back for later, or fails it for good.
    async fn retry_job(&self, id: Uuid, retry: &Retry<'_>) -> Result<bool, StoreError>;
    async fn job(&self, kind: JobKind, key: &str) -> Result<Option<Job>, StoreError>;
    /// Jobs, latest due first (at most `limit`).
    async fn jobs(&self, limit: i64) -> Result<Vec<Job>, StoreError>;
    /// Live (`formed` or `activated`) vouchers whose last valid day is before `today`.
    async fn vouchers_past_validity(
        &self,
        today: Date,
        limit: i64,
    ) -> Result<Vec<Voucher>, StoreError>;
}

/// Delivery of the outbox.
#[async_trait]
pub trait OutboxStore: Send + Sync {
    async fn enqueue_message(&self, message: &OutboxMessage) -> Result<(), StoreError>;
    /// Enqueues a message with a deterministic id unless that id is already in the outbox
    /// (the primary key decides, so two racing callers queue it once); `true` if queued.
    async fn enqueue_message_once(&self, message: &OutboxMessage) -> Result<bool, StoreError> {
        match self.enqueue_message(message).await {
            Ok(()) => Ok(true),
            Err(StoreError::Database(sqlx::Error::Database(e))) if e.is_unique_violation() => {
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }
    /// Claims pending messages of `kinds` that are due and not leased (or whose lease has
    /// passed), oldest first, counting an attempt. Concurrent claims never overlap.
    async fn claim_messages(
        &self,
        kinds: &[OutboxKind],
        claim: Claim<'_>,
    ) -> Result<Vec<OutboxMessage>, StoreError>;
    /// Records that the adapter acknowledged the message (whoever holds the lease: an
    /// acknowledged message is sent); `false` if it was not pending.
    async fn message_sent(&self, id: Uuid, at: OffsetDateTime) -> Result<bool, StoreError>;
    /// Puts a message of `worker` back for a later attempt, or fails it for good.
    async fn message_retry(&self, id: Uuid, retry: &Retry<'_>) -> Result<bool, StoreError>;
    async fn outbox_message(&self, id: Uuid) -> Result<Option<OutboxMessage>, StoreError>;
    /// The messages of `kind` to `recipient` (whatever their delivery), oldest first, at most
    /// `limit` of the newest.
    async fn messages_to(
        &self,
        recipient: &str,
        kind: OutboxKind,
        limit: i64,
    ) -> Result<Vec<OutboxMessage>, StoreError>;
}
