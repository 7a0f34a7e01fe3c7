//! Seeding a world to load: N schools × M students with activated vouchers, parents with
//! tokens, and enrolled virtual terminals — all through the public API of a `--demo`
//! server (lists by integration, activation by parents, enrollment by staff codes), so the
//! load generator proves the same paths production uses.

use std::sync::Arc;

use anyhow::{anyhow, Context};
use reqwest::Method;
use serde_json::{json, Value};
use shared::id::Sex;
use shared::{Bin, Iin};
use time::{Date, Duration, Month, OffsetDateTime};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::client::Api;
use super::scenarios::{counters, Counter};

/// A student as the load generator knows them: the voucher and the parent's token.
#[derive(Clone)]
pub struct Student {
    pub voucher: String,
    pub parent_token: String,
}

pub struct School {
    pub bin: String,
    pub staff_token: String,
    pub students: Vec<Student>,
    pub terminals: Vec<Arc<Terminal>>,
}

/// A virtual terminal: its device token, the roster cursor of its first pull and the meals
/// it has still to serve.
pub struct Terminal {
    pub token: String,
    /// Where its first roster pull (at seeding) left it: a scenario's pulls are deltas.
    pub cursor: i64,
    /// Locked by the one task that drives the terminal in a scenario.
    pub counter: tokio::sync::Mutex<Counter>,
}

/// Everything the scenarios need.
pub struct World {
    pub schools: Vec<School>,
    /// The server's clock when the vouchers were activated.
    pub activated_at: OffsetDateTime,
    /// Service days after activation on which meals may be pushed (the clock was moved past
    /// them).
    pub meal_days: Vec<Date>,
    /// Seconds each school's eligibility list took over HTTP (request to last byte), in order.
    pub list_seconds: Vec<f64>,
}

#[derive(Clone, Copy)]
pub struct SeedPlan {
    pub schools: usize,
    pub students: usize,
    pub terminals: usize,
    pub days: u32,
    pub concurrency: usize,
}

/// A person's IIN, unique per global index (disjoint serial ranges per index).
fn iin(base: Date, index: usize, sex: Sex) -> anyhow::Result<Iin> {
    let born = base + Duration::days((index / 1000) as i64);
    let first = u16::try_from((index % 1000) * 5)?;
    (first..first + 5)
        .find_map(|serial| Iin::generate(born, sex, serial))
        .ok_or_else(|| anyhow!("no issuable IIN for index {index}"))
}

/// A school BIN that no demo school uses: `2611` + `40` + the school number.
pub(super) fn bin(index: usize) -> anyhow::Result<Bin> {
    let digits = format!("261140{:05}", index + 1);
    let mut first11 = [0u8; 11];
    for (d, c) in first11.iter_mut().zip(digits.bytes()) {
        *d = c - b'0';
    }
    Bin::generate(&first11).ok_or_else(|| anyhow!("BIN {digits}x cannot be issued"))
}

fn student_born() -> Date {
    Date::from_calendar_date(2017, Month::January, 1).unwrap_or(Date::MIN)
}

fn parent_born() -> Date {
    Date::from_calendar_date(1985, Month::January, 1).unwrap_or(Date::MIN)
}

pub(super) fn list(
    school: usize,
    bin: &Bin,
    plan: &SeedPlan,
    period: &str,
) -> anyhow::Result<(Value, Vec<Iin>)> {
    let mut students = Vec::with_capacity(plan.students);
    let mut parents = Vec::with_capacity(plan.students);
    for j in 0..plan.students {
        let g = school * plan.students + j;
        let child = iin(
            student_born(),
            g,
            if j % 2 == 0 { Sex::Male } else { Sex::Female },
        )?;
        let mother = iin(parent_born(), g, Sex::Female)?;
        let grade = 1 + (j % 4);
        students.push(json!({
            "iin": child.expose(),
            "full_name": format!("Ученик {}-{}", school + 1, j + 1),
            "grade": grade,
            "class_label": format!("{grade}{}", ["А", "Б", "В"][j % 3]),
            "category": "primary",
            "representatives": [{
                "iin": mother.expose(),
                "full_name": format!("Родитель {}-{}", school + 1, j + 1),
                "relation": "mother",
            }],
        }));
        parents.push(mother);
    }
    let body = json!({
        "school": { "bin": bin.as_string(), "name": format!("Нагрузочная школа №{}", school + 1) },
        "programme": "school_meals",
        "period": period,
        "students": students,
    });
    Ok((body, parents))
}

