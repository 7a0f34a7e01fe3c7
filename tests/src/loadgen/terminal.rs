//! The canteen terminal's footprint: resident memory with a big school's roster and a month
//! of meals that could not be sent, while it runs and while it pushes them all.
//!
//! The terminal is the real binary, enrolled at a real server; the unsent month is written
//! into its own database (the rows its `record_meal` writes) while it is stopped, because
//! scanning 150,000 meals through a serial port would take hours and prove nothing more.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use reqwest::Method;
use rusqlite::params;
use serde::Serialize;
use serde_json::{json, Value};
use time::OffsetDateTime;

use super::client::Api;
use super::seed::{self, SeedPlan};
use super::server::rss_bytes;

#[derive(Debug, Clone, Serialize)]
pub struct Footprint {
    pub roster: u64,
    pub unsent_meals: u64,
    /// Peak RSS while idle with the roster and the unsent month on disk, server away.
    pub idle_peak_rss_mb: f64,
    /// Peak RSS while pushing the whole month to the server.
    pub push_peak_rss_mb: f64,
    pub push_seconds: f64,
}

struct Running {
    child: Child,
    lines: mpsc::Receiver<Value>,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(
    binary: &Path,
    server: &str,
    school: &str,
    dir: &Path,
    enroll: Option<&str>,
) -> anyhow::Result<Running> {
    let mut cmd = Command::new(binary);
    cmd.args(["--server", server, "--school", school, "--ui", "plain"])
        .arg("--db")
        .arg(dir.join("terminal.db"))
        .arg("--qr-port")
        .arg(dir.join("no-scanner"))
        .args(["--sync-interval-ms", "500"])
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(dir.join("terminal.log"))?);
    if let Some(code) = enroll {
        cmd.args(["--enroll", code]);
    }
    let mut child = cmd
        .spawn()
        .with_context(|| format!("starting {}", binary.display()))?;
    let stdout = child.stdout.take().ok_or_else(|| anyhow!("no stdout"))?;
    let (tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Ok(v) = serde_json::from_str::<Value>(&line) {
                if tx.send(v).is_err() {
                    break;
                }
            }
        }
    });
    Ok(Running { child, lines })
}

/// Waits for a `sync` line matching `pred`, tracking the peak RSS meanwhile.
fn wait_sync(t: &Running, timeout: Duration, pred: impl Fn(&Value) -> bool) -> anyhow::Result<u64> {
    let deadline = Instant::now() + timeout;
    let mut peak = 0u64;
    while Instant::now() < deadline {
        peak = peak.max(rss_bytes(t.child.id()).unwrap_or(0));
        match t.lines.recv_timeout(Duration::from_millis(20)) {
            Ok(v) if v["type"] == "sync" && pred(&v) => return Ok(peak),
            Ok(_) | Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => bail!("the terminal exited"),
        }
    }
    bail!("the terminal did not reach the expected sync state in {timeout:?}")
}

