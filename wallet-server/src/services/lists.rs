//! Receiving a school's eligibility list, the one way in for lists: validate → apply (form,
//! keep, move or revoke vouchers) → start the consent conversations of the rows that need
//! one → deliver the SMS that are due. PEP's API call takes all of it; the `--demo` seed
//! takes the first half ([`accept`]).

use std::collections::HashMap;

use crate::domain::list::{
    validate_list, ListError, ListOutcome, ListRequest, Reception, ValidList,
};
use crate::services::consent::{start_for_list, RowConsent};
use crate::services::Deps;
use crate::store::{Store, StoreError};

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
    let (list, outcome) = accept(deps.store.as_ref(), request, reception).await?;
    let consents = start_for_list(deps, &list, &outcome).await?;
    deps.flush_outbox().await;
    Ok(Received {
        list,
        outcome,
        consents,
    })
}

/// The first half of [`receive`]: validates the list and applies it, starting no
/// conversation. The `--demo` seed stops here, so a fresh demo sends no SMS and a fault
/// drill starts from an empty outbox; the rows that wait for consent show it.
pub async fn accept(
    store: &dyn Store,
    request: &ListRequest,
    reception: Reception<'_>,
) -> Result<(ValidList, ListOutcome), ReceiveError> {
    let list = validate_list(request, reception)?;
    let outcome = store.apply_eligibility_list(&list).await?;
    Ok((list, outcome))
}
