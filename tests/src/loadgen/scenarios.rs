//! The lunch-rush scenarios: parents minting passes, terminals pushing meals and pulling
//! rosters, staff downloading табели — closed loops of concurrent workers for a fixed time.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::Value;
use shared::sync::{MealBatch, MealEvent, MealSlot, Method as ScanMethod};
use time::Date;
use tokio::task::JoinSet;

use super::client::Api;
use super::seed::{Terminal, World};
use super::stats::{Kind, Stats};

/// Shared between the workers of one run.
pub struct Run {
    pub api: Api,
    pub stats: Mutex<Stats>,
    pub started: Instant,
    pub deadline: Instant,
    pub done: AtomicU64,
    pub stop: AtomicBool,
}

impl Run {
    pub fn new(api: Api, duration: Duration) -> Arc<Run> {
        let started = Instant::now();
        Arc::new(Run {
            api,
            stats: Mutex::new(Stats::default()),
            started,
            deadline: started + duration,
            done: AtomicU64::new(0),
            stop: AtomicBool::new(false),
        })
    }

    fn going(&self) -> bool {
        !self.stop.load(Ordering::Relaxed) && Instant::now() < self.deadline
    }

    fn record(&self, kind: Kind, latency: Duration, outcome: Result<u64, u16>) {
        let started = self.started.elapsed().saturating_sub(latency);
        if let Ok(mut s) = self.stats.lock() {
            s.record(kind, started, latency, outcome);
        }
        self.done.fetch_add(1, Ordering::Relaxed);
    }
}

/// Which passes the minting parents ask for.
#[derive(Clone, Copy)]
pub struct MintMix {
    /// One PNG in every `png_every` mints (0: JSON only, 1: PNG only).
    pub png_every: usize,
}

/// Parents minting passes, vouchers taken round-robin so the per-voucher limit is met
/// evenly (as it is in life: each parent mints a few times a morning).
pub fn spawn_mint(
    set: &mut JoinSet<()>,
    run: &Arc<Run>,
    world: &World,
    workers: usize,
    mix: MintMix,
) {
    let parents: Arc<Vec<(String, String)>> = Arc::new(
        world
            .schools
            .iter()
            .flat_map(|s| s.students.iter())
            .map(|s| (s.voucher.clone(), s.parent_token.clone()))
            .collect(),
    );
    let next = Arc::new(AtomicUsize::new(0));
    for _ in 0..workers {
        let (run, parents, next) = (run.clone(), parents.clone(), next.clone());
        set.spawn(async move {
            while run.going() {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let (voucher, token) = &parents[i % parents.len()];
                let png = mix.png_every != 0 && i % mix.png_every == 0;
                let (kind, accept) = if png {
                    (Kind::MintPng, "image/png")
                } else {
                    (Kind::MintJson, "application/json")
                };
                let path = format!("/v1/wallet/vouchers/{voucher}/passes");
                match run
                    .api
                    .timed(Method::POST, &path, Some(token), Some(accept), None)
                    .await
                {
                    Ok(t) if t.status.is_success() => run.record(kind, t.latency, Ok(1)),
                    Ok(t) => run.record(kind, t.latency, Err(t.status.as_u16())),
                    Err(_) => run.record(kind, Duration::ZERO, Err(0)),
                }
            }
        });
    }
}

/// What one virtual terminal serves: its share of a school's students over the meal days.
/// Kept in the [`World`] so that later scenarios go on with new meals.
pub struct Counter {
    vouchers: Vec<String>,
    days: Vec<Date>,
    next: usize,
}

impl Counter {
    /// The next meal, or `None` when every student ate on every day. Every 50th meal is
    /// a second helping of the previous student (the rule must answer `duplicate`).
    fn next(&mut self, slot: &MealSlot) -> Option<MealEvent> {
        let total = self.vouchers.len() * self.days.len();
        let i = self.next;
        if i >= total + total / 50 {
            return None;
        }
        self.next += 1;
        let served = if i % 50 == 49 {
            i - i / 50 - 1
        } else {
            i - i / 50
        };
        let served = served.min(total.saturating_sub(1));
        let day = self.days[served / self.vouchers.len()];
        let voucher = &self.vouchers[served % self.vouchers.len()];
        let served_at = shared::time::start_of_service_day(day)
            + time::Duration::minutes(i64::from(slot.start_minute) + 1);
        Some(MealEvent {
            event_id: uuid::Uuid::now_v7(),
            voucher_id: voucher.parse().ok()?,
            slot: slot.name.parse().ok()?,
            service_day: day,
            served_at,
            method: ScanMethod::Qr,
            pass_nonce: None,
            manual_reason: None,
            worker: None,
        })
    }
}

