//! Today's progress at the counter (issue 19): served and expected meals per slot and per
//! class, for the whole school, as the terminals and the console's Today page show it.
//!
//! Each expected student is counted once a day (one free meal per day), in the first slot
//! that serves their class's shift (a class without a shift: the first slot for every shift,
//! else the first slot). Served counts the day's counted meals.

use std::collections::BTreeMap;

use shared::counter::{Progress, ProgressCount, Shift};
use shared::sync::MealSlot;
use time::Date;

use crate::domain::collate;

/// A student expected today: class and its shift.
pub struct Expected<'a> {
    pub class_label: &'a str,
    pub shift: Option<Shift>,
}

/// A counted meal today: the student's class and the slot.
pub struct Served<'a> {
    pub class_label: &'a str,
    pub slot: &'a str,
}

/// The slot an expected student is counted in.
fn slot_of(slots: &[MealSlot], shift: Option<Shift>) -> Option<usize> {
    let serves = |s: &MealSlot| match shift {
        Some(c) => s.shift.is_none_or(|slot| slot == c),
        None => s.shift.is_none(),
    };
    slots
        .iter()
        .position(serves)
        .or(if slots.is_empty() { None } else { Some(0) })
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// The progress of `day` over the school's effective `slots`.
pub fn progress(
    day: Date,
    slots: &[MealSlot],
    expected: &[Expected<'_>],
    served: &[Served<'_>],
) -> Progress {
    let mut per_slot: Vec<(usize, usize)> = vec![(0, 0); slots.len()];
    let mut per_class: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for e in expected {
        if let Some(i) = slot_of(slots, e.shift) {
            per_slot[i].1 += 1;
        }
        per_class.entry(e.class_label).or_default().1 += 1;
    }
    for m in served {
        if let Some(i) = slots.iter().position(|s| s.name == m.slot) {
            per_slot[i].0 += 1;
        }
        per_class.entry(m.class_label).or_default().0 += 1;
    }
    let mut classes: Vec<ProgressCount> = per_class
        .into_iter()
        .map(|(label, (s, e))| ProgressCount {
            label: label.to_string(),
            served: count(s),
            expected: count(e),
        })
        .collect();
    classes.sort_by_cached_key(|c| collate::class_then_name(&c.label, ""));
    Progress {
        service_day: day,
        slots: slots
            .iter()
            .zip(per_slot)
            .map(|(slot, (s, e))| ProgressCount {
                label: slot.name.clone(),
                served: count(s),
                expected: count(e),
            })
            .collect(),
        classes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn slot(name: &str, start: u16, shift: Option<u8>) -> MealSlot {
        MealSlot {
            name: name.into(),
            start_minute: start,
            end_minute: start + 60,
            shift: shift.and_then(|n| Shift::new(n).ok()),
        }
    }

    #[test]
    fn each_student_is_expected_once_in_their_shifts_slot() {
        let slots = [slot("breakfast", 480, Some(1)), slot("lunch", 780, Some(2))];
        let second = Shift::new(2).ok();
        let expected = [
            Expected {
                class_label: "1А",
                shift: Shift::new(1).ok(),
            },
            Expected {
                class_label: "10Б",
                shift: second,
            },
            Expected {
                class_label: "10Б",
                shift: second,
            },
            Expected {
                class_label: "2В",
                shift: None,
            },
        ];
        let served = [
            Served {
                class_label: "10Б",
                slot: "lunch",
            },
            Served {
                class_label: "1А",
                slot: "breakfast",
            },
        ];
        let p = progress(date!(2026 - 11 - 24), &slots, &expected, &served);
        let pairs = |c: &[ProgressCount]| -> Vec<(String, u32, u32)> {
            c.iter()
                .map(|c| (c.label.clone(), c.served, c.expected))
                .collect()
        };
        assert_eq!(
            pairs(&p.slots),
            vec![("breakfast".into(), 1, 2), ("lunch".into(), 1, 2)]
        );
        assert_eq!(
            pairs(&p.classes),
            vec![
                ("1А".into(), 1, 1),
                ("2В".into(), 0, 1),
                ("10Б".into(), 1, 2)
            ]
        );
    }
}
