//! Messages between a canteen terminal and the wallet server (DESIGN.md §5).
//!
//! - `POST /v1/terminals/enroll` — [`EnrollRequest`] → [`EnrollResponse`]: a one-time code
//!   from school staff becomes a device token.
//! - `GET /v1/terminals/sync?cursor=N` — [`SyncResponse`]: roster changes since the cursor,
//!   the pass key set, meal slots and the server's time.
//! - `POST /v1/terminals/meals` — [`MealBatch`] → [`MealBatchResult`]: meals recorded on the
//!   terminal, each with an id made on the terminal, so pushing a batch twice changes nothing.
//!
//! The terminal authenticates with `Authorization: Bearer <device token>`.

use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use crate::card::CardUid;
use crate::counter::{MealSeen, MealVoid, Progress, ScanDenial, Shift, VoidResult};
use crate::id::Bin;
use crate::pass::PublicKey;
use crate::text::{AlertLine, Label, PassNonce, SlotName};
use crate::voucher::VoucherId;

/// Most meal events accepted in one push.
pub const MAX_BATCH: usize = 1000;
// `MealBatch::events` documents this bound as `max_items = 1000` (a literal there).
const _: () = assert!(MAX_BATCH == 1000);

/// Enrollment of a new terminal.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnrollRequest {
    /// The one-time code, as shown to staff (`XXXX-XXXX-XXXX`; case and dashes ignored).
    pub code: String,
    /// A name staff will recognise (e.g. "Столовая, касса 1").
    #[serde(default)]
    pub name: Option<Label>,
}

/// What an enrolled terminal receives, once.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrollResponse {
    pub terminal_id: Uuid,
    /// The device token: a secret, kept only on the terminal (the server keeps its hash).
    pub token: String,
    pub school: SchoolInfo,
}

/// The school a terminal serves.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchoolInfo {
    #[cfg_attr(feature = "openapi", schema(value_type = String, pattern = r"^[0-9]{12}$"))]
    pub bin: Bin,
    pub name: String,
}

/// One roster change: a voucher of the school as the terminal must now know it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RosterEntry {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub voucher_id: VoucherId,
    /// Name as the canteen worker sees it on screen.
    pub student_name: String,
    pub class_label: String,
    /// The student's bound ID card, if any.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, pattern = r"^[0-9A-F]{10}$"))]
    pub card_uid: Option<CardUid>,
    /// `true` while the voucher is activated (not revoked or expired): the terminal keeps
    /// it and decides by the dates below. `false` means remove.
    pub active: bool,
    /// First day of validity (Astana date). A voucher formed before the school year starts
    /// is sent ahead of time, so an offline terminal accepts it from this day on.
    #[serde(default = "earliest_day")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub valid_from: Date,
    /// Last day of validity (Astana date).
    pub valid_until: Date,
    /// The days the student is on the school's monthly list (each range inclusive), so an
    /// offline terminal decides by date. Absent: no list facts, the validity alone decides.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entitled: Option<Vec<DayRange>>,
    /// The shift the student's class studies in; absent: the student may eat in any slot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shift: Option<Shift>,
    /// A line staff set for this student (e.g. an allergy), shown on every scan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert: Option<AlertLine>,
}

fn earliest_day() -> Date {
    Date::MIN
}

/// An inclusive range of Astana dates.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DayRange {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub first: Date,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub last: Date,
}

impl DayRange {
    pub fn contains(&self, day: Date) -> bool {
        self.first <= day && day <= self.last
    }

    /// Ranges sorted, with overlapping and adjacent ones joined (`[1–10] + [11–31]` is
    /// `[1–31]`); empty ranges dropped.
    pub fn merged(mut ranges: Vec<DayRange>) -> Vec<DayRange> {
        ranges.retain(|r| r.first <= r.last);
        ranges.sort();
        let mut out: Vec<DayRange> = Vec::with_capacity(ranges.len());
        for r in ranges {
            match out.last_mut() {
                Some(prev) if prev.last.next_day().is_none_or(|n| r.first <= n) => {
                    prev.last = prev.last.max(r.last);
                }
                _ => out.push(r),
            }
        }
        out
    }
}

