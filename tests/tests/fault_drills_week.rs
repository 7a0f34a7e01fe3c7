//! Fault drill: the network is cut for a simulated week. Two terminals of the same school
//! pull the roster, then the server is stopped; both serve the same pupils day after day
//! (each terminal started every morning with its clock moved a day on, through the hidden
//! `--demo-clock-shift-secs`), each refusing a second meal it recorded itself but knowing
//! nothing of the other's. Then the server comes back a week later (`--demo-clock`) and both
//! push everything:
//!
//! - every meal shown green by either terminal is on the server exactly once, nothing else;
//! - per pupil, day and slot exactly one is billable, the other terminal's is `duplicate`;
//! - the табель of the month counts exactly the billable meals, per pupil and day, and lists
//!   the duplicates as excluded.
//!
//! The seed is printed; `DRILL_SEED=<n>` replays a run.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use serde_json::Value;
use time::{Date, Month, OffsetDateTime, Time};

use common::canteen::{Sim, Terminal, TerminalSetup};
use common::drills::{
    books_when, demo_server, enrollment_code, fill_school, meal_key, DrillClock, Pupil, Rng,
};
use common::wallet::{Term, ASTANA};
use common::{Server, DEMO_SCHOOL_BIN, EXIT_TIMEOUT};
use tests::free_port;

const PUPILS: usize = 20;
const WEEK: i64 = 7;

fn decision_for(card: &str) -> impl Fn(&Value) -> bool + '_ {
    move |e| e["type"] == "decision" && e["card_uid"] == card
}

/// Where the week starts: now when the week fits in this month, else 09:00 on the 1st of
/// the next month (the табель is monthly; a week across two months would split it). In late
/// May the school year ends with the month, so the week is shortened instead.
fn week_start(term: &Term) -> (OffsetDateTime, i64) {
    let now = term.now().to_offset(ASTANA);
    let left = i64::from(now.month().length(now.year()) - now.day()) + 1;
    if left >= WEEK {
        return (term.now(), WEEK);
    }
    if now.month() == Month::May {
        return (term.now(), left);
    }
    let (y, m) = match now.month() {
        Month::December => (now.year() + 1, Month::January),
        m => (now.year(), m.next()),
    };
    let first = Date::from_calendar_date(y, m, 1)
        .expect("the 1st")
        .with_time(Time::from_hms(9, 0, 0).expect("09:00"))
        .assume_offset(ASTANA);
    (first, WEEK)
}

fn period_of(at: OffsetDateTime) -> String {
    let d = at.to_offset(ASTANA).date();
    format!("{:04}-{:02}", d.year(), u8::from(d.month()))
}

