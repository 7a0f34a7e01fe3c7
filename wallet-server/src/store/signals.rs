//! What the signals of misuse and the parent's event feed need from storage (issue 19):
//! refused scans pushed by terminals, who minted passes, a day's facts per school, the
//! computed signals, and the feed. Each method is one transaction; every read is walled in
//! its SQL (a school's signals by its BIN, a parent's feed by the representation).

use async_trait::async_trait;
use shared::counter::ScanDenial;
use shared::{Bin, Iin, VoucherId};
use time::{Date, OffsetDateTime};

use super::StoreError;
use crate::domain::feed::{FeedCursor, FeedEvent};
use crate::domain::signals::{ManualCount, Mint, Scan, Signal};
use crate::domain::terminal::TerminalRecord;

/// A signal as stored, with when it was computed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSignal {
    pub signal: Signal,
    pub computed_at: OffsetDateTime,
}

/// A parent minted a pass: kept for the mint-burst signal, under an opaque key (no IIN).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MintNote {
    pub parent_key: String,
    pub voucher: VoucherId,
    pub school: Bin,
    pub at: OffsetDateTime,
}

/// The facts of one school and day that only storage knows (slots and the calendar come
/// through their own capabilities).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SignalFacts {
    pub scans: Vec<Scan>,
    pub manual_today: ManualCount,
    /// Earlier days with accepted meals since `trailing_from`, newest first.
    pub manual_before: Vec<ManualCount>,
    pub mints: Vec<Mint>,
}

/// The storage capability of signals and the feed.
#[async_trait]
pub trait SignalStore: Send + Sync {
    /// Stores a terminal's refused scans, once per (terminal, event id): a replay changes
    /// nothing. How many were new.
    async fn record_denials(
        &self,
        terminal: &TerminalRecord,
        denials: &[ScanDenial],
        now: OffsetDateTime,
    ) -> Result<u64, StoreError>;
    /// Notes, in one transaction, that the parents known by their keys minted passes; per
    /// parent, voucher and Astana day the first note kept is the first one stored.
    async fn record_mints(&self, notes: &[MintNote]) -> Result<(), StoreError>;
    /// Deletes the mint notes of days before `before`; how many.
    async fn forget_mints(&self, before: Date) -> Result<u64, StoreError>;
    /// Schools with anything to judge on `day` (meals, refused scans, mints) or with signals
    /// stored for it.
    async fn signal_schools(&self, day: Date) -> Result<Vec<Bin>, StoreError>;
    /// The day's scans at `school`'s terminals and, of a nonce seen there, elsewhere; its
    /// manual meals today and on earlier days from `trailing_from`; its mints.
    async fn signal_facts(
        &self,
        school: Bin,
        day: Date,
        trailing_from: Date,
    ) -> Result<SignalFacts, StoreError>;
    /// Replaces the school's signals of `day` with `signals`, in one transaction.
    async fn replace_signals(
        &self,
        school: Bin,
        day: Date,
        signals: &[Signal],
        now: OffsetDateTime,
    ) -> Result<(), StoreError>;
    /// One school's signals of a day.
    async fn school_signals(&self, school: Bin, day: Date)
        -> Result<Vec<StoredSignal>, StoreError>;
    /// Every school's signals of a day (the integration role).
    async fn day_signals(&self, day: Date) -> Result<Vec<StoredSignal>, StoreError>;
    /// The feed of the children `rep` represents, after `after`, at most `limit` events.
    async fn wallet_events(
        &self,
        rep: Iin,
        after: &FeedCursor,
        limit: u32,
    ) -> Result<Vec<FeedEvent>, StoreError>;
}
