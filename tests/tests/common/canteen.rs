//! Helpers for the canteen end-to-end test and the scan-latency bench: the real
//! `wallet-server --demo` on an address chosen up front (so it can be stopped and started
//! again where the terminal expects it), the real `firmware-sim`, and the real
//! `canteen-terminal --ui plain`, whose JSON lines are read with bounded waits.
//!
//! Every child is killed and reaped when its guard drops, so a failing test leaves nothing
//! running; every wait has a deadline and fails with what was seen so far.

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use serde_json::Value;
use shared::Sex;
use time::Month;

use super::wallet::{self as w, demo};
use super::{wait_with_timeout, Server, DEMO_SCHOOL_BIN, DEMO_SCHOOL_NAME, START_TIMEOUT};

/// Longest wait for one expected line of the terminal or the simulator.
pub const LINE_TIMEOUT: Duration = Duration::from_secs(15);
/// Longest wait for a sync with a given outcome (covers a few backoff rounds).
pub const SYNC_TIMEOUT: Duration = Duration::from_secs(30);

impl Server {
    /// `wallet-server --demo` on `data_dir`, listening on exactly `addr` (`127.0.0.1:PORT`):
    /// a restarted server must come back where the terminal's `--server` points.
    pub fn demo_at(data_dir: &Path, addr: &str) -> Server {
        Server::start_at(data_dir, addr, || vec!["--demo".into()], &[])
    }

    /// Like [`Server::start`], but on exactly `addr`; a start refused because the port is
    /// still held (a slow release) is retried for a while, with `args()` asked afresh each
    /// time (a drill's clock has moved on meanwhile).
    pub fn start_at(
        data_dir: &Path,
        addr: &str,
        args: impl Fn() -> Vec<String>,
        env: &[(&str, &str)],
    ) -> Server {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            let args = args();
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            match Server::try_start_at(data_dir, addr, &args, env) {
                Ok(server) => return server,
                Err(why) if Instant::now() < deadline && why.contains("in use") => {
                    std::thread::sleep(Duration::from_millis(200));
                }
                Err(why) => panic!("wallet-server on {addr}: {why}"),
            }
        }
    }

    /// One try of [`Server::start_at`]: `Err` (with the log) when the server exits before
    /// printing its address.
    pub fn try_start_at(
        data_dir: &Path,
        addr: &str,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Result<Server, String> {
        let server = Server::launch(data_dir, addr, args, env)?;
        assert!(
            server.base.ends_with(&format!("://{addr}")),
            "serves where it was told: {}",
            server.base
        );
        Ok(server)
    }
}

/// The demo school's eligibility list for `period` as `wallet-server --demo` seeds it
/// (`wallet-server/src/demo.rs`), followed by `extra_students`. A list replaces the school's
/// list for the month, so a test that adds students must keep the demo's on it.
pub fn demo_school_list(period: &str, extra_students: Vec<Value>) -> Value {
    let mother = w::rep(
        &demo::mother().expose(),
        "Сапарова Гульнара Маратовна",
        "mother",
        Some("77011234567"),
    );
    let father = w::rep(
        &demo::father().expose(),
        "Сапаров Ерлан Нурланович",
        "father",
        Some("77017654321"),
    );
    let kim = w::rep(
        &demo::kim_mother().expose(),
        "Ким Ольга Викторовна",
        "mother",
        None,
    );
    let guardian = w::rep(
        &w::iin(1975, Month::December, 3, Sex::Female, 1234).expose(),
        "Жумабекова Сауле Кайратовна",
        "guardian",
        Some("77051112233"),
    );
    let mut students = vec![
        w::student(
            &demo::aigerim().expose(),
            "Сапарова Айгерим Ерлановна",
            2,
            "2А",
            "primary",
            vec![mother.clone(), father.clone()],
        ),
        w::student(
            &demo::nurlan().expose(),
            "Сапаров Нурлан Ерланович",
            7,
            "7Б",
            "asp",
            vec![mother, father],
        ),
        w::student(
            &demo::dana().expose(),
            "Ким Дана Сергеевна",
            1,
            "1В",
            "primary",
            vec![kim],
        ),
        w::student(
            &w::iin(2011, Month::January, 30, Sex::Male, 1234).expose(),
            "Жумабеков Арман Маратович",
            9,
            "9А",
            "orphan",
            vec![guardian],
        ),
    ];
    students.extend(extra_students);
    w::list(DEMO_SCHOOL_BIN, DEMO_SCHOOL_NAME, period, students)
}

