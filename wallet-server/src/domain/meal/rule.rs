//! The rules a meal pushed by a terminal must satisfy to be billable.
//!
//! The terminal already decided at the counter; the server re-checks what it can, because
//! money is paid on these numbers. Rejected meals are kept (and listed for review), never
//! billed. The meal rule itself — one billable meal per student, slot and day — is held by
//! the store's unique index, so it holds across terminals and concurrent pushes.

use shared::sync::{slot_at, MealEvent, MealSlot};
use shared::time::{service_day, ASTANA};
use time::{Duration, OffsetDateTime};

use super::VoucherFacts;
use crate::domain::entitlement;
use crate::domain::programme_dates::ProgrammeDates;
use crate::domain::voucher::VoucherState;

/// How far ahead of the server's clock a meal may be stamped (terminal clocks drift).
pub const MAX_CLOCK_AHEAD: Duration = Duration::minutes(10);

/// The slots that apply to a school: its own, or one slot covering the day.
pub fn effective_slots(configured: &[MealSlot]) -> Vec<MealSlot> {
    if configured.is_empty() {
        vec![MealSlot::whole_day()]
    } else {
        configured.to_vec()
    }
}

fn minute_of_day(t: OffsetDateTime) -> u16 {
    let local = t.to_offset(ASTANA);
    u16::from(local.hour()) * 60 + u16::from(local.minute())
}

/// Whether the voucher was usable at the moment the meal was served.
fn active_at(facts: &VoucherFacts, served_at: OffsetDateTime) -> bool {
    let day = service_day(served_at);
    if day < facts.valid_from || day > facts.valid_until {
        return false;
    }
    let activated = facts.activated_at.is_some_and(|a| a <= served_at);
    match facts.state {
        VoucherState::Activated => activated,
        // Served before the revocation or expiry took effect: still a valid meal.
        VoucherState::Revoked | VoucherState::Expired => activated && served_at < facts.updated_at,
        VoucherState::Formed => false,
    }
}

/// A slot of one shift serving a student whose class studies in another (either unset: any).
fn wrong_shift(slot: &MealSlot, facts: &VoucherFacts) -> bool {
    matches!((slot.shift, facts.shift), (Some(s), Some(c)) if s != c)
}

