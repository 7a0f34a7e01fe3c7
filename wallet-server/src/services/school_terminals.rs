//! What school staff do with their canteen terminals, once for every front door: make a
//! one-time enrollment code for a new terminal, and revoke a terminal. The JSON API
//! (`http/school_terminals.rs`) and the console (`console/pages/terminals.rs`) only parse,
//! authorize, call these and shape the answer.

use shared::time::Clock;
use shared::Bin;
use time::Duration;

use crate::domain::audit::{Actor, AuditEntry};
use crate::domain::terminal::EnrollmentCode;
use crate::services::enrollment::{self, NoRandomness};
use crate::store::{SchoolOpsStore, StoreError, TerminalStore};

/// Why a use case failed.
#[derive(Debug, thiserror::Error)]
pub enum TerminalAdminError {
    #[error(transparent)]
    NoRandomness(#[from] NoRandomness),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A fresh code for `school`, valid for `ttl`: the code to show once, and what was stored
/// (only its hash).
pub async fn create_enrollment_code(
    store: &(impl SchoolOpsStore + ?Sized),
    clock: &(impl Clock + ?Sized),
    ttl: Duration,
    school: Bin,
    by: Actor,
) -> Result<(String, EnrollmentCode), TerminalAdminError> {
    let code = enrollment::new_code()?;
    let now = clock.now();
    let record = EnrollmentCode {
        code_hash: enrollment::hash_code(&code),
        school,
        created_by: by,
        created_at: now,
        expires_at: now + ttl,
    };
    store.create_enrollment_code(&record).await?;
    tracing::info!(%school, "terminal enrollment code created");
    Ok((code, record))
}

/// Revokes terminal `id` of `school` (already revoked: nothing changes), with the audit entry.
pub async fn revoke_terminal(
    store: &(impl TerminalStore + ?Sized),
    clock: &(impl Clock + ?Sized),
    school: Bin,
    id: uuid::Uuid,
    by: Actor,
    reason: &str,
) -> Result<(), StoreError> {
    let audit = AuditEntry {
        at: clock.now(),
        actor: by,
        entity_kind: "terminal",
        entity_id: id.to_string(),
        action: "revoke".into(),
        from_state: None,
        to_state: Some("revoked".into()),
        reason: Some(reason.into()),
    };
    store.revoke_terminal(school, id, &audit).await?;
    tracing::info!(%school, terminal = %id, "terminal revoked");
    Ok(())
}
