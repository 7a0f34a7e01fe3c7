//! End to end: the real `firmware-sim` drives the real `canteen-terminal` through
//! pseudo-terminals, and the terminal's `--ui plain` JSON lines are checked.
//!
//! Covers DESIGN §6: passes and cards arrive exactly once each, whatever the chunking
//! (split lines, glued frames); noise and bad checksums never produce a scan; unplugging a
//! device is reported and the terminal picks the device up again when it comes back.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Longest wait for any single expected line.
const WAIT: Duration = Duration::from_secs(10);

/// A child process whose stdout lines arrive on a channel; killed when dropped.
struct Proc {
    name: &'static str,
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
}

impl Proc {
    fn spawn(name: &'static str, mut command: Command) -> Self {
        command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("starting {name}: {e}"));
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stdin = child.stdin.take();
        Self {
            name,
            child,
            stdin,
            lines,
        }
    }

    /// The next stdout line; fails the test after [`WAIT`] instead of hanging.
    fn next_line(&self, waiting_for: &str) -> String {
        match self.lines.recv_timeout(WAIT) {
            Ok(line) => line,
            Err(RecvTimeoutError::Timeout) => {
                panic!(
                    "{}: no output within {WAIT:?} while waiting for {waiting_for}",
                    self.name
                )
            }
            Err(RecvTimeoutError::Disconnected) => {
                panic!("{}: exited while waiting for {waiting_for}", self.name)
            }
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        // Closing stdin lets firmware-sim quit and remove its links; then make sure.
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(2);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The simulator, answering `ok` to each command.
struct Sim(Proc);

impl Sim {
    fn start(dir: &Path, extra: &[&str]) -> (Self, String, String) {
        let (qr, card) = (dir.join("qr"), dir.join("card"));
        let mut command = Command::new(tests::binary("firmware-sim"));
        command
            .arg("--qr-link")
            .arg(&qr)
            .arg("--card-link")
            .arg(&card)
            .args(extra);
        let sim = Sim(Proc::spawn("firmware-sim", command));
        let ready = sim.0.next_line("ready");
        let (qr, card) = (qr.display().to_string(), card.display().to_string());
        assert_eq!(ready, format!("ready qr={qr} card={card}"));
        (sim, qr, card)
    }

    fn cmd(&mut self, line: &str) {
        let stdin = self.0.stdin.as_mut().expect("sim stdin open");
        writeln!(stdin, "{line}")
            .and_then(|()| stdin.flush())
            .expect("write to sim");
        let answer = self.0.next_line(line);
        assert_eq!(
            answer, "ok",
            "firmware-sim answered {line:?} with {answer:?}"
        );
    }
}

/// The terminal, printing JSON lines.
struct Terminal {
    proc: Proc,
    seen: Vec<Value>,
}

impl Terminal {
    fn start(dir: &Path, qr: &str, card: &str, extra: &[&str]) -> Self {
        let db = dir.join("t.db");
        let mut command = Command::new(tests::binary("canteen-terminal"));
        command
            .args(["--ui", "plain", "--qr-port", qr, "--card-port", card])
            .args(["--school", "000000000000", "--server", "http://127.0.0.1:9"])
            .arg("--db")
            .arg(&db)
            .args(extra)
            .env("RUST_LOG", "warn");
        let mut terminal = Self {
            proc: Proc::spawn("canteen-terminal", command),
            seen: Vec::new(),
        };
        terminal.expect_both("connected");
        terminal
    }

    /// Both devices change to `state`, in either order.
    fn expect_both(&mut self, state: &str) {
        let devices: BTreeSet<String> = (0..2)
            .map(|_| {
                let event = self.event(&format!("both devices {state}"));
                assert_eq!(event["type"], "device", "{event}");
                assert_eq!(event["state"], state, "{event}");
                event["device"].as_str().expect("device name").to_owned()
            })
            .collect();
        assert_eq!(
            devices,
            BTreeSet::from(["card".to_owned(), "qr".to_owned()])
        );
    }

    /// The next JSON event, checked for shape.
    /// The next `scan` or `device` line; decision, sync and start lines are about other
    /// things (this test runs the terminal without a server) and are skipped.
    fn event(&mut self, waiting_for: &str) -> Value {
        let event = loop {
            let line = self.proc.next_line(waiting_for);
            let event: Value = serde_json::from_str(&line)
                .unwrap_or_else(|e| panic!("terminal printed non-JSON {line:?}: {e}"));
            if matches!(event["type"].as_str(), Some("scan" | "device")) {
                break event;
            }
        };
        let at = event["at"]
            .as_str()
            .unwrap_or_else(|| panic!("no \"at\" in {event}"));
        OffsetDateTime::parse(at, &Rfc3339).unwrap_or_else(|e| panic!("bad time {at:?}: {e}"));
        self.seen.push(event.clone());
        event
    }

    fn expect_card(&mut self, uid: &str) {
        let event = self.event(&format!("card {uid}"));
        assert_eq!(event["type"], "scan", "{event}");
        assert_eq!(event["method"], "card", "{event}");
        assert_eq!(event["card_uid"], uid, "{event}");
    }

    fn expect_qr(&mut self, text: &str) {
        let event = self.event(&format!("scan of {} bytes", text.len()));
        assert_eq!(event["type"], "scan", "{event}");
        assert_eq!(event["method"], "qr", "{event}");
        assert_eq!(event["text_len"], text.len(), "{event}");
        assert_eq!(
            event["looks_like_pass"],
            text.starts_with("SW1:"),
            "{event}"
        );
        assert!(
            !event.to_string().contains(text),
            "the QR text must never be printed"
        );
    }

    fn expect_device(&mut self, device: &str, state: &str) {
        let event = self.event(&format!("{device} {state}"));
        assert_eq!(event["type"], "device", "{event}");
        assert_eq!(event["device"], device, "{event}");
        assert_eq!(event["state"], state, "{event}");
    }

    /// No more scans or device changes arrive for a while (decision and sync lines may).
    fn expect_quiet(&self) {
        let deadline = std::time::Instant::now() + Duration::from_millis(700);
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.proc.lines.recv_timeout(left) {
                Err(RecvTimeoutError::Timeout) => return,
                Ok(line) => {
                    let event: Value = serde_json::from_str(&line).unwrap_or(Value::Null);
                    if matches!(event["type"].as_str(), Some("scan" | "device")) {
                        panic!("unexpected output from the terminal: {line}");
                    }
                }
                Err(RecvTimeoutError::Disconnected) => panic!("the terminal exited"),
            }
        }
    }

    fn scans(&self, method: &str) -> Vec<&Value> {
        self.seen
            .iter()
            .filter(|e| e["type"] == "scan" && e["method"] == method)
            .collect()
    }
}

#[test]
fn terminal_reads_simulated_devices_through_noise_and_unplugging() {
    let dir = tests::private_tempdir();
    let (mut sim, qr, card) = Sim::start(dir.path(), &[]);
    let mut terminal = Terminal::start(dir.path(), &qr, &card, &[]);

    sim.cmd("scan SW1:NCFOXN*TDP4");
    terminal.expect_qr("SW1:NCFOXN*TDP4");
    sim.cmd("card 0102abcdef");
    terminal.expect_card("0102ABCDEF");

    // Noise and a frame with a bad checksum produce nothing: the next event is the next
    // good card.
    sim.cmd("noise 200 card");
    sim.cmd("noise 200 qr");
    sim.cmd("card 62E3086CED badsum");
    sim.cmd("cards-glued 1100000001 1100000002 1100000003");
    for uid in ["1100000001", "1100000002", "1100000003"] {
        terminal.expect_card(uid);
    }
    sim.cmd("scan-split hello world");
    terminal.expect_qr("hello world");

    sim.cmd("unplug card");
    terminal.expect_device("card", "disconnected");
    sim.cmd("replug card");
    terminal.expect_device("card", "connected");
    sim.cmd("card 2200000022");
    terminal.expect_card("2200000022");
    terminal.expect_quiet();

    let cards: Vec<&str> = terminal
        .scans("card")
        .iter()
        .filter_map(|e| e["card_uid"].as_str())
        .collect();
    assert_eq!(
        cards,
        [
            "0102ABCDEF",
            "1100000001",
            "1100000002",
            "1100000003",
            "2200000022"
        ]
    );
    assert_eq!(terminal.scans("qr").len(), 2);
    assert!(terminal.seen.iter().all(|e| e["card_uid"] != "62E3086CED"));

    sim.cmd("quit");
    drop(sim);
    assert!(
        std::fs::symlink_metadata(&qr).is_err(),
        "firmware-sim removed its links"
    );
    terminal.expect_both("disconnected");
}

#[test]
fn terminal_accepts_a_scanner_with_another_line_ending() {
    let dir = tests::private_tempdir();
    let (mut sim, qr, card) = Sim::start(dir.path(), &["--qr-line-ending", "crlf"]);
    let mut terminal = Terminal::start(dir.path(), &qr, &card, &["--qr-line-ending", "cr"]);
    sim.cmd("scan SW1:ONE");
    sim.cmd("scan SW1:TWO");
    terminal.expect_qr("SW1:ONE");
    terminal.expect_qr("SW1:TWO");
    // A held card repeats its frame: one read.
    sim.cmd("cards-glued 3300000033 3300000033 3300000033");
    terminal.expect_card("3300000033");
    terminal.expect_quiet();
}
