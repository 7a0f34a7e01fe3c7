//! The decision for one scan, as a pure function (DESIGN §2 canteen-terminal `decide`).
//!
//! [`decide`] takes what was scanned and a [`DecisionContext`] — the trusted keys, the
//! school, the corrected time, the meal slots and a [`Roster`] to look students up — and says
//! accept or deny with a typed [`Denial`]. It reads no clock, no file and no network, so every
//! rule is unit-tested case by case without SQLite. Recording an accepted meal is the
//! caller's job (and may still turn into [`Denial::AlreadyAte`] if two scans race).

use shared::pass::{self, KeySet, PassError};
use shared::sync::{slot_at, DayRange, MealSlot, Method};
use shared::time::{service_day, ASTANA};
use shared::{Bin, CardUid, PassNonce, VoucherId};
use time::{Date, Duration, OffsetDateTime};

use crate::reason::Denial;
use crate::scanner::Scan;

/// A student as the terminal's roster knows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Student {
    pub voucher_id: VoucherId,
    /// Name as shown on screen.
    pub name: String,
    pub class_label: String,
    /// `false`: not activated, revoked or expired on the server.
    pub active: bool,
    /// First service day the voucher is valid (Astana date; `Date::MIN`: no bound).
    pub valid_from: Date,
    /// Last service day the voucher is valid (Astana date).
    pub valid_until: Date,
    /// The days the student is on the school's monthly lists; `None`: the server sent no
    /// list facts, the validity alone decides.
    pub entitled: Option<Vec<DayRange>>,
}

impl Student {
    /// Whether the student may eat on `day`, or why not. Decided by date, so a terminal
    /// offline for weeks starts and ends entitlements on their days without a pull.
    pub fn may_eat_on(&self, day: Date) -> Result<(), Denial> {
        if !self.active || day > self.valid_until {
            return Err(Denial::NotOnRoster);
        }
        if day < self.valid_from {
            return Err(Denial::VoucherNotStarted);
        }
        match &self.entitled {
            Some(ranges) if !ranges.iter().any(|r| r.contains(day)) => Err(Denial::NotOnList),
            _ => Ok(()),
        }
    }
}

/// Where the decision looks students and earlier meals up (SQLite in the terminal, maps in
/// tests). Lookups may fail (a disk error); the decision then fails too.
pub trait Roster {
    type Error;

    /// The roster entry of a voucher.
    fn by_voucher(&self, voucher: VoucherId) -> Result<Option<Student>, Self::Error>;

    /// The roster entry of the student a card is bound to.
    fn by_card(&self, card: CardUid) -> Result<Option<Student>, Self::Error>;

    /// Whether a meal of this voucher is already recorded for that day and slot.
    fn already_ate(&self, voucher: VoucherId, day: Date, slot: &str) -> Result<bool, Self::Error>;
}

/// Everything a decision depends on besides the scan.
#[derive(Debug)]
pub struct DecisionContext<'a, R> {
    /// `false` until the terminal has pulled a roster and keys at least once.
    pub ready: bool,
    pub keys: &'a KeySet,
    /// The school this terminal serves.
    pub school: Bin,
    /// The terminal's clock corrected by the last known offset to the server's.
    pub now: OffsetDateTime,
    /// Clock difference forgiven at both ends of a pass's validity window.
    pub leeway: Duration,
    /// Meal slots; empty means one slot for the whole day.
    pub slots: &'a [MealSlot],
    pub roster: &'a R,
}

/// A meal to record: the student may eat now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Meal {
    pub student: Student,
    pub method: Method,
    pub service_day: Date,
    pub slot: String,
    /// The corrected time of the scan.
    pub served_at: OffsetDateTime,
    /// The pass nonce when a pass was scanned.
    pub pass_nonce: Option<PassNonce>,
}

/// A refusal, with the student when they are known (the worker sees who was refused).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub reason: Denial,
    pub method: Method,
    pub student: Option<Student>,
    /// The slot the scan fell in, when it got that far.
    pub slot: Option<String>,
}

/// The outcome of one scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Accept(Meal),
    Deny(Refusal),
}

