//! The counter as a canteen worker sees it: the real `canteen-terminal` full screen on an
//! 80×24 pty, the real `firmware-sim` behind its serial devices, and a fake of the server's
//! terminal calls ([`fake_sync`]) the test steers.

pub mod fake_sync;
pub mod pty;

use std::path::PathBuf;

use shared::sync::RosterEntry;
use shared::VoucherId;
use tempfile::TempDir;

use crate::common::canteen::{terminal_command, Sim};
use fake_sync::{FakeSync, SCHOOL};
use pty::PtyScreen;

/// A long school name: the link state must stay visible whatever its length.
pub const LONG_SCHOOL: &str = "КГУ «Общеобразовательная школа-гимназия № 145 имени Абая \
                               Кунанбаева» отдела образования города Астаны";

/// A roster entry with a card.
pub fn student(name: &str, class: &str, card: &str) -> RosterEntry {
    RosterEntry {
        voucher_id: VoucherId::new(),
        student_name: name.into(),
        class_label: class.into(),
        card_uid: Some(card.parse().expect("card uid")),
        active: true,
        valid_until: time::macros::date!(2099 - 05 - 31),
        valid_from: time::Date::MIN,
        entitled: None,
        shift: None,
        alert: None,
    }
}

/// One counter: server fake, device simulator, terminal on a pty.
pub struct Counter {
    pub dir: TempDir,
    pub sync: FakeSync,
    pub sim: Sim,
    pub screen: Option<PtyScreen>,
    runs: usize,
}

impl Counter {
    /// Starts everything with `roster` and waits until the terminal is online.
    pub fn start(roster: Vec<RosterEntry>, extra: &[&str]) -> Counter {
        let dir = tempfile::tempdir().expect("tempdir");
        let sync = FakeSync::start(LONG_SCHOOL);
        let students = format!("Учеников: {}", roster.len());
        sync.with(|s| s.roster = roster);
        let sim = Sim::start(dir.path());
        let mut counter = Counter {
            dir,
            sync,
            sim,
            screen: None,
            runs: 0,
        };
        counter.run(extra, true);
        counter
            .screen()
            .wait_for(&["Желіде", "QR: ✔", "Карта: ✔", &students]);
        counter
    }

    pub fn db(&self) -> PathBuf {
        self.dir.path().join("terminal.db")
    }

    /// (Re)starts the terminal full screen on a fresh 80×24 pty.
    pub fn run(&mut self, extra: &[&str], enroll: bool) {
        drop(self.screen.take());
        let mut command = terminal_command();
        command
            .args([
                "--ui",
                "tui",
                "--server",
                &self.sync.url,
                "--school",
                SCHOOL,
            ])
            .arg("--db")
            .arg(self.db())
            .args(["--qr-port", &self.sim.qr, "--card-port", &self.sim.card])
            .args(["--sync-interval-ms", "300", "--card-debounce-ms", "0"])
            .args(["--http-timeout-secs", "2"])
            .args(extra)
            .env("RUST_LOG", "info");
        if enroll {
            command.args(["--enroll", "AAAA-BBBB-CCCC"]);
        }
        self.runs += 1;
        let log =
            std::fs::File::create(self.dir.path().join(format!("terminal-{}.log", self.runs)))
                .expect("log file");
        self.screen = Some(PtyScreen::spawn(command, 80, 24, log));
    }

    pub fn screen(&self) -> &PtyScreen {
        self.screen.as_ref().expect("the terminal runs")
    }

    pub fn screen_mut(&mut self) -> &mut PtyScreen {
        self.screen.as_mut().expect("the terminal runs")
    }

    /// Presents a card and waits for its result.
    pub fn card(&mut self, uid: &str, expect: &[&str]) -> String {
        self.sim.cmd(&format!("card {uid}"));
        self.screen().wait_for(expect)
    }

    /// Shows a QR text to the scanner and waits for its result.
    pub fn qr(&mut self, text: &str, expect: &[&str]) -> String {
        self.sim.cmd(&format!("scan {text}"));
        self.screen().wait_for(expect)
    }
}
