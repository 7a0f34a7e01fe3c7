//! Receiving a school's eligibility list, the one way in for lists: validate → apply (form,
//! keep, move or revoke vouchers) → return the rows not taken to NOBD (`domain::nobd`) →
//! start the consent conversations of the rows that need one → deliver the SMS that are due.
//! PEP's API call takes all of it; the `--demo` seed takes the first half ([`accept`]).

use std::collections::HashMap;

use crate::domain::list::{
    validate_list, ListError, ListOutcome, ListRequest, Reception, RowOutcome, ValidList,
};
use crate::domain::nobd;
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
    return_rejected_rows(deps, request, &list, &outcome).await?;
    let consents = start_for_list(deps, &list, &outcome).await?;
    deps.flush_outbox().await;
    Ok(Received {
        list,
        outcome,
        consents,
    })
}

/// Rows that were not taken go back to NOBD (seed 001: "returned to NOBD"), through the
/// outbox, once per list content: a list sent again after a crash queues nothing twice.
async fn return_rejected_rows(
    deps: &Deps,
    request: &ListRequest,
    list: &ValidList,
    outcome: &ListOutcome,
) -> Result<(), StoreError> {
    let as_sent = |index: usize| {
        request
            .students
            .get(index)
            .map(|s| s.iin.clone())
            .unwrap_or_default()
    };
    let mut rejected: Vec<(usize, String, &'static str)> = list
        .rejected
        .iter()
        .map(|(index, _, why)| (*index, as_sent(*index), why.code()))
        .chain(outcome.rows.iter().filter_map(|(index, row)| match row {
            RowOutcome::Rejected(why) => Some((*index, as_sent(*index), why.code())),
            _ => None,
        }))
        .collect();
    rejected.sort_by_key(|(index, _, _)| *index);
    if let Some(status) = nobd::rejected_rows(list, &rejected, deps.clock.now()) {
        deps.store.enqueue_message_once(&status).await?;
    }
    Ok(())
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
