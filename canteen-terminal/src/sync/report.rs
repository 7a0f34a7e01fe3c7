//! What one sync cycle reports to the screen, and what the loop does next because of it.

use std::time::Duration;

use shared::Bin;
use uuid::Uuid;

use super::ServerError;
use crate::store::{ApplySummary, MarkSummary};

/// Meals pushed in one cycle and the server's verdicts on them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PushTally {
    /// Meals sent (a batch that got no answer counts here and stays queued).
    pub pushed: u64,
    pub accepted: u64,
    pub duplicate: u64,
    pub rejected: u64,
}

impl PushTally {
    /// Adds a batch of `sent` meals and what marking its answer did.
    pub fn add(&mut self, sent: u64, marked: &MarkSummary) {
        self.pushed += sent;
        self.accepted += marked.accepted;
        self.duplicate += marked.duplicate;
        self.rejected += marked.rejected;
    }
}

/// How a cycle ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The enrollment code was accepted; the terminal now has a device token.
    Enrolled {
        terminal_id: Uuid,
        school: Bin,
        school_name: String,
    },
    /// Pushed everything and pulled.
    Ok {
        roster: ApplySummary,
        full: bool,
        clock_offset_ms: i64,
    },
    /// No HTTP answer.
    Offline { error: String },
    /// The server failed or answered something unexpected.
    ServerError { status: Option<u16>, error: String },
    /// The device token was refused: the terminal is revoked. Sync stops.
    Unauthorized,
    /// No device token and no enrollment code: nothing to sync with. Sync stops.
    NotEnrolled,
    /// The enrollment code was refused. `fatal` when the terminal has no token at all.
    EnrollFailed {
        status: u16,
        code: String,
        message: String,
        fatal: bool,
    },
    /// The server says this terminal belongs to another school than `--school`. Fatal.
    SchoolMismatch { expected: Bin, got: Bin },
    /// The local database failed.
    StoreFailed { error: String },
}

/// What the loop does after a cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Run the next cycle at once.
    Again,
    /// Wait the normal interval.
    Interval,
    /// Wait longer after each failure.
    Backoff,
    /// End the sync thread.
    Stop,
}

impl Outcome {
    /// The outcome of a server call that failed.
    pub fn from_error(error: ServerError) -> Self {
        match error {
            ServerError::Unreachable(error) => Outcome::Offline { error },
            ServerError::Unauthorized => Outcome::Unauthorized,
            ServerError::Refused { status, .. } | ServerError::Failed { status, .. } => {
                Outcome::ServerError {
                    status: Some(status),
                    error: error.to_string(),
                }
            }
            ServerError::BadAnswer(_) => Outcome::ServerError {
                status: None,
                error: error.to_string(),
            },
        }
    }

    /// The stable name of the outcome, for `--ui plain`.
    /// Whether the server answered the whole cycle.
    pub fn is_ok(&self) -> bool {
        matches!(self, Outcome::Ok { .. })
    }

    pub fn name(&self) -> &'static str {
        match self {
            Outcome::Enrolled { .. } => "enrolled",
            Outcome::Ok { .. } => "ok",
            Outcome::Offline { .. } => "offline",
            Outcome::ServerError { .. } => "server_error",
            Outcome::Unauthorized => "unauthorized",
            Outcome::NotEnrolled => "not_enrolled",
            Outcome::EnrollFailed { .. } => "enroll_failed",
            Outcome::SchoolMismatch { .. } => "school_mismatch",
            Outcome::StoreFailed { .. } => "store_error",
        }
    }

    /// What the loop does next.
    pub fn next_step(&self) -> Next {
        match self {
            Outcome::Enrolled { .. } => Next::Again,
            Outcome::Ok { .. } => Next::Interval,
            Outcome::Offline { .. } | Outcome::ServerError { .. } | Outcome::StoreFailed { .. } => {
                Next::Backoff
            }
            Outcome::Unauthorized
            | Outcome::NotEnrolled
            | Outcome::EnrollFailed { .. }
            | Outcome::SchoolMismatch { .. } => Next::Stop,
        }
    }

    /// Why the terminal must stop altogether, if it must.
    pub fn fatal(&self) -> Option<String> {
        match self {
            Outcome::EnrollFailed {
                status,
                code,
                message,
                fatal: true,
            } => Some(format!(
                "enrollment refused by the server ({status} {code}: {message}); \
                 ask the school for a new code and start again with --enroll CODE"
            )),
            Outcome::SchoolMismatch { expected, got } => Some(format!(
                "the server says this terminal belongs to school {got}, \
                 but it was started with --school {expected}; refusing to run"
            )),
            _ => None,
        }
    }
}

/// One cycle's report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncReport {
    pub outcome: Outcome,
    pub push: PushTally,
    /// Meals still waiting for the server after the cycle.
    pub unsent: u64,
    /// When the next cycle runs (`None`: sync stopped).
    pub retry_in: Option<Duration>,
}
