//! Monthly programmes (gas vouchers, seed 002), on the rules of `domain::monthly`: a month's
//! list of recipients starts one consent conversation per person and month (the start SMS
//! held until the programme's start day at 09:00), replies form the month's voucher, the
//! recipient activates it on a personal account the provider knows, and on the handover day
//! the month's activations go to the provider through the outbox.

mod activation;
mod conversation;
mod provider;

pub use activation::{activate, check_account, AccountCheck, Activator};
pub use conversation::{hand_over, handle_reply, remind, time_out};
pub use provider::{put_norm, take_discounts, DiscountItem, DiscountVerdict};

use serde::Deserialize;
use shared::time::YearMonth;
use shared::{Iin, PersonName};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::domain::audit::Actor;
use crate::domain::consent::{consent_audit, ConsentState, Deadline, Language};
use crate::domain::gas::Region;
use crate::domain::job::{JobKind, NewJob};
use crate::domain::list::normalize_phone;
use crate::domain::monthly::{MonthlyListRefusal, MonthlyRules};
use crate::domain::monthly_records::{NewRecipient, Recipient};
use crate::domain::outbox::OutboxMessage;
use crate::domain::{Relation, Representative};
use crate::services::Deps;
use crate::store::StoreError;

/// Why a monthly use case refused; the web maps each to its status and code.
#[derive(Debug, thiserror::Error)]
pub enum MonthlyError {
    #[error("{}", .0.message())]
    List(MonthlyListRefusal),
    #[error("no such voucher")]
    NotFound,
    #[error("the provider has no such personal account")]
    UnknownAccount,
    #[error("this personal account already has an activated voucher this month")]
    AccountTaken,
    #[error("vouchers of this month can be activated only from the 7th to the 25th")]
    OutsideActivationWindow,
    #[error("the offer must be accepted")]
    OfferNotAccepted,
    #[error("the voucher is {0}")]
    NotUsable(crate::domain::voucher::VoucherState),
    #[error("{0}")]
    ProviderUnavailable(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// One row of a list as read at the edge.
#[derive(Debug, Clone)]
pub struct RecipientRow {
    pub index: usize,
    pub iin: Iin,
    pub full_name: PersonName,
    pub phone: Option<String>,
    pub language: Option<Language>,
}

/// What a list did with a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowResult {
    /// `awaiting_consent`, `no_phone` (or where the conversation already stands).
    Accepted {
        index: usize,
        status: &'static str,
    },
    Rejected {
        index: usize,
        reason: &'static str,
    },
}

/// The status a list answers for a recipient's conversation.
fn status_of(r: &Recipient) -> &'static str {
    match r.state {
        ConsentState::NoPhone => "no_phone",
        ConsentState::Agreed => "voucher_formed",
        ConsentState::Pending | ConsentState::Reminded => "awaiting_consent",
        ConsentState::Refused => "refused",
        ConsentState::TimedOut => "timed_out",
    }
}

/// A list's month, region and who sent it.
#[derive(Debug, Clone)]
pub struct MonthlyList {
    pub month: YearMonth,
    pub region: Region,
    pub rows: Vec<RecipientRow>,
    pub received_by: Actor,
}

/// Receives a month's list: refused whole after the update deadline; each new person gets
/// a conversation (start SMS due at the start day's 09:00, or at once later in the month);
/// people already on the month's list keep theirs (no second SMS).
pub async fn receive_list(
    deps: &Deps,
    rules: &MonthlyRules,
    list: MonthlyList,
) -> Result<Vec<RowResult>, MonthlyError> {
    let now = deps.clock.now();
    rules
        .check_list(list.month, now)
        .map_err(MonthlyError::List)?;
    let mut results = Vec::new();
    let mut batch = Vec::new();
    let mut indexes = Vec::new();
    for row in &list.rows {
        let person = Representative {
            iin: row.iin,
            full_name: row.full_name.to_string(),
            phone: row.phone.clone(),
        };
        match deps
            .ports
            .phones
            .contact(&[(person, Relation::Guardian)])
            .await
        {
            Ok(contact) => {
                let phone = contact.as_ref().map(|c| c.phone.clone());
                let language = contact
                    .and_then(|c| c.language)
                    .or(row.language)
                    .unwrap_or_default();
                batch.push(new_recipient(rules, &list, row, phone, language, now));
                indexes.push(row.index);
            }
            Err(e) => {
                tracing::warn!(error = %e, recipient = %row.iin, "phone directory: no conversation started");
                results.push(RowResult::Rejected {
                    index: row.index,
                    reason: "lookup_failed",
                });
            }
        }
    }
    let added = deps.store.add_recipients(&batch).await?;
    for (index, (_, r)) in indexes.into_iter().zip(added) {
        results.push(RowResult::Accepted {
            index,
            status: status_of(&r),
        });
    }
    let handover = NewJob::new(
        JobKind::MonthlyHandover,
        handover_key(rules, list.month),
        rules.handover_at(list.month),
        now,
    );
    deps.store.schedule_job(&handover).await?;
    deps.ports.wake_jobs();
    Ok(results)
}

