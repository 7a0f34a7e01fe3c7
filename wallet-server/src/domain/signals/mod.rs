//! Signals of misuse (issue 19): facts of one school and Astana day that deserve a look —
//! never a verdict. Each signal carries its evidence (times, terminals, masked ids); names
//! and IINs never enter here. The rules are pure (`rules.rs`) over facts the store fetches
//! set-based; their thresholds are data ([`Thresholds`]).

mod rules;
#[cfg(test)]
mod tests;

use serde::Serialize;
use shared::Bin;
use time::{Date, Duration, OffsetDateTime};

pub use rules::detect;

/// What a signal is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SignalKind {
    /// One pass (nonce) presented at two terminals or two schools.
    PassAtTwoPlaces,
    /// A pass and a card of one child within minutes of each other.
    PassAndCard,
    /// Many refused scans at one terminal within minutes.
    DenialBurst,
    /// Meals outside every slot's hours or on a day that is not a school day.
    OutsideHours,
    /// A share of meals served by hand far above the school's usual.
    ManualShare,
    /// One parent minting passes for many children within minutes.
    MintBurst,
}

super::words!(SignalKind, "signal kind", {
    PassAtTwoPlaces => "pass_at_two_places", PassAndCard => "pass_and_card",
    DenialBurst => "denial_burst", OutsideHours => "outside_hours",
    ManualShare => "manual_share", MintBurst => "mint_burst",
});

/// One fact behind a signal. Ids are masked ([`mask`]); a terminal of another school is
/// named only as such.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Evidence {
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub at: Option<OffsetDateTime>,
    /// The terminal's name; `null` for facts not made at a terminal.
    pub terminal: Option<String>,
    /// A masked voucher id, nonce or card (`…1a2b3c4d`).
    pub id: Option<String>,
    /// What happened: `meal:qr`, `denied:expired_pass`, `manual 12 of 40`, …
    pub note: String,
}

/// A signal of one school and day. `subject` tells two signals of one kind apart (the masked
/// nonce, voucher, terminal or parent); it is stable, so recomputing a day replaces it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Signal {
    pub school: Bin,
    pub day: Date,
    pub kind: SignalKind,
    pub subject: String,
    pub evidence: Vec<Evidence>,
}

/// Most evidence items kept per signal (a burst of 500 denials keeps its first 20).
pub const MAX_EVIDENCE: usize = 20;

/// How a scan ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A pushed meal with its stored status (`accepted`, `duplicate`, `rejected`).
    Meal(String),
    /// A refused scan with the terminal's reason.
    Denied(String),
}

/// A meal or a refused scan of the day, as the rules need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scan {
    pub at: OffsetDateTime,
    pub terminal: uuid::Uuid,
    pub terminal_name: String,
    /// The school of the terminal (a pass of this school may be shown elsewhere).
    pub terminal_school: Bin,
    pub voucher: Option<uuid::Uuid>,
    pub nonce: Option<String>,
    pub card: Option<String>,
    /// `qr`, `card` or `manual`.
    pub method: String,
    pub outcome: Outcome,
}

/// Meals served by hand against all meals of one day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ManualCount {
    pub manual: u32,
    pub total: u32,
}

/// Passes one parent minted on the day for one voucher of this school.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mint {
    /// An opaque key of the parent (no IIN is kept for this).
    pub parent: String,
    pub voucher: uuid::Uuid,
    pub first_at: OffsetDateTime,
}

/// Everything the rules look at for one school and day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayFacts {
    pub school: Bin,
    pub day: Date,
    pub school_day: bool,
    /// The school's slots (empty: the whole day).
    pub slots: Vec<shared::sync::MealSlot>,
    /// The day's scans at this school's terminals, and scans elsewhere of a nonce seen here.
    pub scans: Vec<Scan>,
    pub manual_today: ManualCount,
    /// The school's earlier days with meals, newest first (the trailing window).
    pub manual_before: Vec<ManualCount>,
    pub mints: Vec<Mint>,
}

/// When a fact becomes a signal. Data, not code: tuned here and tested as such.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    /// A pass and a card of one child closer than this.
    pub pass_and_card_within: Duration,
    /// At least this many denials at one terminal …
    pub burst_denials: usize,
    /// … within this long.
    pub burst_within: Duration,
    /// The days of the school's own history the manual share is compared with.
    pub manual_trailing_days: usize,
    /// Days with fewer meals say nothing about shares.
    pub manual_min_meals: u32,
    /// Today's share must be at least this many times the usual …
    pub manual_factor: f64,
    /// … and this many percentage points above it.
    pub manual_min_excess: f64,
    /// At least this many children …
    pub mint_children: usize,
    /// … minted for by one parent within this long.
    pub mint_within: Duration,
}

/// The thresholds in force.
pub const THRESHOLDS: Thresholds = Thresholds {
    pass_and_card_within: Duration::minutes(10),
    burst_denials: 8,
    burst_within: Duration::minutes(5),
    manual_trailing_days: 20,
    manual_min_meals: 20,
    manual_factor: 3.0,
    manual_min_excess: 10.0,
    mint_children: 4,
    mint_within: Duration::minutes(10),
};

/// An id as signals show it: its last eight characters (enough to find it among a school's
/// vouchers, not enough to be a credential).
pub fn mask(id: &str) -> String {
    let tail: String = {
        let chars: Vec<char> = id.chars().filter(|c| *c != '-').collect();
        chars[chars.len().saturating_sub(8)..].iter().collect()
    };
    format!("…{tail}")
}
