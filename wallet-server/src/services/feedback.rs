//! Parents' feedback: a rating of the service and, optionally, a complaint that goes to
//! e-Otinish through the durable outbox (stored in the same transaction as the feedback).

use shared::{FreeText, Iin};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::domain::feedback::Feedback;
use crate::domain::outbox::{OutboxKind, OutboxMessage, OutboxState};
use crate::domain::voucher::VoucherView;

/// Where complaints are addressed in the outbox.
pub const E_OTINISH: &str = "e-otinish";

/// Why a rating or complaint is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FeedbackError {
    #[error("rating must be a whole number from 1 to 5")]
    Rating,
}

impl FeedbackError {
    /// The machine-readable code of the refusal.
    pub fn code(&self) -> &'static str {
        match self {
            FeedbackError::Rating => "invalid_rating",
        }
    }
}

/// A checked rating and complaint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedbackForm {
    pub rating: u8,
    pub complaint: Option<FreeText>,
}

impl FeedbackForm {
    /// Rating 1–5; the complaint is already clean text (`shared::text`: trimmed, at most
    /// 4,000 characters, line breaks but no other control characters).
    pub fn parse(rating: i64, complaint: Option<FreeText>) -> Result<FeedbackForm, FeedbackError> {
        let rating = u8::try_from(rating)
            .ok()
            .filter(|r| (1..=5).contains(r))
            .ok_or(FeedbackError::Rating)?;
        Ok(FeedbackForm { rating, complaint })
    }
}

/// The feedback record and, for a complaint, the message to e-Otinish.
pub fn record(
    voucher: &VoucherView,
    parent: Iin,
    form: FeedbackForm,
    now: OffsetDateTime,
) -> (Feedback, Option<OutboxMessage>) {
    let feedback = Feedback {
        id: Uuid::now_v7(),
        voucher_id: voucher.voucher.id,
        representative: parent,
        rating: form.rating,
        complaint: form.complaint.as_ref().map(FreeText::to_string),
        created_at: now,
    };
    let outbox = form.complaint.map(|text| {
        // e-Otinish answers the applicant, so it needs the parent's IIN; never the child's.
        let body = serde_json::json!({
            "type": "complaint",
            "service": "free school meals",
            "applicant_iin": parent.expose(),
            "school_bin": voucher.voucher.school.to_string(),
            "school_name": voucher.school_name,
            "voucher_id": voucher.voucher.id.to_string(),
            "rating": form.rating,
            "text": text.as_str(),
        });
        OutboxMessage {
            id: Uuid::now_v7(),
            kind: OutboxKind::Complaint,
            recipient: E_OTINISH.into(),
            body: body.to_string(),
            state: OutboxState::Pending,
            attempts: 0,
            created_at: now,
            next_attempt_at: now,
            sent_at: None,
        }
    });
    (feedback, outbox)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratings_outside_one_to_five_are_refused() {
        for bad in [0, 6, -1, 256] {
            let err = FeedbackForm::parse(bad, None).unwrap_err();
            assert_eq!(err.code(), "invalid_rating", "{bad}");
        }
        assert_eq!(FeedbackForm::parse(5, None).expect("ok").rating, 5);
    }
}
