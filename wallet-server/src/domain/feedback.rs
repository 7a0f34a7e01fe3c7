//! A parent's rating of the service and optional complaint, as recorded.

use shared::{Iin, VoucherId};
use time::OffsetDateTime;
use uuid::Uuid;

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
