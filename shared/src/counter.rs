//! What the canteen counter and the server exchange beyond meals (issue 19): shifts, voided
//! meals, denied scans, today's progress and the meals other terminals of the school served.
//!
//! Every message here travels inside the sync messages of [`crate::sync`] as an optional or
//! defaulted field, so a terminal and a server of the previous version still understand each
//! other (an absent field means "none").

use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use crate::card::CardUid;
use crate::sync::Method;
use crate::text::{Label, PassNonce, SlotName};
use crate::voucher::VoucherId;

/// A school shift: schools that teach in two or three shifts give each class a shift, and each
/// meal slot serves one shift. Always 1, 2 or 3.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(value_type = u8, minimum = 1, maximum = 3))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub struct Shift(u8);

/// Most shifts a school day has.
pub const MAX_SHIFT: u8 = 3;

/// A number that is not a shift (0 or above [`MAX_SHIFT`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a shift is 1, 2 or 3, not {0}")]
pub struct NotAShift(pub u8);

impl Shift {
    pub fn new(n: u8) -> Result<Shift, NotAShift> {
        if (1..=MAX_SHIFT).contains(&n) {
            Ok(Shift(n))
        } else {
            Err(NotAShift(n))
        }
    }

    pub fn get(self) -> u8 {
        self.0
    }
}

impl TryFrom<u8> for Shift {
    type Error = NotAShift;

    fn try_from(n: u8) -> Result<Shift, NotAShift> {
        Shift::new(n)
    }
}

impl From<Shift> for u8 {
    fn from(s: Shift) -> u8 {
        s.0
    }
}

impl std::fmt::Display for Shift {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A meal the terminal's worker takes back (served by mistake), pushed with the meals.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MealVoid {
    /// The `event_id` of a meal this terminal recorded (in this batch or an earlier one).
    pub event_id: Uuid,
    /// When the worker voided it (the terminal's corrected time).
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub voided_at: OffsetDateTime,
    pub reason: Label,
    /// The worker signed in at the terminal, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worker: Option<Label>,
}

/// What became of a void.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VoidVerdict {
    /// The meal no longer counts (its month's табель was not approved yet).
    Voided,
    /// The meal's month was already approved: the void becomes next month's adjustment.
    Adjustment,
    /// Not applied; see the reason.
    Rejected,
}

/// The answer for one void. Pushing the same void again gives the same answer.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoidResult {
    pub event_id: Uuid,
    pub status: VoidVerdict,
    /// Why a void was rejected: `unknown_meal` (no meal of this terminal has that id) or
    /// `too_late` (voided long after it was served; staff can still void it in the console).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A scan the terminal refused, pushed for the misuse signals and the parent's event feed.
/// Stored once per terminal and `event_id` (pushing it again changes nothing).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScanDenial {
    /// Made on the terminal (UUIDv7).
    pub event_id: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub at: OffsetDateTime,
    /// The terminal's reason code (`already_ate`, `unknown_card`, `expired_pass`,
    /// `bad_signature`, `wrong_shift`, `outside_hours`, `not_on_list`, ...).
    pub reason: Label,
    /// How the student was presented (a garbled read has no method and is not pushed).
    pub method: Method,
    /// The voucher, when the terminal could tell whose scan it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Uuid))]
    pub voucher_id: Option<VoucherId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pass_nonce: Option<PassNonce>,
    /// An unknown card's id, so staff can bind it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, pattern = r"^[0-9A-F]{10}$"))]
    pub card_uid: Option<CardUid>,
}

/// Served and expected meals of one slot or one class today.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProgressCount {
    /// The slot's name or the class label.
    pub label: String,
    pub served: u32,
    pub expected: u32,
}

/// Today's progress of the whole school (all its terminals), as the server counted it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub service_day: Date,
    pub slots: Vec<ProgressCount>,
    pub classes: Vec<ProgressCount>,
}

/// A counted meal another terminal of the school served today, so this terminal can say
/// when and where a child already ate.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MealSeen {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub voucher_id: VoucherId,
    pub slot: SlotName,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub service_day: Date,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub served_at: OffsetDateTime,
    /// The serving terminal's name as staff gave it.
    pub terminal: String,
    pub method: Method,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shift_is_one_two_or_three() {
        assert_eq!(
            serde_json::from_str::<Shift>("2").ok().map(Shift::get),
            Some(2)
        );
        assert!(serde_json::from_str::<Shift>("0").is_err());
        assert!(serde_json::from_str::<Shift>("4").is_err());
        assert_eq!(
            serde_json::to_string(&Shift::new(3).expect("3")).ok(),
            Some("3".into())
        );
    }
}