/// The handover job's key: `gas:YYYY-MM`.
pub fn handover_key(rules: &MonthlyRules, month: YearMonth) -> String {
    format!("{}:{month}", rules.programme)
}

fn new_recipient(
    rules: &MonthlyRules,
    list: &MonthlyList,
    row: &RecipientRow,
    phone: Option<String>,
    language: Language,
    now: OffsetDateTime,
) -> NewRecipient {
    let consent_id = Uuid::now_v7();
    let asked_at = rules.start_sms_at(list.month, now);
    let state = match phone {
        Some(_) => ConsentState::Pending,
        None => ConsentState::NoPhone,
    };
    let recipient = Recipient {
        consent_id,
        programme: rules.programme,
        iin: row.iin,
        month: list.month,
        region: list.region,
        full_name: row.full_name.to_string(),
        phone: phone.clone(),
        language,
        state,
        created_at: now,
        asked_at,
        voucher: None,
    };
    let (sms, job, action, reason) = match &phone {
        Some(to) => {
            let mut sms = OutboxMessage::sms(to, rules.texts.start(&recipient.full_name), now);
            sms.next_attempt_at = asked_at;
            let key = consent_id.to_string();
            let job = match rules.consent.after_start(asked_at) {
                Deadline::Remind(at) => NewJob::new(JobKind::MonthlyRemind, key, at, now),
                Deadline::Expire(at) => NewJob::new(JobKind::MonthlyTimeout, key, at, now),
            };
            (Some(sms), Some(job), "start", "start SMS of the month")
        }
        None => (None, None, "no_phone", "no mobile number: the process ends"),
    };
    let audit = consent_audit(
        consent_id,
        list.received_by.clone(),
        now,
        action,
        None,
        Some(state),
        reason,
    );
    NewRecipient {
        recipient,
        sms,
        job,
        audit,
    }
}

/// A list body's recipients: `{"iin","full_name","phone"?,"language"?}`.
#[derive(Debug, Clone, Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecipientIn {
    pub iin: String,
    pub full_name: PersonName,
    /// A Kazakh mobile number; absent: BMG (or nobody) knows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// `ru` (default) or `kk`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^(ru|kk)$")]
    pub language: Option<String>,
}

/// Reads a list's rows: a bad IIN or a person twice is rejected on its own.
pub fn read_rows(rows: &[RecipientIn]) -> (Vec<RecipientRow>, Vec<RowResult>) {
    let mut good: Vec<RecipientRow> = Vec::new();
    let mut rejected = Vec::new();
    for (index, r) in rows.iter().enumerate() {
        let reject = |reason| RowResult::Rejected { index, reason };
        let Ok(iin) = r.iin.trim().parse::<Iin>() else {
            rejected.push(reject("invalid_iin"));
            continue;
        };
        if good.iter().any(|g| g.iin == iin) {
            rejected.push(reject("duplicate_in_list"));
            continue;
        }
        good.push(RecipientRow {
            index,
            iin,
            full_name: r.full_name.clone(),
            phone: r.phone.as_deref().and_then(normalize_phone),
            language: r.language.as_deref().and_then(|l| l.parse().ok()),
        });
    }
    (good, rejected)
}
