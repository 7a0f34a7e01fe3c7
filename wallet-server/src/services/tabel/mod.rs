//! Getting and approving a табель: the rules around the pure builder.
//!
//! A month in the future has no табель. An approved month is served from its frozen JSON,
//! never rebuilt. Only a finished month can be approved, once.

use shared::time::{month_of, YearMonth};
use shared::Bin;
use time::OffsetDateTime;

pub mod notices;
pub mod off_day;
pub mod render;

use crate::domain::audit::{Actor, AuditEntry};
use crate::domain::tabel::StoredApproval;
use crate::domain::tabel::{build, content_hash, Approval, Tabel};
use crate::store::{Store, StoreError};

/// Why a табель cannot be given or approved.
#[derive(Debug, thiserror::Error)]
pub enum TabelError {
    #[error("{0} has not begun yet")]
    MonthInFuture(YearMonth),
    #[error("{0} has not ended yet; it can be approved from the 1st of the next month")]
    MonthNotEnded(YearMonth),
    #[error("{0} is already approved")]
    AlreadyApproved(YearMonth),
    #[error("the stored approval of {0} cannot be read")]
    CorruptApproval(YearMonth),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn stamped(approval: &StoredApproval, month: YearMonth) -> Result<Tabel, TabelError> {
    let mut tabel: Tabel =
        serde_json::from_str(&approval.body).map_err(|_| TabelError::CorruptApproval(month))?;
    tabel.approval = Some(Approval {
        approved_at: approval.approved_at,
        approved_by: approval.approved_by.clone(),
        content_hash: approval.content_hash.clone(),
    });
    Ok(tabel)
}

/// The табель of a month: frozen if approved, built from current facts otherwise.
pub async fn tabel_for(
    store: &dyn Store,
    school: Bin,
    month: YearMonth,
    now: OffsetDateTime,
    default_price_tiyn: i64,
) -> Result<Tabel, TabelError> {
    if month > month_of(now) {
        return Err(TabelError::MonthInFuture(month));
    }
    if let Some(approval) = store.tabel_approval(school, month).await? {
        return stamped(&approval, month);
    }
    let facts = store.tabel_facts(school, month, default_price_tiyn).await?;
    Ok(build(&facts, month, now))
}

/// Who approves a month: the actor for the audit log and the name for the stamp.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approver {
    pub actor: Actor,
    /// The director's name from the identity provider's claims, when the token had one.
    pub name: Option<String>,
}

impl Approver {
    /// The stamp's "approved by": the director by name, or by token subject when the
    /// identity provider gave no name.
    pub fn stamp(&self) -> String {
        match (&self.name, &self.actor) {
            (Some(name), _) => format!("{name} (директор)"),
            (None, Actor::Staff { sub, .. }) => format!("директор ({sub})"),
            (None, other) => other.to_string(),
        }
    }
}

/// The director approves a finished month: its табель is frozen with a content hash.
pub async fn approve(
    store: &dyn Store,
    school: Bin,
    month: YearMonth,
    director: Approver,
    now: OffsetDateTime,
    default_price_tiyn: i64,
) -> Result<Tabel, TabelError> {
    if month >= month_of(now) {
        return Err(if month > month_of(now) {
            TabelError::MonthInFuture(month)
        } else {
            TabelError::MonthNotEnded(month)
        });
    }
    if store.tabel_approval(school, month).await?.is_some() {
        return Err(TabelError::AlreadyApproved(month));
    }
    // Both backends keep microseconds: stamp with what will be read back, so the answer to
    // the approval and every later download are byte for byte the same.
    let now = now
        .replace_nanosecond(now.nanosecond() / 1_000 * 1_000)
        .unwrap_or(now);
    let facts = store.tabel_facts(school, month, default_price_tiyn).await?;
    let tabel = build(&facts, month, now);
    let hash = content_hash(&tabel);
    let body = serde_json::to_string(&tabel).map_err(|_| TabelError::CorruptApproval(month))?;
    let record = StoredApproval {
        approved_at: now,
        approved_by: director.stamp(),
        content_hash: hash.clone(),
        body,
    };
    let audit = AuditEntry {
        at: now,
        actor: director.actor,
        entity_kind: "tabel",
        entity_id: format!("{school}/{month}"),
        action: "approve".into(),
        from_state: None,
        to_state: Some("approved".into()),
        reason: Some(format!(
            "{} billable meals, {} tiyn; sha256 {hash}",
            tabel.totals.meals, tabel.payable_tiyn
        )),
    };
    match store.approve_tabel(school, month, &record, &audit).await {
        Ok(()) => stamped(&record, month),
        Err(StoreError::Conflict { .. }) => Err(TabelError::AlreadyApproved(month)),
        Err(e) => Err(e.into()),
    }
}
