//! Fault drills: the server is killed (SIGKILL) at random moments and started again on the
//! same data, with the real binaries.
//!
//! 1. **During meal pushes.** Two terminals of the same school serve the same pupils over
//!    several days (the demo clock moves; a restarted server keeps the drill's time with
//!    `--demo-clock`). Every 20–55 scans the server dies — often in the middle of a push,
//!    since each recorded meal starts one — and comes back after some more scans, which the
//!    terminals serve offline. Afterwards every meal either terminal showed green is on the
//!    server exactly once, nothing else is, and per pupil, day and slot exactly one is
//!    billable (the other terminal's is kept as `duplicate`).
//! 2. **During scheduled jobs and SMS.** Consent conversations for a dozen pupils start (one
//!    SMS each); the clock moves to their reminders and the server is killed a random few
//!    milliseconds later, again and again, while the scheduler runs reminders and the outbox
//!    delivers, and the daily NOBD reports of the days passed are built and sent. The
//!    gateways the test runs count messages by idempotency key: each parent gets exactly one
//!    start SMS and one reminder, every outbox SMS is `sent`, no message reached the gateway
//!    under two keys, and each day's report reached NOBD under one key with one content.
//!
//! The seed is printed; `DRILL_SEED=<n>` replays a run.

mod common;
mod consent_support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use serde_json::Value;
use shared::Sex;
use time::Month;

use common::canteen::{Sim, Terminal, TerminalSetup};
use common::drills::{
    books_when, demo_server, enrollment_code, fill_school, meal_key, sigkill, DrillClock, Rng,
};
use common::wallet::{self as w, Term};
use common::DEMO_SCHOOL_BIN;
use consent_support::{eventually, reminder_due, sms, Gateway};
use tests::free_port;

const PUPILS: usize = 30;
const DAYS: i64 = 5;

fn decision_for(card: &str) -> impl Fn(&Value) -> bool + '_ {
    move |e| e["type"] == "decision" && e["card_uid"] == card
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_killed_during_meal_pushes_loses_nothing_and_bills_nothing_twice() {
    let started = Instant::now();
    let mut rng = Rng::from_env("DRILL_SEED");
    let dir = tests::private_tempdir();
    let data = dir.path().join("data");
    tests::private_dir(&data);
    let addr = format!("127.0.0.1:{}", free_port());
    let server = demo_server(&data, &addr, None, &[]);
    let term = Term::enter(&server).await;
    let mut clock = DrillClock::new(term.now());
    let (pupils, _) = fill_school(&server, &term.period(), PUPILS).await;

    let mut sims = Vec::new();
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
        terminals.push(terminal);
    }

    let mut server = Some(server);
    let (mut scans, mut kills) = (0usize, 0usize);
    // Three gaps of at most 55 fit in the ~210 scans (70% of 30 pupils × 2 terminals × 5
    // days; 165 is over five standard deviations below), so every seed kills at least 3 times.
    let mut next_kill = rng.range(20, 55) as usize;
    let mut restart_at = usize::MAX;
    for day in 0..DAYS {
        if day > 0 {
            // Days move only while the server runs; the terminals take the new time.
            let live = server.as_ref().expect("server up at the turn of a day");
            clock
                .set(live, term.now() + time::Duration::days(day))
                .await;
            let expected = (clock.now() - time::OffsetDateTime::now_utc()).whole_milliseconds();
            for terminal in &mut terminals {
                terminal.wait_sync("ok", "the new day", |s| {
                    s["clock_offset_ms"].as_i64().map(i128::from) >= Some(expected - 30_000)
                });
            }
        }
        // Each terminal serves a random 70% of the pupils, in its own order, interleaved.
        let mut queue: Vec<(usize, usize)> = Vec::new();
        for t in 0..2 {
            queue.extend((0..PUPILS).filter(|_| rng.chance(70)).map(|p| (t, p)));
        }
        rng.shuffle(&mut queue);
        for (t, p) in queue {
            let card = pupils[p].card.as_str();
            sims[t].cmd(&format!("card {card}"));
            terminals[t].wait_for("the decision", Duration::from_secs(15), decision_for(card));
            scans += 1;
            if scans >= next_kill && server.is_some() {
                std::thread::sleep(Duration::from_millis(rng.range(0, 60)));
                sigkill(server.take().expect("running"));
                kills += 1;
                restart_at = scans + rng.range(0, 12) as usize;
                next_kill = scans + rng.range(20, 55) as usize;
            }
            if scans >= restart_at {
                server = Some(demo_server(&data, &addr, Some(&clock), &[]));
                restart_at = usize::MAX;
            }
        }
        if server.is_none() {
            server = Some(demo_server(&data, &addr, Some(&clock), &[]));
            restart_at = usize::MAX;
        }
    }
    let server = server.expect("server up");
    let mut seen = Vec::new();
    for terminal in &mut terminals {
        terminal.wait_sync("ok", "everything pushed", |s| s["unsent"] == 0);
        terminal.drain(Duration::from_millis(300), Duration::from_secs(3));
        seen.extend(terminal.events.iter().cloned());
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
    // A restarted demo server signs tokens with a key of its own.
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
    let mut duplicates = 0;
    for (id, meal) in &books {
        assert_eq!(
            meal_key(meal),
            meal_key(&green[id]),
            "{meal} vs {}",
            green[id]
        );
        match meal["status"].as_str() {
            Some("accepted") => *billable.entry(meal_key(meal)).or_default() += 1,
            Some("duplicate") => duplicates += 1,
            _ => panic!("neither accepted nor duplicate: {meal}"),
        }
    }
    let keys: BTreeSet<_> = green.values().map(meal_key).collect();
    assert_eq!(billable.keys().cloned().collect::<BTreeSet<_>>(), keys);
    assert!(
        billable.values().all(|&n| n == 1),
        "billed twice: {billable:?}"
    );
    assert_eq!(duplicates, green.len() - keys.len());
    eprintln!(
        "server drill (meals): {scans} scans on 2 terminals over {DAYS} days, {kills} server \
         kills, {} green, {} billable, {duplicates} duplicates; {:?}",
        green.len(),
        keys.len(),
        started.elapsed()
    );
    assert!(kills >= 3, "the drill killed the server a few times");
    drop(terminals);
    for mut sim in sims {
        sim.cmd("quit");
    }
    server.stop();
}

