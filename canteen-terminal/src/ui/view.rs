//! What the full-screen UI shows, as plain data updated by events. The decision loop only
//! updates a [`View`] (microseconds, under a mutex); the drawing thread reads it. Kept apart
//! from the drawing so the rules (what counts as online, when the last result fades) are
//! tested without a terminal.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use shared::counter::Progress;
use shared::time::service_day;
use time::{Date, OffsetDateTime};

use super::StartInfo;
use crate::reason::Warning;
use crate::scanner::{DeviceKind, DeviceState};
use crate::sync::{Outcome, SyncReport};
use crate::terminal::Verdict;

/// How long the last result stays on the big panel.
pub const RESULT_SHOWN_FOR: Duration = Duration::from_secs(8);
/// How many earlier decisions the list keeps.
pub const RECENT: usize = 6;

/// The link to the server as the worker sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    /// No sync has finished yet.
    Starting,
    Online,
    Offline,
    /// The server refused the token.
    Revoked,
    /// No token and no enrollment code.
    NotEnrolled,
}

impl Link {
    /// `(ru, kk)` label.
    pub fn labels(self) -> (&'static str, &'static str) {
        match self {
            Link::Starting => ("Подключение…", "Қосылуда…"),
            Link::Online => ("В сети", "Желіде"),
            Link::Offline => ("Нет связи", "Байланыс жоқ"),
            Link::Revoked => ("Терминал отключён", "Терминал ажыратылған"),
            Link::NotEnrolled => ("Не зарегистрирован", "Тіркелмеген"),
        }
    }
}

/// What the big panel shows.
#[derive(Debug, Clone)]
pub enum Shown {
    /// A decided scan (or a manual serve).
    Verdict(Box<Verdict>),
    /// Something arrived that did not read: scan again.
    Unreadable(DeviceKind),
    /// What became of the worker's void.
    Note(String),
}

/// The sound of a result; how it sounds is [`super::sound`]'s business.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Beep {
    Accept,
    Deny,
}

/// Everything on the screen.
#[derive(Debug, Clone)]
pub struct View {
    pub school: String,
    pub last: Option<(Shown, Instant)>,
    /// Decisions, newest first, the one on the panel included.
    pub recent: VecDeque<Verdict>,
    /// Meals today on this terminal, and the service day they were counted for.
    pub today: u64,
    pub today_day: Option<Date>,
    /// Server time minus local time, for the header clock.
    pub clock_offset_ms: i64,
    pub link: Link,
    pub unsent: u64,
    pub roster: u64,
    pub last_sync: Option<OffsetDateTime>,
    pub qr: Option<DeviceState>,
    pub card: Option<DeviceState>,
    pub warning: Option<Warning>,
    pub worker: Option<String>,
    /// Today's progress and whether it is the server's (the whole school) or local.
    pub progress: Option<(Progress, bool)>,
    /// The counter's dialog (sign-in, lookup, void) when one is open.
    pub desk: Option<DeskView>,
    /// Sounds to play, numbered so the drawing thread plays each once.
    pub beep: Option<(u64, Beep)>,
}

/// What a dialog of the counter shows: a title, a line being typed, choices and a hint.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeskView {
    pub title: String,
    pub input: Option<String>,
    pub choices: Vec<String>,
    pub selected: usize,
    pub hint: String,
    /// A message about the last action (a void refused, nobody found).
    pub note: Option<String>,
}

impl Default for View {
    fn default() -> Self {
        Self {
            school: String::new(),
            last: None,
            recent: VecDeque::with_capacity(RECENT + 1),
            today: 0,
            today_day: None,
            clock_offset_ms: 0,
            link: Link::Starting,
            unsent: 0,
            roster: 0,
            last_sync: None,
            qr: None,
            card: None,
            warning: None,
            worker: None,
            progress: None,
            desk: None,
            beep: None,
        }
    }
}