/// A line of a child's stdout and the moment it was read.
pub type Line = (Instant, String);

/// A child process whose stdout lines arrive on a channel (stamped when read) and whose
/// stderr goes to a file; killed and reaped when dropped.
pub struct Proc {
    name: &'static str,
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<Line>,
    stderr_path: PathBuf,
}

impl Proc {
    /// Starts `command` with piped stdin and stdout, stderr to `stderr_path`.
    pub fn spawn(name: &'static str, mut command: Command, stderr_path: PathBuf) -> Proc {
        let stderr = File::create(&stderr_path).expect("create a stderr log");
        command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(stderr));
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("starting {name}: {e}"));
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            loop {
                line.clear();
                match reader.read_line(&mut line) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        let at = Instant::now();
                        let text = line.trim_end_matches(['\r', '\n']).to_owned();
                        if tx.send((at, text)).is_err() {
                            break;
                        }
                    }
                }
            }
        });
        let stdin = child.stdin.take();
        Proc {
            name,
            child,
            stdin,
            lines,
            stderr_path,
        }
    }

    /// The next stdout line, or `Err` saying why none came within `timeout`.
    pub fn next_line(&self, timeout: Duration) -> Result<Line, String> {
        match self.lines.recv_timeout(timeout) {
            Ok(line) => Ok(line),
            Err(RecvTimeoutError::Timeout) => Err(format!("no output within {timeout:?}")),
            Err(RecvTimeoutError::Disconnected) => {
                Err("stdout closed (the process exited?)".into())
            }
        }
    }

    /// Everything the process wrote on stderr so far (the last 8 KiB).
    pub fn stderr_tail(&self) -> String {
        let text = std::fs::read(&self.stderr_path).unwrap_or_default();
        let text = String::from_utf8_lossy(&text);
        let start = text.len().saturating_sub(8192);
        let start = (start..text.len())
            .find(|&i| text.is_char_boundary(i))
            .unwrap_or(text.len());
        text[start..].to_owned()
    }

    /// Kills the process at once (SIGKILL) and reaps it; its unread stdout stays readable.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        // Closing stdin lets firmware-sim quit and remove its links; then make sure.
        drop(self.stdin.take());
        if wait_with_timeout(&mut self.child, Duration::from_secs(2)).is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// `firmware-sim`, answering `ok` to each command.
pub struct Sim {
    proc: Proc,
    pub qr: String,
    pub card: String,
}

impl Sim {
    /// Starts the simulator with its links (and its stderr log) in `dir`.
    pub fn start(dir: &Path) -> Sim {
        let (qr, card) = (dir.join("qr"), dir.join("card"));
        let mut command = Command::new(tests::binary("firmware-sim"));
        for var in [
            "FIRMWARE_SIM_QR_LINK",
            "FIRMWARE_SIM_CARD_LINK",
            "FIRMWARE_SIM_QR_LINE_ENDING",
        ] {
            command.env_remove(var);
        }
        command
            .arg("--qr-link")
            .arg(&qr)
            .arg("--card-link")
            .arg(&card);
        let proc = Proc::spawn("firmware-sim", command, dir.join("sim.stderr"));
        let (qr, card) = (qr.display().to_string(), card.display().to_string());
        let sim = Sim { proc, qr, card };
        let ready = sim.answer("ready");
        assert_eq!(ready, format!("ready qr={} card={}", sim.qr, sim.card));
        sim
    }

    fn answer(&self, waiting_for: &str) -> String {
        self.proc
            .next_line(LINE_TIMEOUT)
            .unwrap_or_else(|why| {
                panic!(
                    "firmware-sim, waiting for {waiting_for}: {why}\nstderr:\n{}",
                    self.proc.stderr_tail()
                )
            })
            .1
    }

