//! `--ui plain`: one JSON object per line on stdout, flushed at once, for scripts and tests
//! (DESIGN §7.1). The shapes are listed in `canteen-terminal --help`.
//!
//! A QR text is a pass token — a bearer credential for a child's meal — so it is never
//! printed; neither is the device token. The terminal never learns IINs.

use std::io::{self, Write};

use serde_json::{json, Map, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::{StartInfo, Ui};
use crate::scanner::{DeviceKind, DeviceState, Scan};
use crate::store::fmt_date;
use crate::sync::{Outcome, SyncReport};
use crate::terminal::Verdict;

/// An instant as RFC 3339 text.
pub fn rfc3339(at: OffsetDateTime) -> String {
    // Formatting a UTC instant as RFC 3339 fails only for years outside 0..=9999.
    at.to_offset(time::UtcOffset::UTC)
        .format(&Rfc3339)
        .unwrap_or_else(|_| at.unix_timestamp().to_string())
}

/// Adds `key: value` when the value is there.
fn put<T: Into<Value>>(object: &mut Map<String, Value>, key: &str, value: Option<T>) {
    if let Some(value) = value {
        object.insert(key.to_owned(), value.into());
    }
}

/// The `start` line.
pub fn render_start(info: &StartInfo) -> Value {
    let mut line = json!({
        "type": "start",
        "version": env!("CARGO_PKG_VERSION"),
        "school": info.school.as_string(),
        "enrolled": info.enrolled,
        "revoked": info.revoked,
        "roster": info.roster,
        "unsent": info.unsent,
        "today": info.today,
        "at": rfc3339(info.at),
    });
    if let Value::Object(object) = &mut line {
        put(object, "school_name", info.school_name.clone());
        put(
            object,
            "terminal_id",
            info.terminal_id.map(|id| id.to_string()),
        );
        put(object, "last_roster_at", info.last_roster_at.map(rfc3339));
    }
    line
}

/// The `scan` line: what a device read, before the decision. Never the QR text itself.
pub fn render_scan(scan: &Scan, at: OffsetDateTime) -> Value {
    match scan {
        Scan::Qr(text) => json!({
            "type": "scan",
            "method": "qr",
            "text_len": text.len(),
            "looks_like_pass": text.starts_with(shared::pass::PREFIX),
            "at": rfc3339(at),
        }),
        Scan::Card(uid) => json!({
            "type": "scan",
            "method": "card",
            "card_uid": uid.to_string(),
            "at": rfc3339(at),
        }),
    }
}

/// The `decision` line.
pub fn render_decision(verdict: &Verdict) -> Value {
    let mut line = json!({
        "type": "decision",
        "decision": if verdict.accepted() { "accept" } else { "deny" },
        "method": verdict.method.as_str(),
        "service_day": fmt_date(verdict.service_day),
        "today": verdict.today,
        "at": rfc3339(verdict.at),
    });
    if let Value::Object(object) = &mut line {
        put(object, "reason", verdict.denial.map(|d| d.code()));
        put(object, "reason_ru", verdict.denial.map(|d| d.ru()));
        put(object, "reason_kk", verdict.denial.map(|d| d.kk()));
        let student = verdict.student.as_ref();
        put(object, "student", student.map(|s| s.name.clone()));
        put(object, "class", student.map(|s| s.class_label.clone()));
        put(
            object,
            "voucher_id",
            student.map(|s| s.voucher_id.to_string()),
        );
        put(object, "card_uid", verdict.card_uid.map(|c| c.to_string()));
        put(
            object,
            "event_id",
            verdict.event_id.map(|id| id.to_string()),
        );
        put(object, "slot", verdict.slot.clone());
        put(object, "alert", student.and_then(|s| s.alert.clone()));
        put(
            object,
            "manual_reason",
            verdict.manual_reason.as_ref().map(|r| r.to_string()),
        );
        put(object, "unshown_secs", verdict.unshown_secs);
        if let Some(earlier) = &verdict.earlier {
            put(object, "earlier_at", Some(rfc3339(earlier.served_at)));
            put(object, "earlier_slot", Some(earlier.slot.clone()));
            put(object, "earlier_terminal", earlier.terminal.clone());
        }
        put(object, "warning", verdict.warning.map(|w| w.code()));
        put(object, "warning_ru", verdict.warning.map(|w| w.ru()));
        put(object, "warning_kk", verdict.warning.map(|w| w.kk()));
    }
    line
}

/// The `device` line.
pub fn render_device(device: DeviceKind, state: DeviceState, at: OffsetDateTime) -> Value {
    json!({
        "type": "device",
        "device": device.as_str(),
        "state": match state {
            DeviceState::Connected | DeviceState::Reconnected => "connected",
            DeviceState::Disconnected => "disconnected",
        },
        "at": rfc3339(at),
    })
}

/// The `sync` line.
pub fn render_sync(report: &SyncReport, roster: u64, at: OffsetDateTime) -> Value {
    let mut line = json!({
        "type": "sync",
        "outcome": report.outcome.name(),
        "pushed": report.push.pushed,
        "accepted": report.push.accepted,
        "duplicate": report.push.duplicate,
        "rejected": report.push.rejected,
        "unsent": report.unsent,
        "roster": roster,
        "at": rfc3339(at),
    });
    if let Value::Object(object) = &mut line {
        let retry = report
            .retry_in
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        put(object, "retry_in_ms", retry);
        outcome_fields(object, &report.outcome);
    }
    line
}

fn outcome_fields(object: &mut Map<String, Value>, outcome: &Outcome) {
    let mut set = |key: &str, value: Value| {
        object.insert(key.to_owned(), value);
    };
    match outcome {
        Outcome::Ok {
            roster,
            full,
            clock_offset_ms,
        } => {
            set("roster", roster.roster_active.into());
            set("roster_changes", roster.roster_changes.into());
            set("full", (*full).into());
            set("keys", roster.keys.into());
            set("slots", roster.slots.into());
            set("clock_offset_ms", (*clock_offset_ms).into());
        }
        Outcome::Enrolled {
            terminal_id,
            school,
            school_name,
        } => {
            set("terminal_id", terminal_id.to_string().into());
            set("school", school.as_string().into());
            set("school_name", school_name.clone().into());
        }
        Outcome::Offline { error } | Outcome::StoreFailed { error } => {
            set("error", error.clone().into());
        }
        Outcome::ServerError { status, error } => {
            set("status", (*status).into());
            set("error", error.clone().into());
        }
        Outcome::EnrollFailed {
            status,
            code,
            message,
            fatal,
        } => {
            set("status", (*status).into());
            set("code", code.clone().into());
            set("error", message.clone().into());
            set("fatal", (*fatal).into());
        }
        Outcome::SchoolMismatch { expected, got } => {
            set("expected", expected.as_string().into());
            set("got", got.as_string().into());
        }
        Outcome::Unauthorized | Outcome::NotEnrolled => {}
    }
}

/// Writes JSON lines.
#[derive(Debug)]
pub struct PlainUi<W: Write> {
    out: W,
}

impl<W: Write> PlainUi<W> {
    /// Writes to `out` (stdout in the binary).
    pub fn new(out: W) -> Self {
        Self { out }
    }

    /// Writes one line and flushes it.
    fn line(&mut self, line: &Value) -> io::Result<()> {
        writeln!(self.out, "{line}")?;
        self.out.flush()
    }

    /// What was written so far (tests).
    pub fn into_inner(self) -> W {
        self.out
    }
}

impl<W: Write> Ui for PlainUi<W> {
    fn start(&mut self, info: &StartInfo) -> io::Result<()> {
        self.line(&render_start(info))
    }

    fn scan(&mut self, scan: &Scan, at: OffsetDateTime) -> io::Result<()> {
        self.line(&render_scan(scan, at))
    }

    fn decision(&mut self, verdict: &Verdict) -> io::Result<()> {
        self.line(&render_decision(verdict))
    }

    fn unreadable(&mut self, device: DeviceKind, at: OffsetDateTime) -> io::Result<()> {
        self.line(&json!({
            "type": "unreadable",
            "device": device.as_str(),
            "at": rfc3339(at),
        }))
    }

    fn voided(&mut self, event_id: uuid::Uuid, note: &str) -> io::Result<()> {
        self.line(&json!({"type": "void", "event_id": event_id.to_string(), "note": note}))
    }

    fn device(
        &mut self,
        device: DeviceKind,
        state: DeviceState,
        at: OffsetDateTime,
    ) -> io::Result<()> {
        self.line(&render_device(device, state, at))
    }

    fn sync(&mut self, report: &SyncReport, roster: u64, at: OffsetDateTime) -> io::Result<()> {
        self.line(&render_sync(report, roster, at))
    }
}

#[cfg(test)]
#[path = "plain_tests.rs"]
mod tests;
