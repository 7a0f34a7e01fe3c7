//! Scan-to-decision latency of the real `canteen-terminal`, measured from outside it.
//!
//! Run it with:
//!
//! ```text
//! cargo bench -p tests --bench scan_latency
//! ```
//!
//! (`SCAN_LATENCY_SCANS=N` changes the number of measured scans; default 500.)
//!
//! Set-up: the real `wallet-server --demo` (SQLite in a temporary directory) receives a PEP
//! list that adds [`STUDENTS`] primary-grade students to the demo school; staff bind a card
//! to each, their mother activates every voucher and mints one JSON pass per child. The
//! real `canteen-terminal --ui plain` enrolls with a one-time code and pulls the roster. Its
//! QR scanner and card reader are two pseudo-terminal pairs this program owns
//! (`serialport::TTYPort::pair`): the bench writes the devices' bytes on the master ends
//! itself, with no simulator in between. Both binaries are built with the bench profile
//! (release), like this program.
//!
//! Measured: from the moment the last byte of a frame has been written (`write_all`, then
//! `flush`, which is `tcdrain`) to the moment the matching `decision` line is read from the
//! terminal's stdout. One scan at a time. The mix: the first round presents every student
//! once — alternately by card and by pass — and is accepted (the meal is committed with
//! `synchronous=FULL` before the line is printed, and a push to the server is nudged, so
//! the sync runs alongside the next scans); the following rounds present them again, each
//! time by the other method, and are denied `already_ate` (the same pass check, roster
//! lookup and meal rule, no write). The card reader's debounce is off
//! (`--card-debounce-ms 0`), so a card presented again is read again; the sync interval
//! is the default 5 s.
//!
//! Then the counter (issue 19), with the alert line and the shift rule on every scan: the
//! same terminal set-up against a fake of the server's terminal calls
//! (`tests/tests/screen_support/fake_sync.rs`, the server's side of shifts and alert lines
//! being built separately) whose roster gives each of [`STUDENTS`] students an alert line
//! and a shift (even: 1, odd: 2) and whose only slot serves shift 1 all day. The first
//! student of shift 1 is accepted once and then denied `already_ate`; a student of shift 2
//! is denied `wrong_shift` every time — and every denial is now also kept for the server
//! (`denials`, written just after its decision line is printed). `TESTS_BIN_DIR=DIR` runs
//! prebuilt binaries from DIR (e.g. a release terminal when the whole release build is too
//! long for the machine).
//!
//! Output: count, mean, p50, p95, p99 and max in milliseconds for all scans and per kind
//! (accept/deny, card/QR), for both scenarios, on stdout and in
//! `target/scan_latency.json` (`results` and `counter_results`).

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "../tests/screen_support/fake_sync.rs"]
mod fake_sync;

use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use serialport::{SerialPort, TTYPort};
use shared::Sex;
use time::format_description::well_known::Rfc3339;
use time::{Date, Month, OffsetDateTime};

use common::canteen::{demo_school_list, Terminal, TerminalSetup};
use common::wallet::{self as w, Term};
use common::{Server, DEMO_SCHOOL_BIN};

/// Students on the roster besides the demo's (each is accepted once, in the first round).
const STUDENTS: usize = 100;
const DEFAULT_SCANS: usize = 500;
const COMMAND: &str = "cargo bench -p tests --bench scan_latency";

const SURNAMES: [&str; 10] = [
    "Ахметов",
    "Бекенов",
    "Валиев",
    "Габдуллин",
    "Даулетов",
    "Ержанов",
    "Жакупов",
    "Исаев",
    "Кенжебаев",
    "Лукпанов",
];
const NAMES: [(&str, &str); 10] = [
    ("Али", "Алия"),
    ("Бауыржан", "Балжан"),
    ("Дамир", "Дана"),
    ("Ерлан", "Еркежан"),
    ("Жанибек", "Жанар"),
    ("Ильяс", "Индира"),
    ("Кайрат", "Камила"),
    ("Марат", "Мадина"),
    ("Нурсултан", "Назерке"),
    ("Тимур", "Томирис"),
];

