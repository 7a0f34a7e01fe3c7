//! What goes back to NOBD besides the daily report: the statuses seed 001 and seed 000
//! (appendix 1) send back to SDU/NOBD — list rows that were rejected ("returned to NOBD") and
//! how each consent conversation ended (`agreed`, `refused`, `timed_out`, `no_phone`).
//!
//! Each is an outbox message of kind `status` to `nobd`, with an id derived from what it is
//! about, so building it again (a list sent twice, a move re-read) queues it once and NOBD
//! can drop a duplicate delivery by its `Idempotency-Key`. The bodies carry IINs: NOBD is
//! where they come from, and the outbox is access-controlled data, never a log.

use serde_json::json;
use time::OffsetDateTime;

use super::consent::{ConsentRequest, ConsentState};
use super::list::ValidList;
use super::outbox::{OutboxKind, OutboxMessage};
use super::report::NOBD;

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| t.to_string())
}

/// The rows of a list that were not taken, back to NOBD; `None` when every row was taken.
/// `rejected` is `(index, the row's IIN as sent, reason code)`, from the list's answer.
pub fn rejected_rows(
    list: &ValidList,
    rejected: &[(usize, String, &'static str)],
    now: OffsetDateTime,
) -> Option<OutboxMessage> {
    if rejected.is_empty() {
        return None;
    }
    let rows: Vec<_> = rejected
        .iter()
        .map(|(index, iin, reason)| json!({"index": index, "iin": iin, "reason": reason}))
        .collect();
    let body = json!({
        "type": "list_rows_rejected",
        "school_bin": list.school.bin.to_string(),
        "programme": list.programme.as_str(),
        "period": list.period.to_string(),
        "list_sha256": list.content_hash,
        "rows": rows,
    });
    // The same list (by content) sent again is answered the same and reported once.
    let id = OutboxMessage::derived_id(&format!(
        "list_rows_rejected|{}|{}|{}|{}",
        list.school.bin,
        list.programme.as_str(),
        list.period,
        list.content_hash
    ));
    Some(OutboxMessage::pending(
        id,
        OutboxKind::Status,
        NOBD,
        body.to_string(),
        now,
    ))
}

/// How a conversation ended, back to NOBD; `None` while it is still open.
pub fn consent_outcome(request: &ConsentRequest, now: OffsetDateTime) -> Option<OutboxMessage> {
    if request.state.is_open() {
        return None;
    }
    let decided_at = request.finished_at.unwrap_or(request.updated_at);
    let body = json!({
        "type": "consent_outcome",
        "consent_id": request.id.to_string(),
        "programme": request.programme.as_str(),
        "school_bin": request.school.to_string(),
        "student_iin": request.student.expose(),
        "school_year": {
            "from": request.period.first_day.to_string(),
            "to": request.period.last_day.to_string(),
        },
        "state": request.state.as_str(),
        "reason": request.reason,
        "decided_at": rfc3339(decided_at),
        "voucher_id": (request.state == ConsentState::Agreed)
            .then(|| request.voucher.map(|v| v.to_string()))
            .flatten(),
    });
    // One per ending: a conversation asked again and ended again is a new status.
    let id = OutboxMessage::derived_id(&format!(
        "consent_outcome|{}|{}|{}",
        request.id,
        request.state.as_str(),
        rfc3339(decided_at)
    ));
    Some(OutboxMessage::pending(
        id,
        OutboxKind::Status,
        NOBD,
        body.to_string(),
        now,
    ))
}

#[cfg(test)]
mod tests;
