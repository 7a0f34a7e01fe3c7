//! Roster, slot and meal-rule cases of [`crate::decide::decide`], on the fixture of the
//! parent module.

use super::*;

#[test]
fn vouchers_off_the_roster_inactive_or_expired_are_refused() {
    let mut world = World::new();
    let mut claims = world.claims();
    claims.voucher_id = VoucherId::new();
    assert_eq!(
        world.denial_at(&world.pass_with(&claims), NOON),
        Denial::NotOnRoster
    );

    world.set_student(|s| s.valid_until = date!(2026 - 09 - 01));
    world.accepted_at(&world.pass(), NOON);
    world.set_student(|s| s.valid_until = date!(2026 - 08 - 31));
    assert_eq!(world.denial_at(&world.pass(), NOON), Denial::NotOnRoster);

    world.set_student(|s| {
        s.valid_until = date!(2027 - 05 - 31);
        s.active = false;
    });
    for scan in [world.pass(), world.card()] {
        match world.decide_at(&scan, NOON) {
            Decision::Deny(r) => {
                assert_eq!(r.reason, Denial::NotOnRoster);
                assert_eq!(r.student.map(|s| s.name), Some("Айгерим С.".to_owned()));
            }
            other => panic!("inactive voucher accepted: {other:?}"),
        }
    }
}

#[test]
fn an_offline_terminal_starts_and_ends_entitlement_by_date() {
    // NOON is 1 September 2026.
    let mut world = World::new();
    world.set_student(|s| s.valid_from = date!(2026 - 09 - 02));
    for scan in [world.pass(), world.card()] {
        assert_eq!(world.denial_at(&scan, NOON), Denial::VoucherNotStarted);
    }
    world.set_student(|s| s.valid_from = date!(2026 - 09 - 01));
    world.accepted_at(&world.pass(), NOON);

    let listed = |first, last| shared::sync::DayRange { first, last };
    world.set_student(|s| {
        s.entitled = Some(vec![listed(date!(2026 - 07 - 01), date!(2026 - 08 - 31))]);
    });
    for scan in [world.pass(), world.card()] {
        assert_eq!(world.denial_at(&scan, NOON), Denial::NotOnList);
    }
    world.set_student(|s| {
        s.entitled = Some(vec![
            listed(date!(2026 - 07 - 01), date!(2026 - 08 - 31)),
            listed(date!(2026 - 09 - 01), date!(2026 - 09 - 30)),
        ]);
    });
    world.accepted_at(&world.card(), NOON);
}

#[test]
fn an_unbound_card_is_unknown() {
    let world = World::new();
    let scan = Scan::Card("FFFFFFFFFF".parse().expect("uid"));
    assert_eq!(world.denial_at(&scan, NOON), Denial::UnknownCard);
}

#[test]
fn slot_edges_in_astana_time() {
    let mut world = World::new();
    world.lunch_slots();
    // 08:00 Astana = 03:00 UTC: the first minute of breakfast.
    let meal = world.accepted_at(&world.card(), datetime!(2026-09-01 03:00 UTC));
    assert_eq!(meal.slot, "breakfast");
    let meal = world.accepted_at(&world.card(), datetime!(2026-09-01 04:59:59 UTC));
    assert_eq!(meal.slot, "breakfast");
    for outside in [
        datetime!(2026-09-01 02:59:59 UTC),
        datetime!(2026-09-01 05:00 UTC),
        datetime!(2026-09-01 09:00 UTC),
    ] {
        assert_eq!(
            world.denial_at(&world.card(), outside),
            Denial::OutsideHours,
            "{outside}"
        );
    }
    let meal = world.accepted_at(&world.pass(), datetime!(2026-09-01 08:59 UTC));
    assert_eq!(meal.slot, "lunch");
}

#[test]
fn one_free_meal_per_day_whatever_the_slot() {
    let mut world = World::new();
    world.lunch_slots();
    let id = world.student.voucher_id;
    let day = date!(2026 - 09 - 01);
    world
        .roster
        .meals
        .borrow_mut()
        .insert((id, day, "breakfast".into()));
    let breakfast = datetime!(2026-09-01 03:30 UTC);
    match world.decide_at(&world.card(), breakfast) {
        Decision::Deny(r) => {
            assert_eq!(r.reason, Denial::AlreadyAte);
            assert_eq!(r.slot.as_deref(), Some("breakfast"));
            assert_eq!(r.student.map(|s| s.voucher_id), Some(id));
        }
        other => panic!("second breakfast: {other:?}"),
    }
    assert_eq!(
        world.denial_at(&world.pass(), breakfast),
        Denial::AlreadyAte
    );
    // Lunch the same day is refused too (the server bills one meal a day), the next day's
    // breakfast is served.
    assert_eq!(
        world.denial_at(&world.card(), datetime!(2026-09-01 07:30 UTC)),
        Denial::AlreadyAte
    );
    world.accepted_at(&world.card(), datetime!(2026-09-02 03:30 UTC));
}

