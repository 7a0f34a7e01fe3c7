//! `--ui plain`: one JSON object per line on stdout, flushed at once, for scripts and tests.
//!
//! A QR text is a pass token — a bearer credential for a child's meal — so it is never
//! printed: only its length and whether it looks like a pass (`SW1:` prefix).

use std::io::{self, Write};

use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::scanner::{DeviceState, Scan, ScannerEvent};

/// The prefix of every pass token (DESIGN §4).
const PASS_PREFIX: &str = "SW1:";

/// An instant as RFC 3339 text.
fn rfc3339(at: OffsetDateTime) -> String {
    // Formatting a UTC instant as RFC 3339 fails only for years outside 0..=9999.
    at.format(&Rfc3339)
        .unwrap_or_else(|_| at.unix_timestamp().to_string())
}

/// The JSON line for one event; `now` stamps events that carry no time of their own.
pub fn render(event: &ScannerEvent, now: OffsetDateTime) -> Value {
    match event {
        ScannerEvent::Scan {
            at,
            scan: Scan::Qr(text),
        } => json!({
            "type": "scan",
            "method": "qr",
            "text_len": text.len(),
            "looks_like_pass": text.starts_with(PASS_PREFIX),
            "at": rfc3339(*at),
        }),
        ScannerEvent::Scan {
            at,
            scan: Scan::Card(uid),
        } => json!({
            "type": "scan",
            "method": "card",
            "card_uid": uid.to_string(),
            "at": rfc3339(*at),
        }),
        ScannerEvent::Device { device, state } => json!({
            "type": "device",
            "device": device.as_str(),
            "state": match state {
                DeviceState::Connected | DeviceState::Reconnected => "connected",
                DeviceState::Disconnected => "disconnected",
            },
            "at": rfc3339(now),
        }),
    }
}

/// Writes events as JSON lines.
#[derive(Debug)]
pub struct PlainUi<W: Write> {
    out: W,
}

impl<W: Write> PlainUi<W> {
    /// Writes to `out` (stdout in the binary).
    pub fn new(out: W) -> Self {
        Self { out }
    }

    /// Writes one event as one line and flushes it.
    pub fn show(&mut self, event: &ScannerEvent) -> io::Result<()> {
        let line = render(event, OffsetDateTime::now_utc());
        writeln!(self.out, "{line}")?;
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scanner::DeviceKind;
    use time::macros::datetime;

    const AT: OffsetDateTime = datetime!(2026-02-02 05:30:00 UTC);

    #[test]
    fn qr_scan_shows_length_not_text() {
        let event = ScannerEvent::Scan {
            at: AT,
            scan: Scan::Qr("SW1:SECRET".into()),
        };
        let line = render(&event, AT);
        assert_eq!(
            line,
            json!({"type": "scan", "method": "qr", "text_len": 10, "looks_like_pass": true,
                   "at": "2026-02-02T05:30:00Z"})
        );
        assert!(!line.to_string().contains("SECRET"));
        let other = ScannerEvent::Scan {
            at: AT,
            scan: Scan::Qr("hello".into()),
        };
        assert_eq!(render(&other, AT)["looks_like_pass"], false);
    }

    #[test]
    fn card_scan_shows_the_uid() {
        let uid = "0102abcdef".parse().expect("uid");
        let event = ScannerEvent::Scan {
            at: AT,
            scan: Scan::Card(uid),
        };
        assert_eq!(
            render(&event, AT),
            json!({"type": "scan", "method": "card", "card_uid": "0102ABCDEF",
                   "at": "2026-02-02T05:30:00Z"})
        );
    }

    #[test]
    fn device_states() {
        for (state, text) in [
            (DeviceState::Connected, "connected"),
            (DeviceState::Reconnected, "connected"),
            (DeviceState::Disconnected, "disconnected"),
        ] {
            let event = ScannerEvent::Device {
                device: DeviceKind::Card,
                state,
            };
            let line = render(&event, AT);
            assert_eq!(line["type"], "device");
            assert_eq!(line["device"], "card");
            assert_eq!(line["state"], text);
        }
    }

    #[test]
    fn one_flushed_line_per_event() {
        let mut ui = PlainUi::new(Vec::new());
        let event = ScannerEvent::Device {
            device: DeviceKind::Qr,
            state: DeviceState::Connected,
        };
        ui.show(&event).expect("write");
        ui.show(&event).expect("write");
        let text = String::from_utf8(ui.out).expect("utf-8");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        for line in lines {
            let value: Value = serde_json::from_str(line).expect("json");
            assert_eq!(value["device"], "qr");
        }
    }
}
