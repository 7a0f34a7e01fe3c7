//! The canteen counter's use cases beyond pushing meals (issue 19): today's progress, the
//! meals other terminals served, and what staff do for the counter — void a meal, give a
//! class its shift, set a student's alert line. Each staff change is audited by the store in
//! the same transaction.

use shared::counter::{Progress, Shift, VoidVerdict};
use shared::time::service_day;
use shared::{AlertLine, Bin, ClassLabel, Iin, Label};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::domain::audit::{Actor, AuditEntry};
use crate::domain::meal::effective_slots;
use crate::domain::meal::progress::{progress, Expected, Served};
use crate::services::reports;
use crate::store::{Store, StoreError};

/// The whole school's progress of the service day at `now`.
pub async fn today(
    store: &dyn Store,
    school: Bin,
    now: OffsetDateTime,
) -> Result<Progress, StoreError> {
    let day = service_day(now);
    let slots = effective_slots(&store.meal_slots(school).await?);
    let expected = store.expected_students(school, day).await?;
    let served = store.served_meals(school, day).await?;
    let expected: Vec<Expected<'_>> = expected
        .iter()
        .map(|e| Expected {
            class_label: &e.class_label,
            shift: e.shift,
        })
        .collect();
    let served: Vec<Served<'_>> = served
        .iter()
        .map(|m| Served {
            class_label: &m.class_label,
            slot: &m.slot,
        })
        .collect();
    Ok(progress(day, &slots, &expected, &served))
}

fn entry(
    actor: &Actor,
    at: OffsetDateTime,
    kind: &'static str,
    id: String,
    action: &str,
) -> AuditEntry {
    AuditEntry {
        at,
        actor: actor.clone(),
        entity_kind: kind,
        entity_id: id,
        action: action.into(),
        from_state: None,
        to_state: None,
        reason: None,
    }
}

/// Staff take back a meal of their school (at any time, with a reason): before the month's
/// approval it leaves the табель, after it the void is the next month's adjustment. Either
/// way it leaves its day's counts, so a day whose NOBD report is built gets a corrected
/// version (a failed correction is left to the daily sweep; the void stands).
/// `NotFound` when the school has no such meal.
pub async fn void_meal(
    store: &dyn Store,
    school: Bin,
    event_id: Uuid,
    reason: &Label,
    by: &Actor,
    now: OffsetDateTime,
) -> Result<VoidVerdict, StoreError> {
    let audit = AuditEntry {
        from_state: Some("accepted".into()),
        reason: Some(reason.to_string()),
        ..entry(by, now, "meal", event_id.to_string(), "void")
    };
    let verdict = store
        .void_school_meal(school, event_id, reason, &audit)
        .await?;
    if verdict != VoidVerdict::Rejected {
        correct_reports(store, school, event_id, now).await;
    }
    Ok(verdict)
}

/// Corrects the built report of the voided meal's day; failures are logged.
async fn correct_reports(store: &dyn Store, school: Bin, event_id: Uuid, now: OffsetDateTime) {
    let corrected = async {
        for day in reports::built_days_of_meals(store, school, &[event_id], now).await? {
            reports::correct(store, day, Some(&[school]), now).await?;
        }
        Ok::<_, StoreError>(())
    };
    if let Err(e) = corrected.await {
        tracing::warn!(error = %e, "report correction after a void failed; the sweep retries");
    }
}

/// Staff give a class its shift (`None`: the class eats in any slot).
pub async fn set_class_shift(
    store: &dyn Store,
    school: Bin,
    class: &ClassLabel,
    shift: Option<Shift>,
    by: &Actor,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    let audit = AuditEntry {
        to_state: shift.map(|s| s.to_string()),
        ..entry(
            by,
            now,
            "class_shift",
            format!("{school}:{class}"),
            "set_shift",
        )
    };
    store.set_class_shift(school, class, shift, &audit).await
}

/// Staff set (or clear, `None`) a student's alert line at their school. The audit keeps the
/// line (access-controlled data); logs never see it.
pub async fn set_alert_line(
    store: &dyn Store,
    school: Bin,
    student: Iin,
    line: Option<&AlertLine>,
    by: &Actor,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    let action = if line.is_some() {
        "set_alert"
    } else {
        "clear_alert"
    };
    let audit = AuditEntry {
        to_state: line.map(|l| l.to_string()),
        ..entry(by, now, "student", student.expose().to_string(), action)
    };
    store.set_alert_line(school, student, line, &audit).await
}
