//! Proactive consent by SMS (DESIGN.md §1 step 2; appendix 1 of the 2023 order).
//!
//! For a student outside the primary grades the state asks a parent — the mother's number
//! first, then the father's, then another legal representative's — and the parent answers
//! `3#1` (agree: the voucher is formed at once) or `3#2` (refuse). Silence has deadlines:
//! one reminder, then the conversation times out; the windows are the programme's
//! ([`ConsentWindows`]). No number at all ends the request as `no_phone`, recorded.
//!
//! Every SMS goes to the outbox in the same transaction as the state change it belongs to,
//! and every deadline is a durable job (`jobs`), so neither a crash nor a restart loses or
//! doubles a step. A parent who refused or stayed silent (or had no number) is asked again
//! when the student is on a later month's list, at most once per student and month; an
//! agreement stands for the school year (`domain::consent::standing`).

mod conversation;

use std::collections::HashMap;

use shared::VoucherId;
use time::OffsetDateTime;
use uuid::Uuid;

pub use conversation::{handle_reply, remind, time_out, ReplyOutcome};

use crate::domain::audit::AuditEntry;
use crate::domain::consent::texts::{self, Names};
use crate::domain::consent::{consent_audit, ConsentContact, NewConsent};
use crate::domain::consent::{ConsentState, ConsentWindows, Deadline};
use crate::domain::job::JobKind;
use crate::domain::job::NewJob;
use crate::domain::list::{ListOutcome, RowOutcome, ValidList, ValidRow};
use crate::domain::outbox::OutboxMessage;
use crate::domain::voucher::NewVoucher;
use crate::ports::Contact;
use crate::services::Deps;
use crate::store::StoreError;

/// What a list's answer says about a row waiting for consent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RowConsent {
    /// `None`: the phone directory could not answer; nothing was started (send the list
    /// again later).
    pub state: Option<ConsentState>,
    /// The voucher, when the parent already agreed this school year.
    pub voucher: Option<VoucherId>,
}

impl RowConsent {
    /// The row's `status`: `voucher_formed` once the parent agreed, else `awaiting_consent`.
    pub fn row_status(&self) -> &'static str {
        match self.voucher {
            Some(_) => "voucher_formed",
            None => "awaiting_consent",
        }
    }

    /// The row's `consent`: the conversation's state, or `lookup_failed`.
    pub fn word(&self) -> &'static str {
        self.state.map_or("lookup_failed", |s| s.as_str())
    }
}

/// A new SMS for the outbox (held for the daytime when queued at night).
pub(crate) fn sms(to: &str, text: String, now: OffsetDateTime) -> OutboxMessage {
    OutboxMessage::sms(to, text, now)
}

fn voucher_of(list: &ValidList, row: &ValidRow) -> (NewVoucher, AuditEntry) {
    let voucher = NewVoucher {
        id: VoucherId::new(),
        programme: list.programme,
        student: row.student.iin,
        school: row.student.school,
        period: list.voucher_period,
        formed_at: list.received_at,
    };
    let audit = AuditEntry {
        at: list.received_at,
        actor: list.received_by.clone(),
        entity_kind: "voucher",
        entity_id: voucher.id.to_string(),
        action: "form".into(),
        from_state: None,
        to_state: Some("formed".into()),
        reason: Some("the parent agreed by SMS earlier this school year".into()),
    };
    (voucher, audit)
}

/// A `no_phone` record for a row: nobody can be asked, the process ends.
fn no_phone(list: &ValidList, row: &ValidRow) -> NewConsent {
    let id = Uuid::now_v7();
    let (voucher, voucher_audit) = voucher_of(list, row);
    let reason = "no mobile number for any representative";
    NewConsent {
        id,
        programme: list.programme,
        student: row.student.iin,
        school: row.student.school,
        period: list.voucher_period,
        month: list.period,
        contact: None,
        reason: Some(reason.into()),
        at: list.received_at,
        sms: None,
        job: None,
        audit: consent_audit(
            id,
            list.received_by.clone(),
            list.received_at,
            "no_phone",
            None,
            Some(ConsentState::NoPhone),
            format!("{reason}: the process ends"),
        ),
        voucher,
        voucher_audit,
    }
}

/// The request to start for a row: with a number, the start SMS and the first deadline.
fn new_consent(list: &ValidList, row: &ValidRow, contact: Option<Contact>) -> NewConsent {
    let mut n = no_phone(list, row);
    let Some(c) = contact else { return n };
    let (id, now) = (n.id, n.at);
    let windows = ConsentWindows::of(list.programme);
    let language = c.language.unwrap_or_default();
    let parent = row
        .representatives
        .iter()
        .find(|(r, _)| r.iin == c.representative)
        .map(|(r, _)| r.full_name.as_str())
        .unwrap_or_default();
    let names = Names {
        parent,
        child: &row.student.full_name,
    };
    let text = texts::start(language, names, windows.remind_after_days);
    n.sms = Some(sms(&c.phone, text, now));
    n.job = Some(match windows.after_start(now) {
        Deadline::Remind(at) => NewJob::new(JobKind::ConsentRemind, id.to_string(), at, now),
        Deadline::Expire(at) => NewJob::new(JobKind::ConsentTimeout, id.to_string(), at, now),
    });
    let how = format!("start SMS to the {} ({language})", c.relation);
    n.audit = consent_audit(
        id,
        list.received_by.clone(),
        now,
        "start",
        None,
        Some(ConsentState::Pending),
        how,
    );
    n.reason = None;
    n.contact = Some(ConsentContact {
        representative: c.representative,
        phone: c.phone,
        language,
    });
    n
}

/// Starts the conversations of a list's rows that wait for consent, in one transaction.
/// Rows whose conversation stands (an agreement or an open conversation; a refusal or
/// silence of this month, e.g. the list sent again) keep it and report its state; a later
/// month's list asks a parent who refused or stayed silent again.
pub async fn start_for_list(
    deps: &Deps,
    list: &ValidList,
    outcome: &ListOutcome,
) -> Result<HashMap<usize, RowConsent>, StoreError> {
    let mut result = HashMap::new();
    let mut batch = Vec::new();
    let mut indexes = Vec::new();
    let by_index: HashMap<usize, &ValidRow> = list.rows.iter().map(|r| (r.index, r)).collect();
    for (index, row_outcome) in &outcome.rows {
        let Some(row) = by_index.get(index).copied() else {
            continue;
        };
        if *row_outcome != RowOutcome::AwaitingConsent {
            continue;
        }
        match deps.ports.phones.contact(&row.representatives).await {
            Ok(contact) => {
                batch.push(new_consent(list, row, contact));
                indexes.push(*index);
            }
            Err(e) => {
                tracing::warn!(error = %e, student = %row.student.iin, "no consent started");
                result.insert(*index, RowConsent::default());
            }
        }
    }
    if batch.is_empty() {
        return Ok(result);
    }
    let started = deps.store.start_consents(&batch).await?;
    let fresh = started.iter().filter(|s| s.new).count();
    for (index, s) in indexes.into_iter().zip(started) {
        let voucher = (s.request.state == ConsentState::Agreed)
            .then_some(s.request.voucher)
            .flatten();
        result.insert(
            index,
            RowConsent {
                state: Some(s.request.state),
                voucher,
            },
        );
    }
    tracing::info!(school = %list.school.bin, asked = batch.len(), new = fresh, "consent conversations");
    deps.ports.wake_jobs();
    Ok(result)
}
