//! The decision for one scan, as a pure function (DESIGN §2 canteen-terminal `decide`).
//!
//! [`decide`] takes what was scanned and a [`DecisionContext`] — the trusted keys, the
//! school, the corrected time, the meal slots and a [`Roster`] to look students up — and says
//! accept or deny with a typed [`Denial`]. It reads no clock, no file and no network, so every
//! rule is unit-tested case by case without SQLite. Recording an accepted meal is the
//! caller's job (and may still turn into [`Denial::AlreadyAte`] if two scans race).

use shared::counter::Shift;
use shared::pass::{self, KeySet, PassError};
use shared::sync::{DayRange, MealSlot, Method};
use shared::time::{service_day, ASTANA};
use shared::{Bin, CardUid, PassNonce, VoucherId};
use time::{Date, Duration, OffsetDateTime};
use uuid::Uuid;

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
    /// The shift the student's class studies in; `None`: any slot.
    pub shift: Option<Shift>,
    /// What staff want the worker to see on every scan of this child (an allergy).
    pub alert: Option<String>,
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

    /// The meal of this voucher already recorded for that day, in any slot (one free meal a
    /// day, as the server counts it), here or by another terminal of the school as the last
    /// sync told, if any.
    fn earlier_meal(
        &self,
        voucher: VoucherId,
        day: Date,
    ) -> Result<Option<EarlierMeal>, Self::Error>;
}

/// A meal the student already had: when, in which slot, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EarlierMeal {
    pub served_at: OffsetDateTime,
    pub slot: String,
    /// The serving terminal's name; `None`: this terminal.
    pub terminal: Option<String>,
    /// This terminal's event id (`None` for another terminal's meal).
    pub event_id: Option<Uuid>,
    /// Whether this terminal ever showed it; a meal committed just before a crash was not.
    pub shown: bool,
}

/// How long a meal committed but never shown (a crash between commit and screen) is
/// offered to the worker as "recorded N s ago on this terminal" instead of "already ate".
pub const UNSHOWN_WINDOW: Duration = Duration::minutes(5);

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
    /// For [`Denial::AlreadyAte`]: the meal already served.
    pub earlier: Option<EarlierMeal>,
}

/// The outcome of one scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Accept(Meal),
    Deny(Refusal),
    /// The student's meal for this slot was committed here moments ago but never shown
    /// (the terminal stopped in between): serve it, nothing new is recorded.
    Unshown {
        student: Student,
        method: Method,
        earlier: EarlierMeal,
    },
}