    /// Sends one command and checks the `ok`.
    pub fn cmd(&mut self, line: &str) {
        let stdin = self.proc.stdin.as_mut().expect("sim stdin open");
        writeln!(stdin, "{line}")
            .and_then(|()| stdin.flush())
            .expect("write to firmware-sim");
        let shown: String = line.chars().take(40).collect();
        let answer = self.answer(&shown);
        assert_eq!(
            answer, "ok",
            "firmware-sim answered {shown:?}… with {answer:?}"
        );
    }
}

/// Settings of a `canteen-terminal` run.
#[derive(Debug, Clone)]
pub struct TerminalSetup {
    pub server: String,
    pub school: String,
    pub db: PathBuf,
    pub qr: String,
    pub card: String,
    /// Where each run's stderr (the terminal's log) goes, as `terminal-N.stderr`.
    pub log_dir: PathBuf,
    /// `--sync-interval-ms` (failed syncs back off from 100 to 500 ms).
    pub sync_interval_ms: u64,
    /// More flags (e.g. `--card-debounce-ms 0`).
    pub extra: Vec<String>,
}

/// The terminal binary with no `CANTEEN_*` setting inherited from the environment the
/// tests run in.
pub fn terminal_command() -> Command {
    let mut command = Command::new(tests::binary("canteen-terminal"));
    for (var, _) in std::env::vars_os()
        .filter(|(k, _)| k.to_string_lossy().starts_with("CANTEEN_"))
        .collect::<Vec<_>>()
    {
        command.env_remove(var);
    }
    command
}

/// `canteen-terminal --ui plain`, with every JSON line it printed kept in `events`.
pub struct Terminal {
    proc: Proc,
    /// Every line read so far, in order.
    pub events: Vec<Value>,
}

impl Terminal {
    /// Starts the terminal (with `--enroll CODE` when given) and checks its `start` line.
    /// Failed syncs are retried quickly (backing off 100–500 ms) so tests do not wait.
    pub fn start(setup: &TerminalSetup, enroll: Option<&str>) -> Terminal {
        let mut command = terminal_command();
        command
            .args(["--ui", "plain", "--server", &setup.server])
            .args(["--school", &setup.school])
            .arg("--db")
            .arg(&setup.db)
            .args(["--qr-port", &setup.qr, "--card-port", &setup.card])
            .arg("--sync-interval-ms")
            .arg(setup.sync_interval_ms.to_string())
            .args([
                "--sync-backoff-min-ms",
                "100",
                "--sync-backoff-max-ms",
                "500",
            ])
            .args(["--http-timeout-secs", "5"])
            .args(&setup.extra)
            .env("RUST_LOG", "info");
        if let Some(code) = enroll {
            command.args(["--enroll", code]);
        }
        static RUNS: AtomicUsize = AtomicUsize::new(0);
        let run = RUNS.fetch_add(1, Ordering::Relaxed);
        let stderr_path = setup.log_dir.join(format!("terminal-{run}.stderr"));
        let mut terminal = Terminal {
            proc: Proc::spawn("canteen-terminal", command, stderr_path),
            events: Vec::new(),
        };
        let start = terminal.next("the start line");
        assert_eq!(start["type"], "start", "first line: {start}");
        assert_eq!(start["school"], setup.school.as_str(), "{start}");
        terminal
    }

    fn fail(&self, what: &str, why: &str) -> ! {
        let tail: Vec<String> = self
            .events
            .iter()
            .rev()
            .take(30)
            .rev()
            .map(Value::to_string)
            .collect();
        panic!(
            "canteen-terminal, waiting for {what}: {why}\nlast lines:\n{}\nstderr:\n{}",
            tail.join("\n"),
            self.proc.stderr_tail()
        )
    }