/// The reason a meal is rejected, or `None` when it may be counted. `terminal_school` is
/// the school of the pushing terminal; `programme` the programme's dates, which the caller
/// brings (the store knows nothing of them).
pub fn judge(
    terminal_school: shared::Bin,
    programme: &ProgrammeDates,
    now: OffsetDateTime,
    event: &MealEvent,
    facts: Option<&VoucherFacts>,
    slots: &[MealSlot],
) -> Option<String> {
    let reason = |r: &str| Some(r.to_string());
    if event.method == shared::sync::Method::Manual && event.manual_reason.is_none() {
        return reason("manual_without_reason");
    }
    let Some(facts) = facts else {
        return reason("unknown_voucher");
    };
    if facts.school != terminal_school {
        return reason("other_school");
    }
    if event.served_at > now + MAX_CLOCK_AHEAD {
        return reason("served_in_the_future");
    }
    if service_day(event.served_at) != event.service_day {
        return reason("wrong_service_day");
    }
    // Nothing is billed outside the programme, whatever the lists and vouchers say.
    if !programme.contains(event.service_day) {
        return reason("outside_programme");
    }
    let slots = effective_slots(slots);
    match slot_at(&slots, minute_of_day(event.served_at)) {
        Some(slot) if event.slot == slot.name.as_str() => {
            if wrong_shift(slot, facts) {
                return reason("wrong_shift");
            }
        }
        Some(_) => return reason("wrong_slot"),
        None => return reason("outside_hours"),
    }
    if !active_at(facts, event.served_at) {
        return reason("voucher_inactive");
    }
    if !entitlement::covers(&facts.entitled, event.service_day) {
        return reason("not_on_list");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::sync::Method;
    use shared::VoucherId;
    use time::macros::{date, datetime};
    use uuid::Uuid;

    fn school() -> shared::Bin {
        "050140001238".parse().expect("bin")
    }

    fn facts(state: VoucherState) -> VoucherFacts {
        VoucherFacts {
            school: school(),
            student: "041206500121".parse().expect("iin"),
            state,
            activated_at: Some(datetime!(2026-09-01 03:00 UTC)),
            updated_at: datetime!(2026-11-20 05:00 UTC),
            valid_from: date!(2026 - 09 - 01),
            valid_until: date!(2027 - 05 - 31),
            entitled: vec![shared::sync::DayRange {
                first: date!(2026 - 11 - 01),
                last: date!(2026 - 12 - 10),
            }],
            shift: None,
        }
    }

    fn event(served_at: OffsetDateTime, slot: &str) -> MealEvent {
        MealEvent {
            event_id: Uuid::now_v7(),
            voucher_id: VoucherId::new(),
            slot: slot.parse().expect("slot"),
            service_day: service_day(served_at),
            served_at,
            method: Method::Qr,
            pass_nonce: None,
            manual_reason: None,
            worker: None,
        }
    }

    const NOW: OffsetDateTime = datetime!(2026-11-24 18:00 UTC);

    fn pilot() -> ProgrammeDates {
        ProgrammeDates::pilot_2026()
    }

    #[test]
    fn a_good_meal_passes_and_each_rule_has_its_reason() {
        let lunch = datetime!(2026-11-24 07:00 UTC); // 12:00 in Astana
        let active = facts(VoucherState::Activated);
        let ok = |e: &MealEvent, f: Option<&VoucherFacts>, s: &[MealSlot]| {
            judge(school(), &pilot(), NOW, e, f, s)
        };
        assert_eq!(ok(&event(lunch, "day"), Some(&active), &[]), None);
        assert_eq!(
            ok(&event(lunch, "day"), None, &[]).as_deref(),
            Some("unknown_voucher")
        );
        let mut other = active.clone();
        other.school = "070240004567".parse().expect("bin");
        assert_eq!(
            ok(&event(lunch, "day"), Some(&other), &[]).as_deref(),
            Some("other_school")
        );
        let future = NOW + Duration::hours(1);
        assert_eq!(
            ok(&event(future, "day"), Some(&active), &[]).as_deref(),
            Some("served_in_the_future")
        );
        let mut wrong_day = event(lunch, "day");
        wrong_day.service_day = date!(2026 - 11 - 23);
        assert_eq!(
            ok(&wrong_day, Some(&active), &[]).as_deref(),
            Some("wrong_service_day")
        );
        assert_eq!(
            ok(
                &event(lunch, "day"),
                Some(&facts(VoucherState::Formed)),
                &[]
            )
            .as_deref(),
            Some("voucher_inactive")
        );
    }

    #[test]
    fn a_meal_on_a_day_off_the_months_list_is_not_billed() {
        let active = facts(VoucherState::Activated); // listed 1 November – 10 December
        let last_listed = datetime!(2026-12-10 07:00 UTC);
        let first_unlisted = datetime!(2026-12-11 07:00 UTC);
        let now = datetime!(2026-12-11 18:00 UTC);
        assert_eq!(
            judge(
                school(),
                &pilot(),
                now,
                &event(last_listed, "day"),
                Some(&active),
                &[]
            ),
            None
        );
        assert_eq!(
            judge(
                school(),
                &pilot(),
                now,
                &event(first_unlisted, "day"),
                Some(&active),
                &[]
            )
            .as_deref(),
            Some("not_on_list")
        );
        let mut never_listed = active.clone();
        never_listed.entitled.clear();
        assert_eq!(
            judge(
                school(),
                &pilot(),
                now,
                &event(last_listed, "day"),
                Some(&never_listed),
                &[]
            )
            .as_deref(),
            Some("not_on_list")
        );
    }

    #[test]
    fn a_meal_on_a_day_outside_the_programme_is_not_billed() {
        let active = facts(VoucherState::Activated); // listed 1 November – 10 December
        let lunch = datetime!(2026-11-24 07:00 UTC);
        let ends_the_day_before =
            ProgrammeDates::new(date!(2026 - 02 - 21), date!(2026 - 11 - 23)).expect("dates");
        let starts_the_day_after =
            ProgrammeDates::new(date!(2026 - 11 - 25), date!(2027 - 11 - 24)).expect("dates");
        let just_that_day =
            ProgrammeDates::new(date!(2026 - 11 - 24), date!(2026 - 11 - 24)).expect("dates");
        let meal = event(lunch, "day");
        for outside in [ends_the_day_before, starts_the_day_after] {
            assert_eq!(
                judge(school(), &outside, NOW, &meal, Some(&active), &[]).as_deref(),
                Some("outside_programme")
            );
        }
        assert_eq!(
            judge(school(), &just_that_day, NOW, &meal, Some(&active), &[]),
            None
        );
        // Outside the programme wins over the list: the day is not billed either way.
        let mut never_listed = active.clone();
        never_listed.entitled.clear();
        assert_eq!(
            judge(
                school(),
                &ends_the_day_before,
                NOW,
                &meal,
                Some(&never_listed),
                &[]
            )
            .as_deref(),
            Some("outside_programme")
        );
    }

    #[test]
    fn configured_slots_decide_the_slot_and_the_hours() {
        let slots = vec![
            MealSlot {
                name: "breakfast".into(),
                start_minute: 8 * 60,
                end_minute: 10 * 60,
                shift: None,
            },
            MealSlot {
                name: "lunch".into(),
                start_minute: 12 * 60,
                end_minute: 14 * 60,
                shift: None,
            },
        ];
        let active = facts(VoucherState::Activated);
        let at = |h: i64, m: i64| {
            datetime!(2026-11-24 00:00 UTC) + Duration::hours(h - 5) + Duration::minutes(m)
        };
        assert_eq!(
            judge(
                school(),
                &pilot(),
                NOW,
                &event(at(8, 30), "breakfast"),
                Some(&active),
                &slots
            ),
            None
        );
        assert_eq!(
            judge(
                school(),
                &pilot(),
                NOW,
                &event(at(8, 30), "lunch"),
                Some(&active),
                &slots
            )
            .as_deref(),
            Some("wrong_slot")
        );
        assert_eq!(
            judge(
                school(),
                &pilot(),
                NOW,
                &event(at(11, 0), "lunch"),
                Some(&active),
                &slots
            )
            .as_deref(),
            Some("outside_hours")
        );
        assert_eq!(
            judge(
                school(),
                &pilot(),
                NOW,
                &event(at(14, 0), "lunch"),
                Some(&active),
                &slots
            )
            .as_deref(),
            Some("outside_hours")
        );
    }

    #[test]
    fn a_meal_served_before_a_revocation_still_counts() {
        let revoked = facts(VoucherState::Revoked); // revoked 2026-11-20 05:00 UTC
        let before = datetime!(2026-11-20 04:00 UTC);
        let after = datetime!(2026-11-20 06:00 UTC);
        assert_eq!(
            judge(
                school(),
                &pilot(),
                NOW,
                &event(before, "day"),
                Some(&revoked),
                &[]
            ),
            None
        );
        assert_eq!(
            judge(
                school(),
                &pilot(),
                NOW,
                &event(after, "day"),
                Some(&revoked),
                &[]
            )
            .as_deref(),
            Some("voucher_inactive")
        );
        let before_activation = datetime!(2026-09-01 02:00 UTC);
        let active = facts(VoucherState::Activated);
        assert_eq!(
            judge(
                school(),
                &pilot(),
                NOW,
                &event(before_activation, "day"),
                Some(&active),
                &[]
            )
            .as_deref(),
            Some("voucher_inactive")
        );
    }

    #[test]
    fn a_slot_of_another_shift_is_refused_and_a_manual_meal_needs_its_reason() {
        let shift = |n| shared::counter::Shift::new(n).ok();
        let slots = vec![
            MealSlot {
                name: "breakfast".into(),
                start_minute: 8 * 60,
                end_minute: 10 * 60,
                shift: shift(1),
            },
            MealSlot {
                name: "lunch".into(),
                start_minute: 13 * 60,
                end_minute: 15 * 60,
                shift: None,
            },
        ];
        let mut second = facts(VoucherState::Activated);
        second.shift = shift(2);
        let breakfast = datetime!(2026-11-24 03:30 UTC); // 08:30 in Astana
        let lunch = datetime!(2026-11-24 08:30 UTC);
        let rule =
            |e: &MealEvent, f: &VoucherFacts| judge(school(), &pilot(), NOW, e, Some(f), &slots);
        assert_eq!(
            rule(&event(breakfast, "breakfast"), &second).as_deref(),
            Some("wrong_shift")
        );
        // A slot for every shift, or a class without a shift, eats anywhere.
        assert_eq!(rule(&event(lunch, "lunch"), &second), None);
        assert_eq!(
            rule(
                &event(breakfast, "breakfast"),
                &facts(VoucherState::Activated)
            ),
            None
        );
        let mut manual = event(lunch, "lunch");
        manual.method = Method::Manual;
        assert_eq!(
            rule(&manual, &second).as_deref(),
            Some("manual_without_reason")
        );
        manual.manual_reason = "забыл карту".parse().ok();
        assert_eq!(rule(&manual, &second), None);
    }
}
