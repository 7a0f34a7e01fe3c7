//! Canteen terminals and what they read: enrollment codes, enrolled terminals, the roster
//! of a school's vouchers, and the ID cards bound to students.

use shared::{Bin, CardUid, Iin, VoucherId};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use super::audit::{Actor, AuditEntry};

/// A request to bind an ID card to a student of a school.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardBinding {
    pub school: Bin,
    pub student: Iin,
    pub card: CardUid,
    pub by: Actor,
    pub at: OffsetDateTime,
}

/// What binding did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CardBound {
    /// The card is now the student's; `replaced` is the card it took over from.
    Bound { replaced: Option<CardUid> },
    /// This exact binding already existed.
    Unchanged,
}

/// A one-time terminal enrollment code, stored only as a hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnrollmentCode {
    pub code_hash: String,
    pub school: Bin,
    pub created_by: Actor,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

/// A terminal about to be enrolled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTerminal {
    pub id: Uuid,
    pub name: String,
    /// SHA-256 (hex) of the device token; the token itself is never stored.
    pub token_hash: String,
}

/// An enrolled terminal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TerminalRecord {
    pub id: Uuid,
    pub school: Bin,
    pub name: String,
    pub enrolled_at: OffsetDateTime,
    pub revoked_at: Option<OffsetDateTime>,
    pub last_seen_at: Option<OffsetDateTime>,
    pub last_push_at: Option<OffsetDateTime>,
    /// Meals the terminal said were still waiting after its last push.
    pub unsent_reported: Option<i64>,
}

/// How fresh a terminal's `last_seen_at` is kept. A roster pull within this of the last
/// contact (a pull or a push) writes nothing: the console and the contact buckets (5 min,
/// 1 h, 1 day) need no finer time, and a pull that writes queues behind the meal pushes on
/// SQLite's one writer and costs PostgreSQL a commit (BENCHMARKS.md, issue 18, ninth pass).
pub const SEEN_WITHIN: time::Duration = time::Duration::minutes(1);

impl TerminalRecord {
    /// Whether a contact at `now` is worth writing: none stored yet, or the stored one is
    /// at least [`SEEN_WITHIN`] old.
    pub fn contact_is_news(&self, now: OffsetDateTime) -> bool {
        self.last_seen_at
            .is_none_or(|seen| now - seen >= SEEN_WITHIN)
    }
}

/// A voucher as the roster needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RosterRow {
    pub voucher_id: VoucherId,
    pub student_name: String,
    pub class_label: String,
    pub card: Option<CardUid>,
    pub state: crate::domain::voucher::VoucherState,
    pub valid_from: Date,
    pub valid_until: Date,
    /// The days the student is on the school's monthly lists (`domain::entitlement`).
    pub entitled: Vec<shared::sync::DayRange>,
    /// The shift of the student's class, if staff gave it one.
    pub shift: Option<shared::counter::Shift>,
    /// The line staff set for this student at this school.
    pub alert: Option<shared::AlertLine>,
}

/// Roster changes since a cursor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RosterPage {
    /// The cursor to ask with next time.
    pub cursor: i64,
    /// Whether `rows` is the whole roster (the terminal replaces its own).
    pub full: bool,
    pub rows: Vec<RosterRow>,
}

impl CardBinding {
    /// The audit entry of this binding (`replaced`: the student's card before it;
    /// `taken_from`: the other school the card was bound at, see [`CardBinding::takeover_audit`]).
    pub fn audit(&self, replaced: Option<CardUid>, taken_from: Option<Bin>) -> AuditEntry {
        let taken = taken_from
            .map(|from| format!("; taken over from a student of school {from}"))
            .unwrap_or_default();
        AuditEntry {
            at: self.at,
            actor: self.by.clone(),
            entity_kind: "card",
            entity_id: self.card.to_string(),
            action: "bind".into(),
            from_state: replaced.map(|c| format!("replaces {c}")),
            to_state: Some("bound".into()),
            reason: Some(format!(
                "bound to a student of school {}{taken}",
                self.school
            )),
        }
    }

    /// The other school's side of this binding when the card was bound there: it is unbound
    /// from that school's student by this binding's author. Students are named by school
    /// only, never by IIN or name.
    pub fn takeover_audit(&self, from: Bin) -> AuditEntry {
        AuditEntry {
            reason: Some(format!(
                "unbound from a student of school {from}: taken over by a student of school {}",
                self.school
            )),
            ..card_unbound_audit(self.card, from, &self.by, self.at)
        }
    }
}

/// The audit entry of unbinding `card` from a student of `school`.
pub fn card_unbound_audit(
    card: CardUid,
    school: Bin,
    by: &Actor,
    at: OffsetDateTime,
) -> AuditEntry {
    AuditEntry {
        at,
        actor: by.clone(),
        entity_kind: "card",
        entity_id: card.to_string(),
        action: "unbind".into(),
        from_state: Some("bound".into()),
        to_state: Some("unbound".into()),
        reason: Some(format!("unbound from a student of school {school}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn terminal(last_seen_at: Option<OffsetDateTime>) -> TerminalRecord {
        TerminalRecord {
            id: Uuid::nil(),
            school: "050140001238".parse().expect("bin"),
            name: "t".into(),
            enrolled_at: datetime!(2026-09-01 00:00 UTC),
            revoked_at: None,
            last_seen_at,
            last_push_at: None,
            unsent_reported: None,
        }
    }

    #[test]
    fn a_contact_is_written_once_a_minute_at_most() {
        let seen = datetime!(2026-11-24 06:00 UTC);
        assert!(terminal(None).contact_is_news(seen), "the first contact");
        let t = terminal(Some(seen));
        assert!(!t.contact_is_news(seen));
        assert!(!t.contact_is_news(seen + time::Duration::seconds(59)));
        assert!(t.contact_is_news(seen + SEEN_WITHIN));
        assert!(t.contact_is_news(seen + time::Duration::hours(3)));
        // A clock set back does not write an older contact over a newer one.
        assert!(!t.contact_is_news(seen - time::Duration::hours(1)));
    }
}
