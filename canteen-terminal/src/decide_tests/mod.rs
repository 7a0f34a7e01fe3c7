//! Case-by-case tests of [`super::decide`]: every denial and both accepts, with the edges
//! of the pass validity window, of meal slots and of the Astana service day. This file has
//! the fixture and the pass checks; [`rules`] the roster, slot and meal-rule checks.

mod rules;

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};

use shared::pass::{PassClaims, PassSigner, PREFIX};
use time::macros::{date, datetime};

use super::*;

const SCHOOL: &str = "990340001230";
/// 12:00 in Astana on a school day.
const NOON: OffsetDateTime = datetime!(2026-09-01 07:00 UTC);
const CARD: &str = "0102ABCDEF";

/// Roster and meals in memory; `broken` makes every lookup fail like a bad disk.
#[derive(Default)]
struct FakeRoster {
    students: HashMap<VoucherId, Student>,
    cards: HashMap<CardUid, VoucherId>,
    meals: RefCell<HashSet<(VoucherId, Date, String)>>,
    /// The recorded meals were committed but never shown (a crash in between), just now.
    unshown: std::cell::Cell<bool>,
    broken: bool,
}

impl Roster for FakeRoster {
    type Error = &'static str;

    fn by_voucher(&self, voucher: VoucherId) -> Result<Option<Student>, Self::Error> {
        if self.broken {
            return Err("disk");
        }
        Ok(self.students.get(&voucher).cloned())
    }

    fn by_card(&self, card: CardUid) -> Result<Option<Student>, Self::Error> {
        if self.broken {
            return Err("disk");
        }
        Ok(self
            .cards
            .get(&card)
            .and_then(|v| self.students.get(v))
            .cloned())
    }

    fn earlier_meal(
        &self,
        voucher: VoucherId,
        day: Date,
    ) -> Result<Option<EarlierMeal>, Self::Error> {
        let mine = self
            .meals
            .borrow()
            .iter()
            .find(|(v, d, _)| *v == voucher && *d == day)
            .map(|(_, _, slot)| slot.clone());
        let unshown = self.unshown.get();
        Ok(mine.map(|slot| EarlierMeal {
            served_at: NOON
                - if unshown {
                    Duration::seconds(12)
                } else {
                    Duration::hours(1)
                },
            slot,
            terminal: None,
            event_id: Some(Uuid::nil()),
            shown: !unshown,
        }))
    }
}

struct World {
    signer: PassSigner,
    keys: KeySet,
    roster: FakeRoster,
    slots: Vec<MealSlot>,
    student: Student,
}

fn student(name: &str) -> Student {
    Student {
        voucher_id: VoucherId::new(),
        name: name.into(),
        class_label: "3А".into(),
        active: true,
        valid_until: date!(2027 - 05 - 31),
        valid_from: time::Date::MIN,
        entitled: None,
        shift: None,
        alert: None,
    }
}

impl World {
    fn new() -> Self {
        let (signer, _) = PassSigner::generate().expect("key");
        let mut keys = KeySet::new();
        keys.insert(signer.public_key());
        let mut roster = FakeRoster::default();
        let student = student("Айгерим С.");
        roster
            .cards
            .insert(CARD.parse().expect("uid"), student.voucher_id);
        roster.students.insert(student.voucher_id, student.clone());
        Self {
            signer,
            keys,
            roster,
            slots: Vec::new(),
            student,
        }
    }

    fn claims(&self) -> PassClaims {
        PassClaims {
            voucher_id: self.student.voucher_id,
            school: SCHOOL.parse().expect("bin"),
            valid_from: datetime!(2026-09-01 03:00 UTC),
            valid_until: datetime!(2026-09-01 19:00 UTC),
            nonce: [0xAB, 1, 2, 3, 4, 5, 6, 0xFF],
        }
    }

    fn pass(&self) -> Scan {
        self.pass_with(&self.claims())
    }

    fn pass_with(&self, claims: &PassClaims) -> Scan {
        Scan::Qr(self.signer.mint(claims).expect("mint"))
    }

    fn card(&self) -> Scan {
        Scan::Card(CARD.parse().expect("uid"))
    }

    fn decide_at(&self, scan: &Scan, now: OffsetDateTime) -> Decision {
        let ctx = DecisionContext {
            ready: true,
            keys: &self.keys,
            school: SCHOOL.parse().expect("bin"),
            now,
            leeway: Duration::minutes(2),
            slots: &self.slots,
            roster: &self.roster,
        };
        decide(scan, &ctx).expect("lookups work")
    }

    fn denial_at(&self, scan: &Scan, now: OffsetDateTime) -> Denial {
        match self.decide_at(scan, now) {
            Decision::Deny(refusal) => refusal.reason,
            other => panic!("accepted {other:?}"),
        }
    }

    fn accepted_at(&self, scan: &Scan, now: OffsetDateTime) -> Meal {
        match self.decide_at(scan, now) {
            Decision::Accept(meal) => meal,
            other => panic!("denied {other:?}"),
        }
    }

