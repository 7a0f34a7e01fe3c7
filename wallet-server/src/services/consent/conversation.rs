//! The life of a conversation after its start SMS: the parent's replies, the reminder and
//! the timeout. Each is one compare-and-set move of the request, applied with its SMS (and
//! on agreement the voucher) in one transaction; a move that finds the request changed
//! (a reply racing the reminder, a job run again after a crash) changes nothing.

use shared::VoucherId;
use time::OffsetDateTime;
use uuid::Uuid;

use super::sms;
use crate::domain::audit::{Actor, AuditEntry};
use crate::domain::consent::texts::{self, Names};
use crate::domain::consent::{consent_audit, ConsentRequest, ConsentTransition};
use crate::domain::consent::{ConsentState, ConsentWindows, Reply};
use crate::domain::job::JobKind;
use crate::domain::job::NewJob;
use crate::domain::voucher::NewVoucher;
use crate::ports::mask_phone;
use crate::services::Deps;
use crate::store::StoreError;

/// What a parent's SMS did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplyOutcome {
    Agreed {
        consent: Uuid,
        voucher: Option<VoucherId>,
    },
    Refused {
        consent: Uuid,
    },
    /// Not `3#1` or `3#2`: a help SMS went out, nothing else changed.
    HelpSent {
        consent: Uuid,
    },
    /// No open conversation for this number (none ever, or already ended): logged only.
    Ignored,
}

fn reply_actor(req: &ConsentRequest) -> Actor {
    req.representative
        .map(Actor::Parent)
        .unwrap_or(Actor::System)
}

/// The voucher an agreement forms, with its audit entry.
fn agreement_voucher(req: &ConsentRequest, now: OffsetDateTime) -> (NewVoucher, AuditEntry) {
    let voucher = NewVoucher {
        id: VoucherId::new(),
        programme: req.programme,
        student: req.student,
        school: req.school,
        period: req.period,
        formed_at: now,
    };
    let audit = AuditEntry {
        at: now,
        actor: reply_actor(req),
        entity_kind: "voucher",
        entity_id: voucher.id.to_string(),
        action: "form".into(),
        from_state: None,
        to_state: Some("formed".into()),
        reason: Some(format!("consent {} given by SMS", req.id)),
    };
    (voucher, audit)
}

/// The move a reply asks for, with its SMS (and, on agreement, the voucher).
fn reply_transition(
    deps: &Deps,
    req: &ConsentRequest,
    reply: Reply,
    now: OffsetDateTime,
) -> ConsentTransition {
    let phone = req.phone.as_deref().unwrap_or_default();
    let child = req.student_name.as_str();
    let (to, action, text, reason) = match reply {
        Reply::Agree => (
            ConsentState::Agreed,
            "agree",
            texts::agreed(req.language, child, &deps.ports.wallet_link),
            "the parent answered 3#1",
        ),
        Reply::Refuse => (
            ConsentState::Refused,
            "refuse",
            texts::refused(req.language, child),
            "the parent answered 3#2",
        ),
        Reply::Unrecognised => (
            req.state,
            "reply_unrecognised",
            texts::help(req.language, child),
            "the reply was neither 3#1 nor 3#2: help sent",
        ),
    };
    let voucher = (reply == Reply::Agree).then(|| agreement_voucher(req, now));
    ConsentTransition {
        id: req.id,
        from: req.state,
        to,
        at: now,
        reason: None,
        sms: Some(sms(phone, text, now)),
        job: None,
        voucher,
        audit: consent_audit(
            req.id,
            reply_actor(req),
            now,
            action,
            Some(req.state),
            Some(to),
            reason,
        ),
    }
}

/// Applies a parent's SMS (`phone` normalised) to the oldest open conversation of that
/// number. A reminder racing the reply is handled by re-reading and trying again.
pub async fn handle_reply(
    deps: &Deps,
    phone: &str,
    text: &str,
) -> Result<ReplyOutcome, StoreError> {
    let reply = Reply::parse(text);
    for _ in 0..3 {
        let Some(req) = deps.store.open_consent_for_phone(phone).await? else {
            tracing::info!(from = %mask_phone(phone), "SMS from a number with no open consent request: ignored");
            return Ok(ReplyOutcome::Ignored);
        };
        let t = reply_transition(deps, &req, reply, deps.clock.now());
        if reply != Reply::Unrecognised && !req.state.can_become(t.to) {
            return Ok(ReplyOutcome::Ignored);
        }
        match deps.store.transition_consent(&t).await {
            Ok(done) => {
                tracing::info!(consent = %req.id, from = %mask_phone(phone), state = %done.state, "SMS reply applied");
                return Ok(match reply {
                    Reply::Agree => ReplyOutcome::Agreed {
                        consent: req.id,
                        voucher: done.voucher,
                    },
                    Reply::Refuse => ReplyOutcome::Refused { consent: req.id },
                    Reply::Unrecognised => ReplyOutcome::HelpSent { consent: req.id },
                });
            }
            Err(StoreError::Conflict { .. }) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(StoreError::Conflict {
        current: "changing".into(),
    })
}

/// The reminder job: `pending` → `reminded` with the reminder SMS and the timeout job.
/// Anything else (answered meanwhile, or a re-run after a crash) changes nothing.
pub async fn remind(deps: &Deps, id: Uuid) -> Result<(), StoreError> {
    let Some(req) = deps.store.consent_request(id).await? else {
        return Ok(());
    };
    if req.state != ConsentState::Pending {
        return Ok(());
    }
    let now = deps.clock.now();
    let windows = ConsentWindows::of(req.programme);
    let expires = windows.expiry_after_reminder(req.created_at, now);
    let parent = req.parent_name.as_deref().unwrap_or_default();
    let names = Names {
        parent,
        child: &req.student_name,
    };
    let text = texts::reminder(req.language, names, windows.remind_after_days);
    let t = ConsentTransition {
        id,
        from: ConsentState::Pending,
        to: ConsentState::Reminded,
        at: now,
        reason: None,
        sms: Some(sms(req.phone.as_deref().unwrap_or_default(), text, now)),
        job: Some(NewJob::new(
            JobKind::ConsentTimeout,
            id.to_string(),
            expires,
            now,
        )),
        voucher: None,
        audit: consent_audit(
            id,
            Actor::System,
            now,
            "remind",
            Some(req.state),
            Some(ConsentState::Reminded),
            "no reply in time: the one reminder",
        ),
    };
    match deps.store.transition_consent(&t).await {
        Ok(_) => {
            deps.ports.wake_outbox();
            Ok(())
        }
        Err(StoreError::Conflict { .. }) => Ok(()),
        Err(e) => Err(e),
    }
}

/// The timeout job: an open conversation ends as `timed_out` (no SMS); others stay.
pub async fn time_out(deps: &Deps, id: Uuid) -> Result<(), StoreError> {
    let Some(req) = deps.store.consent_request(id).await? else {
        return Ok(());
    };
    if !req.state.is_open() {
        return Ok(());
    }
    let now = deps.clock.now();
    let t = ConsentTransition {
        id,
        from: req.state,
        to: ConsentState::TimedOut,
        at: now,
        reason: Some("no reply within the programme's window".into()),
        sms: None,
        job: None,
        voucher: None,
        audit: consent_audit(
            id,
            Actor::System,
            now,
            "time_out",
            Some(req.state),
            Some(ConsentState::TimedOut),
            "no reply within the programme's window",
        ),
    };
    match deps.store.transition_consent(&t).await {
        Ok(_) | Err(StoreError::Conflict { .. }) => Ok(()),
        Err(e) => Err(e),
    }
}