impl Decision {
    fn deny(reason: Denial, method: Method, student: Option<Student>) -> Self {
        Decision::Deny(Refusal {
            reason,
            method,
            student,
            slot: None,
            earlier: None,
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

/// Who a pass or card stands for (before the day, slot and meal checks).
pub type Found = (Student, Option<PassNonce>);

/// Decides one scan. Checks, in order: the terminal is ready; the pass (format, key,
/// signature, validity window with leeway, school) or the card (bound to a student); the
/// student is on the roster and may eat today; the time falls in a meal slot of the
/// student's shift; no meal is recorded yet for that slot today.
pub fn decide<R: Roster>(scan: &Scan, ctx: &DecisionContext<'_, R>) -> Result<Decision, R::Error> {
    let method = method_of(scan);
    if !ctx.ready {
        return Ok(Decision::deny(Denial::NotReady, method, None));
    }
    let found = match scan {
        Scan::Qr(text) => student_of_pass(text, ctx)?,
        Scan::Card(uid) => match ctx.roster.by_card(*uid)? {
            Some(student) => Ok((student, None)),
            None => Err((Denial::UnknownCard, None)),
        },
    };
    match found {
        Ok((student, pass_nonce)) => decide_for(student, method, pass_nonce, ctx),
        Err((denial, student)) => Ok(Decision::deny(denial, method, student)),
    }
}

/// The day, slot, shift and meal checks for a known student (also the manual serve).
pub fn decide_for<R: Roster>(
    student: Student,
    method: Method,
    pass_nonce: Option<PassNonce>,
    ctx: &DecisionContext<'_, R>,
) -> Result<Decision, R::Error> {
    let day = service_day(ctx.now);
    if let Err(denial) = student.may_eat_on(day) {
        return Ok(Decision::deny(denial, method, Some(student)));
    }
    let slot = match slot_for(ctx.slots, ctx.now, student.shift) {
        Ok(slot) => slot,
        Err(denial) => return Ok(Decision::deny(denial, method, Some(student))),
    };
    if let Some(earlier) = ctx.roster.earlier_meal(student.voucher_id, day)? {
        let unshown = earlier.terminal.is_none()
            && !earlier.shown
            && ctx.now - earlier.served_at <= UNSHOWN_WINDOW;
        if unshown {
            return Ok(Decision::Unshown {
                student,
                method,
                earlier,
            });
        }
        return Ok(Decision::Deny(Refusal {
            reason: Denial::AlreadyAte,
            method,
            student: Some(student),
            slot: Some(slot),
            earlier: Some(earlier),
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

/// The student a pass text stands for, with the pass nonce; or why the pass is refused
/// (with the student when the pass is genuine but out of its window).
type PassOutcome = Result<Found, (Denial, Option<Student>)>;

fn student_of_pass<R: Roster>(
    text: &str,
    ctx: &DecisionContext<'_, R>,
) -> Result<PassOutcome, R::Error> {
    let verified = match pass::verify_with_leeway(text, ctx.keys, ctx.now, ctx.leeway) {
        Ok(verified) => verified,
        Err(error) => {
            let student = match genuine_outside_window(text, ctx.keys, &error) {
                Some(claims) if claims.school == ctx.school => {
                    ctx.roster.by_voucher(claims.voucher_id)?
                }
                _ => None,
            };
            return Ok(Err((denial_of(&error), student)));
        }
    };
    let claims = verified.claims;
    if claims.school != ctx.school {
        return Ok(Err((Denial::OtherSchool, None)));
    }
    Ok(match ctx.roster.by_voucher(claims.voucher_id)? {
        Some(student) => Ok((student, Some(PassNonce::from_bytes(claims.nonce)))),
        None => Err((Denial::NotOnRoster, None)),
    })
}

/// The claims of a genuinely signed pass refused only for its window, read by verifying it
/// again at an instant inside the window (so the worker can be told whose code it is).
fn genuine_outside_window(
    text: &str,
    keys: &pass::KeySet,
    error: &PassError,
) -> Option<pass::PassClaims> {
    let inside = match error {
        PassError::Expired(until) => *until - Duration::seconds(1),
        PassError::NotYetValid(from) => *from,
        _ => return None,
    };
    pass::verify(text, keys, inside).ok().map(|v| v.claims)
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

/// The name of the slot `now` falls in for a student of `shift` (Astana time); with no
/// slots configured, the whole day is one slot. A slot without a shift serves everyone; a
/// student without a shift eats in any slot. Slots at this time but all of other shifts:
/// [`Denial::WrongShift`]; none at all: [`Denial::OutsideHours`].
pub fn slot_for(
    slots: &[MealSlot],
    now: OffsetDateTime,
    shift: Option<Shift>,
) -> Result<String, Denial> {
    let local = now.to_offset(ASTANA);
    let minute = u16::from(local.hour()) * 60 + u16::from(local.minute());
    if slots.is_empty() {
        return Ok(MealSlot::whole_day().name);
    }
    let mut open = slots.iter().filter(|s| s.contains(minute)).peekable();
    if open.peek().is_none() {
        return Err(Denial::OutsideHours);
    }
    open.find(|s| s.shift.is_none() || shift.is_none() || s.shift == shift)
        .map(|s| s.name.clone())
        .ok_or(Denial::WrongShift)
}

#[cfg(test)]
#[path = "decide_tests/mod.rs"]
mod tests;