/// A named meal slot with its hours (Astana time, minutes after midnight; `end` exclusive).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MealSlot {
    pub name: String,
    pub start_minute: u16,
    pub end_minute: u16,
    /// The shift this slot serves; absent: every shift.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shift: Option<Shift>,
}

impl MealSlot {
    /// The default: one slot covering the whole service day (one free meal a day).
    pub fn whole_day() -> MealSlot {
        MealSlot {
            name: "day".into(),
            start_minute: 0,
            end_minute: 24 * 60,
            shift: None,
        }
    }

    /// Whether a minute of the day (Astana time) falls in this slot.
    pub fn contains(&self, minute_of_day: u16) -> bool {
        self.start_minute <= minute_of_day && minute_of_day < self.end_minute
    }
}

/// The slot a minute of the day belongs to, if any (`None` → outside meal hours).
pub fn slot_at(slots: &[MealSlot], minute_of_day: u16) -> Option<&MealSlot> {
    slots.iter().find(|s| s.contains(minute_of_day))
}

/// Answer to a pull.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncResponse {
    pub school: SchoolInfo,
    /// Pass the new cursor on the next pull to get only later changes.
    pub cursor: i64,
    /// Changes since the cursor asked for (everything, for cursor 0).
    pub roster: Vec<RosterEntry>,
    /// `true` when `roster` is the complete roster (cursor 0 or too old): drop what is not in it.
    pub full: bool,
    /// Every key a pass may be signed with now.
    pub keys: Vec<PublicKey>,
    pub slots: Vec<MealSlot>,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub server_time: OffsetDateTime,
    /// Today's progress of the whole school (absent from older servers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress: Option<Progress>,
    /// Counted meals of today served by the school's other terminals after `meals_after`
    /// (a query parameter of the pull; pass back `meals_cursor` next time).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub meals_seen: Vec<MealSeen>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meals_cursor: Option<i64>,
}

/// How the student was identified.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    Qr,
    Card,
    /// Found by name or class on the terminal (forgot card and phone); needs a reason.
    Manual,
}

impl Method {
    /// The word on the wire and in both databases (`qr`, `card`, `manual`).
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Qr => "qr",
            Method::Card => "card",
            Method::Manual => "manual",
        }
    }
}

impl std::str::FromStr for Method {
    type Err = String;

    /// The inverse of [`Method::as_str`]; the error names the unknown word.
    fn from_str(word: &str) -> Result<Method, String> {
        [Method::Qr, Method::Card, Method::Manual]
            .into_iter()
            .find(|m| m.as_str() == word)
            .ok_or_else(|| format!("method {word}"))
    }
}

/// A meal recorded on a terminal.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MealEvent {
    /// Made on the terminal (UUIDv7); the idempotency key, per terminal (another terminal's
    /// event with the same id is a different meal).
    pub event_id: Uuid,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub voucher_id: VoucherId,
    pub slot: SlotName,
    pub service_day: Date,
    /// The terminal's time, corrected by its last known offset to the server.
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub served_at: OffsetDateTime,
    pub method: Method,
    /// The pass nonce when a pass was scanned.
    #[serde(default)]
    pub pass_nonce: Option<PassNonce>,
    /// Why the worker served by hand: required when `method` is `manual`, absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manual_reason: Option<Label>,
    /// The worker signed in at the terminal, if any (manual meals are counted per worker).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worker: Option<Label>,
}

/// A push of meals.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MealBatch {
    /// At most 1000 events (`MAX_BATCH`).
    #[cfg_attr(feature = "openapi", schema(max_items = 1000))]
    pub events: Vec<MealEvent>,
    /// Meals still waiting on the terminal after this batch (for the school console).
    #[serde(default)]
    pub unsent_after: Option<u64>,
    /// Meals this terminal takes back; applied after `events`.
    #[cfg_attr(feature = "openapi", schema(max_items = 1000))]
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub voids: Vec<MealVoid>,
    /// Scans this terminal refused (at most 1000), stored for signals and parents' feeds.
    #[cfg_attr(feature = "openapi", schema(max_items = 1000))]
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub denials: Vec<ScanDenial>,
}

