//! Kill drill of a deployment: three `wallet-server` processes on one PostgreSQL database
//! behind HAProxy (Debian's package), health-checked on `/readyz` (issue 18, item 5).
//!
//! The lunch rush runs through the balancer — terminals pushing meal batches (retrying the
//! same event ids on errors), a parent minting passes at the limit, an integration sending
//! lists that start consent conversations (an SMS each), and daily-report jobs coming due in
//! waves — and one server is SIGKILLed mid-run, then started again. Afterwards:
//! - every pushed event is in the books exactly once with the verdict its terminal got, and
//!   one meal per pupil, day and slot is billable; every server gives the same books;
//! - every SMS reached the gateway (each message under its one key);
//! - every job ran once: done with one attempt, its report built once in all the logs;
//! - the mint limit held across the three processes;
//! - HAProxy took the dead server out (DOWN) and the restarted one back in (UP), and the
//!   clients saw only a few failed tries.
//!
//! Needs PostgreSQL (`TEST_DATABASE_URL`) and HAProxy; skipped without them unless
//! `REQUIRE_POSTGRES=1` (then HAProxy is required too). `DRILL_SEED=<n>` replays a run.

mod common;
mod consent_support;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::backend::Backend;
use common::drills::{books, demo_terminal_token, fill_school, meal_key, Rng};
use common::rush;
use common::wallet::{Term, ASTANA};
use common::Server;
use consent_support::{family, lists::one_child_list, Gateway};
use tests::balancer::Balancer;
use tests::free_port;

const PUPILS: usize = 40;
const TERMINALS: usize = 4;
const MINT_LIMIT: usize = 20;
/// Daily-report jobs made due, for the days before today.
const JOB_DAYS: i64 = 30;
const PHONES: [&str; 10] = [
    "77015550100",
    "77015550101",
    "77015550102",
    "77015550103",
    "77015550104",
    "77015550105",
    "77015550106",
    "77015550107",
    "77015550108",
    "77015550109",
];

fn required() -> bool {
    std::env::var("REQUIRE_POSTGRES").as_deref() == Ok("1")
}

/// `--demo` on the shared database: the same pass keys and demo signing key (one data
/// directory), the test's SMS gateway, the mint limit under test.
fn start(data: &std::path::Path, addr: &str, db: &str, sms: &str) -> Server {
    let args = move || {
        [
            "--demo",
            "--database-url",
            db,
            "--pass-mint-limit",
            &MINT_LIMIT.to_string(),
            "--pass-mint-window-secs",
            "3600",
        ]
        .map(String::from)
        .to_vec()
    };
    Server::start_at(data, addr, args, &[("SMS_GATEWAY_URL", sms)])
}

/// Inserts the daily-report jobs of `days` (service days), due a minute ago on the story
/// clock, as the scheduler of any server would have left them.
async fn make_due(pool: &sqlx::PgPool, days: &[time::Date]) {
    let due = common::story_now() - time::Duration::MINUTE;
    for day in days {
        sqlx::query(
            "INSERT INTO jobs (id, kind, job_key, due_at, state, attempts, created_at) \
             VALUES ($1, 'daily_report', $2, $3, 'pending', 0, $3) \
             ON CONFLICT (kind, job_key) DO NOTHING",
        )
        .bind(uuid::Uuid::now_v7())
        .bind(day.to_string())
        .bind(due)
        .execute(pool)
        .await
        .expect("insert a due job");
    }
}