impl View {
    pub fn on_start(&mut self, info: &StartInfo) {
        self.school = match &info.school_name {
            Some(name) => format!("{name} · БИН {}", info.school),
            None => format!("БИН {}", info.school),
        };
        self.today = info.today;
        self.today_day = Some(service_day(info.at));
        self.clock_offset_ms = info.clock_offset_ms;
        self.unsent = info.unsent;
        self.roster = info.roster;
        self.last_sync = info.last_roster_at;
        self.worker = info.worker.clone();
        self.link = match (info.enrolled, info.revoked) {
            (false, _) => Link::NotEnrolled,
            (true, true) => Link::Revoked,
            (true, false) => Link::Starting,
        };
        if info.revoked {
            self.warning = Some(Warning::TerminalRevoked);
        }
    }

    pub fn on_decision(&mut self, verdict: &Verdict, now: Instant) {
        self.recent.push_front(verdict.clone());
        self.recent.truncate(RECENT + 1);
        if verdict.accepted() && verdict.unshown_secs.is_none() {
            self.unsent += 1;
        }
        self.today = verdict.today;
        self.today_day = Some(verdict.service_day);
        self.warning = verdict.warning;
        self.last = Some((Shown::Verdict(Box::new(verdict.clone())), now));
        let beep = if verdict.accepted() {
            Beep::Accept
        } else {
            Beep::Deny
        };
        self.ring(beep);
    }

    /// A failed read replaces whatever was on the panel at once.
    pub fn on_unreadable(&mut self, device: DeviceKind, now: Instant) {
        self.last = Some((Shown::Unreadable(device), now));
        self.ring(Beep::Deny);
    }

    /// The worker's void was recorded (or refused): say so on the panel.
    pub fn on_note(&mut self, note: &str, now: Instant) {
        self.last = Some((Shown::Note(note.to_owned()), now));
    }

    fn ring(&mut self, beep: Beep) {
        let seq = self.beep.map_or(1, |(n, _)| n + 1);
        self.beep = Some((seq, beep));
    }

    pub fn on_device(&mut self, device: DeviceKind, state: DeviceState) {
        match device {
            DeviceKind::Qr => self.qr = Some(state),
            DeviceKind::Card => self.card = Some(state),
        }
    }

    pub fn on_sync(&mut self, report: &SyncReport, roster: u64, at: OffsetDateTime) {
        self.unsent = report.unsent;
        self.roster = roster;
        match &report.outcome {
            Outcome::Ok {
                clock_offset_ms, ..
            } => {
                self.link = Link::Online;
                self.last_sync = Some(at);
                self.clock_offset_ms = *clock_offset_ms;
                if self.warning == Some(Warning::RosterStale) {
                    self.warning = None;
                }
            }
            Outcome::Enrolled {
                school_name,
                school,
                ..
            } => {
                self.link = Link::Online;
                self.school = format!("{school_name} · БИН {school}");
            }
            Outcome::Offline { .. } | Outcome::ServerError { .. } => self.link = Link::Offline,
            Outcome::Unauthorized | Outcome::EnrollFailed { .. } => {
                self.link = Link::Revoked;
                self.warning = Some(Warning::TerminalRevoked);
            }
            Outcome::NotEnrolled => self.link = Link::NotEnrolled,
            Outcome::SchoolMismatch { .. } | Outcome::StoreFailed { .. } => {}
        }
    }

    /// What is on the big panel, while it is fresh.
    pub fn current(&self, now: Instant) -> Option<&Shown> {
        self.last
            .as_ref()
            .filter(|(_, at)| now.saturating_duration_since(*at) < RESULT_SHOWN_FOR)
            .map(|(shown, _)| shown)
    }

    /// The list under the panel: earlier decisions, and the last one once it has left the
    /// panel (it moves there instead of vanishing).
    pub fn recent_list(&self, now: Instant) -> impl Iterator<Item = &Verdict> {
        let on_panel = matches!(self.current(now), Some(Shown::Verdict(_)))
            && matches!(self.last, Some((Shown::Verdict(_), _)));
        self.recent.iter().skip(usize::from(on_panel)).take(RECENT)
    }