/// The server's verdict on one meal.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MealVerdict {
    /// Counted and billable.
    Accepted,
    /// The student already ate in that slot that day (maybe at another terminal): kept,
    /// flagged, not billed.
    Duplicate,
    /// Not a valid meal (unknown voucher, another school, inactive voucher, bad day).
    Rejected,
}

/// The answer for one event.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MealResult {
    pub event_id: Uuid,
    pub status: MealVerdict,
    /// Why the meal is not counted: `already_ate` (a duplicate); `unknown_voucher` (no voucher
    /// of the terminal's school has that id: another school's voucher is unknown here, and
    /// nothing is stored), `served_in_the_future`, `wrong_service_day`, `outside_programme` (the
    /// service day is outside the programme's dates), `wrong_slot`, `outside_hours`,
    /// `voucher_inactive`, `not_on_list`, `wrong_shift` (a slot of another shift than the
    /// student's class) or `manual_without_reason` (rejected).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The answer for a batch, one result per event, in order.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MealBatchResult {
    pub results: Vec<MealResult>,
    /// One answer per void, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub voids: Vec<VoidResult>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn day_ranges_join_when_they_touch_and_not_across_a_gap() {
        let r = |first, last| DayRange { first, last };
        let merged = DayRange::merged(vec![
            r(date!(2027 - 01 - 01), date!(2027 - 01 - 10)),
            r(date!(2026 - 12 - 01), date!(2026 - 12 - 31)),
            r(date!(2027 - 01 - 05), date!(2027 - 01 - 06)),
            r(date!(2027 - 02 - 01), date!(2027 - 02 - 28)),
            r(date!(2027 - 03 - 05), date!(2027 - 03 - 04)),
        ]);
        assert_eq!(
            merged,
            vec![
                r(date!(2026 - 12 - 01), date!(2027 - 01 - 10)),
                r(date!(2027 - 02 - 01), date!(2027 - 02 - 28)),
            ]
        );
        assert!(merged[0].contains(date!(2027 - 01 - 10)));
        assert!(!merged[0].contains(date!(2027 - 01 - 11)));
    }

    #[test]
    fn a_roster_entry_from_an_older_server_still_parses() {
        let json = r#"{"voucher_id":"0192f0e4-5b1a-7cc3-8f00-000000000001","student_name":"A",
            "class_label":"1А","active":true,"valid_until":"2027-05-31"}"#;
        let e: RosterEntry = serde_json::from_str(json).expect("parses");
        assert_eq!(e.valid_from, Date::MIN);
        assert_eq!(e.entitled, None);
    }

    #[test]
    fn slots_cover_their_minutes_end_exclusive() {
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
        assert_eq!(
            slot_at(&slots, 8 * 60).map(|s| s.name.as_str()),
            Some("breakfast")
        );
        assert_eq!(slot_at(&slots, 10 * 60), None);
        assert_eq!(
            slot_at(&slots, 13 * 60 + 59).map(|s| s.name.as_str()),
            Some("lunch")
        );
        assert!(MealSlot::whole_day().contains(0) && MealSlot::whole_day().contains(1439));
    }

    #[test]
    fn a_meal_event_round_trips_and_refuses_unknown_fields() {
        let event = MealEvent {
            event_id: Uuid::now_v7(),
            voucher_id: VoucherId::new(),
            slot: "day".parse().expect("slot"),
            service_day: time::macros::date!(2026 - 11 - 24),
            served_at: time::macros::datetime!(2026-11-24 06:30 UTC),
            method: Method::Card,
            pass_nonce: None,
            manual_reason: None,
            worker: None,
        };
        let json = serde_json::to_value(&event).expect("ser");
        assert_eq!(json["method"], "card");
        assert_eq!(json["service_day"], "2026-11-24");
        let back: MealEvent = serde_json::from_value(json.clone()).expect("de");
        assert_eq!(back, event);
        let mut extra = json;
        extra["student_iin"] = "041206500121".into();
        assert!(serde_json::from_value::<MealEvent>(extra).is_err());
    }
}