impl Decision {
    fn deny(reason: Denial, method: Method, student: Option<Student>) -> Self {
        Decision::Deny(Refusal {
            reason,
            method,
            student,
            slot: None,
        })
    }
}

/// How a scan was made.
pub fn method_of(scan: &Scan) -> Method {
    match scan {
        Scan::Qr(_) => Method::Qr,
        Scan::Card(_) => Method::Card,
    }
}

/// Decides one scan. Checks, in order: the terminal is ready; the pass (format, key,
/// signature, validity window with leeway, school) or the card (bound to a student); the
/// student is on the roster and may eat today; the time falls in a meal slot; no meal is
/// recorded yet for that slot today.
pub fn decide<R: Roster>(scan: &Scan, ctx: &DecisionContext<'_, R>) -> Result<Decision, R::Error> {
    let method = method_of(scan);
    if !ctx.ready {
        return Ok(Decision::deny(Denial::NotReady, method, None));
    }
    let (student, pass_nonce) = match scan {
        Scan::Qr(text) => match student_of_pass(text, ctx)? {
            Ok(found) => found,
            Err(denial) => return Ok(Decision::deny(denial, method, None)),
        },
        Scan::Card(uid) => match ctx.roster.by_card(*uid)? {
            Some(student) => (student, None),
            None => return Ok(Decision::deny(Denial::UnknownCard, method, None)),
        },
    };
    let day = service_day(ctx.now);
    if let Err(denial) = student.may_eat_on(day) {
        return Ok(Decision::deny(denial, method, Some(student)));
    }
    let Some(slot) = current_slot(ctx.slots, ctx.now) else {
        return Ok(Decision::deny(Denial::OutsideHours, method, Some(student)));
    };
    if ctx.roster.already_ate(student.voucher_id, day, &slot)? {
        return Ok(Decision::Deny(Refusal {
            reason: Denial::AlreadyAte,
            method,
            student: Some(student),
            slot: Some(slot),
        }));
    }
    Ok(Decision::Accept(Meal {
        student,
        method,
        service_day: day,
        slot,
        served_at: ctx.now,
        pass_nonce,
    }))
}

/// The student a pass text stands for, with the pass nonce; or why the pass is refused.
type PassOutcome = Result<(Student, Option<PassNonce>), Denial>;

fn student_of_pass<R: Roster>(
    text: &str,
    ctx: &DecisionContext<'_, R>,
) -> Result<PassOutcome, R::Error> {
    let verified = match pass::verify_with_leeway(text, ctx.keys, ctx.now, ctx.leeway) {
        Ok(verified) => verified,
        Err(error) => return Ok(Err(denial_of(&error))),
    };
    let claims = verified.claims;
    if claims.school != ctx.school {
        return Ok(Err(Denial::OtherSchool));
    }
    Ok(match ctx.roster.by_voucher(claims.voucher_id)? {
        Some(student) => Ok((student, Some(PassNonce::from_bytes(claims.nonce)))),
        None => Err(Denial::NotOnRoster),
    })
}

/// The denial a pass verification error stands for.
pub fn denial_of(error: &PassError) -> Denial {
    match error {
        PassError::BadPrefix
        | PassError::BadEncoding
        | PassError::BadLength(_)
        | PassError::UnsupportedVersion(_) => Denial::BadCode,
        PassError::UnknownKey(_) => Denial::UnknownKey,
        PassError::BadSignature => Denial::ForgedCode,
        PassError::NotYetValid(_) => Denial::NotYetValid,
        PassError::Expired(_) => Denial::ExpiredCode,
    }
}

/// The name of the slot `now` falls in (Astana time); with no slots configured, the whole
/// day is one slot.
pub fn current_slot(slots: &[MealSlot], now: OffsetDateTime) -> Option<String> {
    let local = now.to_offset(ASTANA);
    let minute = u16::from(local.hour()) * 60 + u16::from(local.minute());
    if slots.is_empty() {
        return Some(MealSlot::whole_day().name);
    }
    slot_at(slots, minute).map(|slot| slot.name.clone())
}

#[cfg(test)]
#[path = "decide_tests/mod.rs"]
mod tests;
