//! A pushed batch of meals, judged and stored in bulk: the plan the store follows.
//!
//! One push carries up to 1,000 meals. Looking each up and inserting it one by one costs a
//! few round trips per meal; instead a backend (1) reads the stored answers of all events
//! and the facts of all vouchers in two queries, (2) lets [`plan`] judge every event, (3)
//! inserts all rows in one multi-row `INSERT … ON CONFLICT DO NOTHING RETURNING event_id`,
//! (4) re-inserts as `duplicate` the accepted rows the meal rule's unique index refused, and
//! (5) answers anything still not inserted (an event sent twice in the batch, or pushed
//! concurrently) from what is stored. Rows go in batch order, so within a push the first
//! meal of a student and day is the billed one — exactly as one-by-one processing.

use std::collections::{HashMap, HashSet};

use shared::sync::{MealEvent, MealResult, MealSlot, MealVerdict};
use shared::VoucherId;
use uuid::Uuid;

use super::{MealJudge, VoucherFacts};

/// The reason recorded on a second meal of a student on one day (whatever the slots).
pub const ALREADY_ATE: &str = "already_ate";

/// A meal row to insert.
pub struct MealRow<'a> {
    pub event: &'a MealEvent,
    pub facts: &'a VoucherFacts,
    pub status: &'static str,
    pub reason: Option<String>,
}

/// What to do with one event of the batch.
pub enum Step<'a> {
    /// Answered without inserting: a replay (stored answer) or an unknown voucher.
    Answered(MealResult),
    /// Insert it; an `accepted` row refused by the meal rule becomes `duplicate`.
    Insert(MealRow<'a>),
}

/// The distinct voucher ids of the events that are not replays.
pub fn vouchers_to_look_up(
    events: &[MealEvent],
    known: &HashMap<Uuid, MealResult>,
) -> Vec<VoucherId> {
    let mut seen = HashSet::new();
    events
        .iter()
        .filter(|e| !known.contains_key(&e.event_id))
        .map(|e| e.voucher_id)
        .filter(|v| seen.insert(*v))
        .collect()
}

/// Judges every event of the batch.
pub fn plan<'a>(
    events: &'a [MealEvent],
    known: &HashMap<Uuid, MealResult>,
    facts: &'a HashMap<VoucherId, VoucherFacts>,
    slots: &[MealSlot],
    judge: MealJudge<'_>,
) -> Vec<Step<'a>> {
    events
        .iter()
        .map(|event| {
            if let Some(done) = known.get(&event.event_id) {
                return Step::Answered(done.clone());
            }
            let found = facts.get(&event.voucher_id);
            let rejection = judge(event, found, slots);
            match found {
                // No voucher row to attach it to: answered, not stored (a replay gets the
                // same answer).
                None => Step::Answered(MealResult {
                    event_id: event.event_id,
                    status: MealVerdict::Rejected,
                    reason: rejection.or_else(|| Some("unknown_voucher".into())),
                }),
                Some(facts) => Step::Insert(MealRow {
                    event,
                    facts,
                    status: if rejection.is_some() {
                        "rejected"
                    } else {
                        "accepted"
                    },
                    reason: rejection,
                }),
            }
        })
        .collect()
}

/// The accepted rows of the first round that were not inserted: the meal rule refused them
/// (or the same event came twice), so they are tried again as duplicates.
pub fn second_round<'a>(steps: &[Step<'a>], inserted: &HashSet<Uuid>) -> Vec<MealRow<'a>> {
    steps
        .iter()
        .filter_map(|s| match s {
            Step::Insert(row)
                if row.status == "accepted" && !inserted.contains(&row.event.event_id) =>
            {
                Some(MealRow {
                    event: row.event,
                    facts: row.facts,
                    status: "duplicate",
                    reason: Some(ALREADY_ATE.into()),
                })
            }
            _ => None,
        })
        .collect()
}

/// Events inserted in neither round: their answer is whatever is stored under their id.
pub fn unresolved(steps: &[Step<'_>], first: &HashSet<Uuid>, second: &HashSet<Uuid>) -> Vec<Uuid> {
    steps
        .iter()
        .filter_map(|s| match s {
            Step::Insert(row) => Some(row.event.event_id),
            Step::Answered(_) => None,
        })
        .filter(|id| !first.contains(id) && !second.contains(id))
        .collect()
}

/// The answers in batch order; `Err` names an event that was neither inserted nor found
/// stored (never expected: the push fails, so the terminal keeps the meal and tries again).
pub fn answers(
    steps: Vec<Step<'_>>,
    first: &HashSet<Uuid>,
    second: &HashSet<Uuid>,
    stored: &HashMap<Uuid, MealResult>,
) -> Result<Vec<MealResult>, Uuid> {
    steps
        .into_iter()
        .map(|s| match s {
            Step::Answered(done) => Ok(done),
            Step::Insert(row) => {
                let id = row.event.event_id;
                if first.contains(&id) {
                    Ok(MealResult {
                        event_id: id,
                        status: verdict_of(row.status),
                        reason: row.reason,
                    })
                } else if second.contains(&id) {
                    Ok(MealResult {
                        event_id: id,
                        status: MealVerdict::Duplicate,
                        reason: Some(ALREADY_ATE.into()),
                    })
                } else {
                    stored.get(&id).cloned().ok_or(id)
                }
            }
        })
        .collect()
}

/// The stored status word as the verdict the terminal sees.
pub fn verdict_of(status: &str) -> MealVerdict {
    match status {
        "duplicate" => MealVerdict::Duplicate,
        // Voided later: it was accepted when pushed (the void has its own answer).
        "accepted" | "voided" => MealVerdict::Accepted,
        _ => MealVerdict::Rejected,
    }
}

/// The method word stored for a scan.
pub fn method_word(event: &MealEvent) -> &'static str {
    event.method.as_str()
}

/// The rows of the first round, in batch order.
pub fn first_round<'s, 'a>(steps: &'s [Step<'a>]) -> Vec<&'s MealRow<'a>> {
    steps
        .iter()
        .filter_map(|s| match s {
            Step::Insert(row) => Some(row),
            Step::Answered(_) => None,
        })
        .collect()
}

/// Rows per multi-row statement: 16 parameters each stays far below both databases'
/// parameter limits.
pub const ROWS_PER_STATEMENT: usize = 500;