struct Student {
    iin: shared::Iin,
    name: String,
    card: String,
    pass: String,
}

/// The `i`-th student: born in early 2016 (4th grade), alternately a boy and a girl.
fn student(i: usize) -> Student {
    let day = u16::try_from(i + 1).expect("a day of the year");
    let born = Date::from_ordinal_date(2016, day).expect("a date in 2016");
    let sex = if i.is_multiple_of(2) {
        Sex::Male
    } else {
        Sex::Female
    };
    let (surname, (boy, girl)) = (SURNAMES[i % 10], NAMES[i / 10 % 10]);
    let name = match sex {
        Sex::Male => format!("{surname} {boy}"),
        Sex::Female => format!("{surname}а {girl}"),
    };
    Student {
        iin: w::iin(born.year(), born.month(), born.day(), sex, 1234),
        name,
        card: format!("0C{:08X}", i + 1),
        pass: String::new(),
    }
}

/// An RDM6300 frame: STX, 10 hex digits, 2 hex digits of XOR checksum, ETX.
fn rdm6300_frame(uid: &str) -> Vec<u8> {
    let checksum = (0..5)
        .map(|i| u8::from_str_radix(&uid[2 * i..2 * i + 2], 16).expect("hex card UID"))
        .fold(0, |acc, b| acc ^ b);
    let mut frame = vec![0x02];
    frame.extend_from_slice(uid.as_bytes());
    frame.extend_from_slice(format!("{checksum:02X}").as_bytes());
    frame.push(0x03);
    frame
}

/// Adds the demo school's list with `STUDENTS` more students, binds their cards,
/// activates their vouchers and mints their passes; returns them and an enrollment code.
async fn prepare(server: &Server) -> (Vec<Student>, String) {
    let term = Term::enter(server).await;
    let mother = w::iin(1984, Month::June, 6, Sex::Female, 1234);
    let rep = w::rep(
        &mother.expose(),
        "Бекенова Айнур Болатовна",
        "mother",
        Some("77015550202"),
    );
    let mut students: Vec<Student> = (0..STUDENTS).map(student).collect();
    let rows = students
        .iter()
        .map(|s| {
            w::student(
                &s.iin.expose(),
                &s.name,
                4,
                "4Б",
                "primary",
                vec![rep.clone()],
            )
        })
        .collect();
    let list = demo_school_list(&term.period(), rows);
    let reception = w::send_list(server, &list).await.ok_json();
    assert_eq!(reception["rejected"], json!([]), "{reception:#}");

    let staff = server
        .staff_token("social_pedagogue", DEMO_SCHOOL_BIN)
        .await;
    for s in &students {
        server
            .post_json(
                &format!("/v1/schools/{DEMO_SCHOOL_BIN}/cards"),
                Some(&staff),
                &json!({"student_iin": s.iin.expose(), "card_uid": s.card}),
            )
            .await
            .ok_json();
    }
    let parent = server.parent_token(&mother.expose()).await;
    let wallet = w::wallet(server, &parent).await;
    for s in &mut students {
        let voucher = wallet["vouchers"]
            .as_array()
            .and_then(|vs| {
                vs.iter()
                    .find(|v| v["student"]["full_name"] == s.name.as_str())
            })
            .and_then(|v| v["id"].as_str())
            .unwrap_or_else(|| panic!("no voucher of {} in {wallet:#}", s.name))
            .to_owned();
        w::activate(server, &parent, &voucher).await.ok_json();
        let pass = w::mint(server, &parent, &voucher, Some("application/json"))
            .await
            .ok_json();
        s.pass = pass["text"].as_str().expect("pass text").to_owned();
    }
    let resp = server
        .post_json(
            &format!("/v1/schools/{DEMO_SCHOOL_BIN}/terminals"),
            Some(&staff),
            &json!({}),
        )
        .await;
    assert_eq!(resp.status, 201, "{}", resp.text);
    let code = resp.json()["code"].as_str().expect("code").to_owned();
    (students, code)
}

