//! Plain records the store reads and writes for the wallet core: card bindings, enrollment
//! codes, meals, feedback and outbox messages.

use shared::{Bin, CardUid, Iin, VoucherId};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use crate::audit::Actor;

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

/// How a student was identified at the canteen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MealMethod {
    Qr,
    Card,
}

crate::domain::words!(MealMethod, "meal method", { Qr => "qr", Card => "card" });

/// The server's verdict on a meal event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MealStatus {
    Accepted,
    Duplicate,
    Rejected,
}

crate::domain::words!(MealStatus, "meal status", {
    Accepted => "accepted", Duplicate => "duplicate", Rejected => "rejected",
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
}

crate::domain::words!(OutboxKind, "outbox kind", {
    Sms => "sms", Report => "report", Complaint => "complaint",
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
