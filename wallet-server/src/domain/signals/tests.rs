//! The rules on fixed facts (a fixed day, fixed instants): each kind fires on what it
//! describes and stays silent just below its threshold.

use shared::sync::MealSlot;
use shared::Bin;
use time::macros::{date, datetime};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::rules::usual_share;
use super::*;

const NOON: OffsetDateTime = datetime!(2026-11-24 07:00 UTC); // 12:00 Astana

fn school() -> Bin {
    Bin::generate(&[0, 5, 0, 1, 4, 0, 0, 0, 1, 2, 3]).expect("bin")
}

fn other_school() -> Bin {
    Bin::generate(&[0, 7, 0, 2, 4, 0, 0, 0, 4, 5, 6]).expect("bin")
}

fn facts(scans: Vec<Scan>) -> DayFacts {
    DayFacts {
        school: school(),
        day: date!(2026 - 11 - 24),
        school_day: true,
        slots: vec![MealSlot {
            name: "обед".into(),
            start_minute: 11 * 60,
            end_minute: 14 * 60,
            shift: None,
        }],
        scans,
        manual_today: ManualCount::default(),
        manual_before: Vec::new(),
        mints: Vec::new(),
    }
}

fn terminal(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

fn meal(at: OffsetDateTime, t: u128, voucher: u128, method: &str) -> Scan {
    Scan {
        at,
        terminal: terminal(t),
        terminal_name: format!("Касса {t}"),
        terminal_school: school(),
        voucher: Some(Uuid::from_u128(voucher)),
        nonce: (method == "qr").then(|| format!("{voucher:016x}")),
        card: None,
        method: method.into(),
        outcome: Outcome::Meal("accepted".into()),
    }
}

fn denial(at: OffsetDateTime, t: u128) -> Scan {
    Scan {
        voucher: None,
        nonce: None,
        card: Some("0A1B2C3D4E".into()),
        method: "card".into(),
        outcome: Outcome::Denied("unknown_card".into()),
        ..meal(at, t, 0, "card")
    }
}

fn kinds(f: &DayFacts) -> Vec<SignalKind> {
    detect(f, &THRESHOLDS).iter().map(|s| s.kind).collect()
}

#[test]
fn one_pass_at_two_terminals_within_a_minute_is_a_signal_with_both_scans() {
    let f = facts(vec![
        meal(NOON, 1, 7, "qr"),
        meal(NOON + Duration::seconds(40), 2, 7, "qr"),
    ]);
    let found = detect(&f, &THRESHOLDS);
    assert_eq!(found.len(), 1);
    let s = &found[0];
    assert_eq!(s.kind, SignalKind::PassAtTwoPlaces);
    assert_eq!(s.subject, "…00000007");
    let terminals: Vec<_> = s.evidence.iter().map(|e| e.terminal.clone()).collect();
    assert_eq!(
        terminals,
        [Some("Касса 1".to_string()), Some("Касса 2".to_string())]
    );
    assert_eq!(s.evidence[0].at, Some(NOON));
}

#[test]
fn the_same_pass_twice_at_one_terminal_is_no_signal() {
    let f = facts(vec![
        meal(NOON, 1, 7, "qr"),
        meal(NOON + Duration::seconds(5), 1, 7, "qr"),
    ]);
    assert!(kinds(&f).is_empty());
}

#[test]
fn a_pass_shown_at_another_school_names_no_terminal_of_it() {
    let mut elsewhere = meal(NOON, 9, 7, "qr");
    elsewhere.terminal_school = other_school();
    elsewhere.outcome = Outcome::Denied("wrong_school".into());
    let f = facts(vec![
        meal(NOON + Duration::minutes(3), 1, 7, "qr"),
        elsewhere,
    ]);
    let found = detect(&f, &THRESHOLDS);
    assert_eq!(found[0].kind, SignalKind::PassAtTwoPlaces);
    assert_eq!(found[0].evidence[0].terminal, None);
    assert_eq!(
        found[0].evidence[0].note,
        "denied:wrong_school:qr:other_school"
    );
}

#[test]
fn a_pass_and_a_card_of_one_child_within_minutes_is_a_signal() {
    let near = facts(vec![
        meal(NOON, 1, 7, "qr"),
        meal(NOON + Duration::minutes(3), 1, 7, "card"),
    ]);
    assert_eq!(kinds(&near), [SignalKind::PassAndCard]);
    let far = facts(vec![
        meal(NOON, 1, 7, "qr"),
        meal(NOON + Duration::minutes(10), 1, 7, "card"),
    ]);
    assert!(kinds(&far).is_empty(), "10 minutes apart is not 'within'");
}

#[test]
fn a_burst_of_denials_at_one_terminal_is_counted_in_a_sliding_window() {
    let burst: Vec<Scan> = (0..8)
        .map(|i| denial(NOON + Duration::seconds(30 * i), 1))
        .collect();
    let found = detect(&facts(burst.clone()), &THRESHOLDS);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].kind, SignalKind::DenialBurst);
    assert_eq!(found[0].subject, "Касса 1");
    assert_eq!(found[0].evidence.len(), 8);
    assert_eq!(found[0].evidence[0].id.as_deref(), Some("…1B2C3D4E"));
    // Seven within five minutes, spread over two terminals or over an hour: nothing.
    assert!(kinds(&facts(burst[..7].to_vec())).is_empty());
    let spread: Vec<Scan> = (0..8)
        .map(|i| denial(NOON + Duration::minutes(10 * i), 1))
        .collect();
    assert!(kinds(&facts(spread)).is_empty());
}