fn roster_rows(db: &Path) -> anyhow::Result<Vec<(String, String, String)>> {
    let conn = rusqlite::Connection::open(db)?;
    let mut stmt = conn.prepare("SELECT voucher_id, student_name, class_label FROM roster")?;
    let rows = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// Writes `days` days of one meal per student before today, all waiting to be pushed.
fn fill_unsent(db: &Path, roster: &[(String, String, String)], days: u32) -> anyhow::Result<u64> {
    let mut conn = rusqlite::Connection::open(db)?;
    let tx = conn.transaction()?;
    let today = shared::time::service_day(OffsetDateTime::now_utc());
    let mut n = 0u64;
    {
        let mut stmt = tx.prepare(
            "INSERT INTO meals (event_id, voucher_id, service_day, slot, served_at, method, \
             pass_nonce, student_name, class_label) VALUES (?1, ?2, ?3, 'day', ?4, 'qr', NULL, ?5, ?6)",
        )?;
        for d in (1..=days).rev() {
            let day = today - time::Duration::days(i64::from(d));
            let served = shared::time::start_of_service_day(day) + time::Duration::hours(12);
            let served = served.format(&time::format_description::well_known::Rfc3339)?;
            for (voucher, name, class) in roster {
                stmt.execute(params![
                    uuid::Uuid::now_v7().to_string(),
                    voucher,
                    day.to_string(),
                    served,
                    name,
                    class
                ])?;
                n += 1;
            }
        }
    }
    tx.commit()?;
    Ok(n)
}

/// Enrolls the terminal at a new school of `students`, stops it, gives it `days` of unsent
/// meals, and measures it idle (server unreachable) and pushing.
/// `taken` people were numbered by the load world; this school's students come after them,
/// so their IINs are new.
pub async fn footprint(
    api: &Api,
    server_url: &str,
    binary: &Path,
    taken: usize,
    students: usize,
    days: u32,
) -> anyhow::Result<Footprint> {
    let dir = crate::private_tempdir_builder()
        .prefix("loadgen-terminal-")
        .tempdir()?;
    let integration = api.token("loadgen", "integration", None).await?;
    let bin = seed::bin(900)?;
    let plan = SeedPlan {
        schools: 1,
        students,
        terminals: 1,
        days: 0,
        concurrency: 1,
    };
    let period = shared::time::month_of(OffsetDateTime::now_utc()).to_string();
    let (list, parents) = seed::list(taken.div_ceil(students.max(1)), &bin, &plan, &period)?;
    let answer = api
        .call(
            Method::POST,
            "/v1/integration/eligibility-lists",
            Some(&integration),
            Some(list),
        )
        .await
        .context("sending the big school's list")?;
    let accepted = answer["accepted"].as_array().map_or(0, Vec::len);
    if accepted != students {
        bail!("{accepted} of {students} rows accepted: {answer}");
    }
    // The roster carries activated vouchers.
    let a = api.clone();
    seed::concurrently(parents, 32, move |p| seed::activate(a.clone(), p)).await?;
    let staff = api
        .token("loadgen-staff", "social_pedagogue", Some(&bin.as_string()))
        .await?;
    let code = api
        .call(
            Method::POST,
            &format!("/v1/schools/{}/terminals", bin.as_string()),
            Some(&staff),
            None,
        )
        .await?;
    let code = code["code"]
        .as_str()
        .ok_or_else(|| anyhow!("no enrollment code"))?
        .to_string();
    let school = bin.as_string();
    let db = dir.path().join("terminal.db");

    let first = start(binary, server_url, &school, dir.path(), Some(&code))?;
    wait_sync(&first, Duration::from_secs(120), |v| v["outcome"] == "ok")?;
    drop(first);
    let roster = roster_rows(&db)?;
    if roster.len() != students {
        bail!(
            "the terminal holds {} roster rows, expected {students}",
            roster.len()
        );
    }
    let unsent = fill_unsent(&db, &roster, days)?;

    // Idle with everything on disk and the server unreachable: 3 s of sync attempts.
    let idle = start(binary, "http://127.0.0.1:9", &school, dir.path(), None)?;
    let mut peak_idle = 0u64;
    let until = Instant::now() + Duration::from_secs(3);
    while Instant::now() < until {
        peak_idle = peak_idle.max(rss_bytes(idle.child.id()).unwrap_or(0));
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(idle);

    let started = Instant::now();
    let pushing = start(binary, server_url, &school, dir.path(), None)?;
    let peak_push = wait_sync(&pushing, Duration::from_secs(600), |v| {
        v["outcome"] == "ok" && v["unsent"] == json!(0)
    })?;
    let push_seconds = started.elapsed().as_secs_f64();
    drop(pushing);
    let mb = |b: u64| b as f64 / (1024.0 * 1024.0);
    Ok(Footprint {
        roster: roster.len() as u64,
        unsent_meals: unsent,
        idle_peak_rss_mb: mb(peak_idle),
        push_peak_rss_mb: mb(peak_push),
        push_seconds,
    })
}