#[test]
fn the_service_day_turns_at_astana_midnight() {
    let world = World::new();
    let id = world.student.voucher_id;
    world
        .roster
        .meals
        .borrow_mut()
        .insert((id, date!(2026 - 09 - 01), "day".into()));
    // 23:59:59 Astana on the 1st: still the 1st, already ate.
    let late = datetime!(2026-09-01 18:59:59 UTC);
    assert_eq!(world.denial_at(&world.card(), late), Denial::AlreadyAte);
    // 00:00 Astana on the 2nd (19:00 UTC on the 1st): a new day.
    let meal = world.accepted_at(&world.card(), datetime!(2026-09-01 19:00 UTC));
    assert_eq!(meal.service_day, date!(2026 - 09 - 02));
}

#[test]
fn lookup_failures_are_errors_not_decisions() {
    let mut world = World::new();
    world.roster.broken = true;
    let ctx = DecisionContext {
        ready: true,
        keys: &world.keys,
        school: SCHOOL.parse().expect("bin"),
        now: NOON,
        leeway: Duration::minutes(2),
        slots: &[],
        roster: &world.roster,
    };
    assert_eq!(decide(&world.card(), &ctx), Err("disk"));
    assert_eq!(decide(&world.pass(), &ctx), Err("disk"));
    // A bad code never reaches the roster, so it is still a plain denial.
    assert!(matches!(
        decide(&Scan::Qr("junk".into()), &ctx),
        Ok(Decision::Deny(_))
    ));
}

#[test]
fn pass_errors_map_to_denials() {
    let kid = "00000000".parse().expect("kid");
    for (error, denial) in [
        (PassError::BadPrefix, Denial::BadCode),
        (PassError::BadEncoding, Denial::BadCode),
        (PassError::BadLength(3), Denial::BadCode),
        (PassError::UnsupportedVersion(2), Denial::BadCode),
        (PassError::UnknownKey(kid), Denial::UnknownKey),
        (PassError::BadSignature, Denial::ForgedCode),
        (PassError::NotYetValid(NOON), Denial::NotYetValid),
        (PassError::Expired(NOON), Denial::ExpiredCode),
    ] {
        assert_eq!(denial_of(&error), denial, "{error:?}");
    }
}

/// The shift rule: a slot of another shift than the child's class is refused, a slot
/// without a shift or a child without one is served, and overlapping slots of two shifts
/// serve each child in their own.
#[test]
fn a_child_eats_in_a_slot_of_their_own_shift() {
    let mut world = World::new();
    let shift = |n| Some(shared::counter::Shift::new(n).expect("shift"));
    let slot = |name: &str, from: u16, to: u16, s| MealSlot {
        name: name.into(),
        start_minute: from * 60,
        end_minute: to * 60,
        shift: s,
    };
    world.slots = vec![
        slot("обед-1", 11, 13, shift(1)),
        slot("обед-2", 12, 15, shift(2)),
    ];
    world.set_student(|s| s.shift = shift(2));
    let at_11_30 = datetime!(2026-09-01 06:30 UTC);
    assert_eq!(world.denial_at(&world.card(), at_11_30), Denial::WrongShift);
    // At noon both slots are open: the second shift's child gets the second shift's slot.
    assert_eq!(world.accepted_at(&world.card(), NOON).slot, "обед-2");
    world.set_student(|s| s.shift = shift(1));
    assert_eq!(world.accepted_at(&world.card(), NOON).slot, "обед-1");
    let at_14 = datetime!(2026-09-01 09:00 UTC);
    assert_eq!(world.denial_at(&world.pass(), at_14), Denial::WrongShift);
    world.set_student(|s| s.shift = None);
    assert_eq!(world.accepted_at(&world.card(), at_14).slot, "обед-2");
    world.slots = vec![slot("обед", 11, 15, None)];
    world.set_student(|s| s.shift = shift(3));
    assert_eq!(world.accepted_at(&world.card(), at_14).slot, "обед");
    assert_eq!(
        world.denial_at(&world.card(), datetime!(2026-09-01 11:00 UTC)),
        Denial::OutsideHours
    );
}

/// An expired pass still says whose it is (the worker tells the child to ask a parent to
/// refresh the code); a meal committed here but never shown is served, not "already ate".
#[test]
fn an_expired_pass_names_the_child_and_an_unshown_meal_is_served() {
    let world = World::new();
    let mut claims = world.claims();
    claims.valid_until = NOON - Duration::minutes(10);
    claims.valid_from = NOON - Duration::hours(1);
    match world.decide_at(&world.pass_with(&claims), NOON) {
        Decision::Deny(r) => {
            assert_eq!(r.reason, Denial::ExpiredCode);
            assert_eq!(r.student.map(|s| s.name), Some("Айгерим С.".to_owned()));
        }
        other => panic!("expired pass: {other:?}"),
    }
    let id = world.student.voucher_id;
    world.roster.unshown.set(true);
    world
        .roster
        .meals
        .borrow_mut()
        .insert((id, service_day(NOON), "day".into()));
    match world.decide_at(&world.card(), NOON) {
        Decision::Unshown { earlier, .. } => assert_eq!(earlier.terminal, None),
        other => panic!("unshown meal: {other:?}"),
    }
    world.roster.unshown.set(false);
    assert_eq!(world.denial_at(&world.card(), NOON), Denial::AlreadyAte);
}
