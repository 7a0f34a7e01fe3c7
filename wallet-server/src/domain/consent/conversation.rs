//! A consent conversation as stored and the moves it can make: the records the consent
//! service decides with and the store applies (one transaction each).

use shared::time::YearMonth;
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
    /// The month of the list that started the conversation: a parent who refused or stayed
    /// silent is asked again for a later month's list, at most once per month.
    pub month: YearMonth,
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
    /// The month of the list asking.
    pub month: YearMonth,
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

/// A request of the student's programme and school year, as the store finds it when a list
/// asks again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PastConsent {
    pub id: Uuid,
    pub state: ConsentState,
    pub month: YearMonth,
}

/// Whether a request stands for a list of `month`, so that nobody is asked again: an
/// agreement for the school year, an open conversation until it ends, a refusal or a silence
/// for its own month and any earlier one (a later month's list asks again: at most one
/// conversation per student and month). A `no_phone` record is no conversation: a number may
/// have turned up since.
pub fn stands_for(past: &PastConsent, month: YearMonth) -> bool {
    use ConsentState::*;
    match past.state {
        Agreed | Pending | Reminded => true,
        Refused | TimedOut => month <= past.month,
        NoPhone => false,
    }
}

/// The request that stands for a new one of a list of `month`, given the student's requests
/// of the school year newest first: an agreement before anything else, else the newest that
/// [`stands_for`] the month. With no number to ask (`has_contact` false) a `no_phone` record
/// of that month (or later) stands too, so a list sent again records nothing twice. `None`:
/// write the new request.
pub fn standing(past: &[PastConsent], month: YearMonth, has_contact: bool) -> Option<Uuid> {
    let agreed = past.iter().find(|p| p.state == ConsentState::Agreed);
    let found = agreed
        .or_else(|| past.iter().find(|p| stands_for(p, month)))
        .or_else(|| {
            past.iter()
                .filter(|_| !has_contact)
                .find(|p| p.state == ConsentState::NoPhone && p.month >= month)
        });
    found.map(|p| p.id)
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

#[cfg(test)]
mod tests {
    use super::*;
    use ConsentState::*;

    fn month(m: &str) -> YearMonth {
        m.parse().expect("month")
    }

    fn past(state: ConsentState, m: &str) -> PastConsent {
        PastConsent {
            id: Uuid::now_v7(),
            state,
            month: month(m),
        }
    }

    #[test]
    fn a_refusal_or_a_silence_stands_for_its_month_only() {
        for state in [Refused, TimedOut] {
            let dec = past(state, "2026-12");
            assert!(stands_for(&dec, month("2026-12")), "the list sent again");
            assert!(
                stands_for(&dec, month("2026-11")),
                "an earlier month's list"
            );
            assert!(
                !stands_for(&dec, month("2027-01")),
                "a later month asks again"
            );
        }
        for state in [Agreed, Pending, Reminded] {
            assert!(stands_for(&past(state, "2026-09"), month("2027-05")));
        }
        assert!(!stands_for(&past(NoPhone, "2026-12"), month("2026-12")));
    }

    #[test]
    fn the_standing_request_agreement_first_then_the_newest() {
        let jan = month("2027-01");
        let refused_dec = past(Refused, "2026-12");
        let timed_out_jan = past(TimedOut, "2027-01");
        let agreed_jan = past(Agreed, "2027-01");
        // Refused in December: January asks again; the January answer stands for January.
        assert_eq!(standing(&[refused_dec], jan, true), None);
        assert_eq!(
            standing(&[timed_out_jan, refused_dec], jan, true),
            Some(timed_out_jan.id)
        );
        // An agreement stands whatever came after it.
        assert_eq!(
            standing(&[timed_out_jan, agreed_jan], month("2027-02"), true),
            Some(agreed_jan.id)
        );
        // An open conversation stands.
        let open = past(Reminded, "2026-12");
        assert_eq!(standing(&[open], jan, true), Some(open.id));
    }

    #[test]
    fn no_phone_is_reused_only_without_a_number_in_its_month() {
        let dec = month("2026-12");
        let no_phone = past(NoPhone, "2026-12");
        assert_eq!(standing(&[no_phone], dec, true), None, "a number turned up");
        assert_eq!(standing(&[no_phone], dec, false), Some(no_phone.id));
        assert_eq!(
            standing(&[no_phone], month("2027-01"), false),
            None,
            "a later month records its own end"
        );
        // Refused in December, no number in January: January's own `no_phone`.
        assert_eq!(
            standing(&[past(Refused, "2026-12")], month("2027-01"), false),
            None
        );
    }
}
