//! How the terminal shows what happens: to the canteen worker ([`tui`], full screen) and to
//! scripts and tests ([`plain`], one JSON object per line on stdout).
//!
//! Both implement [`Ui`]; the decision loop calls it only after a meal is on disk, and a
//! slow screen never holds up a decision ([`tui`] draws on its own thread).

pub mod plain;
pub mod sound;
pub mod tui;
pub mod view;

use std::io;

use shared::Bin;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::scanner::{DeviceKind, DeviceState, Scan};
use crate::sync::SyncReport;
use crate::terminal::Verdict;

pub use plain::PlainUi;
pub use view::DeskView;

/// What the counter shows besides results.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CounterView {
    pub worker: Option<String>,
    /// Today's progress, and whether it is the server's count of the whole school.
    pub progress: Option<(shared::counter::Progress, bool)>,
    pub desk: Option<DeskView>,
}
pub use tui::TuiUi;

/// What the terminal knows about itself when it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartInfo {
    pub school: Bin,
    pub school_name: Option<String>,
    pub terminal_id: Option<Uuid>,
    pub enrolled: bool,
    pub revoked: bool,
    /// Active students on the roster.
    pub roster: u64,
    /// Meals waiting for the server.
    pub unsent: u64,
    /// Meals recorded today.
    pub today: u64,
    pub last_roster_at: Option<OffsetDateTime>,
    /// The server-corrected time.
    pub at: OffsetDateTime,
    pub clock_offset_ms: i64,
    /// The worker signed in.
    pub worker: Option<String>,
}

/// A screen for the terminal.
pub trait Ui {
    /// The terminal has started.
    fn start(&mut self, info: &StartInfo) -> io::Result<()>;

    /// Something was scanned (before it is decided). Only `plain` shows this.
    fn scan(&mut self, _scan: &Scan, _at: OffsetDateTime) -> io::Result<()> {
        Ok(())
    }

    /// A scan was decided (and an accepted meal committed).
    fn decision(&mut self, verdict: &Verdict) -> io::Result<()>;

    /// Something arrived that did not read (noise, a garbled code, a bad card frame).
    fn unreadable(&mut self, device: DeviceKind, at: OffsetDateTime) -> io::Result<()>;

    /// The counter's state changed: worker, progress, or its dialog (opened, typed in,
    /// closed).
    fn counter(&mut self, _counter: &CounterView) -> io::Result<()> {
        Ok(())
    }

    /// The worker voided a meal (`note` says how it went).
    fn voided(&mut self, _event_id: Uuid, _note: &str) -> io::Result<()> {
        Ok(())
    }

    /// A serial device came or went.
    fn device(
        &mut self,
        device: DeviceKind,
        state: DeviceState,
        at: OffsetDateTime,
    ) -> io::Result<()>;

    /// A sync cycle ended; `roster` is the number of active students afterwards.
    fn sync(&mut self, report: &SyncReport, roster: u64, at: OffsetDateTime) -> io::Result<()>;
}
