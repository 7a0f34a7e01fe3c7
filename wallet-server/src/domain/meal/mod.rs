//! Meals: how a student was identified at the canteen, what the server decided, the meal
//! as recorded, and the facts of a voucher the meal rule judges against.

pub mod batch;
pub mod progress;
mod rule;
pub mod void;

use shared::{Bin, Iin, VoucherId};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

pub use rule::{effective_slots, judge, MAX_CLOCK_AHEAD};
pub use void::{void_verdict, VOID_WINDOW};

/// How a student was identified at the canteen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MealMethod {
    Qr,
    Card,
    /// Found by name or class at the counter (forgot card and phone), with a reason.
    Manual,
}

super::words!(MealMethod, "meal method", { Qr => "qr", Card => "card", Manual => "manual" });

/// The server's verdict on a meal event.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum MealStatus {
    Accepted,
    Duplicate,
    Rejected,
    /// Taken back (a terminal's or staff's void) before its month's approval: not counted.
    Voided,
}

super::words!(MealStatus, "meal status", {
    Accepted => "accepted", Duplicate => "duplicate", Rejected => "rejected", Voided => "voided",
});

/// A meal as recorded on a voucher.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MealRecord {
    pub event_id: Uuid,
    pub voucher_id: VoucherId,
    pub school: Bin,
    pub service_day: Date,
    pub slot: String,
    pub served_at: OffsetDateTime,
    pub method: MealMethod,
    pub status: MealStatus,
    pub reason: Option<String>,
}

/// What the meal rules need to know about a voucher.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VoucherFacts {
    pub school: Bin,
    pub student: Iin,
    pub state: crate::domain::voucher::VoucherState,
    pub activated_at: Option<OffsetDateTime>,
    /// When the state last changed (the revocation or expiry time for final states).
    pub updated_at: OffsetDateTime,
    pub valid_from: Date,
    pub valid_until: Date,
    /// The days the student is on this school's monthly lists (`domain::entitlement`).
    pub entitled: Vec<shared::sync::DayRange>,
    /// The shift of the student's class, when staff gave it one.
    pub shift: Option<shared::counter::Shift>,
}

/// Decides whether a meal event is rejected (the reason) given the voucher's facts and the
/// school's slots; `None` = valid. The real one is [`judge`] for the pushing terminal's
/// school and the server's clock; the store calls it inside the push transaction, where the
/// facts are read under the school's push lock.
pub type MealJudge<'a> = &'a (dyn Fn(
    &shared::sync::MealEvent,
    Option<&VoucherFacts>,
    &[shared::sync::MealSlot],
) -> Option<String>
         + Sync);