    fn set_student(&mut self, change: impl FnOnce(&mut Student)) {
        let entry = self
            .roster
            .students
            .get_mut(&self.student.voucher_id)
            .expect("student");
        change(entry);
    }

    fn lunch_slots(&mut self) {
        self.slots = vec![
            slot("breakfast", 8 * 60, 10 * 60),
            slot("lunch", 12 * 60, 14 * 60),
        ];
    }
}

fn slot(name: &str, start_minute: u16, end_minute: u16) -> MealSlot {
    MealSlot {
        name: name.into(),
        start_minute,
        end_minute,
        shift: None,
    }
}

#[test]
fn accepts_a_valid_pass() {
    let world = World::new();
    let meal = world.accepted_at(&world.pass(), NOON);
    assert_eq!(meal.student, world.student);
    assert_eq!(meal.method, Method::Qr);
    assert_eq!(meal.service_day, date!(2026 - 09 - 01));
    assert_eq!(meal.slot, "day");
    assert_eq!(meal.served_at, NOON);
    assert_eq!(
        meal.pass_nonce.map(|n| n.to_string()).as_deref(),
        Some("ab010203040506ff")
    );
}

#[test]
fn accepts_a_bound_card() {
    let world = World::new();
    let meal = world.accepted_at(&world.card(), NOON);
    assert_eq!(meal.student, world.student);
    assert_eq!(meal.method, Method::Card);
    assert_eq!(meal.pass_nonce, None);
}

#[test]
fn not_ready_before_the_first_sync() {
    let world = World::new();
    for scan in [world.pass(), world.card(), Scan::Qr("junk".into())] {
        let ctx = DecisionContext {
            ready: false,
            keys: &world.keys,
            school: SCHOOL.parse().expect("bin"),
            now: NOON,
            leeway: Duration::minutes(2),
            slots: &[],
            roster: &world.roster,
        };
        match decide(&scan, &ctx).expect("no lookup") {
            Decision::Deny(r) => assert_eq!(r.reason, Denial::NotReady),
            other => panic!("accepted before sync: {other:?}"),
        }
    }
}

#[test]
fn garbage_and_truncated_codes_are_bad_codes() {
    let world = World::new();
    let Scan::Qr(text) = world.pass() else {
        unreachable!()
    };
    let truncated = text[..text.len() - 3].to_owned();
    let cut_short = text[..40].to_owned();
    for garbage in [
        "hello world".to_owned(),
        String::new(),
        "SW1:".to_owned(),
        "SW1:!!!!".to_owned(),
        format!("SW2:{}", &text[PREFIX.len()..]),
        truncated,
        cut_short,
        format!("{text}00"),
    ] {
        let denial = world.denial_at(&Scan::Qr(garbage.clone()), NOON);
        assert_eq!(denial, Denial::BadCode, "{garbage:?}");
    }
}

#[test]
fn a_tampered_pass_is_forged() {
    let world = World::new();
    let Scan::Qr(text) = world.pass() else {
        unreachable!()
    };
    let mut blob = base45::decode(&text[PREFIX.len()..]).expect("base45");
    // Push the end of the validity window a day later, keeping the old signature.
    blob[30] = blob[30].wrapping_add(1);
    let tampered = format!("{PREFIX}{}", base45::encode(&blob));
    assert_eq!(
        world.denial_at(&Scan::Qr(tampered), NOON),
        Denial::ForgedCode
    );
    let mut blob = base45::decode(&text[PREFIX.len()..]).expect("base45");
    let last = blob.len() - 1;
    blob[last] ^= 0x01;
    let bad_sig = format!("{PREFIX}{}", base45::encode(&blob));
    assert_eq!(
        world.denial_at(&Scan::Qr(bad_sig), NOON),
        Denial::ForgedCode
    );
}

#[test]
fn a_pass_of_an_unknown_key_is_refused() {
    let world = World::new();
    let (stranger, _) = PassSigner::generate().expect("key");
    let text = stranger.mint(&world.claims()).expect("mint");
    assert_eq!(world.denial_at(&Scan::Qr(text), NOON), Denial::UnknownKey);
}

#[test]
fn validity_window_edges_with_two_minutes_leeway() {
    let world = World::new();
    let claims = world.claims();
    let pass = world.pass();
    let leeway = Duration::minutes(2);
    let from = claims.valid_from;
    let until = claims.valid_until;
    world.accepted_at(&pass, from - leeway);
    assert_eq!(
        world.denial_at(&pass, from - leeway - Duration::SECOND),
        Denial::NotYetValid
    );
    world.accepted_at(&pass, until + leeway - Duration::SECOND);
    assert_eq!(world.denial_at(&pass, until + leeway), Denial::ExpiredCode);
    assert_eq!(
        world.denial_at(&pass, until + Duration::days(3)),
        Denial::ExpiredCode
    );
}

#[test]
fn a_pass_of_another_school_is_refused() {
    let world = World::new();
    let mut claims = world.claims();
    claims.school = "000000000000".parse().expect("bin");
    assert_eq!(
        world.denial_at(&world.pass_with(&claims), NOON),
        Denial::OtherSchool
    );
}
