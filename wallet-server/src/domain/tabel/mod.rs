//! The табель: which student ate on which day of a month, and what the school is paid.
//!
//! [`build`] turns the month's facts (students with a voucher, meals, the previous month's
//! late meals, the school's calendar) into a [`Tabel`], purely. Every download format renders the same `Tabel`, so
//! the four formats cannot disagree. An approved month is stored as its JSON and rendered
//! from there ever after: meals that arrive later go to the next month's adjustments.

mod amends;
pub mod calendar;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::{Deserialize, Serialize};
use shared::time::YearMonth;
use shared::Iin;
use time::{Date, OffsetDateTime};
use utoipa::ToSchema;

use crate::domain::calendar::{DayStatus, SchoolCalendar};
use crate::domain::collate::{self, RegisterKey};
use crate::domain::meal::MealStatus;
use crate::domain::{Category, School};

/// A student on the табель (no IIN: the табель is printed and shared).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
pub struct TabelStudent {
    pub class_label: String,
    pub full_name: String,
    pub category: Category,
}

/// One student's line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TabelRow {
    pub student: TabelStudent,
    /// Billable meals per day (`YYYY-MM-DD` → count; several when the school has slots).
    pub marks: BTreeMap<Date, u32>,
    pub total: u32,
}

/// A day column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DayColumn {
    pub date: Date,
    /// A weekly rest day of the school's week (Saturday and Sunday, or Sunday alone).
    pub weekend: bool,
    /// A public holiday of Kazakhstan, or a weekday off by a government transfer.
    pub holiday: bool,
    /// Within a school break (каникулы).
    #[serde(default)]
    pub school_break: bool,
    /// A school day: meals on it are billed; on any other day only once confirmed.
    /// (Табели frozen before the calendar existed read as school days.)
    #[serde(default = "school_day_before_calendar")]
    pub school_day: bool,
    #[serde(default)]
    pub status: DayStatus,
}

fn school_day_before_calendar() -> bool {
    true
}

impl DayColumn {
    /// Not a school day by any sign (shaded on every format).
    pub fn off(&self) -> bool {
        !self.school_day || self.weekend || self.holiday || self.school_break
    }
}

/// A meal served on a day that is not a school day: recorded, not billed, listed for the
/// director, who confirms it (then it is billed) or leaves it out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct UnbilledMeal {
    /// The meal's event id, which a confirmation names.
    pub event_id: uuid::Uuid,
    pub student: TabelStudent,
    pub service_day: Date,
    pub slot: String,
    /// Why the day is not a school day.
    pub day: DayStatus,
}

/// A meal that is listed but not counted: a duplicate or one rejected at sync.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ExcludedMeal {
    pub student: TabelStudent,
    pub service_day: Date,
    pub slot: String,
    pub status: MealStatus,
    pub reason: Option<String>,
}

/// A meal of an approved month that arrived after the approval (added), or that was voided
/// after it (taken off: `voided`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LateMeal {
    pub student: TabelStudent,
    pub service_day: Date,
    pub slot: String,
    /// When it arrived, or, for a voided meal, when it was voided.
    #[serde(with = "time::serde::rfc3339")]
    pub received_at: OffsetDateTime,
    /// The void's reason: this meal is taken off the amount (issue 19).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voided: Option<String>,
}

/// A counted meal the worker served by hand (the child had neither card nor phone).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ManualMeal {
    pub student: TabelStudent,
    pub service_day: Date,
    pub slot: String,
    pub reason: String,
    /// The worker signed in at the terminal, if any.
    pub worker: Option<String>,
}

/// The previous month's late meals, paid with this month, less its meals voided after its
/// approval.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Adjustments {
    /// The month the late meals were served in, `YYYY-MM`.
    #[schema(value_type = String, pattern = r"^[0-9]{4}-(0[1-9]|1[0-2])$")]
    pub month: YearMonth,
    /// Late meals added.
    pub meals: u32,
    /// Meals voided after the approval, taken off.
    #[serde(default)]
    pub voided: u32,
    /// `(meals − voided) × price` (negative when more were voided than arrived late).
    pub amount_tiyn: i64,
    pub rows: Vec<LateMeal>,
}

/// The month's totals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Totals {
    /// Billable meals in the month.
    pub meals: u32,
    /// Distinct students with at least one billable meal.
    pub students_fed: u32,
    /// `meals × meal_price_tiyn`.
    pub amount_tiyn: i64,
    pub meal_price_tiyn: i64,
}

/// The director's approval stamp.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Approval {
    #[serde(with = "time::serde::rfc3339")]
    pub approved_at: OffsetDateTime,
    pub approved_by: String,
    /// SHA-256 of the табель's JSON without this stamp.
    pub content_hash: String,
}