fn roster_cursor(body: &[u8]) -> Option<(i64, MealSlot)> {
    let v: Value = serde_json::from_slice(body).ok()?;
    let slot: MealSlot = serde_json::from_value(v["slots"].get(0)?.clone()).ok()?;
    Some((v["cursor"].as_i64()?, slot))
}

/// Virtual terminals: a pull of the roster's changes since seeding (each terminal took its
/// full roster then, as one does when it is set up), then batches of meals, with a delta
/// pull every tenth push (as the real terminal's sync loop does). `every` zero: back to back (the
/// saturation run); else each terminal starts a push every `every`, the terminals' first
/// pushes spread evenly over one `every` (as real terminals' sync intervals are).
pub fn spawn_sync(
    set: &mut JoinSet<()>,
    run: &Arc<Run>,
    world: &World,
    batch: usize,
    every: Duration,
) {
    let all: Vec<_> = world.schools.iter().flat_map(|s| &s.terminals).collect();
    let n = all.len().max(1) as u32;
    for (i, terminal) in all.into_iter().enumerate() {
        let (run, terminal) = (run.clone(), terminal.clone());
        let pace = Pace {
            every,
            phase: every * (i as u32) / n,
        };
        set.spawn(async move {
            let mut counter = terminal.counter.lock().await;
            terminal_loop(&run, &terminal, &mut counter, batch, pace).await;
        });
    }
}

/// When a virtual terminal pushes: every `every` from `phase` (zero `every`: back to back).
#[derive(Clone, Copy)]
struct Pace {
    every: Duration,
    phase: Duration,
}

/// The counters of a school's terminals: students shared out round-robin.
pub fn counters(vouchers: &[String], terminals: usize, days: &[Date]) -> Vec<Counter> {
    let n = terminals.max(1);
    (0..terminals)
        .map(|t| Counter {
            vouchers: vouchers
                .iter()
                .enumerate()
                .filter(|(j, _)| j % n == t)
                .map(|(_, v)| v.clone())
                .collect(),
            days: days.to_vec(),
            next: 0,
        })
        .collect()
}

async fn terminal_loop(
    run: &Run,
    terminal: &Terminal,
    counter: &mut Counter,
    batch: usize,
    pace: Pace,
) {
    let token = terminal.token.as_str();
    let pull = |cursor: i64| format!("/v1/terminals/sync?cursor={cursor}");
    let Ok(t) = run
        .api
        .timed(Method::GET, &pull(terminal.cursor), Some(token), None, None)
        .await
    else {
        return run.record(Kind::RosterDelta, Duration::ZERO, Err(0));
    };
    let Some((mut cursor, slot)) = roster_cursor(&t.body).filter(|_| t.status.is_success()) else {
        return run.record(Kind::RosterDelta, t.latency, Err(t.status.as_u16()));
    };
    run.record(Kind::RosterDelta, t.latency, Ok(1));
    let mut pushes = 0u64;
    let mut due = tokio::time::Instant::now() + pace.phase;
    while run.going() {
        if !pace.every.is_zero() {
            tokio::time::sleep_until(due).await;
            due += pace.every;
        }
        let events: Vec<MealEvent> = std::iter::from_fn(|| counter.next(&slot))
            .take(batch)
            .collect();
        if events.is_empty() {
            break;
        }
        let n = events.len() as u64;
        let body = serde_json::to_vec(&MealBatch {
            events,
            unsent_after: Some(0),
            voids: Vec::new(),
            denials: Vec::new(),
        })
        .unwrap_or_default();
        match run
            .api
            .timed(
                Method::POST,
                "/v1/terminals/meals",
                Some(token),
                None,
                Some(body),
            )
            .await
        {
            Ok(t) if t.status.is_success() => {
                run.record(Kind::MealPush, t.latency, Ok(n));
                count_verdicts(run, &t.body);
            }
            Ok(t) => run.record(Kind::MealPush, t.latency, Err(t.status.as_u16())),
            Err(_) => run.record(Kind::MealPush, Duration::ZERO, Err(0)),
        }
        pushes += 1;
        if pushes.is_multiple_of(10) {
            match run
                .api
                .timed(Method::GET, &pull(cursor), Some(token), None, None)
                .await
            {
                Ok(t) if t.status.is_success() => {
                    cursor = roster_cursor(&t.body).map_or(cursor, |(c, _)| c);
                    run.record(Kind::RosterDelta, t.latency, Ok(1));
                }
                Ok(t) => run.record(Kind::RosterDelta, t.latency, Err(t.status.as_u16())),
                Err(_) => run.record(Kind::RosterDelta, Duration::ZERO, Err(0)),
            }
        }
    }
}

