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
    /// A notice to a school's staff (recipient `school:<BIN>`): shown in the school console
    /// until its month is approved, and delivered to NOBD (the school's own system).
    Notice,
    /// A status going back to NOBD (`domain::nobd`): rejected list rows, consent outcomes.
    Status,
    /// A month's activated vouchers of a monthly programme going to its provider (gas: on
    /// the 26th; `domain::monthly`).
    Activations,
}

super::words!(OutboxKind, "outbox kind", {
    Sms => "sms", Report => "report", Complaint => "complaint", Notice => "notice",
    Status => "status", Activations => "activations",
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
        OutboxMessage::pending(Uuid::now_v7(), OutboxKind::Sms, to, text, now)
    }

    /// A new message queued at `now`, due at once (an SMS: at once in the daytime, see
    /// [`quiet_hours`](super::quiet_hours)).
    pub fn pending(
        id: Uuid,
        kind: OutboxKind,
        recipient: &str,
        body: String,
        now: OffsetDateTime,
    ) -> OutboxMessage {
        OutboxMessage {
            id,
            kind,
            recipient: recipient.to_string(),
            body,
            state: OutboxState::Pending,
            attempts: 0,
            created_at: now,
            next_attempt_at: super::quiet_hours::first_delivery(kind, now),
            sent_at: None,
        }
    }

    /// The id of a message that must be queued once whoever builds it and however often:
    /// a UUIDv8 from SHA-256 of `name` (which names what the message is about). It is also
    /// the receiver's idempotency key.
    pub fn derived_id(name: &str) -> Uuid {
        let digest = ring::digest::digest(&ring::digest::SHA256, name.as_bytes());
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&digest.as_ref()[..16]);
        uuid::Builder::from_custom_bytes(bytes).into_uuid()
    }
}
