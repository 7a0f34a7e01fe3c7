//! A consent conversation as stored and the moves it can make: the records the consent
//! service decides with and the store applies (one transaction each).

use shared::{Bin, Iin, VoucherId};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{ConsentState, Language};
use crate::domain::audit::{Actor, AuditEntry};
use crate::domain::job::NewJob;
use crate::domain::outbox::OutboxMessage;
use crate::domain::voucher::{NewVoucher, SchoolYear};
use crate::domain::Programme;

/// A consent conversation as stored, with the names its SMS texts need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentRequest {
    pub id: Uuid,
    pub programme: Programme,
    pub student: Iin,
    pub student_name: String,
    pub school: Bin,
    /// The school year the consent (and its voucher) is for.
    pub period: SchoolYear,
    /// The representative asked; `None` for `no_phone`.
    pub representative: Option<Iin>,
    pub parent_name: Option<String>,
    /// `7XXXXXXXXXX`; `None` for `no_phone`.
    pub phone: Option<String>,
    pub language: Language,
    pub state: ConsentState,
    pub reason: Option<String>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    pub reminded_at: Option<OffsetDateTime>,
    pub finished_at: Option<OffsetDateTime>,
    pub voucher: Option<VoucherId>,
}

/// Who is asked, by which number, in which language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentContact {
    pub representative: Iin,
    pub phone: String,
    pub language: Language,
}

/// A conversation to start (or a `no_phone` record to write).
#[derive(Debug, Clone)]
pub struct NewConsent {
    pub id: Uuid,
    pub programme: Programme,
    pub student: Iin,
    pub school: Bin,
    pub period: SchoolYear,
    /// `None`: the request is recorded as `no_phone` with `reason`.
    pub contact: Option<ConsentContact>,
    pub reason: Option<String>,
    pub at: OffsetDateTime,
    /// Written only when the request is new: the start SMS and its first deadline.
    pub sms: Option<OutboxMessage>,
    pub job: Option<NewJob>,
    pub audit: AuditEntry,
    /// Used only when an *agreed* request already exists for the student and year (a later
    /// month's list): the voucher is formed again if it is no longer live, and the list's
    /// entries are linked to it.
    pub voucher: NewVoucher,
    pub voucher_audit: AuditEntry,
}

/// What starting did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentStarted {
    pub request: ConsentRequest,
    /// `false`: a request already existed and was left as it was.
    pub new: bool,
}

/// A decided move of one conversation, applied as compare-and-set on `from`.
#[derive(Debug, Clone)]
pub struct ConsentTransition {
    pub id: Uuid,
    pub from: ConsentState,
    pub to: ConsentState,
    pub at: OffsetDateTime,
    pub reason: Option<String>,
    /// The SMS that goes with the move (reminder, confirmation, refusal).
    pub sms: Option<OutboxMessage>,
    /// The next deadline (the timeout after a reminder).
    pub job: Option<NewJob>,
    /// On agreement: the voucher to form (idempotent) and its audit entry.
    pub voucher: Option<(NewVoucher, AuditEntry)>,
    pub audit: AuditEntry,
}

impl NewConsent {
    /// The state a conversation starts in: asking, or ended at once when nobody has a phone.
    pub fn initial_state(&self) -> ConsentState {
        match self.contact {
            Some(_) => ConsentState::Pending,
            None => ConsentState::NoPhone,
        }
    }
}

impl ConsentTransition {
    /// Whether this move is the one reminder (its time is recorded).
    pub fn reminds(&self) -> bool {
        self.from == ConsentState::Pending && self.to == ConsentState::Reminded
    }

    /// Whether this move ends the conversation (its time is recorded).
    pub fn finishes(&self) -> bool {
        !self.to.is_open()
    }
}

/// An audit entry of the system about a consent request.
pub fn consent_audit(
    id: Uuid,
    actor: Actor,
    at: OffsetDateTime,
    action: &str,
    from: Option<ConsentState>,
    to: Option<ConsentState>,
    reason: impl Into<String>,
) -> AuditEntry {
    AuditEntry {
        at,
        actor,
        entity_kind: "consent",
        entity_id: id.to_string(),
        action: action.into(),
        from_state: from.map(|s| s.to_string()),
        to_state: to.map(|s| s.to_string()),
        reason: Some(reason.into()),
    }
}
