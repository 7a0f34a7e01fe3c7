//! The provider's side: norms per region (set by the integration role) and the discounts
//! the provider computed, each accepted or refused on its own against the region's cap.

use shared::time::YearMonth;
use shared::VoucherId;

use super::MonthlyError;
use crate::domain::audit::{Actor, AuditEntry};
use crate::domain::gas::{check_discount, Discount, Norm, Region};
use crate::domain::monthly::MonthlyRules;
use crate::domain::voucher::VoucherState;
use crate::services::Deps;

/// Sets a region's monthly norm and benefit.
pub async fn put_norm(
    deps: &Deps,
    rules: &MonthlyRules,
    region: Region,
    norm: Norm,
    by: Actor,
) -> Result<(), MonthlyError> {
    let audit = AuditEntry {
        at: deps.clock.now(),
        actor: by,
        entity_kind: "norm",
        entity_id: format!("{}:{region}", rules.programme),
        action: "set".into(),
        from_state: None,
        to_state: None,
        reason: Some(format!(
            "{} m3 at {} tiyn/m3",
            norm.norm_m3, norm.benefit_tiyn_per_m3
        )),
    };
    deps.store
        .put_norm(rules.programme, region, norm, &audit)
        .await?;
    Ok(())
}

/// One discount as sent.
#[derive(Debug, Clone)]
pub struct DiscountItem {
    pub voucher: Option<VoucherId>,
    pub discount: Discount,
}

/// An item's verdict: `None` accepted, else the refusal's code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscountVerdict {
    pub rejected: Option<&'static str>,
}

/// Checks and keeps each discount of `month`: the voucher must be an activated one of the
/// month, the discount within the region's cap.
pub async fn take_discounts(
    deps: &Deps,
    rules: &MonthlyRules,
    month: YearMonth,
    items: &[DiscountItem],
    by: Actor,
) -> Result<Vec<DiscountVerdict>, MonthlyError> {
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let rejected = take_one(deps, rules, month, item, &by).await.err();
        if let Some(reason) = rejected {
            tracing::info!(reason, "discount rejected");
        }
        out.push(DiscountVerdict { rejected });
    }
    Ok(out)
}

async fn take_one(
    deps: &Deps,
    rules: &MonthlyRules,
    month: YearMonth,
    item: &DiscountItem,
    by: &Actor,
) -> Result<(), &'static str> {
    let id = item.voucher.ok_or("unknown_voucher")?;
    let store_failed = |_| "unavailable";
    let v = deps.store.monthly_voucher(id).await.map_err(store_failed)?;
    let v = v
        .filter(|v| v.programme == rules.programme)
        .ok_or("unknown_voucher")?;
    if v.month != month {
        return Err("wrong_month");
    }
    if v.state != VoucherState::Activated {
        return Err("not_activated");
    }
    let norm = deps
        .store
        .norm(rules.programme, v.region)
        .await
        .map_err(store_failed)?;
    let norm = norm.ok_or("no_norm")?;
    check_discount(&item.discount, &norm).map_err(|r| r.code())?;
    let now = deps.clock.now();
    let audit = AuditEntry {
        at: now,
        actor: by.clone(),
        entity_kind: "voucher",
        entity_id: id.to_string(),
        action: "discount".into(),
        from_state: None,
        to_state: None,
        reason: Some(format!(
            "{} tiyn for {} m3",
            item.discount.discount_tiyn, item.discount.volume_m3
        )),
    };
    deps.store
        .save_discount(id, &item.discount, now, &audit)
        .await
        .map_err(store_failed)
}
