//! The табель's lists beyond the grid that correct or explain it: the month's counted manual
//! meals (issue 19), and the previous month's adjustments — its late meals added and its
//! meals voided after its approval taken off.

use super::{
    amount, off_day, previous, sort_key, student_of, Adjustments, LateMeal, ManualMeal, MealFact,
    Names, Statuses, TabelFacts,
};
use crate::domain::meal::MealStatus;
use shared::time::YearMonth;

/// The month's counted manual meals (those the amount includes), by day then student.
pub(super) fn manual(
    facts: &TabelFacts,
    names: &Names<'_>,
    statuses: &Statuses,
    month: YearMonth,
) -> Vec<ManualMeal> {
    let mut out: Vec<ManualMeal> = facts
        .meals
        .iter()
        .filter(|m| {
            m.status == MealStatus::Accepted
                && month.contains(m.service_day)
                && off_day(statuses, m).is_none()
        })
        .filter_map(|m| {
            let (reason, worker) = m.manual.clone()?;
            Some(ManualMeal {
                student: student_of(names, &m.student),
                service_day: m.service_day,
                slot: m.slot.clone(),
                reason,
                worker,
            })
        })
        .collect();
    out.sort_by_cached_key(|r| (r.service_day, sort_key(&r.student)));
    out
}

fn late_row(names: &Names<'_>, m: &MealFact, voided: Option<String>) -> LateMeal {
    LateMeal {
        student: student_of(names, &m.student),
        service_day: m.service_day,
        slot: m.slot.clone(),
        received_at: m.received_at,
        voided,
    }
}

pub(super) fn adjustments(
    facts: &TabelFacts,
    names: &Names<'_>,
    statuses: &Statuses,
    month: YearMonth,
) -> Option<Adjustments> {
    let late: Vec<LateMeal> = facts
        .late_from_previous
        .iter()
        .filter(|m| off_day(statuses, m).is_none())
        .map(|m| late_row(names, m, None))
        .collect();
    // A voided meal was counted in the approved month unless its day was off and unconfirmed.
    let counted = |m: &&MealFact| {
        let as_counted = MealFact {
            status: MealStatus::Accepted,
            ..(*m).clone()
        };
        off_day(statuses, &as_counted).is_none()
    };
    let voided: Vec<LateMeal> = facts
        .voided_from_previous
        .iter()
        .filter(counted)
        .map(|m| late_row(names, m, Some(m.reason.clone().unwrap_or_default())))
        .collect();
    if late.is_empty() && voided.is_empty() {
        return None;
    }
    let meals = u32::try_from(late.len()).unwrap_or(u32::MAX);
    let taken = u32::try_from(voided.len()).unwrap_or(u32::MAX);
    let mut rows: Vec<LateMeal> = late.into_iter().chain(voided).collect();
    rows.sort_by_cached_key(|r| (r.service_day, sort_key(&r.student), r.voided.is_some()));
    Some(Adjustments {
        month: previous(month),
        meals,
        voided: taken,
        amount_tiyn: amount(meals, facts.meal_price_tiyn) - amount(taken, facts.meal_price_tiyn),
        rows,
    })
}
