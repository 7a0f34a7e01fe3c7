//! The real `canteen-terminal` binary, offline, fed through pseudo-terminals, killed with
//! SIGKILL in the middle of a stream of scans: every meal it showed green is in its
//! database, nothing it showed red is, and after a restart the meals are still queued for
//! the server under the same event ids. (The wallet server side of "pushed exactly once" is
//! covered by the workspace `tests` crate.)

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::Duration;

use canteen_terminal::scanner::rdm6300::encode_frame;
use canteen_terminal::store::Store;
use serde_json::Value;
use serialport::{SerialPort, TTYPort};
use shared::pass::{KeySet, PassSigner};
use shared::sync::{EnrollResponse, MealSlot, RosterEntry, SchoolInfo, SyncResponse};
use shared::{CardUid, VoucherId};
use time::macros::date;
use time::OffsetDateTime;

const SCHOOL: &str = "990340001230";
const WAIT: Duration = Duration::from_secs(10);

/// A database as a synced terminal has it: enrolled, `n` students with cards.
fn synced_db(path: &Path, n: u8) -> Vec<CardUid> {
    let mut store = Store::open(path).expect("store");
    let school = SchoolInfo {
        bin: SCHOOL.parse().expect("bin"),
        name: "Школа".into(),
    };
    let enrolled = EnrollResponse {
        terminal_id: uuid::Uuid::now_v7(),
        token: "device-token".into(),
        school: school.clone(),
    };
    store
        .save_enrollment("http://127.0.0.1:9", &enrolled)
        .expect("enroll");
    let (signer, _) = PassSigner::generate().expect("key");
    let mut keys = KeySet::new();
    keys.insert(signer.public_key());
    let cards: Vec<CardUid> = (0..n)
        .map(|i| CardUid::from_bytes([0x42, 0, 0, 0, i]))
        .collect();
    let roster = cards
        .iter()
        .enumerate()
        .map(|(i, card)| RosterEntry {
            voucher_id: VoucherId::new(),
            student_name: format!("Ученик {i}"),
            class_label: "1А".into(),
            card_uid: Some(*card),
            active: true,
            valid_until: date!(2099 - 05 - 31),
            valid_from: time::Date::MIN,
            entitled: None,
            shift: None,
            alert: None,
        })
        .collect();
    let now = OffsetDateTime::now_utc();
    let pulled = SyncResponse {
        school,
        cursor: 1,
        roster,
        full: true,
        keys: keys.published(),
        slots: vec![MealSlot::whole_day()],
        server_time: now,
        progress: None,
        meals_seen: Vec::new(),
        meals_cursor: None,
    };
    store.apply_sync(&pulled, 0, now).expect("apply");
    cards
}

struct Running {
    child: Child,
    lines: Receiver<Value>,
}

impl Running {
    fn start(db: &Path, card_link: &Path) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_canteen-terminal"))
            .args(["--ui", "plain", "--school", SCHOOL])
            .args([
                "--server",
                "http://127.0.0.1:9",
                "--sync-backoff-min-ms",
                "50",
            ])
            .args(["--sync-backoff-max-ms", "200", "--card-debounce-ms", "0"])
            .arg("--db")
            .arg(db)
            .arg("--card-port")
            .arg(card_link)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the terminal");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let value: Value = serde_json::from_str(&line).expect("JSON line");
                if tx.send(value).is_err() {
                    break;
                }
            }
        });
        Self { child, lines }
    }

    /// The next line.
    fn next_any(&self) -> Value {
        self.lines
            .recv_timeout(WAIT)
            .unwrap_or_else(|e| panic!("no output from the terminal: {e}"))
    }

    /// The next line of `kind`, skipping others.
    fn next(&self, kind: &str) -> Value {
        loop {
            let line = self.next_any();
            if line["type"] == kind {
                return line;
            }
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn plug(link: &Path) -> (TTYPort, TTYPort) {
    let (master, slave) = TTYPort::pair().expect("pty pair");
    let _ = std::fs::remove_file(link);
    std::os::unix::fs::symlink(slave.name().expect("pty name"), link).expect("symlink");
    (master, slave)
}

/// Event ids of the accepted decisions among `lines`.
fn accepted_ids(lines: impl IntoIterator<Item = Value>) -> Vec<String> {
    lines
        .into_iter()
        .filter(|d| d["type"] == "decision" && d["decision"] == "accept")
        .map(|d| d["event_id"].as_str().expect("event id").to_owned())
        .collect()
}

/// Scans each of `cards` and returns the decisions.
fn scan_all(terminal: &Running, master: &mut TTYPort, cards: &[CardUid]) -> Vec<Value> {
    cards
        .iter()
        .map(|card| {
            master.write_all(&encode_frame(card)).expect("write frame");
            terminal.next("decision")
        })
        .collect()
}

/// Scans `cards` in one burst and SIGKILLs the terminal after `after` decisions; returns
/// the event ids of every meal it showed green.
fn kill_mid_burst(
    mut terminal: Running,
    master: &mut TTYPort,
    cards: &[CardUid],
    after: usize,
) -> Vec<String> {
    for card in cards {
        master.write_all(&encode_frame(card)).expect("write frame");
    }
    let mut shown: Vec<Value> = (0..after).map(|_| terminal.next("decision")).collect();
    terminal.child.kill().expect("SIGKILL");
    terminal.child.wait().expect("reaped");
    while let Ok(line) = terminal.lines.recv_timeout(Duration::from_millis(500)) {
        shown.push(line);
    }
    accepted_ids(shown)
}

#[test]
fn green_means_on_disk_even_after_sigkill_and_red_means_nothing_recorded() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (db, link) = (dir.path().join("t.db"), dir.path().join("card"));
    let cards = synced_db(&db, 60);
    let (mut master, _slave) = plug(&link);
    let terminal = Running::start(&db, &link);
    assert_eq!(terminal.next("start")["unsent"], 0);
    // The card reader connects; the sync finds the server offline and backs off, and
    // scanning goes on regardless.
    let (mut connected, mut offline) = (false, false);
    while !(connected && offline) {
        let line = terminal.next_any();
        connected |= line["type"] == "device" && line["state"] == "connected";
        offline |= line["type"] == "sync" && line["outcome"] == "offline";
    }

    // Each student twice: the second scan is red (already ate) and records nothing.
    let first = scan_all(&terminal, &mut master, &cards[..20]);
    let second = scan_all(&terminal, &mut master, &cards[..20]);
    assert!(first.iter().all(|d| d["decision"] == "accept"));
    assert!(second.iter().all(|d| d["reason"] == "already_ate"));
    let mut green: HashSet<String> = accepted_ids(first).into_iter().collect();
    green.extend(kill_mid_burst(terminal, &mut master, &cards[20..], 5));

    let store = Store::open(&db).expect("reopen");
    let on_disk: HashSet<String> = store
        .unsent(10_000)
        .expect("unsent")
        .iter()
        .map(|e| e.event_id.to_string())
        .collect();
    let missing: Vec<_> = green.difference(&on_disk).collect();
    assert!(missing.is_empty(), "shown green but lost: {missing:?}");
    // At most the one meal being committed when the kill landed was never shown.
    assert!(
        on_disk.len() <= green.len() + 1,
        "{} > {}",
        on_disk.len(),
        green.len()
    );

    // After a restart everything is still queued, under the same ids.
    let (_master2, _slave2) = plug(&link);
    let again = Running::start(&db, &link);
    let start = again.next("start");
    assert_eq!(start["unsent"], on_disk.len() as u64, "{start}");
    assert_eq!(start["enrolled"], true);
}