    /// Meals today as of `now` (the server's time): zero once the day has turned, without
    /// waiting for the next scan.
    pub fn today_at(&self, now: OffsetDateTime) -> u64 {
        match self.today_day {
            Some(day) if day == service_day(now) => self.today,
            _ => 0,
        }
    }

    /// The server-corrected time for a reading of the local clock.
    pub fn corrected(&self, local: OffsetDateTime) -> OffsetDateTime {
        local.saturating_add(time::Duration::milliseconds(self.clock_offset_ms))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reason::Denial;
    use crate::sync::PushTally;
    use shared::sync::Method;
    use time::macros::{date, datetime};

    fn verdict(denial: Option<Denial>, today: u64) -> Verdict {
        Verdict {
            denial,
            method: Method::Card,
            student: None,
            card_uid: None,
            event_id: None,
            slot: None,
            service_day: date!(2026 - 09 - 01),
            today,
            at: datetime!(2026-09-01 07:00 UTC),
            warning: None,
            earlier: None,
            unshown_secs: None,
            manual_reason: None,
        }
    }

    #[test]
    fn the_last_result_fades_and_moves_to_the_list() {
        let mut view = View::default();
        let t0 = Instant::now();
        view.on_decision(&verdict(None, 1), t0);
        assert!(view.current(t0 + Duration::from_secs(7)).is_some());
        assert!(view.current(t0 + RESULT_SHOWN_FOR).is_none());
        assert_eq!(view.unsent, 1);
        for i in 0..10 {
            view.on_decision(
                &verdict(Some(Denial::AlreadyAte), 1),
                t0 + Duration::from_secs(i),
            );
        }
        assert_eq!(view.recent_list(t0).count(), RECENT);
        assert_eq!(view.unsent, 1, "denials are not meals");
        assert_eq!(view.today, 1);
    }

    #[test]
    fn a_failed_read_replaces_the_panel_and_the_day_turns_without_a_scan() {
        let mut view = View::default();
        let t0 = Instant::now();
        view.on_decision(&verdict(None, 3), t0);
        assert_eq!(
            view.recent_list(t0).count(),
            0,
            "on the panel, not yet in the list"
        );
        view.on_unreadable(DeviceKind::Card, t0);
        assert!(matches!(view.current(t0), Some(Shown::Unreadable(_))));
        assert_eq!(
            view.recent_list(t0).count(),
            1,
            "the green left the panel for the list"
        );
        assert_eq!(view.beep, Some((2, Beep::Deny)));
        assert_eq!(view.today_at(datetime!(2026-09-01 18:59:59 UTC)), 3);
        assert_eq!(
            view.today_at(datetime!(2026-09-01 19:00 UTC)),
            0,
            "midnight in Astana"
        );
        view.clock_offset_ms = 90_000;
        assert_eq!(
            view.corrected(datetime!(2026-09-01 07:00 UTC)),
            datetime!(2026-09-01 07:01:30 UTC)
        );
    }

    #[test]
    fn sync_outcomes_set_the_link() {
        let mut view = View::default();
        assert_eq!(view.link, Link::Starting);
        let report = |outcome| SyncReport {
            outcome,
            push: PushTally::default(),
            unsent: 4,
            retry_in: None,
        };
        let at = datetime!(2026-09-01 07:00 UTC);
        view.on_sync(&report(Outcome::Offline { error: "x".into() }), 10, at);
        assert_eq!(
            (view.link, view.unsent, view.roster),
            (Link::Offline, 4, 10)
        );
        view.on_sync(
            &report(Outcome::Ok {
                roster: Default::default(),
                full: true,
                clock_offset_ms: 0,
            }),
            10,
            at,
        );
        assert_eq!(view.link, Link::Online);
        assert_eq!(view.last_sync, Some(at));
        view.on_sync(&report(Outcome::Unauthorized), 10, at);
        assert_eq!(view.link, Link::Revoked);
        assert_eq!(view.warning, Some(Warning::TerminalRevoked));
    }
}
