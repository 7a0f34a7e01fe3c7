//! The exact JSON lines of `--ui plain`: scripts and the end-to-end tests key on them.

use std::time::Duration;

use serde_json::json;
use shared::sync::Method;
use shared::VoucherId;
use time::macros::{date, datetime};
use uuid::Uuid;

use super::*;
use crate::decide::Student;
use crate::reason::{Denial, Warning};
use crate::store::ApplySummary;
use crate::sync::PushTally;

const AT: OffsetDateTime = datetime!(2026-09-01 07:00 UTC);

fn student() -> Student {
    Student {
        voucher_id: VoucherId::from_uuid(Uuid::from_u128(1)),
        name: "Айгерим С.".into(),
        class_label: "3А".into(),
        active: true,
        valid_until: date!(2027 - 05 - 31),
        valid_from: time::Date::MIN,
        entitled: None,
        shift: None,
        alert: None,
    }
}

fn verdict() -> Verdict {
    Verdict {
        denial: None,
        method: Method::Qr,
        student: Some(student()),
        card_uid: None,
        event_id: Some(Uuid::from_u128(2)),
        slot: Some("day".into()),
        service_day: date!(2026 - 09 - 01),
        today: 17,
        at: AT,
        warning: None,
        earlier: None,
        unshown_secs: None,
        manual_reason: None,
    }
}

#[test]
fn an_accept_line() {
    assert_eq!(
        render_decision(&verdict()),
        json!({
            "type": "decision", "decision": "accept", "method": "qr",
            "student": "Айгерим С.", "class": "3А",
            "voucher_id": "00000000-0000-0000-0000-000000000001",
            "event_id": "00000000-0000-0000-0000-000000000002",
            "slot": "day", "service_day": "2026-09-01", "today": 17,
            "at": "2026-09-01T07:00:00Z",
        })
    );
}

#[test]
fn a_deny_line_with_reasons_in_both_languages_and_a_warning() {
    let deny = Verdict {
        denial: Some(Denial::UnknownCard),
        method: Method::Card,
        student: None,
        card_uid: Some("0102ABCDEF".parse().expect("uid")),
        event_id: None,
        slot: None,
        warning: Some(Warning::RosterStale),
        ..verdict()
    };
    assert_eq!(
        render_decision(&deny),
        json!({
            "type": "decision", "decision": "deny", "method": "card",
            "reason": "unknown_card",
            "reason_ru": "Карта не зарегистрирована — обратитесь к социальному педагогу", "reason_kk": "Карта тіркелмеген — әлеуметтік педагогке жүгініңіз",
            "card_uid": "0102ABCDEF",
            "service_day": "2026-09-01", "today": 17,
            "warning": "roster_stale",
            "warning_ru": Warning::RosterStale.ru(), "warning_kk": Warning::RosterStale.kk(),
            "at": "2026-09-01T07:00:00Z",
        })
    );
}

fn report(outcome: Outcome) -> SyncReport {
    SyncReport {
        outcome,
        push: PushTally {
            pushed: 3,
            accepted: 2,
            duplicate: 1,
            rejected: 0,
        },
        unsent: 0,
        retry_in: Some(Duration::from_secs(5)),
    }
}

#[test]
fn sync_lines() {
    let ok = report(Outcome::Ok {
        roster: ApplySummary {
            roster_changes: 4,
            roster_active: 120,
            keys: 2,
            slots: 1,
        },
        full: false,
        clock_offset_ms: -250,
    });
    assert_eq!(
        render_sync(&ok, 999, AT),
        json!({
            "type": "sync", "outcome": "ok", "pushed": 3, "accepted": 2, "duplicate": 1,
            "rejected": 0, "unsent": 0, "roster": 120, "roster_changes": 4, "full": false,
            "keys": 2, "slots": 1, "clock_offset_ms": -250, "retry_in_ms": 5000,
            "at": "2026-09-01T07:00:00Z",
        })
    );
    let offline = render_sync(
        &report(Outcome::Offline {
            error: "connection refused".into(),
        }),
        120,
        AT,
    );
    assert_eq!(offline["outcome"], "offline");
    assert_eq!(offline["error"], "connection refused");
    assert_eq!(offline["roster"], 120);
    let mut stopped = report(Outcome::Unauthorized);
    stopped.retry_in = None;
    let line = render_sync(&stopped, 0, AT);
    assert_eq!(line["outcome"], "unauthorized");
    assert!(line.get("retry_in_ms").is_none());
    let failed = render_sync(
        &report(Outcome::EnrollFailed {
            status: 410,
            code: "code_expired".into(),
            message: "expired".into(),
            fatal: true,
        }),
        0,
        AT,
    );
    assert_eq!(failed["code"], "code_expired");
    assert_eq!(failed["status"], 410);
    assert_eq!(failed["fatal"], true);
}

#[test]
fn scan_lines_never_show_the_qr_text() {
    let line = render_scan(&Scan::Qr("SW1:SECRET".into()), AT);
    assert_eq!(
        line,
        json!({"type": "scan", "method": "qr", "text_len": 10, "looks_like_pass": true,
               "at": "2026-09-01T07:00:00Z"})
    );
    assert!(!line.to_string().contains("SECRET"));
    assert_eq!(
        render_scan(&Scan::Qr("hello".into()), AT)["looks_like_pass"],
        false
    );
    let card = render_scan(&Scan::Card("0102abcdef".parse().expect("uid")), AT);
    assert_eq!(
        card,
        json!({"type": "scan", "method": "card", "card_uid": "0102ABCDEF",
               "at": "2026-09-01T07:00:00Z"})
    );
}

#[test]
fn start_and_device_lines() {
    let info = StartInfo {
        school: "990340001230".parse().expect("bin"),
        school_name: None,
        terminal_id: None,
        enrolled: false,
        revoked: false,
        roster: 0,
        unsent: 5,
        today: 2,
        last_roster_at: None,
        at: AT,
        clock_offset_ms: 0,
        worker: None,
    };
    let line = render_start(&info);
    assert_eq!(line["type"], "start");
    assert_eq!(line["school"], "990340001230");
    assert_eq!(line["unsent"], 5);
    assert!(line.get("terminal_id").is_none());
    for (state, text) in [
        (DeviceState::Connected, "connected"),
        (DeviceState::Reconnected, "connected"),
        (DeviceState::Disconnected, "disconnected"),
    ] {
        assert_eq!(
            render_device(DeviceKind::Card, state, AT),
            json!({"type": "device", "device": "card", "state": text,
                   "at": "2026-09-01T07:00:00Z"})
        );
    }
}

#[test]
fn one_flushed_line_per_event() {
    let mut ui = PlainUi::new(Vec::new());
    ui.device(DeviceKind::Qr, DeviceState::Connected, AT)
        .expect("write");
    ui.decision(&verdict()).expect("write");
    let text = String::from_utf8(ui.into_inner()).expect("utf-8");
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[1]["type"], "decision");
}