/// The табель of one school and month.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Tabel {
    pub school: School,
    /// `YYYY-MM`.
    #[schema(value_type = String, pattern = r"^[0-9]{4}-(0[1-9]|1[0-2])$")]
    pub month: YearMonth,
    pub slots: Vec<String>,
    pub days: Vec<DayColumn>,
    pub rows: Vec<TabelRow>,
    /// Billable meals per day, over all students.
    pub per_day: BTreeMap<Date, u32>,
    pub totals: Totals,
    pub excluded: Vec<ExcludedMeal>,
    /// Accepted meals on non-school days the director has not confirmed: outside the amount.
    #[serde(default)]
    pub unbilled: Vec<UnbilledMeal>,
    pub adjustments: Option<Adjustments>,
    /// The month's counted meals served by hand, with the worker's reason (issue 19).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub manual: Vec<ManualMeal>,
    /// What is paid with this табель: the month's amount plus adjustments.
    pub payable_tiyn: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub generated_at: OffsetDateTime,
    pub approval: Option<Approval>,
}

/// A meal as the табель needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MealFact {
    pub event_id: uuid::Uuid,
    pub student: Iin,
    pub service_day: Date,
    pub slot: String,
    pub status: MealStatus,
    pub reason: Option<String>,
    pub received_at: OffsetDateTime,
    /// The director confirmed this meal on a non-school day: it is billed.
    pub confirmed_off_day: bool,
    /// Served by hand: the worker's reason and name (issue 19).
    pub manual: Option<(String, Option<String>)>,
}

/// Everything the store knows that a табель needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TabelFacts {
    pub school: School,
    /// Students with a voucher during the month and on the school's list for the month (a
    /// student only carried over from the month before shows only through their meals).
    pub students: Vec<(Iin, TabelStudent)>,
    /// Meals whose service day is in the month, all statuses.
    pub meals: Vec<MealFact>,
    /// Accepted meals of the previous month received after its approval.
    pub late_from_previous: Vec<MealFact>,
    /// Meals of the previous month counted in its approval and voided after it (status
    /// `voided`, `reason` the void's reason, `received_at` the void's time).
    pub voided_from_previous: Vec<MealFact>,
    /// Names of students who appear only through meals (e.g. a voucher revoked earlier).
    pub other_students: Vec<(Iin, TabelStudent)>,
    pub slots: Vec<String>,
    pub meal_price_tiyn: i64,
    /// The school's calendar: which days of the month are school days.
    pub calendar: SchoolCalendar,
}

type Names<'a> = HashMap<Iin, &'a TabelStudent>;

fn names(facts: &TabelFacts) -> Names<'_> {
    // Listed students win over the names found only through meals.
    facts
        .other_students
        .iter()
        .chain(&facts.students)
        .map(|(i, s)| (*i, s))
        .collect()
}

fn student_of(names: &Names<'_>, iin: &Iin) -> TabelStudent {
    names
        .get(iin)
        .map(|s| (*s).clone())
        .unwrap_or_else(|| TabelStudent {
            class_label: "?".into(),
            full_name: "(нет в списке)".into(),
            category: Category::Primary,
        })
}

fn amount(meals: u32, price: i64) -> i64 {
    i64::from(meals).saturating_mul(price)
}

