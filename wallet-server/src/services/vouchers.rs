//! Vouchers as parents use them: activating one, and finding the one a pass may be minted
//! for. The state machine itself is the domain's (`domain::voucher`).

use shared::{Iin, VoucherId};
use time::{Date, OffsetDateTime};

use crate::domain::audit::{Actor, AuditEntry};
use crate::domain::voucher::{Voucher, VoucherState, VoucherView};
use crate::store::{Store, StoreError};

/// Vouchers expired per query in one sweep.
const EXPIRY_BATCH: i64 = 500;

/// Why a parent's action on a voucher cannot be done.
#[derive(Debug, thiserror::Error)]
pub enum VoucherError {
    /// Not there, or not this parent's: the same answer for both.
    #[error("no such voucher")]
    NotFound,
    #[error("the voucher has expired")]
    Expired,
    #[error("the voucher was revoked")]
    Revoked,
    #[error("the voucher must be activated first")]
    NotActivated,
    #[error("the voucher is valid from {0}")]
    NotYetValid(Date),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Activates a parent's voucher: `formed` → `activated`. Activating twice is harmless;
/// expired and revoked vouchers refuse.
pub async fn activate(
    store: &dyn Store,
    parent: Iin,
    id: VoucherId,
    now: OffsetDateTime,
) -> Result<VoucherView, VoucherError> {
    let month = shared::time::month_of(now);
    let view = store
        .voucher_of_representative(id, parent, month)
        .await?
        .ok_or(VoucherError::NotFound)?;
    match view.voucher.state {
        VoucherState::Activated => return Ok(view),
        VoucherState::Expired => return Err(VoucherError::Expired),
        VoucherState::Revoked => return Err(VoucherError::Revoked),
        VoucherState::Formed => {}
    }
    let audit = crate::domain::audit::AuditEntry {
        at: now,
        actor: crate::domain::audit::Actor::Parent(parent),
        entity_kind: "voucher",
        entity_id: id.to_string(),
        action: "activate".into(),
        from_state: Some(VoucherState::Formed.to_string()),
        to_state: Some(VoucherState::Activated.to_string()),
        reason: Some("activated by the parent in the wallet".into()),
    };
    match store
        .transition_voucher(id, VoucherState::Formed, VoucherState::Activated, &audit)
        .await
    {
        // A concurrent request may have activated (or revoked) it meanwhile: re-read.
        Ok(_) | Err(crate::store::StoreError::Conflict { .. }) => {}
        Err(e) => return Err(e.into()),
    }
    let view = store
        .voucher_of_representative(id, parent, month)
        .await?
        .ok_or(VoucherError::NotFound)?;
    match view.voucher.state {
        VoucherState::Activated => Ok(view),
        VoucherState::Expired => Err(VoucherError::Expired),
        VoucherState::Revoked => Err(VoucherError::Revoked),
        VoucherState::Formed => Err(VoucherError::NotActivated),
    }
}

/// A parent's voucher that can be used today: activated and within its validity.
pub async fn usable_voucher(
    store: &dyn Store,
    parent: Iin,
    id: VoucherId,
    now: OffsetDateTime,
) -> Result<Voucher, VoucherError> {
    let voucher = store
        .represented_voucher(id, parent)
        .await?
        .ok_or(VoucherError::NotFound)?;
    let today = shared::time::service_day(now);
    match voucher.state {
        VoucherState::Formed => Err(VoucherError::NotActivated),
        VoucherState::Revoked => Err(VoucherError::Revoked),
        VoucherState::Expired => Err(VoucherError::Expired),
        VoucherState::Activated if today > voucher.valid_until => Err(VoucherError::Expired),
        VoucherState::Activated if today < voucher.valid_from => {
            Err(VoucherError::NotYetValid(voucher.valid_from))
        }
        VoucherState::Activated => Ok(voucher),
    }
}

/// Expires live vouchers whose last valid day is before `today`; how many it expired.
/// Idempotent: a voucher that changed under it is left as it now is.
pub async fn expire_past_validity(
    store: &dyn Store,
    today: Date,
    now: OffsetDateTime,
) -> Result<usize, StoreError> {
    let mut expired = 0;
    // Bounded: every round either expires vouchers or sees them change under it.
    for _ in 0..10_000 {
        let batch = store.vouchers_past_validity(today, EXPIRY_BATCH).await?;
        for v in &batch {
            let audit = AuditEntry {
                at: now,
                actor: Actor::System,
                entity_kind: "voucher",
                entity_id: v.id.to_string(),
                action: "expire".into(),
                from_state: Some(v.state.to_string()),
                to_state: Some(VoucherState::Expired.to_string()),
                reason: Some(format!(
                    "valid until {}: the period has ended",
                    v.valid_until
                )),
            };
            match store
                .transition_voucher(v.id, v.state, VoucherState::Expired, &audit)
                .await
            {
                Ok(_) => expired += 1,
                Err(StoreError::Conflict { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        if i64::try_from(batch.len()).unwrap_or(0) < EXPIRY_BATCH {
            break;
        }
    }
    Ok(expired)
}