fn count_verdicts(run: &Run, body: &[u8]) {
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return;
    };
    let Some(results) = v["results"].as_array() else {
        return;
    };
    if let Ok(mut s) = run.stats.lock() {
        for r in results {
            let verdict = r["status"].as_str().unwrap_or("?");
            s.verdict(Kind::MealPush, verdict);
        }
    }
}

/// Full roster pulls one after another, nothing else running: what a terminal enrolled
/// at a big school waits for on its first start.
pub fn spawn_roster(set: &mut JoinSet<()>, run: &Arc<Run>, world: &World) {
    let tokens: Vec<String> = world
        .schools
        .iter()
        .filter_map(|s| s.terminals.first().map(|t| t.token.clone()))
        .collect();
    let run = run.clone();
    set.spawn(async move {
        let mut i = 0usize;
        while run.going() && !tokens.is_empty() {
            let token = &tokens[i % tokens.len()];
            i += 1;
            let path = "/v1/terminals/sync?cursor=0";
            match run
                .api
                .timed(Method::GET, path, Some(token), None, None)
                .await
            {
                Ok(t) if t.status.is_success() => run.record(Kind::RosterFull, t.latency, Ok(1)),
                Ok(t) => run.record(Kind::RosterFull, t.latency, Err(t.status.as_u16())),
                Err(_) => run.record(Kind::RosterFull, Duration::ZERO, Err(0)),
            }
        }
    });
}

/// School staff downloading this month's табель, JSON mostly, every fifth as XLSX.
pub fn spawn_tabel(set: &mut JoinSet<()>, run: &Arc<Run>, world: &World, workers: usize) {
    let staff: Arc<Vec<(String, String)>> = Arc::new(
        world
            .schools
            .iter()
            .map(|s| (s.bin.clone(), s.staff_token.clone()))
            .collect(),
    );
    let month = shared::time::month_of(world.activated_at).to_string();
    let next = Arc::new(AtomicUsize::new(0));
    for _ in 0..workers {
        let (run, staff, next, month) = (run.clone(), staff.clone(), next.clone(), month.clone());
        set.spawn(async move {
            while run.going() {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let (bin, token) = &staff[i % staff.len()];
                let (kind, format) = if i % 5 == 4 {
                    (Kind::TabelXlsx, "xlsx")
                } else {
                    (Kind::TabelJson, "json")
                };
                let path = format!("/v1/schools/{bin}/tabel?month={month}&format={format}");
                match run
                    .api
                    .timed(Method::GET, &path, Some(token), None, None)
                    .await
                {
                    Ok(t) if t.status.is_success() => run.record(kind, t.latency, Ok(1)),
                    Ok(t) => run.record(kind, t.latency, Err(t.status.as_u16())),
                    Err(_) => run.record(kind, Duration::ZERO, Err(0)),
                }
                // Staff click now and then, not in a tight loop.
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_counter_serves_everyone_once_a_day_plus_every_fiftieth_twice() {
        let vouchers: Vec<String> = (0..70)
            .map(|_| shared::VoucherId::new().to_string())
            .collect();
        let days: Vec<Date> = (0..3)
            .map(|d| time::macros::date!(2026 - 11 - 02) + time::Duration::days(d))
            .collect();
        let mut c = Counter {
            vouchers,
            days,
            next: 0,
        };
        let slot = MealSlot::whole_day();
        let events: Vec<MealEvent> = std::iter::from_fn(|| c.next(&slot)).collect();
        let mut distinct: Vec<(String, Date)> = events
            .iter()
            .map(|e| (e.voucher_id.to_string(), e.service_day))
            .collect();
        let total = distinct.len();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), 210, "every student on every day");
        assert_eq!(total, 210 + 4, "one second helping in fifty");
        assert!(events
            .iter()
            .all(|e| shared::time::service_day(e.served_at) == e.service_day));
    }
}