/// One measured scan.
struct Sample {
    ms: f64,
    card: bool,
    accepted: bool,
}

/// count, mean and nearest-rank percentiles of `ms`.
fn summary(mut ms: Vec<f64>) -> Value {
    if ms.is_empty() {
        return json!({"count": 0});
    }
    ms.sort_by(f64::total_cmp);
    let n = ms.len();
    let pct = |p: f64| {
        let rank = ((p / 100.0) * n as f64).ceil() as usize;
        ms[rank.clamp(1, n) - 1]
    };
    let round = |x: f64| (x * 1000.0).round() / 1000.0;
    json!({
        "count": n,
        "mean_ms": round(ms.iter().sum::<f64>() / n as f64),
        "p50_ms": round(pct(50.0)),
        "p95_ms": round(pct(95.0)),
        "p99_ms": round(pct(99.0)),
        "max_ms": round(ms[n - 1]),
    })
}

/// `target/` (this program runs from `target/<profile>/deps/`).
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current executable");
    exe.ancestors()
        .nth(3)
        .expect("target/<profile>/deps/<bench>")
        .to_path_buf()
}

fn main() {
    // `cargo bench` passes `--bench`; a filter or `--list` has nothing to select here.
    if std::env::args().any(|a| a == "--list") {
        println!("scan_latency: bench");
        return;
    }
    let scans: usize = std::env::var("SCAN_LATENCY_SCANS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(DEFAULT_SCANS);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    tests::private_dir(&data);
    let server = Server::demo(&data);
    eprintln!(
        "scan_latency: preparing {STUDENTS} students on {}",
        server.base
    );
    let (students, code) = runtime.block_on(prepare(&server));

    let (mut qr, qr_slave) = TTYPort::pair().expect("a pty pair for the QR scanner");
    let (mut card, card_slave) = TTYPort::pair().expect("a pty pair for the card reader");
    let setup = TerminalSetup {
        server: server.base.clone(),
        school: DEMO_SCHOOL_BIN.into(),
        db: dir.path().join("t.db"),
        qr: qr_slave.name().expect("pty name"),
        card: card_slave.name().expect("pty name"),
        log_dir: dir.path().to_path_buf(),
        sync_interval_ms: 5000,
        extra: vec!["--card-debounce-ms".into(), "0".into()],
    };
    let mut terminal = Terminal::start(&setup, Some(&code));
    let roster = STUDENTS + 1; // and Айгерим, activated by the demo
    terminal.wait_sync("ok", "the roster", |s| s["roster"] == roster);

    // Warm-up, not measured: unknown cards (the reader, the lookup, the output).
    for _ in 0..5 {
        card.write_all(&rdm6300_frame("0CFFFFFFFF")).expect("write");
        card.flush().expect("tcdrain");
        let d = terminal.decision("a warm-up scan");
        assert_eq!(d["reason"], "unknown_card", "{d}");
    }

    let bytes_of = |i: usize| -> Scanned {
        let (round, k) = (i / STUDENTS, i % STUDENTS);
        let s = &students[k];
        let by_card = (k + round).is_multiple_of(2);
        Scanned {
            by_card,
            student: s.name.clone(),
            expect: if round == 0 {
                None
            } else {
                Some("already_ate")
            },
            bytes: if by_card {
                rdm6300_frame(&s.card)
            } else {
                format!("{}\r", s.pass).into_bytes()
            },
        }
    };
    let samples = measure(&mut terminal, &mut qr, &mut card, scans, &bytes_of, false);
    let results = print_groups("plain roster, real server", scans, &samples);
    terminal.kill();

    let counter_results = counter(&dir, &mut qr, &mut card, &qr_slave, &card_slave, scans);
    let report = json!({
        "bench": "scan_latency",
        "command": COMMAND,
        "measured": "last byte of the frame written (write_all + tcdrain) → the decision \
                     line read from the terminal's stdout",
        "at": OffsetDateTime::now_utc().format(&Rfc3339).expect("time"),
        "profile": if cfg!(debug_assertions) { "debug" } else { "release" },
        "scans": scans,
        "students": STUDENTS,
        "terminal": {"sync_interval_ms": 5000, "card_debounce_ms": 0, "ui": "plain"},
        "results": results,
        "counter_results": counter_results,
        "counter": "every student with an alert line and a shift; one slot for shift 1",
    });
    let path = target_dir().join("scan_latency.json");
    std::fs::write(
        &path,
        serde_json::to_string_pretty(&report).expect("JSON") + "\n",
    )
    .unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
    println!("\nwritten to {}", path.display());

    drop((qr_slave, card_slave));
    server.stop();
}

/// What one scan sends and what its decision must say.
struct Scanned {
    by_card: bool,
    student: String,
    /// `None`: accepted; else the denial's reason.
    expect: Option<&'static str>,
    bytes: Vec<u8>,
}

/// Sends `scans` scans one at a time and times each to its decision line.
fn measure(
    terminal: &mut Terminal,
    qr: &mut TTYPort,
    card: &mut TTYPort,
    scans: usize,
    scan: &dyn Fn(usize) -> Scanned,
    alert: bool,
) -> Vec<Sample> {
    eprintln!("scan_latency: {scans} scans");
    let mut samples = Vec::with_capacity(scans);
    for i in 0..scans {
        let s = scan(i);
        let port = if s.by_card { &mut *card } else { &mut *qr };
        port.write_all(&s.bytes).expect("write a frame");
        port.flush().expect("tcdrain");
        let written = Instant::now();
        let (read, d) = terminal.decision_timed(&format!("scan {i}"), Duration::from_secs(10));
        let ms = read.duration_since(written).as_secs_f64() * 1000.0;
        assert_eq!(d["method"], if s.by_card { "card" } else { "qr" }, "{d}");
        assert_eq!(d["student"], s.student.as_str(), "{d}");
        let accepted = d["decision"] == "accept";
        match s.expect {
            None => assert!(accepted, "the first scan of {} is accepted: {d}", s.student),
            Some(reason) => assert_eq!(d["reason"], reason, "{d}"),
        }
        if alert {
            assert!(d["alert"].is_string(), "the alert line on every scan: {d}");
        }
        samples.push(Sample {
            ms,
            card: s.by_card,
            accepted,
        });
    }
    samples
}

/// Prints and returns the summaries per kind of scan.
fn print_groups(title: &str, scans: usize, samples: &[Sample]) -> serde_json::Map<String, Value> {
    let pick = |f: &dyn Fn(&Sample) -> bool| -> Vec<f64> {
        samples.iter().filter(|s| f(s)).map(|s| s.ms).collect()
    };
    let groups = [
        ("all", pick(&|_| true)),
        ("accept", pick(&|s| s.accepted)),
        ("deny", pick(&|s| !s.accepted)),
        ("card", pick(&|s| s.card)),
        ("qr", pick(&|s| !s.card)),
        ("card_accept", pick(&|s| s.card && s.accepted)),
        ("qr_accept", pick(&|s| !s.card && s.accepted)),
        ("card_deny", pick(&|s| s.card && !s.accepted)),
        ("qr_deny", pick(&|s| !s.card && !s.accepted)),
    ];
    let mut results = serde_json::Map::new();
    println!(
        "\nscan → decision latency of canteen-terminal, {title} ({scans} scans, {STUDENTS} \
         students)\n"
    );
    println!(
        "{:<12} {:>6} {:>9} {:>9} {:>9} {:>9} {:>9}",
        "scans", "count", "mean ms", "p50 ms", "p95 ms", "p99 ms", "max ms"
    );
    for (name, ms) in groups {
        let s = summary(ms);
        let cell = |key: &str| s[key].as_f64().map_or("-".into(), |x| format!("{x:.3}"));
        println!(
            "{:<12} {:>6} {:>9} {:>9} {:>9} {:>9} {:>9}",
            name,
            s["count"].to_string(),
            cell("mean_ms"),
            cell("p50_ms"),
            cell("p95_ms"),
            cell("p99_ms"),
            cell("max_ms")
        );
        results.insert(name.to_owned(), s);
    }
    results
}

/// The counter scenario: alert lines and shifts on the roster (see the module docs).
fn counter(
    dir: &tempfile::TempDir,
    qr: &mut TTYPort,
    card: &mut TTYPort,
    qr_slave: &TTYPort,
    card_slave: &TTYPort,
    scans: usize,
) -> serde_json::Map<String, Value> {
    let fake = fake_sync::FakeSync::start("Школа № 1");
    let now = OffsetDateTime::now_utc();
    let students: Vec<(shared::sync::RosterEntry, String)> = (0..STUDENTS)
        .map(|i| {
            let entry = shared::sync::RosterEntry {
                voucher_id: shared::VoucherId::new(),
                student_name: student(i).name,
                class_label: if i % 2 == 0 { "2А" } else { "7Б" }.into(),
                card_uid: Some(format!("0D{:08X}", i + 1).parse().expect("uid")),
                active: true,
                valid_until: time::macros::date!(2099 - 05 - 31),
                valid_from: Date::MIN,
                entitled: None,
                shift: Some(shared::counter::Shift::new(1 + (i % 2) as u8).expect("shift")),
                alert: Some("Аллергия: орехи, мёд — без выпечки".parse().expect("alert")),
            };
            let pass = fake.pass(
                entry.voucher_id,
                now - Duration::from_secs(3600),
                now + Duration::from_secs(3 * 3600),
            );
            (entry, pass)
        })
        .collect();
    fake.with(|s| {
        s.roster = students.iter().map(|(e, _)| e.clone()).collect();
        s.slots = vec![shared::sync::MealSlot {
            name: "обед-1".into(),
            start_minute: 0,
            end_minute: 24 * 60,
            shift: Some(shared::counter::Shift::new(1).expect("shift")),
        }];
    });
    let setup = TerminalSetup {
        server: fake.url.clone(),
        school: fake_sync::SCHOOL.into(),
        db: dir.path().join("counter.db"),
        qr: qr_slave.name().expect("pty name"),
        card: card_slave.name().expect("pty name"),
        log_dir: dir.path().to_path_buf(),
        sync_interval_ms: 5000,
        extra: vec!["--card-debounce-ms".into(), "0".into()],
    };
    let mut terminal = Terminal::start(&setup, Some("AAAA-BBBB-CCCC"));
    terminal.wait_sync("ok", "the counter's roster", |s| s["roster"] == STUDENTS);
    let scan = |i: usize| -> Scanned {
        let (round, k) = (i / STUDENTS, i % STUDENTS);
        let (entry, pass) = &students[k];
        // Pairs of students share a method per round, so both shifts see cards and passes.
        let by_card = (k / 2 + round).is_multiple_of(2);
        let shift_one = k.is_multiple_of(2);
        Scanned {
            by_card,
            student: entry.student_name.clone(),
            expect: match (shift_one, round) {
                (false, _) => Some("wrong_shift"),
                (true, 0) => None,
                (true, _) => Some("already_ate"),
            },
            bytes: if by_card {
                rdm6300_frame(&entry.card_uid.expect("card").to_string())
            } else {
                format!("{pass}\r").into_bytes()
            },
        }
    };
    let samples = measure(&mut terminal, qr, card, scans, &scan, true);
    let results = print_groups("counter: alert line and shift rule", scans, &samples);
    terminal.kill();
    results
}
