//! Dynamic QR passes on the server: the persisted signing keys ([`keys`]), rendering a pass
//! text as PNG or SVG ([`render`]), minting for activated vouchers ([`mint`]), and [`issue`],
//! the use case a parent's wallet calls.

pub mod keys;
pub mod mint;
pub mod mint_memory;
pub mod qr;
pub mod render;

use std::sync::Arc;

use shared::{Iin, VoucherId};
use time::{Duration, OffsetDateTime};

use crate::domain::programme_dates::ProgrammeDates;
use crate::services::mint_notes::MintNotes;
use crate::services::vouchers::{usable_voucher, VoucherError};
use crate::store::Store;
use keys::SharedKeyRing;
use mint::{MintLimiter, MintedPass};

/// Why no pass was issued.
#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    #[error(transparent)]
    Voucher(#[from] VoucherError),
    /// Too many passes for this voucher in the window; the next may come after this long.
    #[error("too many passes for this voucher")]
    TooMany(Duration),
    /// Today is outside the programme's dates: nothing is minted.
    #[error(
        "the programme runs from {} to {}: no pass today",
        .0.first_day(),
        .0.last_day()
    )]
    OutsideProgramme(ProgrammeDates),
    #[error("signing the pass failed: {0}")]
    Signing(#[from] shared::pass::KeyError),
    /// Counting the mint failed: no pass without the count.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// Where passes come from: the signing keys, the rate limit and the programme's dates; and
/// where each is noted for the signals.
pub struct Minting<'a> {
    pub keys: &'a SharedKeyRing,
    pub limiter: &'a MintLimiter,
    pub programme: ProgrammeDates,
    pub notes: &'a MintNotes,
}

/// Issues a pass for a parent's voucher: the voucher must be the parent's and usable now,
/// today must be in the programme, the voucher's rate limit must allow one more, and the
/// current key signs it.
pub async fn issue(
    store: &Arc<dyn Store>,
    minting: &Minting<'_>,
    parent: Iin,
    id: VoucherId,
    now: OffsetDateTime,
) -> Result<MintedPass, IssueError> {
    let Minting {
        keys,
        limiter,
        programme,
        notes,
    } = minting;
    // The voucher first: a stranger's id answers 404 whatever the day.
    let voucher = usable_voucher(store.as_ref(), parent, id, now).await?;
    if !programme.contains(shared::time::service_day(now)) {
        return Err(IssueError::OutsideProgramme(*programme));
    }
    limiter
        .check(store, id, now)
        .await?
        .map_err(IssueError::TooMany)?;
    let pass = mint::mint(keys.read().current(), &voucher, now)?;
    notes.note(parent, &voucher, now);
    Ok(pass)
}
