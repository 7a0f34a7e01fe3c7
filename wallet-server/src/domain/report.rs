//! The daily report to NOBD (DESIGN.md §7.1): one line per school and day, and its
//! corrections: a day whose meals change after its report was built is sent again as the
//! next version, with its reason.

use serde::{Deserialize, Serialize};
use time::Date;
use utoipa::ToSchema;

/// Where reports are addressed in the outbox.
pub const NOBD: &str = "nobd";

/// One school's day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SchoolDay {
    pub bin: String,
    pub vouchers_formed: i64,
    pub vouchers_activated: i64,
    pub vouchers_revoked: i64,
    /// Billable meals.
    pub meals_served: i64,
    pub duplicates: i64,
    pub students_fed: i64,
}

impl SchoolDay {
    /// A school's day with nothing in it.
    pub fn zero(bin: String) -> SchoolDay {
        SchoolDay {
            bin,
            vouchers_formed: 0,
            vouchers_activated: 0,
            vouchers_revoked: 0,
            meals_served: 0,
            duplicates: 0,
            students_fed: 0,
        }
    }
}

/// One school's meal figures of a day: all a correction compares and resends (voucher
/// figures stay as sent), so its counts read no voucher.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchoolMeals {
    pub bin: String,
    /// Billable meals.
    pub served: i64,
    pub duplicates: i64,
    pub fed: i64,
}

impl SchoolMeals {
    /// The meal figures of a school's whole line.
    pub fn of(day: &SchoolDay) -> SchoolMeals {
        SchoolMeals {
            bin: day.bin.clone(),
            served: day.meals_served,
            duplicates: day.duplicates,
            fed: day.students_fed,
        }
    }

    fn figures(&self) -> (i64, i64, i64) {
        (self.served, self.duplicates, self.fed)
    }
}

/// The report of one day (DESIGN.md §7.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DailyReport {
    /// `YYYY-MM-DD`, Astana.
    #[schema(value_type = String)]
    pub date: Date,
    /// 1 as built at 23:30; each correction is the next version (reports stored before
    /// versions existed read as 1).
    #[serde(default = "first_version")]
    pub version: u32,
    /// Why this version corrects the one before (absent on version 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub schools: Vec<SchoolDay>,
}

fn first_version() -> u32 {
    1
}

impl DailyReport {
    /// The first version of a day's report, from its facts.
    pub fn first(date: Date, schools: Vec<SchoolDay>) -> DailyReport {
        DailyReport {
            date,
            version: 1,
            reason: None,
            schools,
        }
    }

    /// The outbox id of this version: one per day and version, so a correction built twice
    /// (two pushes racing, a sweep after a crash) is sent once, and NOBD can tell versions
    /// apart by it.
    pub fn message_id(&self) -> uuid::Uuid {
        super::outbox::OutboxMessage::derived_id(&format!(
            "daily_report|{}|{}",
            self.date, self.version
        ))
    }
}

/// A school's meal figures before and after: (served, duplicates, fed) each.
type Change = ((i64, i64, i64), (i64, i64, i64));

fn meals_of(s: &SchoolDay) -> (i64, i64, i64) {
    (s.meals_served, s.duplicates, s.students_fed)
}

/// The correction of `previous` when a day's meals changed after it was built (meals sync
/// late from offline terminals): the next version, with every school's meal figures as
/// they are now and its reason; `None` when no meal figure changed. Voucher figures are
/// kept as sent: they are counted by the server's own timestamps, and a voucher changed
/// later must not rewrite a past day.
pub fn correction(previous: &DailyReport, now: &[SchoolMeals]) -> Option<DailyReport> {
    let mut schools = previous.schools.clone();
    let mut changed: Vec<Change> = Vec::new();
    for fresh in now {
        match schools.iter_mut().find(|s| s.bin == fresh.bin) {
            Some(s) if meals_of(s) == fresh.figures() => {}
            Some(s) => {
                changed.push((meals_of(s), fresh.figures()));
                (s.meals_served, s.duplicates, s.students_fed) = fresh.figures();
            }
            None if fresh.figures() == (0, 0, 0) => {}
            None => {
                changed.push(((0, 0, 0), fresh.figures()));
                schools.push(SchoolDay {
                    meals_served: fresh.served,
                    duplicates: fresh.duplicates,
                    students_fed: fresh.fed,
                    ..SchoolDay::zero(fresh.bin.clone())
                });
            }
        }
    }
    if changed.is_empty() {
        return None;
    }
    schools.sort_by(|a, b| a.bin.cmp(&b.bin));
    let total = |pick: fn(&Change) -> (i64, i64, i64)| {
        changed
            .iter()
            .map(pick)
            .fold((0, 0, 0), |a, m| (a.0 + m.0, a.1 + m.1, a.2 + m.2))
    };
    let (before, after) = (total(|c| c.0), total(|c| c.1));
    let reason = format!(
        "late_meals: meals synced after version {} at {} school(s): meals served {} → {}, \
         duplicates {} → {}, students fed {} → {}",
        previous.version,
        changed.len(),
        before.0,
        after.0,
        before.1,
        after.1,
        before.2,
        after.2,
    );
    Some(DailyReport {
        date: previous.date,
        version: previous.version + 1,
        reason: Some(reason),
        schools,
    })
}

#[cfg(test)]
mod tests;