/// Serves one simulated day on one terminal: a random 80% of the pupils, some twice.
fn serve_day(rng: &mut Rng, sim: &mut Sim, terminal: &mut Terminal, pupils: &[Pupil], day: &str) {
    let mut order: Vec<usize> = (0..pupils.len()).filter(|_| rng.chance(80)).collect();
    let repeats: Vec<usize> = order.iter().copied().filter(|_| rng.chance(15)).collect();
    rng.shuffle(&mut order);
    order.extend(repeats);
    for p in order {
        let card = pupils[p].card.as_str();
        sim.cmd(&format!("card {card}"));
        let d = terminal.wait_for("the decision", Duration::from_secs(15), decision_for(card));
        assert_eq!(
            d["service_day"], day,
            "the terminal's clock moved a day: {d}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_week_offline_on_two_terminals_bills_each_pupil_once_per_day_and_the_tabel_agrees() {
    let started = Instant::now();
    let mut rng = Rng::from_env("DRILL_SEED");
    let dir = tests::private_tempdir();
    let data = dir.path().join("data");
    tests::private_dir(&data);
    let addr = format!("127.0.0.1:{}", free_port());
    let server = demo_server(&data, &addr, None, &[]);
    let term = Term::enter(&server).await;
    let (start, days) = week_start(&term);
    let mut clock = DrillClock::new(term.now());
    if start > term.now() {
        clock.set(&server, start).await;
    }
    let period = period_of(start);
    let (pupils, _) = fill_school(&server, &period, PUPILS).await;

    let mut sims = Vec::new();
    let mut setups = Vec::new();
    let mut terminals = Vec::new();
    for t in 0..2 {
        let sub = dir.path().join(format!("t{t}"));
        std::fs::create_dir(&sub).expect("terminal dir");
        let sim = Sim::start(&sub);
        let setup = TerminalSetup {
            server: server.base.clone(),
            school: DEMO_SCHOOL_BIN.into(),
            db: sub.join("t.db"),
            qr: sim.qr.clone(),
            card: sim.card.clone(),
            log_dir: sub.clone(),
            sync_interval_ms: 200,
            extra: vec!["--card-debounce-ms".into(), "0".into()],
        };
        let code = enrollment_code(&server).await;
        let mut terminal = Terminal::start(&setup, Some(&code));
        terminal.wait_sync("ok", "the roster", |s| {
            s["roster"].as_u64() >= Some(PUPILS as u64)
        });
        sims.push(sim);
        setups.push(setup);
        terminals.push(terminal);
    }

    // ── The cut ─────────────────────────────────────────────────────────────────────
    let mut server = server;
    let status = server.terminate(EXIT_TIMEOUT);
    assert!(status.is_some_and(|s| s.success()), "{status:?}");
    drop(server);
    let mut seen: Vec<Value> = Vec::new();
    let first_day = clock.now().to_offset(ASTANA).date();
    for day in 0..days {
        let date = (first_day + time::Duration::days(day)).to_string();
        for t in 0..2 {
            if day > 0 {
                // The next morning: the terminal is switched on with its clock a day on.
                terminals[t].kill();
                seen.append(&mut terminals[t].events);
                let mut setup = setups[t].clone();
                setup.extra.push("--demo-clock-shift-secs".into());
                setup.extra.push((day * 86_400).to_string());
                terminals[t] = Terminal::start(&setup, None);
                terminals[t].wait_for("the card reader", Duration::from_secs(15), |e| {
                    e["type"] == "device" && e["device"] == "card" && e["state"] == "connected"
                });
            }
            serve_day(&mut rng, &mut sims[t], &mut terminals[t], &pupils, &date);
        }
    }

    // ── A week later the server is back; both terminals push everything ──────────────
    let back = clock.now() + time::Duration::days(days);
    let clock = DrillClock::new(back);
    let server: Server = demo_server(&data, &addr, Some(&clock), &[]);
    for terminal in &mut terminals {
        terminal.wait_sync("ok", "the week pushed", |s| s["unsent"] == 0);
        terminal.drain(Duration::from_millis(300), Duration::from_secs(3));
        seen.append(&mut terminal.events);
    }

    let mut green: BTreeMap<String, Value> = BTreeMap::new();
    for d in seen.iter().filter(|e| e["type"] == "decision") {
        match (d["decision"].as_str(), d["reason"].as_str()) {
            (Some("accept"), None) => {
                let id = d["event_id"].as_str().expect("event id").to_owned();
                assert!(green.insert(id, d.clone()).is_none(), "green twice: {d}");
            }
            (Some("deny"), Some("already_ate")) => {}
            _ => panic!("accept or already_ate for a bound card: {d}"),
        }
    }
    let token = server
        .parent_token(&common::drills::drill_mother().expose())
        .await;
    let books = books_when(&server, &token, &pupils, Duration::from_secs(20), |b| {
        green.keys().all(|id| b.contains_key(id))
    })
    .await;
    let ids = |m: &BTreeMap<String, Value>| m.keys().cloned().collect::<BTreeSet<_>>();
    assert_eq!(
        ids(&books),
        ids(&green),
        "the server holds exactly the green meals"
    );
    let mut billable: BTreeMap<(String, String, String), usize> = BTreeMap::new();
    let mut duplicates: BTreeMap<(String, String, String), usize> = BTreeMap::new();
    for (id, meal) in &books {
        assert_eq!(meal_key(meal), meal_key(&green[id]), "{meal}");
        let tally = match meal["status"].as_str() {
            Some("accepted") => &mut billable,
            Some("duplicate") => {
                assert_eq!(meal["reason"], "already_ate", "{meal}");
                &mut duplicates
            }
            _ => panic!("neither accepted nor duplicate: {meal}"),
        };
        *tally.entry(meal_key(meal)).or_default() += 1;
    }
    let keys: BTreeSet<_> = green.values().map(meal_key).collect();
    assert_eq!(billable.keys().cloned().collect::<BTreeSet<_>>(), keys);
    assert!(
        billable.values().all(|&n| n == 1),
        "billed twice: {billable:?}"
    );
    // Each terminal refused its own repeats, so a duplicate is the other terminal's meal.
    assert!(duplicates.values().all(|&n| n == 1), "{duplicates:?}");
    assert!(duplicates.keys().all(|k| billable.contains_key(k)));
    assert!(
        !duplicates.is_empty(),
        "both terminals served some pupil on some day"
    );

    // ── The табель counts what is billable ──────────────────────────────────────────
    let staff = server
        .staff_token("social_pedagogue", DEMO_SCHOOL_BIN)
        .await;
    let tabel = server
        .get(
            &format!("/v1/schools/{DEMO_SCHOOL_BIN}/tabel?month={period}&format=json"),
            Some(&staff),
        )
        .await
        .ok_json();
    // Meals on the week's non-school days (its weekend, a holiday) are kept but not billed
    // until the director confirms them: listed apart, outside the amount.
    let school_days: BTreeSet<String> = tabel["days"]
        .as_array()
        .expect("days")
        .iter()
        .filter(|d| d["school_day"] == true)
        .map(|d| d["date"].as_str().expect("date").to_owned())
        .collect();
    let off_day_meals = billable
        .keys()
        .filter(|(_, day, _)| !school_days.contains(day))
        .count();
    assert_eq!(
        tabel["unbilled"].as_array().map(Vec::len),
        Some(off_day_meals),
        "{}",
        tabel["unbilled"]
    );
    let mut expected: BTreeMap<(String, String), u64> = BTreeMap::new();
    for (voucher, day, _) in billable
        .keys()
        .filter(|(_, day, _)| school_days.contains(day))
    {
        let pupil = pupils
            .iter()
            .find(|p| &p.voucher == voucher)
            .expect("a pupil");
        *expected
            .entry((pupil.name.clone(), day.clone()))
            .or_default() += 1;
    }
    let mut marks: BTreeMap<(String, String), u64> = BTreeMap::new();
    for row in tabel["rows"].as_array().expect("rows") {
        let name = row["student"]["full_name"].as_str().expect("name");
        if !pupils.iter().any(|p| p.name == name) {
            continue;
        }
        let mut total = 0;
        for (day, n) in row["marks"].as_object().expect("marks") {
            let n = n.as_u64().expect("a count");
            if n > 0 {
                marks.insert((name.to_owned(), day.clone()), n);
            }
            total += n;
        }
        assert_eq!(row["total"].as_u64(), Some(total), "{row}");
    }
    assert_eq!(
        marks, expected,
        "табель marks = billable meals per pupil and day"
    );
    let excluded = tabel["excluded"].as_array().expect("excluded");
    let excluded_dups = excluded
        .iter()
        .filter(|e| e["status"] == "duplicate")
        .count();
    assert_eq!(excluded_dups, duplicates.len(), "{excluded:#?}");
    // Nobody else ate at the school this month: the totals are the drill's meals.
    assert_eq!(
        tabel["totals"]["meals"].as_u64(),
        Some((billable.len() - off_day_meals) as u64)
    );
    eprintln!(
        "week drill: {days} days offline, 2 terminals, {} green, {} billable, {} duplicates, \
         табель meals {}; {:?}",
        green.len(),
        billable.len(),
        duplicates.len(),
        tabel["totals"]["meals"],
        started.elapsed()
    );
    drop(terminals);
    for mut sim in sims {
        sim.cmd("quit");
    }
    server.stop();
}
