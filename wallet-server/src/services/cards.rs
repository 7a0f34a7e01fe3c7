//! Binding and unbinding a student's ID card: the staff use cases the JSON API and the
//! school console both call. The store applies each in one transaction (with the audit
//! entry and the roster change terminals pull); a card belongs to one student at a time.

use shared::{Bin, CardUid, Iin};
use time::OffsetDateTime;

use crate::domain::audit::Actor;
use crate::domain::terminal::{CardBinding, CardBound};
use crate::store::{Store, StoreError};

/// Why a card cannot be bound.
#[derive(Debug, thiserror::Error)]
pub enum BindError {
    /// The card is bound to another student of the same school; it must be unbound there
    /// first. (A card bound at another school is taken over: that is no answer of its own.)
    #[error("this card is bound to another student of this school; unbind it there first")]
    Taken,
    #[error(transparent)]
    Store(StoreError),
}

/// Binds `card` to `student` of `school` (replacing the student's previous card). Binding
/// the same card again changes nothing.
///
/// A card bound to a student of another school is taken over: unbound there (audited on both
/// sides, that school's terminals drop it at their next roster pull) and bound here, with the
/// same answer as a free card. Answering "bound elsewhere" would tell anyone who can bind
/// which cards exist at other schools, and would let a card be squatted by binding it first
/// at a school it does not belong to; the school whose student holds the card in hand wins.
/// Within one school a clash stays a refusal ([`BindError::Taken`]): the staff see their own
/// students, and a silent move between two of them is more likely a mistake.
pub async fn bind(
    store: &dyn Store,
    school: Bin,
    student: Iin,
    card: CardUid,
    by: Actor,
    at: OffsetDateTime,
) -> Result<CardBound, BindError> {
    let binding = CardBinding {
        school,
        student,
        card,
        by,
        at,
    };
    store.bind_card(&binding).await.map_err(|e| match e {
        StoreError::Conflict { .. } => BindError::Taken,
        other => BindError::Store(other),
    })
}

/// Unbinds the card of `student` of `school`; the card it had, if any.
pub async fn unbind(
    store: &dyn Store,
    school: Bin,
    student: Iin,
    by: &Actor,
    at: OffsetDateTime,
) -> Result<Option<CardUid>, StoreError> {
    store.unbind_card(school, student, by, at).await
}
