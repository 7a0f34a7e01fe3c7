//! Messages leaving the service (SMS, reports to NOBD, complaints to e-Otinish, notices to
//! schools) through the durable outbox: what they are and where each is in its delivery.

use time::OffsetDateTime;
use uuid::Uuid;

/// Where an outgoing message is in its delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OutboxState {
    Pending,
    Sent,
    Failed,
}

super::words!(OutboxState, "outbox state", {
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

super::words!(OutboxKind, "outbox kind", {
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

impl OutboxMessage {
    /// A new SMS queued at `now`. Its first attempt falls in the daytime
    /// ([`quiet_hours`](super::quiet_hours)): one queued at night waits for 09:00.
    pub fn sms(to: &str, text: String, now: OffsetDateTime) -> OutboxMessage {
        OutboxMessage {
            id: Uuid::now_v7(),
            kind: OutboxKind::Sms,
            recipient: to.to_string(),
            body: text,
            state: OutboxState::Pending,
            attempts: 0,
            created_at: now,
            next_attempt_at: super::quiet_hours::first_delivery(OutboxKind::Sms, now),
            sent_at: None,
        }
    }
}
