//! The terminal's serial devices: a QR scanner and an RDM6300 ID-card reader.
//!
//! Each device is a byte stream that turns into *scans* through a decoder ([`line`] for the
//! QR scanner, [`rdm6300`] for the card reader) and that can disappear and come back
//! ([`port`] reads it on its own thread and reconnects). What the rest of the terminal sees
//! is one channel of [`ScannerEvent`]s.

pub mod line;
pub mod port;
pub mod rdm6300;

#[cfg(test)]
mod props;

use std::fmt;
use std::time::{Duration, Instant};

use shared::CardUid;
use time::OffsetDateTime;

pub use line::{LineDecoder, LineEnding};
pub use rdm6300::{Debounce, Rdm6300Decoder};

/// Which of the terminal's two devices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeviceKind {
    /// The QR scanner.
    Qr,
    /// The ID-card reader.
    Card,
}

impl DeviceKind {
    /// Lower-case name used in output and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Qr => "qr",
            Self::Card => "card",
        }
    }
}

impl fmt::Display for DeviceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One thing a student presented.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scan {
    /// A line of text from the QR scanner (a pass token when all is well; treat as secret).
    Qr(String),
    /// A card id from the card reader.
    Card(CardUid),
}

/// A change in a device's connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceState {
    /// Opened for the first time.
    Connected,
    /// Could not be opened, or went away.
    Disconnected,
    /// Opened again after having been disconnected.
    Reconnected,
}

/// What a device reader reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScannerEvent {
    /// A scan was decoded.
    Scan {
        /// When it was decoded.
        at: OffsetDateTime,
        /// What was scanned.
        scan: Scan,
    },
    /// Something arrived that did not read: noise, a garbled or over-long QR line, a card
    /// frame with a bad checksum. The worker must scan again.
    Unreadable {
        /// Which device.
        device: DeviceKind,
        /// When.
        at: OffsetDateTime,
    },
    /// The device's connection changed.
    Device {
        /// Which device.
        device: DeviceKind,
        /// Its new state.
        state: DeviceState,
    },
}

/// Turns a device's byte stream into scans; implemented for both devices.
pub trait FrameDecoder: Send + 'static {
    /// Feeds a chunk of bytes read at `now`; returns the scans it completed, in order.
    fn feed(&mut self, chunk: &[u8], now: Instant) -> Vec<Scan>;

    /// The device went away: forget any partial frame.
    fn reset(&mut self);

    /// Whether bytes fed since the last call were thrown away as unreadable (a failed
    /// read the worker must see, so no earlier green stays up).
    fn take_unreadable(&mut self) -> bool {
        false
    }
}

/// The QR scanner's decoder: lines, warning once if the terminator differs from the setting.
#[derive(Debug, Clone)]
pub struct QrFrames {
    lines: LineDecoder,
    warned_ending: bool,
    unreadable: bool,
}

impl QrFrames {
    /// Decoder for a scanner configured to send `ending`, dropping lines over `max_len`.
    pub fn new(ending: LineEnding, max_len: usize) -> Self {
        Self {
            lines: LineDecoder::new(ending, max_len),
            warned_ending: false,
            unreadable: false,
        }
    }
}

impl FrameDecoder for QrFrames {
    fn feed(&mut self, chunk: &[u8], _now: Instant) -> Vec<Scan> {
        let dropped_before = self.lines.counters().dropped();
        let lines = self.lines.push(chunk);
        let counters = self.lines.counters();
        if counters.dropped() != dropped_before {
            tracing::warn!(device = "qr", ?counters, "dropped a malformed line");
            self.unreadable = true;
        }
        match self.lines.observed() {
            Some(seen) if seen != self.lines.expected() && !self.warned_ending => {
                self.warned_ending = true;
                tracing::warn!(
                    expected = %self.lines.expected(),
                    seen = %seen,
                    "QR scanner sends a different line ending than configured; accepting it"
                );
            }
            _ => {}
        }
        lines.into_iter().map(Scan::Qr).collect()
    }

    fn reset(&mut self) {
        if self.lines.reset() {
            tracing::debug!(device = "qr", "discarded a partial line");
        }
    }

    fn take_unreadable(&mut self) -> bool {
        std::mem::take(&mut self.unreadable)
    }
}

/// The card reader's decoder: RDM6300 frames, with a held card's repeats folded.
#[derive(Debug, Clone)]
pub struct CardFrames {
    frames: Rdm6300Decoder,
    debounce: Debounce,
    unreadable: bool,
}

impl CardFrames {
    /// Decoder folding repeats of the same card less than `debounce` apart.
    pub fn new(debounce: Duration) -> Self {
        Self {
            frames: Rdm6300Decoder::new(),
            debounce: Debounce::new(debounce),
            unreadable: false,
        }
    }
}

impl FrameDecoder for CardFrames {
    fn feed(&mut self, chunk: &[u8], now: Instant) -> Vec<Scan> {
        let before = self.frames.counters();
        let cards = self.frames.push(chunk);
        let counters = self.frames.counters();
        if counters.dropped() != before.dropped() {
            tracing::warn!(device = "card", ?counters, "dropped a bad frame");
            self.unreadable = true;
        } else if counters.skipped_bytes != before.skipped_bytes {
            tracing::debug!(device = "card", ?counters, "skipped noise between frames");
            self.unreadable = true;
        }
        cards
            .into_iter()
            .filter(|uid| self.debounce.admit(*uid, now))
            .map(Scan::Card)
            .collect()
    }

    fn reset(&mut self) {
        if self.frames.reset() {
            tracing::debug!(device = "card", "discarded a partial frame");
        }
        self.debounce.reset();
    }

    fn take_unreadable(&mut self) -> bool {
        std::mem::take(&mut self.unreadable)
    }
}