/// Days whose report each log says it built: `day=YYYY-MM-DD` of "daily report built".
fn reports_built(logs: &[String]) -> BTreeMap<String, usize> {
    let mut built = BTreeMap::new();
    for line in logs.iter().flat_map(|l| l.lines()) {
        if !line.contains("daily report built and queued") {
            continue;
        }
        if let Some(day) = line.split("day=").nth(1).and_then(|r| r.get(..10)) {
            *built.entry(day.to_string()).or_default() += 1;
        }
    }
    built
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_servers_behind_haproxy_one_killed_lose_nothing_and_do_nothing_twice() {
    let started = Instant::now();
    let Some(backend) = Backend::postgres().await else {
        return;
    };
    let Backend::Postgres { url, .. } = &backend else {
        unreachable!("a PostgreSQL backend");
    };
    let url = url.clone();
    let mut rng = Rng::from_env("DRILL_SEED");
    let (gateway, sms_url) = Gateway::start().await;
    let dir = tests::private_tempdir();
    let data = dir.path().join("data");
    tests::private_dir(&data);
    let addrs: Vec<String> = (0..3)
        .map(|_| format!("127.0.0.1:{}", free_port()))
        .collect();
    // One after another: the first seeds the demo and makes the shared keys.
    let mut servers: Vec<Option<Server>> = addrs
        .iter()
        .map(|a| Some(start(&data, a, &url, &sms_url)))
        .collect();
    let Some(balancer) = Balancer::start(&addrs, None) else {
        assert!(
            !required(),
            "REQUIRE_POSTGRES=1 but HAProxy is not installed"
        );
        eprintln!("skipped: HAProxy is not installed");
        return;
    };
    let lap = |what: &str| eprintln!("drill {:>8.1?}: {what}", started.elapsed());
    lap("servers and balancer up");
    let all_up = |s: &[(String, String)]| s.len() == 3 && s.iter().all(|(_, st)| st == "UP");
    balancer.wait_until(Duration::from_secs(10), all_up);

    let first = servers[0].as_ref().expect("first server");
    let term = Term::enter(first).await;
    let (pupils, mother) = fill_school(first, &term.period(), PUPILS).await;
    let integration = first.integration_token().await;
    let mut devices = Vec::new();
    for _ in 0..TERMINALS {
        devices.push(demo_terminal_token(first).await);
    }
    let pool = sqlx::PgPool::connect(&url).await.expect("connect");
    let today = term.now().to_offset(ASTANA).date();
    let job_days: Vec<time::Date> = (1..=JOB_DAYS)
        .rev()
        .map(|n| today - time::Duration::days(n))
        .collect();

    lap("school filled");
    // ── The rush ────────────────────────────────────────────────────────────────────
    let stop = Arc::new(AtomicBool::new(false));
    let base = balancer.base.clone();
    let mut terminals = Vec::new();
    for device in &devices {
        let batches = (0..400)
            .map(|_| rush::batch(&pupils, 10, || rng.next_u64() as usize))
            .collect();
        terminals.push(tokio::spawn(rush::terminal(
            base.clone(),
            device.clone(),
            batches,
            stop.clone(),
        )));
    }
    let hot = pupils[0].voucher.clone();
    // Through the balancer and straight at the two servers that stay up: the allowance is
    // spent in several processes whichever server the balancer keeps this parent on.
    let mint_bases = vec![
        base.clone(),
        format!("http://{}", addrs[0]),
        format!("http://{}", addrs[2]),
    ];
    let minter = tokio::spawn(rush::minter(mint_bases, mother.clone(), hot, stop.clone()));
    let families: Vec<_> = (0..PHONES.len())
        .map(|i| family(i as u8, PHONES[i], PHONES[i]))
        .collect();
    let lists = families
        .iter()
        .enumerate()
        .map(|(i, f)| one_child_list(i as u8, f, today))
        .collect();
    let lists = tokio::spawn(rush::lists(
        base.clone(),
        integration.clone(),
        lists,
        Duration::from_millis(600),
    ));
    for wave in job_days.chunks(10).take(2) {
        make_due(&pool, wave).await;
        tokio::time::sleep(Duration::from_millis(1000)).await;
    }

    lap("kill");
    // ── The kill ────────────────────────────────────────────────────────────────────
    let victim = servers[1].take().expect("second server");
    let victim_pid = victim.pid();
    let killed_at = Instant::now();
    let killed = std::process::Command::new("kill")
        .args(["-KILL", &victim_pid.to_string()])
        .status()
        .expect("run kill");
    assert!(killed.success(), "kill -KILL: {killed}");
    let is = |state: &'static str| {
        move |s: &[(String, String)]| s.iter().any(|(n, st)| n == "s2" && st == state)
    };
    let down_after = balancer.wait_until(Duration::from_secs(5), is("DOWN"));
    let mut logs = vec![victim.stderr()];
    drop(victim);
    for wave in job_days.chunks(10).skip(2) {
        make_due(&pool, wave).await;
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;

    // ── Back ────────────────────────────────────────────────────────────────────────
    let restart = Instant::now();
    servers[1] = Some(start(&data, &addrs[1], &url, &sms_url));
    let listening_after = restart.elapsed();
    balancer.wait_until(Duration::from_secs(5), is("UP"));
    let up_after = restart.elapsed();
    tokio::time::sleep(Duration::from_millis(2000)).await;
    stop.store(true, Ordering::Relaxed);

    let mut verdicts = BTreeMap::new();
    let mut failures = Vec::new();
    for t in terminals {
        let run = t.await.expect("terminal task");
        failures.extend(run.failures);
        verdicts.extend(run.verdicts);
    }
    let mints = minter.await.expect("minter task");
    failures.extend(mints.failures.iter().cloned());
    failures.extend(lists.await.expect("lists task"));
    let live: Vec<&Server> = servers.iter().flatten().collect();
    lap("rush over");

    // ── Meals: none lost, none billed twice, the same books everywhere ──────────────
    let held = books(live[0], &mother, &pupils).await;
    for (id, verdict) in &verdicts {
        let meal = held
            .get(id)
            .unwrap_or_else(|| panic!("acknowledged, lost: {id}"));
        assert_eq!(meal["status"], verdict.as_str(), "{meal}");
    }
    assert_eq!(
        held.len(),
        verdicts.len(),
        "the books hold only what was pushed"
    );
    let mut billable = BTreeMap::<_, usize>::new();
    for meal in held.values().filter(|m| m["status"] == "accepted") {
        *billable.entry(meal_key(meal)).or_default() += 1;
    }
    assert!(billable.values().all(|&n| n == 1), "{billable:?}");
    let served: BTreeSet<_> = held.values().map(meal_key).collect();
    assert_eq!(served.len(), billable.len(), "each pupil served bills once");
    for other in &live[1..] {
        assert_eq!(books(other, &mother, &pupils).await, held, "same books");
    }

    lap("books read");
    // ── The mint limit across the three processes ───────────────────────────────────
    assert!(mints.minted <= MINT_LIMIT, "{} passes minted", mints.minted);
    assert!(
        mints.minted + mints.failures.len() >= MINT_LIMIT,
        "the allowance was used: {mints:?}"
    );
    assert!(mints.refused > 0, "over the limit is refused: {mints:?}");
    assert!(
        mints.minted_at[1] > 0 && mints.minted_at[2] > 0,
        "passes were minted in two processes at least: {mints:?}"
    );

    // ── SMS: each message reached the gateway, under its one key ────────────────────
    let deadline = Instant::now() + Duration::from_secs(80);
    let sms: Vec<(String, String, String, String)> = loop {
        let rows: Vec<(String, String, String, String)> = sqlx::query_as(
            "SELECT id::text, state, recipient, body FROM outbox WHERE kind = 'sms' ORDER BY id",
        )
        .fetch_all(&pool)
        .await
        .expect("read the outbox");
        if rows.iter().all(|r| r.1 == "sent") || Instant::now() > deadline {
            break rows;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    // The drill's families, and the demo's two parents the drill's list of the demo school
    // asked for consent.
    let to_families = sms
        .iter()
        .filter(|r| PHONES.contains(&r.2.as_str()))
        .count();
    assert_eq!(
        to_families,
        families.len(),
        "one consent SMS per family: {sms:?}"
    );
    let posted = gateway.by_key();
    for (id, state, _, _) in &sms {
        assert_eq!(state, "sent", "{id}");
        assert!(
            posted.contains_key(id),
            "SMS {id} never reached the gateway"
        );
    }
    let sent_twice = posted.values().filter(|&&n| n > 1).count();
    assert_eq!(
        posted.len(),
        sms.len(),
        "no message under another key: {posted:?}"
    );
    assert!(posted.values().all(|&n| n <= 2), "{posted:?}");
    let phones: BTreeSet<String> = gateway
        .posts()
        .iter()
        .map(|(_, b)| b["to"].as_str().unwrap_or_default().to_string())
        .collect();
    let recipients: BTreeSet<String> = sms.iter().map(|r| r.2.clone()).collect();
    assert_eq!(phones, recipients, "every recipient texted, no one else");

    lap("SMS checked");
    // ── Jobs: each ran once ─────────────────────────────────────────────────────────
    let keys: Vec<String> = job_days.iter().map(ToString::to_string).collect();
    let deadline = Instant::now() + Duration::from_secs(20);
    let jobs: Vec<(String, String, i64, Option<String>)> = loop {
        let rows: Vec<(String, String, i64, Option<String>)> = sqlx::query_as(
            "SELECT job_key, state, attempts, locked_by FROM jobs \
             WHERE kind = 'daily_report' AND job_key = ANY($1) ORDER BY job_key",
        )
        .bind(&keys)
        .fetch_all(&pool)
        .await
        .expect("read the jobs");
        if rows.iter().all(|r| r.1 != "pending") || Instant::now() > deadline {
            break rows;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    assert_eq!(jobs.len(), keys.len(), "{jobs:?}");
    logs.extend(live.iter().map(|s| s.stderr()));
    let built = reports_built(&logs);
    let dead = format!("{victim_pid}-");
    let mut held_by_dead = 0;
    for (key, state, attempts, locked_by) in &jobs {
        if state == "running" && locked_by.as_deref().is_some_and(|w| w.starts_with(&dead)) {
            // Its lease (60 s) has not run out yet: it runs again then, idempotently.
            held_by_dead += 1;
            continue;
        }
        assert_eq!((state.as_str(), *attempts), ("done", 1), "job {key}");
        assert_eq!(
            built.get(key),
            Some(&1),
            "report of {key} built once: {built:?}"
        );
    }
    for log in &logs {
        assert!(!log.contains("panicked"), "{log}");
    }

    // ── The balancer ────────────────────────────────────────────────────────────────
    balancer.wait_until(Duration::from_secs(2), all_up);
    let during: Vec<_> = failures.iter().filter(|(at, _)| *at >= killed_at).collect();
    assert!(
        failures.len() <= 12,
        "clients saw {} failed tries: {failures:?}",
        failures.len()
    );
    eprintln!(
        "multi-server drill: {} meal events in {} verdicts ({} billable), {} passes minted and \
         {} refused (limit {MINT_LIMIT}), {} SMS ({sent_twice} posted twice under their key), \
         {} jobs once ({held_by_dead} held by the dead server's lease); 1 kill: HAProxy said \
         DOWN {down_after:?} after it, the restarted server printed its address \
         {listening_after:?} after its start and was UP {up_after:?} after it; {} failed tries ({} after the \
         kill); {:?} in all",
        held.len(),
        verdicts.len(),
        billable.len(),
        mints.minted,
        mints.refused,
        sms.len(),
        jobs.len() - held_by_dead,
        failures.len(),
        during.len(),
        started.elapsed()
    );
    pool.close().await;
    for server in servers.into_iter().flatten() {
        server.stop();
    }
    drop(balancer);
    backend.drop_database().await;
}
