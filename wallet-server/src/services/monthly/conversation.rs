//! A recipient's conversation after the start SMS — replies, the one reminder, the close of
//! the reply window — and the month's handover to the provider. Each move is one
//! compare-and-set of the recipient's state with its SMS, job, voucher and audit entries.

use shared::time::YearMonth;
use shared::VoucherId;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::domain::audit::{Actor, AuditEntry};
use crate::domain::consent::{consent_audit, ConsentState, Reply};
use crate::domain::job::{JobKind, NewJob};
use crate::domain::monthly::MonthlyRules;
use crate::domain::monthly_records::{Handover, NewMonthlyVoucher, Recipient, RecipientMove};
use crate::domain::outbox::{OutboxKind, OutboxMessage};
use crate::ports::mask_phone;
use crate::services::consent::ReplyOutcome;
use crate::services::Deps;
use crate::store::StoreError;

fn sms_to(r: &Recipient, text: String, now: OffsetDateTime) -> Option<OutboxMessage> {
    r.phone.as_deref().map(|p| OutboxMessage::sms(p, text, now))
}

fn voucher_audit(r: &Recipient, id: VoucherId, now: OffsetDateTime) -> AuditEntry {
    AuditEntry {
        at: now,
        actor: Actor::Parent(r.iin),
        entity_kind: "voucher",
        entity_id: id.to_string(),
        action: "form".into(),
        from_state: None,
        to_state: Some("formed".into()),
        reason: Some(format!(
            "{} {}: consent {} given by SMS",
            r.programme, r.month, r.consent_id
        )),
    }
}

/// The move a reply asks for: agreement forms the month's voucher.
fn reply_move(
    deps: &Deps,
    rules: &MonthlyRules,
    r: &Recipient,
    reply: Reply,
    now: OffsetDateTime,
) -> RecipientMove {
    let t = &rules.texts;
    let (to, action, text) = match reply {
        Reply::Agree => (
            ConsentState::Agreed,
            "agree",
            t.agreed(&deps.ports.wallet_link),
        ),
        Reply::Refuse => (ConsentState::Refused, "refuse", t.refused.to_string()),
        Reply::Unrecognised => (r.state, "reply_unrecognised", t.help.to_string()),
    };
    let mut audit = vec![consent_audit(
        r.consent_id,
        Actor::Parent(r.iin),
        now,
        action,
        Some(r.state),
        Some(to),
        "the recipient answered by SMS",
    )];
    let voucher = (reply == Reply::Agree).then(|| {
        let id = VoucherId::new();
        audit.push(voucher_audit(r, id, now));
        NewMonthlyVoucher {
            id,
            valid_until: rules.valid_until(r.month),
        }
    });
    RecipientMove {
        consent_id: r.consent_id,
        from: r.state,
        to,
        at: now,
        sms: sms_to(r, text, now),
        job: None,
        voucher,
        audit,
    }
}