    /// The next JSON line and when it was read.
    pub fn next_timed(&mut self, what: &str, timeout: Duration) -> (Instant, Value) {
        let (at, line) = match self.proc.next_line(timeout) {
            Ok(line) => line,
            Err(why) => self.fail(what, &why),
        };
        let event: Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| self.fail(what, &format!("non-JSON line {line:?}: {e}")));
        self.events.push(event.clone());
        (at, event)
    }

    /// The next JSON line.
    pub fn next(&mut self, what: &str) -> Value {
        self.next_timed(what, LINE_TIMEOUT).1
    }

    /// Lines until one satisfies `pred` (the others are kept in `events`), at most
    /// `timeout` in all.
    pub fn wait_for(
        &mut self,
        what: &str,
        timeout: Duration,
        mut pred: impl FnMut(&Value) -> bool,
    ) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                self.fail(what, &format!("not seen within {timeout:?}"));
            }
            let (_, event) = self.next_timed(what, left);
            if event["type"] == "sync" {
                self.refuse_fatal_sync(what, &event);
            }
            if pred(&event) {
                return event;
            }
        }
    }

    /// Like [`Terminal::wait_for`], but `None` instead of a failure when nothing matching
    /// came within `timeout` (the lines read meanwhile are kept in `events`).
    pub fn try_wait_for(
        &mut self,
        timeout: Duration,
        mut pred: impl FnMut(&Value) -> bool,
    ) -> Option<Value> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let (_, line) = self.proc.next_line(left).ok()?;
            let event: Value = serde_json::from_str(&line)
                .unwrap_or_else(|e| self.fail("a line", &format!("non-JSON line {line:?}: {e}")));
            self.events.push(event.clone());
            if pred(&event) {
                return Some(event);
            }
        }
    }

    /// A sync line that means the test cannot go on.
    fn refuse_fatal_sync(&self, what: &str, sync: &Value) {
        let fatal = matches!(
            sync["outcome"].as_str(),
            Some("enroll_failed" | "school_mismatch" | "unauthorized" | "store_error")
        );
        if fatal {
            self.fail(what, &format!("sync failed: {sync}"));
        }
    }

    /// The next sync line with outcome `outcome` that satisfies `pred`.
    pub fn wait_sync(&mut self, outcome: &str, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        self.wait_for(what, SYNC_TIMEOUT, |e| {
            e["type"] == "sync" && e["outcome"] == outcome && pred(e)
        })
    }

    /// The next decision line; a `scan` line must come right before it.
    pub fn decision(&mut self, what: &str) -> Value {
        self.decision_timed(what, LINE_TIMEOUT).1
    }

    /// The next decision line and when it was read (sync and device lines are skipped).
    pub fn decision_timed(&mut self, what: &str, timeout: Duration) -> (Instant, Value) {
        let deadline = Instant::now() + timeout;
        let mut scanned = false;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                self.fail(what, &format!("no decision within {timeout:?}"));
            }
            let (at, event) = self.next_timed(what, left);
            match event["type"].as_str() {
                Some("scan") => scanned = true,
                Some("decision") => {
                    assert!(scanned, "{what}: a decision without its scan line: {event}");
                    return (at, event);
                }
                _ => {}
            }
        }
    }

    /// Lines until none has come for `quiet` (at most `timeout` in all).
    pub fn drain(&mut self, quiet: Duration, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            match self.proc.next_line(quiet) {
                Ok((_, line)) => {
                    let event: Value = serde_json::from_str(&line).unwrap_or_else(|e| {
                        self.fail("quiet", &format!("non-JSON line {line:?}: {e}"))
                    });
                    self.events.push(event);
                }
                Err(_) => return,
            }
        }
    }

    /// SIGKILL, then every line the process had written before it died.
    pub fn kill(&mut self) {
        self.proc.kill();
        while let Ok((_, line)) = self.proc.next_line(Duration::from_secs(2)) {
            if let Ok(event) = serde_json::from_str::<Value>(&line) {
                self.events.push(event);
            }
        }
    }

    /// The decision lines seen so far.
    pub fn decisions(&self) -> impl Iterator<Item = &Value> {
        self.events.iter().filter(|e| e["type"] == "decision")
    }

    pub fn pid(&self) -> u32 {
        self.proc.pid()
    }

    pub fn stderr_tail(&self) -> String {
        self.proc.stderr_tail()
    }
}
