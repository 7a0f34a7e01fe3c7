//! A monthly programme's records as stored and the moves the services decide and the store
//! applies (one transaction each): recipients with their consent conversation of the month,
//! vouchers per recipient and month, activations on a key (a personal account), discounts.

use shared::time::YearMonth;
use shared::{Iin, VoucherId};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use crate::domain::audit::AuditEntry;
use crate::domain::consent::{ConsentState, Language};
use crate::domain::gas::{Discount, Region};
use crate::domain::job::NewJob;
use crate::domain::outbox::OutboxMessage;
use crate::domain::voucher::VoucherState;
use crate::domain::Programme;

/// A recipient of a month's list, with where their consent conversation stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    /// The conversation's id (job keys, audit entries).
    pub consent_id: Uuid,
    pub programme: Programme,
    pub iin: Iin,
    pub month: YearMonth,
    pub region: Region,
    pub full_name: String,
    /// `7XXXXXXXXXX`; `None` for `no_phone`.
    pub phone: Option<String>,
    pub language: Language,
    pub state: ConsentState,
    pub created_at: OffsetDateTime,
    /// When the start SMS goes (or went) out: the period before the reminder counts from it.
    pub asked_at: OffsetDateTime,
    pub voucher: Option<VoucherId>,
}

/// A recipient to add, with the start SMS and first deadline (written only if new).
#[derive(Debug, Clone)]
pub struct NewRecipient {
    pub recipient: Recipient,
    pub sms: Option<OutboxMessage>,
    pub job: Option<NewJob>,
    pub audit: AuditEntry,
}

/// A decided move of a recipient's conversation, applied as compare-and-set on `from`.
#[derive(Debug, Clone)]
pub struct RecipientMove {
    pub consent_id: Uuid,
    pub from: ConsentState,
    pub to: ConsentState,
    pub at: OffsetDateTime,
    pub sms: Option<OutboxMessage>,
    pub job: Option<NewJob>,
    /// On agreement: the voucher to form (once per recipient and month).
    pub voucher: Option<NewMonthlyVoucher>,
    pub audit: Vec<AuditEntry>,
}

/// A voucher to form for a recipient's month.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMonthlyVoucher {
    pub id: VoucherId,
    pub valid_until: Date,
}

/// A monthly voucher as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct MonthlyVoucher {
    pub id: VoucherId,
    pub programme: Programme,
    pub iin: Iin,
    pub month: YearMonth,
    pub region: Region,
    pub state: VoucherState,
    pub valid_until: Date,
    /// The key it was activated on (a personal account).
    pub key: Option<String>,
    pub activated_at: Option<OffsetDateTime>,
    pub discount: Option<Discount>,
}

impl MonthlyVoucher {
    /// The state a reader sees at `now`: a formed voucher past its last valid day is expired
    /// even before the handover job has recorded it.
    pub fn state_at(&self, now: OffsetDateTime) -> VoucherState {
        let past = shared::time::service_day(now) > self.valid_until;
        match self.state {
            VoucherState::Formed if past => VoucherState::Expired,
            s => s,
        }
    }
}

/// An activation to apply: `formed` → `activated` on `key`, unless another voucher of the
/// programme and month is activated on it (the store's unique index decides).
#[derive(Debug, Clone)]
pub struct Activation {
    pub voucher: VoucherId,
    pub key: String,
    pub at: OffsetDateTime,
    pub audit: AuditEntry,
}

/// What an activation did.
#[derive(Debug, Clone, PartialEq)]
pub enum Activated {
    Done(MonthlyVoucher),
    /// Another voucher of the month is activated on this key.
    KeyTaken,
    /// The voucher is not `formed` (activated on another key, expired).
    NotFormed(VoucherState),
}

/// The month's handover: the formed vouchers expire, the message to the provider is queued
/// (once: its id is derived from the programme and month).
#[derive(Debug, Clone)]
pub struct Handover {
    pub programme: Programme,
    pub month: YearMonth,
    pub at: OffsetDateTime,
    pub message: OutboxMessage,
    pub audit: AuditEntry,
}

/// One activated voucher of a month: what the provider is sent.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct ActivatedVoucher {
    #[schema(format = Uuid)]
    pub voucher_id: String,
    pub personal_account: String,
}