/// Applies an SMS to the oldest open conversation of the number, if it has one; `None`
/// when it has none (the caller tries other programmes or ignores it).
pub async fn handle_reply(
    deps: &Deps,
    rules: &MonthlyRules,
    phone: &str,
    text: &str,
) -> Result<Option<ReplyOutcome>, StoreError> {
    let reply = Reply::parse(text);
    for _ in 0..3 {
        let Some(r) = deps.store.open_recipient_for_phone(phone).await? else {
            return Ok(None);
        };
        let now = deps.clock.now();
        let m = reply_move(deps, rules, &r, reply, now);
        match deps.store.move_recipient(&m).await {
            Ok(done) => {
                tracing::info!(consent = %r.consent_id, from = %mask_phone(phone), state = %done.state, "monthly programme SMS reply applied");
                let consent = r.consent_id;
                return Ok(Some(match reply {
                    Reply::Agree => ReplyOutcome::Agreed {
                        consent,
                        voucher: done.voucher,
                    },
                    Reply::Refuse => ReplyOutcome::Refused { consent },
                    Reply::Unrecognised => ReplyOutcome::HelpSent { consent },
                }));
            }
            Err(StoreError::Conflict { .. }) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(StoreError::Conflict {
        current: "changing".into(),
    })
}

/// A move the system makes on its own (a job), applied once: a conversation that moved
/// meanwhile (answered, or the job run again) is left as it is.
async fn system_move(
    deps: &Deps,
    r: &Recipient,
    to: ConsentState,
    sms: Option<OutboxMessage>,
    job: Option<NewJob>,
    (action, reason): (&str, &str),
) -> Result<(), StoreError> {
    let now = deps.clock.now();
    let audit = consent_audit(
        r.consent_id,
        Actor::System,
        now,
        action,
        Some(r.state),
        Some(to),
        reason,
    );
    let m = RecipientMove {
        consent_id: r.consent_id,
        from: r.state,
        to,
        at: now,
        sms,
        job,
        voucher: None,
        audit: vec![audit],
    };
    match deps.store.move_recipient(&m).await {
        Ok(_) => {
            deps.ports.wake_outbox();
            Ok(())
        }
        Err(StoreError::Conflict { .. }) => Ok(()),
        Err(e) => Err(e),
    }
}

/// The reminder job: `pending` → `reminded` with the reminder SMS and the window's close.
pub async fn remind(deps: &Deps, rules: &MonthlyRules, id: Uuid) -> Result<(), StoreError> {
    let Some(r) = deps.store.recipient(id).await? else {
        return Ok(());
    };
    if r.state != ConsentState::Pending {
        return Ok(());
    }
    let now = deps.clock.now();
    let closes = rules.consent.expiry_after_reminder(r.asked_at, now);
    let sms = sms_to(&r, rules.texts.reminder(&r.full_name), now);
    let job = NewJob::new(JobKind::MonthlyTimeout, id.to_string(), closes, now);
    let why = ("remind", "no reply in 7 days: the one reminder");
    system_move(deps, &r, ConsentState::Reminded, sms, Some(job), why).await
}

/// The window's close: an open conversation ends as `timed_out`, no SMS.
pub async fn time_out(deps: &Deps, id: Uuid) -> Result<(), StoreError> {
    let Some(r) = deps.store.recipient(id).await? else {
        return Ok(());
    };
    if !r.state.is_open() {
        return Ok(());
    }
    let why = ("time_out", "no reply within the month's window");
    system_move(deps, &r, ConsentState::TimedOut, None, None, why).await
}

/// The month's handover: formed vouchers expire, and the activated ones are queued for the
/// provider once (the message id is derived from programme and month, so a job run again
/// queues nothing).
pub async fn hand_over(
    deps: &Deps,
    rules: &MonthlyRules,
    month: YearMonth,
) -> Result<bool, StoreError> {
    let vouchers = deps.store.activations(rules.programme, month).await?;
    let body = serde_json::json!({ "month": month.to_string(), "vouchers": vouchers }).to_string();
    let name = format!("{}-activations:{month}", rules.programme);
    let now = deps.clock.now();
    let message = OutboxMessage::pending(
        OutboxMessage::derived_id(&name),
        OutboxKind::Activations,
        "provider",
        body,
        now,
    );
    let audit = AuditEntry {
        at: now,
        actor: Actor::System,
        entity_kind: "handover",
        entity_id: name,
        action: "hand_over".into(),
        from_state: None,
        to_state: None,
        reason: Some(format!(
            "{} activated vouchers to the provider",
            vouchers.len()
        )),
    };
    let h = Handover {
        programme: rules.programme,
        month,
        at: now,
        message,
        audit,
    };
    let queued = deps.store.hand_over(&h).await?;
    if queued {
        tracing::info!(%month, vouchers = vouchers.len(), "month handed over to the provider");
        deps.ports.wake_outbox();
    }
    Ok(queued)
}
