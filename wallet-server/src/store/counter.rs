//! What the canteen counter needs from storage beyond pushing meals (issue 19): voids (by
//! the terminal that recorded the meal, or by the school's staff), the shifts of classes, the
//! alert line of a student, and today's counts (progress, manual meals per worker, meals of
//! the school's other terminals). Every method is scoped to one school in its SQL.

use std::collections::BTreeSet;

use async_trait::async_trait;
use shared::counter::{MealSeen, MealVoid, Shift, VoidResult, VoidVerdict};
use shared::{AlertLine, Bin, ClassLabel, Iin, Label};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use super::StoreError;
use crate::domain::audit::AuditEntry;
use crate::domain::terminal::TerminalRecord;

/// A class and the shift it studies in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassShift {
    pub class_label: String,
    pub shift: Shift,
}

/// One student expected to eat today: their class and its shift.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectedStudent {
    pub class_label: String,
    pub shift: Option<Shift>,
}

/// One counted meal of today: the student's class and the slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServedMeal {
    pub class_label: String,
    pub slot: String,
}

/// Manual meals one worker served on one day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerManualCount {
    /// The worker's name as signed in at the terminal (`None`: nobody signed in).
    pub worker: Option<String>,
    pub meals: u32,
}

/// Other terminals' counted meals after a cursor, and the cursor to ask with next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenPage {
    pub meals: Vec<MealSeen>,
    pub cursor: i64,
}

/// The counter's storage capability.
#[async_trait]
pub trait CounterStore: Send + Sync {
    /// Applies a terminal's voids in order; only that terminal's meals are found.
    async fn void_terminal_meals(
        &self,
        terminal: &TerminalRecord,
        voids: &[MealVoid],
        now: OffsetDateTime,
    ) -> Result<Vec<VoidResult>, StoreError>;
    /// Staff void a meal of `school` (at any time); `NotFound` when the school has no meal
    /// with that id. Audited in the same transaction.
    async fn void_school_meal(
        &self,
        school: Bin,
        event_id: Uuid,
        reason: &Label,
        audit: &AuditEntry,
    ) -> Result<VoidVerdict, StoreError>;
    /// The service days of `school`'s meals among `event_ids` (the days a void changed, so
    /// that their built reports are corrected); another school's meals are not found.
    async fn meal_days(
        &self,
        school: Bin,
        event_ids: &[Uuid],
    ) -> Result<BTreeSet<Date>, StoreError>;
    async fn class_shifts(&self, school: Bin) -> Result<Vec<ClassShift>, StoreError>;
    /// Sets (or clears, `None`) a class's shift; the class's students reach the terminals
    /// with their next roster pull. Audited.
    async fn set_class_shift(
        &self,
        school: Bin,
        class: &ClassLabel,
        shift: Option<Shift>,
        audit: &AuditEntry,
    ) -> Result<(), StoreError>;
    /// Sets (or clears, `None`) a student's alert line at `school`; `NotFound` for a student
    /// of another school. Reaches that school's terminals only. Audited.
    async fn set_alert_line(
        &self,
        school: Bin,
        student: Iin,
        line: Option<&AlertLine>,
        audit: &AuditEntry,
    ) -> Result<(), StoreError>;
    /// The school's alert lines by student.
    async fn alert_lines(&self, school: Bin) -> Result<Vec<(Iin, AlertLine)>, StoreError>;
    /// Students with an activated voucher valid on `day` and on the month's list.
    async fn expected_students(
        &self,
        school: Bin,
        day: Date,
    ) -> Result<Vec<ExpectedStudent>, StoreError>;
    /// The school's counted meals of `day`.
    async fn served_meals(&self, school: Bin, day: Date) -> Result<Vec<ServedMeal>, StoreError>;
    /// The school's counted manual meals of `day`, per worker.
    async fn manual_meals_per_worker(
        &self,
        school: Bin,
        day: Date,
    ) -> Result<Vec<WorkerManualCount>, StoreError>;
    /// Counted meals of `day` that the school's terminals other than `terminal` pushed after
    /// `after` (a cursor from an earlier page; 0 for all).
    async fn meals_seen(
        &self,
        school: Bin,
        terminal: Uuid,
        day: Date,
        after: i64,
    ) -> Result<SeenPage, StoreError>;
}