#[test]
fn meals_outside_the_slots_or_on_a_day_off_are_listed() {
    let evening = NOON + Duration::hours(5); // 17:00 Astana, after the 11–14 slot
    let f = facts(vec![meal(NOON, 1, 7, "card"), meal(evening, 1, 8, "card")]);
    let found = detect(&f, &THRESHOLDS);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].subject, "outside_slots");
    assert_eq!(found[0].evidence.len(), 1);
    assert_eq!(found[0].evidence[0].at, Some(evening));
    let mut holiday = facts(vec![meal(NOON, 1, 7, "card")]);
    holiday.school_day = false;
    let found = detect(&holiday, &THRESHOLDS);
    assert_eq!(found[0].subject, "non_school_day");
}

fn count(manual: u32, total: u32) -> ManualCount {
    ManualCount { manual, total }
}

#[test]
fn the_usual_manual_share_weights_days_by_meals_and_skips_quiet_days() {
    let before = [count(2, 100), count(6, 100), count(5, 5)];
    assert_eq!(usual_share(&before, &THRESHOLDS), Some(4.0));
    assert_eq!(usual_share(&[count(1, 3)], &THRESHOLDS), None);
    // Only the trailing window counts.
    let long: Vec<_> = (0..THRESHOLDS.manual_trailing_days)
        .map(|_| count(0, 100))
        .chain([count(100, 100)])
        .collect();
    assert_eq!(usual_share(&long, &THRESHOLDS), Some(0.0));
}

#[test]
fn a_manual_share_far_above_the_usual_is_a_signal_and_near_it_is_not() {
    let mut f = facts(Vec::new());
    f.manual_before = vec![count(4, 100); 10]; // usual 4 %
    f.manual_today = count(20, 100); // 20 %: 5× and 16 points above
    let found = detect(&f, &THRESHOLDS);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].kind, SignalKind::ManualShare);
    assert_eq!(
        found[0].evidence[0].note,
        "manual 20 of 100 (20.0%), usual 4.0%"
    );
    f.manual_today = count(11, 100); // 11 %: under 3× the usual
    assert!(kinds(&f).is_empty());
    f.manual_before = vec![count(0, 100); 10];
    f.manual_today = count(9, 100); // 9 points above zero: under the 10-point excess
    assert!(kinds(&f).is_empty());
    f.manual_today = count(5, 10); // half of a quiet day says nothing
    assert!(kinds(&f).is_empty());
}

#[test]
fn a_new_school_is_compared_with_zero_manual_meals() {
    let mut f = facts(Vec::new());
    f.manual_today = count(15, 50);
    assert_eq!(kinds(&f), [SignalKind::ManualShare]);
}

#[test]
fn one_parent_minting_for_many_children_within_minutes_is_a_signal() {
    let mint = |n: u128, minutes: i64| Mint {
        parent: "p1a2b3c4d5e6f7a8".into(),
        voucher: Uuid::from_u128(n),
        first_at: NOON + Duration::minutes(minutes),
    };
    let mut f = facts(Vec::new());
    f.mints = vec![mint(1, 0), mint(2, 2), mint(3, 4), mint(4, 9)];
    let found = detect(&f, &THRESHOLDS);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].kind, SignalKind::MintBurst);
    assert_eq!(found[0].evidence.len(), 4);
    f.mints[3].first_at = NOON + Duration::minutes(10);
    assert!(kinds(&f).is_empty(), "the fourth child 10 minutes later");
}

#[test]
fn ids_are_masked_to_their_last_eight_characters() {
    assert_eq!(mask("0190a0b1-c2d3-7e4f-8a9b-0c1d2e3f4a5b"), "…2e3f4a5b");
    assert_eq!(mask("abc"), "…abc");
}
