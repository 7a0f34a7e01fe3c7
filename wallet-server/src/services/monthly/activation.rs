//! Activating a monthly voucher on a personal account: the recipient in the wallet (check
//! the account, read the offer, confirm) or the provider's office operator for someone
//! without a smartphone (item 23 of the order). The account must be the provider's and
//! free this month; the store's unique index settles two activations racing for it.

use shared::{Iin, VoucherId};

use super::MonthlyError;
use crate::domain::audit::{Actor, AuditEntry};
use crate::domain::gas::mask_account;
use crate::domain::monthly::MonthlyRules;
use crate::domain::monthly_records::{Activated, Activation, MonthlyVoucher};
use crate::domain::voucher::VoucherState;
use crate::ports::ProviderAccount;
use crate::services::Deps;

/// The public offer shown before activation (item 24 of the order).
pub const OFFER: &str = "Ваучер на товарный газ применяется к указанному лицевому счету в \
    текущем месяце: скидка равна произведению потребленного объема газа на льготу и не \
    превышает произведения льготы на месячную норму потребления. На один лицевой счет в месяц \
    активируется только один ваучер. Нажимая \"Продолжить\", Вы принимаете условия оферты.";

/// Who activates: the recipient, or the provider's operator.
#[derive(Debug, Clone)]
pub enum Activator {
    Recipient(Iin),
    Operator(String),
}

/// What the account check answers.
#[derive(Debug, Clone)]
pub struct AccountCheck {
    pub account: ProviderAccount,
    pub offer: &'static str,
}

/// The recipient's voucher (another's is not found).
async fn own_voucher(deps: &Deps, iin: Iin, id: VoucherId) -> Result<MonthlyVoucher, MonthlyError> {
    match deps.store.monthly_voucher(id).await? {
        Some(v) if v.iin == iin => Ok(v),
        _ => Err(MonthlyError::NotFound),
    }
}

/// Free this month, and known to the provider.
async fn lookup(
    deps: &Deps,
    v: &MonthlyVoucher,
    account: &str,
) -> Result<ProviderAccount, MonthlyError> {
    if v.key.as_deref() != Some(account)
        && deps.store.key_taken(v.programme, v.month, account).await?
    {
        return Err(MonthlyError::AccountTaken);
    }
    let provider =
        deps.ports.provider.as_ref().ok_or_else(|| {
            MonthlyError::ProviderUnavailable("no gas provider is configured".into())
        })?;
    match provider.account(account).await {
        Ok(Some(a)) => Ok(a),
        Ok(None) => {
            tracing::info!(account = %mask_account(account), "personal account unknown to the provider");
            Err(MonthlyError::UnknownAccount)
        }
        Err(e) => {
            tracing::warn!(account = %mask_account(account), error = %e, "gas provider unavailable");
            Err(MonthlyError::ProviderUnavailable(e.to_string()))
        }
    }
}

/// The wallet's account check: the account's masked details and the offer.
pub async fn check_account(
    deps: &Deps,
    iin: Iin,
    id: VoucherId,
    account: &str,
) -> Result<AccountCheck, MonthlyError> {
    let v = own_voucher(deps, iin, id).await?;
    let account = lookup(deps, &v, account).await?;
    Ok(AccountCheck {
        account,
        offer: OFFER,
    })
}

/// Activates the voucher `id` (or, for the operator, the recipient's voucher of the
/// current month) on `account`.
pub async fn activate(
    deps: &Deps,
    rules: &MonthlyRules,
    by: Activator,
    voucher: Option<VoucherId>,
    iin: Iin,
    account: &str,
) -> Result<MonthlyVoucher, MonthlyError> {
    let now = deps.clock.now();
    let v = match voucher {
        Some(id) => own_voucher(deps, iin, id).await?,
        None => {
            let month = shared::time::month_of(now);
            deps.store
                .monthly_voucher_for(rules.programme, iin, month)
                .await?
                .ok_or(MonthlyError::NotFound)?
        }
    };
    if !rules.may_activate(v.month, now) {
        return Err(MonthlyError::OutsideActivationWindow);
    }
    match v.state {
        VoucherState::Activated if v.key.as_deref() == Some(account) => return Ok(v),
        VoucherState::Formed => {}
        other => return Err(MonthlyError::NotUsable(other)),
    }
    lookup(deps, &v, account).await?;
    let actor = match &by {
        Activator::Recipient(iin) => Actor::Parent(*iin),
        Activator::Operator(sub) => Actor::Provider(sub.clone()),
    };
    let audit = AuditEntry {
        at: now,
        actor,
        entity_kind: "voucher",
        entity_id: v.id.to_string(),
        action: "activate".into(),
        from_state: Some("formed".into()),
        to_state: Some("activated".into()),
        reason: Some(format!("personal account {}", mask_account(account))),
    };
    let a = Activation {
        voucher: v.id,
        key: account.to_string(),
        at: now,
        audit,
    };
    match deps.store.activate_on_key(&a).await? {
        Activated::Done(done) => {
            tracing::info!(voucher = %done.id, account = %mask_account(account), "monthly voucher activated");
            Ok(done)
        }
        Activated::KeyTaken => Err(MonthlyError::AccountTaken),
        Activated::NotFormed(state) => Err(MonthlyError::NotUsable(state)),
    }
}
