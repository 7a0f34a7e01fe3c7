//! Fault drill: PostgreSQL is stopped (`pg_ctl -m immediate`, a crash) and started again
//! while the real `wallet-server --demo --database-url postgres://…` takes meal pushes.
//!
//! The test runs a PostgreSQL cluster of its own (initdb in a temporary directory, as the
//! `postgres` user when running as root) so it can stop it. Without PostgreSQL binaries it
//! is skipped with a message, unless `REQUIRE_POSTGRES=1`.
//!
//! - while the database is down `/readyz` answers 503 promptly, and pushes fail cleanly:
//!   a JSON error `503 unavailable`, never a 500, never a panic;
//! - when it is back the server recovers by itself: `/readyz` 200 and pushes work, without
//!   a restart;
//! - every push the server acknowledged (200 with a verdict) is in the books afterwards with
//!   that verdict.

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use shared::VoucherId;

use common::drills::{books, enrollment_code, fill_school, Pupil, Rng};
use common::wallet::{self as w, Term, ASTANA};
use common::Server;
use tests::free_port;

/// A PostgreSQL cluster of this test's own.
struct Cluster {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
    as_root: bool,
}

impl Cluster {
    /// `None` when no PostgreSQL binaries are installed.
    fn create() -> Option<Cluster> {
        let mut bins: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
            .filter(|b| b.join("initdb").exists())
            .collect();
        bins.sort_by_key(|b| {
            b.parent()
                .and_then(|v| v.file_name())
                .and_then(|v| v.to_str())
                .and_then(|v| v.parse::<u32>().ok())
                .unwrap_or(0)
        });
        let bin = bins.pop()?;
        let port = std::env::var("DRILL_PG_PORT")
            .ok()
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(free_port);
        let dir =
            std::env::temp_dir().join(format!("wallet-drill-pg-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("cluster dir");
        let as_root = is_root();
        if as_root {
            run(Command::new("chown").arg("postgres").arg(&dir), "chown");
        }
        let cluster = Cluster {
            bin,
            dir,
            port,
            as_root,
        };
        let mut initdb = cluster.pg("initdb");
        initdb
            .arg("-D")
            .arg(&cluster.dir)
            .args(["-A", "trust", "-U", "postgres", "--no-sync"]);
        run(&mut initdb, "initdb");
        cluster.start();
        Some(cluster)
    }

    fn pg(&self, tool: &str) -> Command {
        let path = self.bin.join(tool);
        let mut cmd = if self.as_root {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(path);
            c
        } else {
            Command::new(path)
        };
        cmd.current_dir("/").stdin(Stdio::null());
        cmd
    }

    fn start(&self) {
        let mut ctl = self.pg("pg_ctl");
        ctl.arg("-D")
            .arg(&self.dir)
            .arg("-l")
            .arg(self.dir.join("log"))
            .arg("-w")
            .arg("-o")
            .arg(format!(
                "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
                self.port,
                self.dir.display()
            ))
            .arg("start");
        run(&mut ctl, "pg_ctl start");
    }

    /// A crash: no checkpoint, connections cut.
    fn stop_immediate(&self) {
        let mut ctl = self.pg("pg_ctl");
        ctl.arg("-D")
            .arg(&self.dir)
            .args(["-m", "immediate", "-w", "stop"]);
        run(&mut ctl, "pg_ctl stop");
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let mut ctl = self.pg("pg_ctl");
        ctl.arg("-D")
            .arg(&self.dir)
            .args(["-m", "immediate", "stop"]);
        let _ = ctl.stdout(Stdio::null()).stderr(Stdio::null()).status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn run(cmd: &mut Command, what: &str) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what}: {}\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// What one push got: the HTTP status and body, or the transport error.
#[derive(Debug, Clone)]
struct Push {
    event: Value,
    answer: Result<(u16, Value), String>,
}

/// One meal event of `pupil` served now (a new event id each time).
fn event(pupil: &Pupil, term: &Term) -> Value {
    let at = term.now();
    let day = at.to_offset(ASTANA).date();
    json!({
        "event_id": VoucherId::new().to_string(),
        "voucher_id": pupil.voucher,
        "slot": "day",
        "service_day": day.to_string(),
        "served_at": w::rfc3339(at),
        "method": "card",
    })
}

async fn push(client: &reqwest::Client, base: &str, token: &str, event: Value) -> Push {
    let sent = client
        .post(format!("{base}/v1/terminals/meals"))
        .bearer_auth(token)
        .json(&json!({"events": [event.clone()], "unsent_after": 0}))
        .send()
        .await;
    let answer = match sent {
        Ok(resp) => {
            let status = resp.status().as_u16();
            let text = resp.text().await.unwrap_or_default();
            Ok((
                status,
                serde_json::from_str(&text).unwrap_or(json!({"raw": text})),
            ))
        }
        Err(e) => Err(e.to_string()),
    };
    Push { event, answer }
}

async fn readyz(client: &reqwest::Client, base: &str) -> Option<u16> {
    let resp = client.get(format!("{base}/readyz")).send().await.ok()?;
    Some(resp.status().as_u16())
}

/// Polls `/readyz` until it answers `want` (at most `timeout`); how long that took.
async fn until_ready_is(
    client: &reqwest::Client,
    base: &str,
    want: u16,
    timeout: Duration,
) -> Duration {
    let started = Instant::now();
    loop {
        if readyz(client, base).await == Some(want) {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < timeout,
            "/readyz never answered {want} within {timeout:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_restarted_under_load_the_server_recovers_by_itself_and_loses_nothing() {
    let started = Instant::now();
    let Some(cluster) = Cluster::create() else {
        assert!(
            std::env::var("REQUIRE_POSTGRES").as_deref() != Ok("1"),
            "REQUIRE_POSTGRES=1 but no PostgreSQL binaries under /usr/lib/postgresql"
        );
        eprintln!("skipped: no PostgreSQL binaries under /usr/lib/postgresql");
        return;
    };
    let mut rng = Rng::from_env("DRILL_SEED");
    let data = tests::private_tempdir();
    let url = cluster.url();
    let server = Server::start(data.path(), &["--demo", "--database-url", &url], &[]);
    let term = Term::enter(&server).await;
    let (pupils, token) = fill_school(&server, &term.period(), 12).await;
    let code = enrollment_code(&server).await;
    let enrolled = server
        .post_json(
            "/v1/terminals/enroll",
            None,
            &json!({"code": code, "name": "drill"}),
        )
        .await
        .ok_json();
    let device = enrolled["token"].as_str().expect("device token").to_owned();
    let client = tests::http_client(None)
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client");

    // The load: pushes one after another from two tasks, every answer kept.
    let stop = Arc::new(AtomicBool::new(false));
    let log: Arc<Mutex<Vec<(Instant, Push)>>> = Arc::default();
    let mut tasks = Vec::new();
    for _ in 0..2 {
        let who: Vec<Pupil> = (0..4000)
            .map(|_| pupils[rng.range(0, pupils.len() as u64 - 1) as usize].clone())
            .collect();
        let (client, base, device) = (client.clone(), server.base.clone(), device.clone());
        let (stop, log) = (stop.clone(), log.clone());
        tasks.push(tokio::spawn(async move {
            for pupil in who {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let pushed = push(&client, &base, &device, event(&pupil, &term)).await;
                log.lock().expect("log").push((Instant::now(), pushed));
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(800)).await;

    // ── The crash ───────────────────────────────────────────────────────────────────
    let down_at = Instant::now();
    cluster.stop_immediate();
    let noticed = until_ready_is(&client, &server.base, 503, Duration::from_secs(10)).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let body = server.get("/readyz", None).await;
    body.assert_error(503, "unavailable");

    // ── Back ────────────────────────────────────────────────────────────────────────
    cluster.start();
    let up_at = Instant::now();
    let recovered = until_ready_is(&client, &server.base, 200, Duration::from_secs(30)).await;
    // Pushes work again: wait for acknowledged pushes made after the database came back.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let after = log
            .lock()
            .expect("log")
            .iter()
            .filter(|(at, p)| *at > up_at && matches!(p.answer, Ok((200, _))))
            .count();
        if after >= 5 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no push succeeded after PostgreSQL came back"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        task.await.expect("load task");
    }

    let log = std::mem::take(&mut *log.lock().expect("log"));
    let mut acknowledged: BTreeMap<String, String> = BTreeMap::new();
    let (mut failed_cleanly, mut transport) = (0, 0);
    for (at, p) in &log {
        match &p.answer {
            Ok((200, body)) => {
                let result = &body["results"][0];
                assert_eq!(result["event_id"], p.event["event_id"], "{body}");
                let status = result["status"].as_str().expect("status").to_owned();
                assert!(status == "accepted" || status == "duplicate", "{body}");
                acknowledged.insert(result["event_id"].as_str().expect("id").to_owned(), status);
            }
            Ok((503, body)) => {
                assert_eq!(body["error"]["code"], "unavailable", "{body}");
                assert!(*at >= down_at, "a 503 before the crash: {body}");
                failed_cleanly += 1;
            }
            Ok((status, body)) => panic!(
                "a push during the drill answered {status}: {body}\nserver log:\n{}",
                server.stderr()
            ),
            // The client's own timeout while the server waited for a connection.
            Err(_) => transport += 1,
        }
    }
    assert!(failed_cleanly > 0, "some pushes met the outage");
    assert!(!server.stderr().contains("panicked"), "{}", server.stderr());

    // Every acknowledged push is in the books, with the verdict it got.
    let books = books(&server, &token, &pupils).await;
    for (id, status) in &acknowledged {
        let meal = books
            .get(id)
            .unwrap_or_else(|| panic!("acknowledged {status}, lost: {id}"));
        assert_eq!(meal["status"], status.as_str(), "{meal}");
    }
    // The meal rule held across the restart: one billable meal per pupil and day.
    let mut billable = BTreeMap::<(String, String), usize>::new();
    for meal in books.values().filter(|m| m["status"] == "accepted") {
        *billable
            .entry((
                meal["voucher_id"].as_str().unwrap_or_default().into(),
                meal["service_day"].as_str().unwrap_or_default().into(),
            ))
            .or_default() += 1;
    }
    assert!(billable.values().all(|&n| n == 1), "{billable:?}");
    eprintln!(
        "postgres drill: {} pushes, {} acknowledged, {failed_cleanly} answered 503, {transport} \
         timed out; /readyz said 503 after {noticed:?}, 200 again {recovered:?} after the \
         restart; {:?} in all",
        log.len(),
        acknowledged.len(),
        started.elapsed()
    );
    server.stop();
    drop(cluster);
}
