//! The capability trait of monthly programmes (gas): norms, recipients and their
//! conversations, vouchers per recipient and month, activations on a key, discounts and the
//! month's handover. Every method is one transaction; the rules are the domain's
//! (`domain::monthly`, `domain::gas`).

use async_trait::async_trait;
use shared::time::YearMonth;
use shared::{Iin, VoucherId};
use time::OffsetDateTime;
use uuid::Uuid;

use super::StoreError;
use crate::domain::audit::AuditEntry;
use crate::domain::gas::{Discount, Norm, Region};
use crate::domain::monthly_records::{
    Activated, ActivatedVoucher, Activation, Handover, MonthlyVoucher, NewRecipient, Recipient,
    RecipientMove,
};
use crate::domain::Programme;

#[async_trait]
pub trait MonthlyStore: Send + Sync {
    /// Sets a region's norm and benefit (with its audit entry).
    async fn put_norm(
        &self,
        programme: Programme,
        region: Region,
        norm: Norm,
        audit: &AuditEntry,
    ) -> Result<(), StoreError>;
    async fn norm(&self, programme: Programme, region: Region) -> Result<Option<Norm>, StoreError>;
    /// Adds recipients in one transaction. A recipient already on the programme's list of
    /// that month is left as it is (no second SMS); `true` marks the new ones.
    async fn add_recipients(
        &self,
        new: &[NewRecipient],
    ) -> Result<Vec<(bool, Recipient)>, StoreError>;
    async fn recipient(&self, consent_id: Uuid) -> Result<Option<Recipient>, StoreError>;
    /// The oldest open (`pending`, `reminded`) conversation of a phone.
    async fn open_recipient_for_phone(&self, phone: &str) -> Result<Option<Recipient>, StoreError>;
    /// Applies a move with its SMS, job, voucher and audit entries; `Conflict` when the
    /// state is no longer `from`.
    async fn move_recipient(&self, m: &RecipientMove) -> Result<Recipient, StoreError>;
    /// A person's vouchers of every monthly programme, newest month first.
    async fn monthly_vouchers_of(&self, iin: Iin) -> Result<Vec<MonthlyVoucher>, StoreError>;
    async fn monthly_voucher(&self, id: VoucherId) -> Result<Option<MonthlyVoucher>, StoreError>;
    /// A person's voucher of a programme and month.
    async fn monthly_voucher_for(
        &self,
        programme: Programme,
        iin: Iin,
        month: YearMonth,
    ) -> Result<Option<MonthlyVoucher>, StoreError>;
    /// Whether a voucher of the programme and month is activated on `key`.
    async fn key_taken(
        &self,
        programme: Programme,
        month: YearMonth,
        key: &str,
    ) -> Result<bool, StoreError>;
    /// `formed` → `activated` on the key; the unique index refuses a second voucher on it.
    async fn activate_on_key(&self, a: &Activation) -> Result<Activated, StoreError>;
    /// The month's activated vouchers, oldest activation first.
    async fn activations(
        &self,
        programme: Programme,
        month: YearMonth,
    ) -> Result<Vec<ActivatedVoucher>, StoreError>;
    /// Expires the month's formed vouchers and queues the handover message once; `true`
    /// when the message was queued now.
    async fn hand_over(&self, h: &Handover) -> Result<bool, StoreError>;
    /// Keeps a discount of an activated voucher (replacing an earlier one), with its audit.
    async fn save_discount(
        &self,
        voucher: VoucherId,
        discount: &Discount,
        at: OffsetDateTime,
        audit: &AuditEntry,
    ) -> Result<(), StoreError>;
}
