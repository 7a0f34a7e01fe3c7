//! Receiving a school's eligibility list, the one way in for lists (PEP's API call and the
//! `--demo` seed alike): validate → apply (form, keep, move or revoke vouchers) → start the
//! consent conversations of the rows that need one → deliver the SMS that are due.

use std::collections::HashMap;

use crate::domain::list::{
    validate_list, ListError, ListOutcome, ListRequest, Reception, ValidList,
};
use crate::services::consent::{start_for_list, RowConsent};
use crate::services::Deps;
use crate::store::StoreError;

/// A list as received: the validated rows, what applying them did, and the consent state of
/// each row that waits for a parent (by row index).
#[derive(Debug)]
pub struct Received {
    pub list: ValidList,
    pub outcome: ListOutcome,
    pub consents: HashMap<usize, RowConsent>,
}

/// Why a list was not taken.
#[derive(Debug, thiserror::Error)]
pub enum ReceiveError {
    /// The list as a whole is unusable; nothing was stored.
    #[error(transparent)]
    Invalid(#[from] ListError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Receives one list. Sending the same list again changes nothing and answers the same.
pub async fn receive(
    deps: &Deps,
    request: &ListRequest,
    reception: Reception<'_>,
) -> Result<Received, ReceiveError> {
    let list = validate_list(request, reception)?;
    let outcome = deps.store.apply_eligibility_list(&list).await?;
    let consents = start_for_list(deps, &list, &outcome).await?;
    deps.flush_outbox().await;
    Ok(Received {
        list,
        outcome,
        consents,
    })
}