/// Runs `f` over `items` with at most `limit` in flight; the first error stops the seeding.
pub async fn concurrently<T, R, F, Fut>(items: Vec<T>, limit: usize, f: F) -> anyhow::Result<Vec<R>>
where
    T: Send + 'static,
    R: Send + 'static,
    F: Fn(T) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<R>> + Send + 'static,
{
    let gate = Arc::new(Semaphore::new(limit.max(1)));
    let mut set = JoinSet::new();
    for (i, item) in items.into_iter().enumerate() {
        let permit = gate.clone().acquire_owned().await?;
        let fut = f(item);
        set.spawn(async move {
            let r = fut.await;
            drop(permit);
            r.map(|r| (i, r))
        });
    }
    let mut out: Vec<Option<R>> = Vec::new();
    while let Some(joined) = set.join_next().await {
        let (i, r) = joined??;
        if out.len() <= i {
            out.resize_with(i + 1, || None);
        }
        out[i] = Some(r);
    }
    Ok(out.into_iter().flatten().collect())
}

/// Token, voucher lookup and activation for one parent.
pub(super) async fn activate(api: Api, parent: Iin) -> anyhow::Result<Student> {
    let token = api.token(&parent.expose(), "parent", None).await?;
    let listed = api
        .call(Method::GET, "/v1/wallet/vouchers", Some(&token), None)
        .await?;
    let voucher = listed["vouchers"][0]["id"]
        .as_str()
        .ok_or_else(|| anyhow!("a seeded parent has no voucher"))?
        .to_string();
    api.call(
        Method::POST,
        &format!("/v1/wallet/vouchers/{voucher}/activate"),
        Some(&token),
        None,
    )
    .await?;
    Ok(Student {
        voucher,
        parent_token: token,
    })
}

async fn enroll(api: Api, bin: String, staff: String, name: String) -> anyhow::Result<String> {
    let code = api
        .call(
            Method::POST,
            &format!("/v1/schools/{bin}/terminals"),
            Some(&staff),
            None,
        )
        .await?;
    let code = code["code"]
        .as_str()
        .ok_or_else(|| anyhow!("no enrollment code in the answer"))?;
    let enrolled = api
        .call(
            Method::POST,
            "/v1/terminals/enroll",
            None,
            Some(json!({ "code": code, "name": name })),
        )
        .await?;
    enrolled["token"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| anyhow!("no device token in the answer"))
}

