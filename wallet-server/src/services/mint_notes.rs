//! Who minted passes, noted for the mint-burst signal (`services::signals`) off the mint's
//! hot path: the first mint of a parent, voucher and Astana day is remembered in memory and
//! stored in batches, every [`FLUSH_EVERY`] or [`FLUSH_AT`] notes, whichever comes first.
//! Repeated mints of the day cost one set lookup and no database work.
//!
//! What a crash (not a graceful stop) loses is the last second's first mints: the notes feed
//! only the next day's signals, which are computed after the day ends and judge bursts, so a
//! second missing from one day at worst hides one burst; the mint itself and its limit are
//! never affected. A restarted or another process notes the day's mints again; the table
//! keeps the first (`ON CONFLICT DO NOTHING`).

use std::collections::HashSet;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use shared::{Iin, VoucherId};
use time::{Date, OffsetDateTime};
use tokio::sync::Notify;

use crate::domain::voucher::Voucher;
use crate::services::signals::parent_key;
use crate::store::{MintNote, Store};

/// How often waiting notes are stored.
pub const FLUSH_EVERY: Duration = Duration::from_secs(1);
/// Notes waiting that make a flush start at once.
const FLUSH_AT: usize = 500;
/// Most (parent, voucher) pairs remembered per day; past it the memory starts afresh (the
/// table then ignores the notes it already has).
const MAX_SEEN: usize = 500_000;
/// Most notes waiting while the database refuses them; past it, new ones are dropped.
const MAX_WAITING: usize = 100_000;

#[derive(Debug, Default)]
struct Notes {
    day: Option<Date>,
    seen: HashSet<(Iin, VoucherId)>,
    waiting: Vec<MintNote>,
}

/// The notes of one process; shared by all its requests.
#[derive(Debug, Default)]
pub struct MintNotes {
    notes: Mutex<Notes>,
    wake: Notify,
}

impl MintNotes {
    fn lock(&self) -> MutexGuard<'_, Notes> {
        self.notes.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Notes that `parent` minted a pass for `voucher` at `now`.
    pub fn note(&self, parent: Iin, voucher: &Voucher, now: OffsetDateTime) {
        let day = shared::time::service_day(now);
        let mut notes = self.lock();
        if notes.day != Some(day) || notes.seen.len() >= MAX_SEEN {
            notes.day = Some(day);
            notes.seen.clear();
        }
        if !notes.seen.insert((parent, voucher.id)) || notes.waiting.len() >= MAX_WAITING {
            return;
        }
        notes.waiting.push(MintNote {
            parent_key: parent_key(parent),
            voucher: voucher.id,
            school: voucher.school,
            at: now,
        });
        if notes.waiting.len() >= FLUSH_AT {
            self.wake.notify_one();
        }
    }

    /// Stores what waits; on failure the notes are put back for the next flush.
    pub async fn flush(&self, store: &dyn Store) {
        let batch = std::mem::take(&mut self.lock().waiting);
        if batch.is_empty() {
            return;
        }
        if let Err(e) = store.record_mints(&batch).await {
            tracing::warn!(error = %e, notes = batch.len(), "could not store mint notes; retrying");
            let mut notes = self.lock();
            let room = MAX_WAITING.saturating_sub(notes.waiting.len());
            notes.waiting.splice(0..0, batch.into_iter().take(room));
        }
    }

    /// Flushes every [`FLUSH_EVERY`], or sooner when [`FLUSH_AT`] notes wait; runs for as
    /// long as the server does.
    pub async fn run(self: Arc<Self>, store: Arc<dyn Store>) {
        loop {
            tokio::select! {
                () = tokio::time::sleep(FLUSH_EVERY) => {}
                () = self.wake.notified() => {}
            }
            self.flush(store.as_ref()).await;
        }
    }
}
