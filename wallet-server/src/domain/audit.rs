//! The append-only audit log: who changed what, when and why.
//!
//! Every state change of a voucher (and, later, of consents, cards, terminals, табели) is
//! written in the same transaction as the change itself, so the log can never disagree with
//! the data. The tables refuse UPDATE and DELETE at the database level.

use std::fmt;

use shared::{Bin, Iin};
use time::OffsetDateTime;

/// Who did it. Stored as text; people are identified by masked IIN in anything printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// The server itself (schedules, expiry).
    System,
    /// An integration (PEP, NOBD, SMS gateway) by its token subject.
    Integration(String),
    /// A parent by IIN.
    Parent(Iin),
    /// School staff by token subject and school.
    Staff { sub: String, school: Bin },
    /// The demo seeder.
    Demo,
    /// A gas provider's system or office operator by token subject.
    Provider(String),
    /// A canteen terminal, with the worker signed in at it (if any).
    Terminal {
        id: uuid::Uuid,
        worker: Option<String>,
    },
}

impl Actor {
    /// The stored form. The audit log is access-controlled data, not a log file, so it keeps
    /// the full IIN: an auditor must be able to tell two parents apart.
    pub fn to_record(&self) -> String {
        match self {
            Actor::System => "system".into(),
            Actor::Integration(sub) => format!("integration:{sub}"),
            Actor::Parent(iin) => format!("parent:{}", iin.expose()),
            Actor::Staff { sub, school } => format!("staff:{school}:{sub}"),
            Actor::Demo => "demo".into(),
            Actor::Provider(sub) => format!("provider:{sub}"),
            Actor::Terminal { id, worker: None } => format!("terminal:{id}"),
            Actor::Terminal {
                id,
                worker: Some(w),
            } => format!("terminal:{id}:{w}"),
        }
    }
}

impl fmt::Display for Actor {
    /// Masked form for logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Actor::Parent(iin) => write!(f, "parent:{iin}"),
            other => f.write_str(&other.to_record()),
        }
    }
}

/// One entry to append.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub at: OffsetDateTime,
    pub actor: Actor,
    pub entity_kind: &'static str,
    pub entity_id: String,
    pub action: String,
    pub from_state: Option<String>,
    pub to_state: Option<String>,
    pub reason: Option<String>,
}

/// One entry as read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    pub id: i64,
    pub at: OffsetDateTime,
    pub actor: String,
    pub entity_kind: String,
    pub entity_id: String,
    pub action: String,
    pub from_state: Option<String>,
    pub to_state: Option<String>,
    pub reason: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parents_are_masked_in_display_but_not_in_the_record() {
        let iin: Iin = "041206500121".parse().expect("valid");
        let actor = Actor::Parent(iin);
        assert_eq!(actor.to_string(), "parent:0412******21");
        assert_eq!(actor.to_record(), "parent:041206500121");
    }
}
