//! Plain records the store reads and writes for the wallet core: card bindings, enrollment
//! codes, meals, feedback and outbox messages.

use shared::{Bin, CardUid, Iin, VoucherId};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use crate::domain::audit::Actor;
use crate::domain::meal::{MealMethod, MealStatus};

/// A request to bind an ID card to a student of a school.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardBinding {
    pub school: Bin,
    pub student: Iin,
    pub card: CardUid,
    pub by: Actor,
    pub at: OffsetDateTime,
}

/// What binding did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CardBound {
    /// The card is now the student's; `replaced` is the card it took over from.
    Bound { replaced: Option<CardUid> },
    /// This exact binding already existed.
    Unchanged,
}

/// A one-time terminal enrollment code, stored only as a hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnrollmentCode {
    pub code_hash: String,
    pub school: Bin,
    pub created_by: Actor,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

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

/// A parent's rating (1–5) and optional complaint about a voucher's service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Feedback {
    pub id: Uuid,
    pub voucher_id: VoucherId,
    pub representative: Iin,
    pub rating: u8,
    pub complaint: Option<String>,
    pub created_at: OffsetDateTime,
}

/// Where an outgoing message is in its delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OutboxState {
    Pending,
    Sent,
    Failed,
}

crate::domain::words!(OutboxState, "outbox state", {
    Pending => "pending", Sent => "sent", Failed => "failed",
});

/// Kinds of outgoing messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OutboxKind {
    Sms,
    Report,
    Complaint,
    /// A notice to a school's staff (recipient `school:<BIN>`), read in the school console.
    Notice,
}

crate::domain::words!(OutboxKind, "outbox kind", {
    Sms => "sms", Report => "report", Complaint => "complaint", Notice => "notice",
});

/// A message waiting in (or delivered from) the durable outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxMessage {
    pub id: Uuid,
    pub kind: OutboxKind,
    pub recipient: String,
    pub body: String,
    pub state: OutboxState,
    pub attempts: i64,
    pub created_at: OffsetDateTime,
    pub next_attempt_at: OffsetDateTime,
    pub sent_at: Option<OffsetDateTime>,
}

/// A terminal about to be enrolled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTerminal {
    pub id: Uuid,
    pub name: String,
    /// SHA-256 (hex) of the device token; the token itself is never stored.
    pub token_hash: String,
}

/// An enrolled terminal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TerminalRecord {
    pub id: Uuid,
    pub school: Bin,
    pub name: String,
    pub enrolled_at: OffsetDateTime,
    pub revoked_at: Option<OffsetDateTime>,
    pub last_seen_at: Option<OffsetDateTime>,
    pub last_push_at: Option<OffsetDateTime>,
    /// Meals the terminal said were still waiting after its last push.
    pub unsent_reported: Option<i64>,
}

/// A voucher as the roster needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RosterRow {
    pub voucher_id: VoucherId,
    pub student_name: String,
    pub class_label: String,
    pub card: Option<CardUid>,
    pub state: crate::domain::voucher::VoucherState,
    pub valid_from: Date,
    pub valid_until: Date,
}

/// Roster changes since a cursor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RosterPage {
    /// The cursor to ask with next time.
    pub cursor: i64,
    /// Whether `rows` is the whole roster (the terminal replaces its own).
    pub full: bool,
    pub rows: Vec<RosterRow>,
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
}

/// Decides whether a meal event is rejected (the reason) given the facts; `None` = valid.
/// The store calls it inside the push transaction; the rules live in `meals.rs`.
pub type MealJudge<'a> = &'a (dyn Fn(
    &shared::sync::MealEvent,
    Option<&VoucherFacts>,
    &[shared::sync::MealSlot],
) -> Option<String>
         + Sync);

/// An approved (frozen) табель as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredApproval {
    pub approved_at: OffsetDateTime,
    pub approved_by: String,
    pub content_hash: String,
    /// The табель's JSON as approved.
    pub body: String,
}