/// Seeds the world and moves the demo clock `days + 1` days past activation.
pub async fn seed(api: &Api, plan: SeedPlan) -> anyhow::Result<World> {
    let integration = api.token("loadgen", "integration", None).await?;
    let period = shared::time::month_of(OffsetDateTime::now_utc()).to_string();
    let first_day = shared::time::service_day(OffsetDateTime::now_utc());
    let meal_days: Vec<Date> = (1..=plan.days)
        .map(|d| first_day + Duration::days(i64::from(d)))
        .collect();
    let mut schools = Vec::with_capacity(plan.schools);
    let mut list_seconds = Vec::with_capacity(plan.schools);
    for i in 0..plan.schools {
        let bin = bin(i)?;
        let (body, parents) = list(i, &bin, &plan, &period)?;
        let sent = std::time::Instant::now();
        let answer = api
            .call(
                Method::POST,
                "/v1/integration/eligibility-lists",
                Some(&integration),
                Some(body),
            )
            .await
            .with_context(|| format!("sending the list of school {}", i + 1))?;
        list_seconds.push(sent.elapsed().as_secs_f64());
        let accepted = answer["accepted"].as_array().map_or(0, Vec::len) as u64;
        anyhow::ensure!(
            accepted == plan.students as u64,
            "school {}: {accepted} of {} rows accepted: {answer}",
            i + 1,
            plan.students
        );
        let staff = api
            .token("loadgen-staff", "social_pedagogue", Some(&bin.as_string()))
            .await?;
        let a = api.clone();
        let students =
            concurrently(parents, plan.concurrency, move |p| activate(a.clone(), p)).await?;
        let names: Vec<String> = (0..plan.terminals)
            .map(|t| format!("load-{}-{}", i + 1, t + 1))
            .collect();
        let (a, b, s) = (api.clone(), bin.as_string(), staff.clone());
        let tokens = concurrently(names, plan.concurrency, move |n| {
            enroll(a.clone(), b.clone(), s.clone(), n)
        })
        .await?;
        // A terminal downloads its roster when it is set up, before it serves a meal, and
        // keeps it (the lunch rush pulls only changes); the first pull after the school's
        // activations is also the one that numbers them all (`number_roster_changes`).
        let mut cursors = Vec::with_capacity(tokens.len());
        for token in &tokens {
            let pulled = api
                .call(
                    Method::GET,
                    "/v1/terminals/sync?cursor=0",
                    Some(token),
                    None,
                )
                .await
                .with_context(|| format!("school {}: a terminal's first roster pull", i + 1))?;
            let cursor = pulled["cursor"]
                .as_i64()
                .ok_or_else(|| anyhow!("school {}: no cursor in the roster pull", i + 1))?;
            cursors.push(cursor);
        }
        let vouchers: Vec<String> = students.iter().map(|s| s.voucher.clone()).collect();
        let terminals = tokens
            .into_iter()
            .zip(cursors)
            .zip(counters(&vouchers, plan.terminals, &meal_days))
            .map(|((token, cursor), counter)| {
                Arc::new(Terminal {
                    token,
                    cursor,
                    counter: tokio::sync::Mutex::new(counter),
                })
            })
            .collect();
        eprintln!(
            "seeded school {}/{} ({} students)",
            i + 1,
            plan.schools,
            students.len()
        );
        schools.push(School {
            bin: bin.as_string(),
            staff_token: staff,
            students,
            terminals,
        });
    }
    let activated_at = server_time(api, &schools).await?;
    // A server whose demo clock an earlier run moved is days ahead; a seeding that crossed
    // midnight in Astana is not (its meals start the day after `first_day` all the same).
    anyhow::ensure!(
        activated_at <= OffsetDateTime::now_utc() + Duration::minutes(1)
            && shared::time::service_day(activated_at) <= first_day + Duration::days(1),
        "the server's clock is ahead of this machine's: start a fresh `--demo` server"
    );
    let end =
        shared::time::start_of_service_day(first_day + Duration::days(i64::from(plan.days) + 1));
    api.move_clock(end)
        .await
        .context("moving the demo clock past the meal days")?;
    caught_up(api).await?;
    Ok(World {
        schools,
        activated_at,
        meal_days,
        list_seconds,
    })
}

/// Waits until the server has done the jobs the moved clock made due (daily reports,
/// signals, expiry of the skipped days), so that they do not run inside the first
/// scenario's measurement; at most [`CATCH_UP`].
async fn caught_up(api: &Api) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let mut quiet = 0;
    while quiet < 3 && started.elapsed() < CATCH_UP {
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        quiet = if api.jobs_due().await? == 0 {
            quiet + 1
        } else {
            0
        };
    }
    eprintln!(
        "the server caught up with the skipped days' jobs in {:.1} s{}",
        started.elapsed().as_secs_f64(),
        if quiet < 3 { " (gave up waiting)" } else { "" }
    );
    Ok(())
}

/// Longest wait for the skipped days' jobs.
const CATCH_UP: std::time::Duration = std::time::Duration::from_secs(300);

/// The server's current time, from a terminal's roster pull.
async fn server_time(api: &Api, schools: &[School]) -> anyhow::Result<OffsetDateTime> {
    let token = schools
        .first()
        .and_then(|s| s.terminals.first())
        .map(|t| &t.token)
        .ok_or_else(|| anyhow!("at least one school with one terminal is needed"))?;
    let v = api
        .call(
            Method::GET,
            "/v1/terminals/sync?cursor=0",
            Some(token),
            None,
        )
        .await?;
    let t = v["server_time"]
        .as_str()
        .ok_or_else(|| anyhow!("no server_time in the sync answer"))?;
    Ok(OffsetDateTime::parse(
        t,
        &time::format_description::well_known::Rfc3339,
    )?)
}
