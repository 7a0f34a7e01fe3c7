//! Parents' feedback: a rating of the service and, optionally, a complaint that goes to
//! e-Otinish through the durable outbox (stored in the same transaction as the feedback).

use shared::Iin;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::domain::feedback::Feedback;
use crate::domain::outbox::{OutboxKind, OutboxMessage, OutboxState};
use crate::domain::voucher::VoucherView;

/// Longest complaint accepted, in characters.
pub const MAX_COMPLAINT_CHARS: usize = 4000;

/// Where complaints are addressed in the outbox.
pub const E_OTINISH: &str = "e-otinish";

/// Why a rating or complaint is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FeedbackError {
    #[error("rating must be a whole number from 1 to 5")]
    Rating,
    #[error("a complaint holds at most {MAX_COMPLAINT_CHARS} characters")]
    ComplaintTooLong,
}

impl FeedbackError {
    /// The machine-readable code of the refusal.
    pub fn code(&self) -> &'static str {
        match self {
            FeedbackError::Rating => "invalid_rating",
            FeedbackError::ComplaintTooLong => "complaint_too_long",
        }
    }
}

/// A checked rating and complaint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedbackForm {
    pub rating: u8,
    pub complaint: Option<String>,
}

impl FeedbackForm {
    /// Rating 1–5; a complaint is trimmed, empty means none, and is at most
    /// [`MAX_COMPLAINT_CHARS`] long.
    pub fn parse(rating: i64, complaint: Option<String>) -> Result<FeedbackForm, FeedbackError> {
        let rating = u8::try_from(rating)
            .ok()
            .filter(|r| (1..=5).contains(r))
            .ok_or(FeedbackError::Rating)?;
        let complaint = complaint
            .map(|c| c.trim().to_string())
            .filter(|c| !c.is_empty());
        if complaint
            .as_ref()
            .is_some_and(|c| c.chars().count() > MAX_COMPLAINT_CHARS)
        {
            return Err(FeedbackError::ComplaintTooLong);
        }
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
        complaint: form.complaint.clone(),
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
            "text": text,
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

    #[test]
    fn complaints_are_trimmed_and_bounded() {
        let form = FeedbackForm::parse(2, Some("  холодный суп  ".into())).expect("ok");
        assert_eq!(form.complaint.as_deref(), Some("холодный суп"));
        assert_eq!(
            FeedbackForm::parse(3, Some("   ".into()))
                .expect("ok")
                .complaint,
            None
        );
        let long = "я".repeat(MAX_COMPLAINT_CHARS + 1);
        assert_eq!(
            FeedbackForm::parse(1, Some(long)).unwrap_err().code(),
            "complaint_too_long"
        );
    }
}