/// Builds the табель of `month` from its facts.
pub fn build(facts: &TabelFacts, month: YearMonth, generated_at: OffsetDateTime) -> Tabel {
    let names = names(facts);
    let mut marks: HashMap<Iin, BTreeMap<Date, u32>> = HashMap::new();
    let mut per_day: BTreeMap<Date, u32> = BTreeMap::new();
    let mut excluded = Vec::new();
    // Each day's status once, not once per meal: a big school has tens of thousands.
    // The previous month's too: its late meals are paid with this one.
    let statuses: Statuses = previous(month)
        .days()
        .chain(month.days())
        .map(|d| (d, facts.calendar.status(d)))
        .collect();
    let unbilled = unbilled(facts, &names, &statuses, month);
    for m in facts
        .meals
        .iter()
        .filter(|m| month.contains(m.service_day) && off_day(&statuses, m).is_none())
    {
        if m.status == MealStatus::Accepted {
            *marks
                .entry(m.student)
                .or_default()
                .entry(m.service_day)
                .or_default() += 1;
            *per_day.entry(m.service_day).or_default() += 1;
        } else {
            // A meal refused as another school's names a child this school has no business
            // seeing on its sheet.
            let student = if m.reason.as_deref() == Some("other_school") {
                TabelStudent {
                    class_label: "—".into(),
                    full_name: "(ученик другой школы)".into(),
                    category: Category::Primary,
                }
            } else {
                student_of(&names, &m.student)
            };
            excluded.push(ExcludedMeal {
                student,
                service_day: m.service_day,
                slot: m.slot.clone(),
                status: m.status,
                reason: m.reason.clone(),
            });
        }
    }
    let listed: BTreeSet<Iin> = facts.students.iter().map(|(i, _)| *i).collect();
    let mut rows: Vec<TabelRow> = listed
        .iter()
        .chain(marks.keys().filter(|i| !listed.contains(i)))
        .map(|iin| {
            let m = marks.get(iin).cloned().unwrap_or_default();
            TabelRow {
                student: student_of(&names, iin),
                total: m.values().sum(),
                marks: m,
            }
        })
        .collect();
    rows.sort_by_cached_key(|r| sort_key(&r.student));
    excluded.sort_by_cached_key(|e| (e.service_day, sort_key(&e.student)));
    let meals: u32 = per_day.values().sum();
    let totals = Totals {
        meals,
        students_fed: u32::try_from(marks.len()).unwrap_or(u32::MAX),
        amount_tiyn: amount(meals, facts.meal_price_tiyn),
        meal_price_tiyn: facts.meal_price_tiyn,
    };
    let adjustments = amends::adjustments(facts, &names, &statuses, month);
    let manual = amends::manual(facts, &names, &statuses, month);
    let payable_tiyn = totals.amount_tiyn + adjustments.as_ref().map_or(0, |a| a.amount_tiyn);
    Tabel {
        school: facts.school.clone(),
        month,
        slots: facts.slots.clone(),
        days: statuses
            .iter()
            .filter(|(d, _)| month.contains(**d))
            .map(|(&d, &status)| calendar::column_of(d, status))
            .collect(),
        rows,
        per_day,
        totals,
        excluded,
        unbilled,
        adjustments,
        manual,
        payable_tiyn,
        generated_at,
        approval: None,
    }
}

/// Why an accepted meal is held out of the amount: its day is not a school day and the
/// director has not confirmed it.
fn off_day(statuses: &Statuses, m: &MealFact) -> Option<DayStatus> {
    if m.status != MealStatus::Accepted || m.confirmed_off_day {
        return None;
    }
    let day = statuses.get(&m.service_day).copied()?;
    (day != DayStatus::SchoolDay).then_some(day)
}

/// What each day of the month is for the school.
type Statuses = BTreeMap<Date, DayStatus>;

/// The month's meals on non-school days awaiting the director, by day then student.
fn unbilled(
    facts: &TabelFacts,
    names: &Names<'_>,
    statuses: &Statuses,
    month: YearMonth,
) -> Vec<UnbilledMeal> {
    // The previous month's late meals on its non-school days are held out too; that month is
    // approved, so they stay out.
    let prev = previous(month);
    let late = facts
        .late_from_previous
        .iter()
        .filter(|m| prev.contains(m.service_day));
    let mut held: Vec<UnbilledMeal> = facts
        .meals
        .iter()
        .filter(|m| month.contains(m.service_day))
        .chain(late)
        .filter_map(|m| {
            off_day(statuses, m).map(|day| UnbilledMeal {
                event_id: m.event_id,
                student: student_of(names, &m.student),
                service_day: m.service_day,
                slot: m.slot.clone(),
                day,
            })
        })
        .collect();
    held.sort_by_cached_key(|u| (u.service_day, sort_key(&u.student), u.event_id));
    held
}

/// Class in school order (grade, then letter), then name, as the school's register sorts
/// them (`domain::collate`: Ә after А, Қ after К, І after И, …).
fn sort_key(s: &TabelStudent) -> (u32, RegisterKey, RegisterKey) {
    collate::class_then_name(&s.class_label, &s.full_name)
}

/// The month before.
pub fn previous(month: YearMonth) -> YearMonth {
    YearMonth::of(
        month
            .first_day()
            .previous_day()
            .unwrap_or(month.first_day()),
    )
}

/// SHA-256 (hex) of the табель's JSON without its approval stamp: what the director signs.
pub fn content_hash(tabel: &Tabel) -> String {
    let unstamped = Tabel {
        approval: None,
        ..tabel.clone()
    };
    let bytes = serde_json::to_vec(&unstamped).unwrap_or_default();
    let digest = ring::digest::digest(&ring::digest::SHA256, &bytes);
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// An approved (frozen) табель as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredApproval {
    pub approved_at: OffsetDateTime,
    pub approved_by: String,
    pub content_hash: String,
    /// The табель's JSON as approved.
    pub body: String,
}

#[cfg(test)]
mod tests;