/// Upper-grade pupils (consent by SMS) of a school of their own, each with a mother with a
/// phone of her own.
fn consent_list(term: &Term, n: usize) -> (Value, Vec<String>) {
    let bin = w::bin([0, 6, 0, 3, 4, 0, 0, 0, 8, 1, 2]).to_string();
    let mut phones = Vec::new();
    let students = (0..n)
        .map(|i| {
            let day = 1 + i as u8;
            let child = w::iin(2012, Month::October, day, Sex::Male, 4001);
            let mum = w::iin(1982, Month::October, day, Sex::Female, 4001);
            let phone = format!("7701888{:04}", 100 + i);
            phones.push(phone.clone());
            w::student(
                &child.expose(),
                &format!(
                    "Согласов Ученик {}",
                    ["А", "Б", "В", "Г", "Д", "Е", "Ж", "З", "И", "К", "Л", "М"][i]
                ),
                8,
                "8А",
                "asp",
                vec![w::rep(
                    &mum.expose(),
                    "Согласова Мама",
                    "mother",
                    Some(&phone),
                )],
            )
        })
        .collect();
    (
        w::list(&bin, "Школа учений", &term.period(), students),
        phones,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_killed_while_jobs_and_sms_run_sends_every_sms_once() {
    const FAMILIES: usize = 12;
    let started = Instant::now();
    let mut rng = Rng::from_env("DRILL_SEED");
    // Slow gateways widen the window between a delivery and its record, where a kill makes
    // the outbox send again (under the same key).
    let (gateway, url) = Gateway::start_slow(Duration::from_millis(40)).await;
    let (nobd, nobd_url) = Gateway::start_slow(Duration::from_millis(40)).await;
    let env = [
        ("SMS_GATEWAY_URL", url.as_str()),
        ("NOBD_URL", nobd_url.as_str()),
    ];
    let dir = tests::private_tempdir();
    let addr = format!("127.0.0.1:{}", free_port());
    let server = demo_server(dir.path(), &addr, None, &env);
    let term = Term::enter(&server).await;
    let mut clock = DrillClock::new(term.now());
    let (list, phones) = consent_list(&term, FAMILIES);
    let reception = w::send_list(&server, &list).await.ok_json();
    assert_eq!(
        reception["accepted"].as_array().map(Vec::len),
        Some(FAMILIES),
        "{reception:#}"
    );

    // Reminders fall due after 3 full days, in the morning; the clock moves in small steps
    // past them, and after each step the server is killed a random few milliseconds later and
    // started again.
    let mut server = server;
    let t0 = term.now();
    let mut kills = 0;
    for step in 0..6 {
        let to = reminder_due(t0) + time::Duration::minutes(1 + 2 * step);
        clock.set(&server, to).await;
        tokio::time::sleep(Duration::from_millis(rng.range(0, 120))).await;
        sigkill(server);
        kills += 1;
        server = demo_server(dir.path(), &addr, Some(&clock), &env);
    }
    // The leases of work claimed by a killed process run out; then everything is delivered.
    clock
        .set(&server, reminder_due(t0) + time::Duration::minutes(30))
        .await;
    let all = eventually("every SMS sent", || async {
        let all = sms(&server).await;
        (all.len() >= 2 * FAMILIES && all.iter().all(|m| m["state"] == "sent")).then_some(all)
    })
    .await;
    assert_eq!(
        all.len(),
        2 * FAMILIES,
        "a start SMS and a reminder each: {all:#?}"
    );
    let mut per_phone: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let posts = gateway.posts();
    for (key, body) in &posts {
        assert_eq!(body["id"], key.as_str(), "the body's id is the key");
        let to = body["to"].as_str().expect("to").to_owned();
        per_phone.entry(to).or_default().insert(key.clone());
    }
    assert_eq!(
        per_phone.keys().cloned().collect::<BTreeSet<_>>(),
        phones.iter().cloned().collect::<BTreeSet<_>>()
    );
    for (phone, keys) in &per_phone {
        assert_eq!(
            keys.len(),
            2,
            "{phone}: one start SMS and one reminder, got {keys:?}"
        );
    }
    let ids: BTreeSet<String> = all
        .iter()
        .map(|m| m["id"].as_str().expect("id").to_owned())
        .collect();
    let keys: BTreeSet<String> = posts.iter().map(|(k, _)| k.clone()).collect();
    assert_eq!(
        ids, keys,
        "every outbox SMS reached the gateway under its own key only"
    );

    // The daily reports the clock passed: each day's report reached NOBD under one key, with
    // one content, however often a crash made the outbox send it again.
    let reports = eventually("every report sent", || async {
        let outbox = w::outbox(&server).await;
        let reports: Vec<Value> = outbox["messages"]
            .as_array()
            .expect("messages")
            .iter()
            .filter(|m| m["kind"] == "report")
            .cloned()
            .collect();
        (!reports.is_empty() && reports.iter().all(|m| m["state"] == "sent")).then_some(reports)
    })
    .await;
    let mut per_date: BTreeMap<String, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    // NOBD also receives statuses (consent outcomes), each with a `type`: reports have none.
    for (key, body) in nobd
        .posts()
        .into_iter()
        .filter(|(_, b)| b.get("type").is_none())
    {
        let date = body["date"].as_str().expect("a report date").to_owned();
        per_date
            .entry(date)
            .or_default()
            .entry(key)
            .or_default()
            .insert(body.to_string());
    }
    assert_eq!(per_date.len(), reports.len(), "{per_date:#?}\n{reports:#?}");
    for (date, keys) in &per_date {
        assert_eq!(keys.len(), 1, "{date}: one report, one key: {keys:#?}");
        assert!(
            keys.values().all(|bodies| bodies.len() == 1),
            "{date}: {keys:#?}"
        );
    }
    let integration = server.integration_token().await;
    let jobs = server
        .get("/v1/integration/jobs?limit=1000", Some(&integration))
        .await
        .ok_json();
    let reruns: i64 = jobs["jobs"]
        .as_array()
        .expect("jobs")
        .iter()
        .map(|j| j["attempts"].as_i64().unwrap_or(0).saturating_sub(1).max(0))
        .sum();
    let sms_retries: i64 = all
        .iter()
        .map(|m| m["attempts"].as_i64().unwrap_or(1) - 1)
        .sum();
    eprintln!(
        "server drill (jobs/SMS): {kills} kills, {} SMS, {} gateway posts (re-sends under the \
         same key: {}, SMS attempts beyond the first: {sms_retries}), {} daily reports ({} \
         posts), job runs beyond the first: {reruns}; {:?}",
        all.len(),
        posts.len(),
        posts.len() - keys.len(),
        reports.len(),
        nobd.posts().len(),
        started.elapsed()
    );
    server.stop();
}
