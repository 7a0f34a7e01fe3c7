//! Latency and throughput bookkeeping per request kind, and the JSON result file.
//!
//! Latencies go into HDR histograms (microsecond resolution, three significant digits), so
//! p99 over millions of requests costs a few kilobytes and no sorting. A timeline per second
//! of the run (requests started, the slowest of them) says *when* the slow ones started: a
//! tail that sits in the first seconds is a warm-up, one in the middle a pause on the server
//! or the database.

use std::collections::BTreeMap;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;

/// What the load generator does, one histogram each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    MintJson,
    MintPng,
    MealPush,
    RosterFull,
    RosterDelta,
    TabelJson,
    TabelXlsx,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::MintJson => "mint_json",
            Kind::MintPng => "mint_png",
            Kind::MealPush => "meal_push",
            Kind::RosterFull => "roster_full",
            Kind::RosterDelta => "roster_delta",
            Kind::TabelJson => "tabel_json",
            Kind::TabelXlsx => "tabel_xlsx",
        }
    }
}

/// Counters of one request kind.
pub struct Series {
    latency_us: Histogram<u64>,
    pub ok: u64,
    pub errors: u64,
    /// Items carried (meal events in a push; 1 for other requests).
    pub items: u64,
    /// Per-event verdicts of meal pushes.
    pub verdicts: BTreeMap<String, u64>,
    /// Non-2xx answers by status code.
    pub statuses: BTreeMap<u16, u64>,
    /// Per second of the run, by when the request started.
    timeline: Vec<Second>,
}

/// The requests of one kind that started in one second of the run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Second {
    pub started: u64,
    pub slowest_us: u64,
}

impl Series {
    fn new() -> Series {
        Series {
            // 1 µs .. 60 s, 3 significant digits.
            latency_us: Histogram::new_with_bounds(1, 60_000_000, 3)
                .expect("constant histogram bounds are valid"),
            ok: 0,
            errors: 0,
            items: 0,
            verdicts: BTreeMap::new(),
            statuses: BTreeMap::new(),
            timeline: Vec::new(),
        }
    }
}

/// All series of one scenario run.
#[derive(Default)]
pub struct Stats {
    series: BTreeMap<Kind, Series>,
}

impl Stats {
    /// One answered request that started `started` into the run.
    pub fn record(
        &mut self,
        kind: Kind,
        started: Duration,
        latency: Duration,
        outcome: Result<u64, u16>,
    ) {
        let s = self.series.entry(kind).or_insert_with(Series::new);
        let us = u64::try_from(latency.as_micros())
            .unwrap_or(u64::MAX)
            .max(1);
        let _ = s.latency_us.record(us.min(60_000_000));
        let second = usize::try_from(started.as_secs())
            .unwrap_or(usize::MAX)
            .min(3_600);
        if s.timeline.len() <= second {
            s.timeline.resize(second + 1, Second::default());
        }
        let at = &mut s.timeline[second];
        at.started += 1;
        at.slowest_us = at.slowest_us.max(us);
        match outcome {
            Ok(items) => {
                s.ok += 1;
                s.items += items;
            }
            Err(status) => {
                s.errors += 1;
                *s.statuses.entry(status).or_default() += 1;
            }
        }
    }

    pub fn verdict(&mut self, kind: Kind, verdict: &str) {
        let s = self.series.entry(kind).or_insert_with(Series::new);
        *s.verdicts.entry(verdict.to_string()).or_default() += 1;
    }

    pub fn total_ok(&self) -> u64 {
        self.series.values().map(|s| s.ok).sum()
    }

    /// The summary of the run, for the console and the result file.
    pub fn summary(&self, elapsed: Duration) -> BTreeMap<&'static str, KindSummary> {
        let secs = elapsed.as_secs_f64().max(1e-9);
        self.series
            .iter()
            .map(|(kind, s)| {
                let q = |p: f64| s.latency_us.value_at_quantile(p) as f64 / 1000.0;
                let p99_us = s.latency_us.value_at_quantile(0.99);
                (
                    kind.name(),
                    KindSummary {
                        requests: s.ok + s.errors,
                        errors: s.errors,
                        error_statuses: s.statuses.clone(),
                        requests_per_s: (s.ok as f64) / secs,
                        items_per_s: (s.items as f64) / secs,
                        p50_ms: q(0.50),
                        p95_ms: q(0.95),
                        p99_ms: q(0.99),
                        max_ms: s.latency_us.max() as f64 / 1000.0,
                        verdicts: s.verdicts.clone(),
                        seconds_over_p99: s
                            .timeline
                            .iter()
                            .enumerate()
                            .filter(|(_, at)| at.slowest_us > p99_us)
                            .map(|(i, _)| i as u64)
                            .collect(),
                        timeline: s.timeline.clone(),
                    },
                )
            })
            .collect()
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct KindSummary {
    pub requests: u64,
    pub errors: u64,
    pub error_statuses: BTreeMap<u16, u64>,
    /// Successful requests per second over the scenario's wall time.
    pub requests_per_s: f64,
    /// Items (meal events) per second over the scenario's wall time.
    pub items_per_s: f64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub verdicts: BTreeMap<String, u64>,
    /// The seconds of the run in which a request slower than p99 started.
    pub seconds_over_p99: Vec<u64>,
    /// Per second of the run: requests started, the slowest of them.
    pub timeline: Vec<Second>,
}

/// One line per kind for the terminal.
pub fn print_table(title: &str, summary: &BTreeMap<&'static str, KindSummary>) {
    println!("\n{title}");
    println!(
        "  {:<13} {:>9} {:>7} {:>10} {:>11} {:>8} {:>8} {:>8} {:>8}",
        "kind", "requests", "errors", "req/s", "items/s", "p50 ms", "p95 ms", "p99 ms", "max ms"
    );
    for (name, s) in summary {
        println!(
            "  {:<13} {:>9} {:>7} {:>10.0} {:>11.0} {:>8.2} {:>8.2} {:>8.2} {:>8.2}",
            name,
            s.requests,
            s.errors,
            s.requests_per_s,
            s.items_per_s,
            s.p50_ms,
            s.p95_ms,
            s.p99_ms,
            s.max_ms
        );
        if !s.error_statuses.is_empty() {
            println!("  {:<13} error statuses: {:?}", "", s.error_statuses);
        }
        if !s.verdicts.is_empty() {
            println!("  {:<13} verdicts: {:?}", "", s.verdicts);
        }
        let (over, seconds) = (s.seconds_over_p99.len(), s.timeline.len());
        if s.requests >= 100 && over > 0 && over * 4 <= seconds {
            println!(
                "  {:<13} requests over p99 started in second(s) {:?} of the run",
                "", s.seconds_over_p99
            );
        } else if s.requests >= 100 && over > 0 {
            println!(
                "  {:<13} requests over p99 started in {over} of the run's {seconds} seconds",
                ""
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_and_rates_come_from_what_was_recorded() {
        let mut stats = Stats::default();
        for ms in 1..=100u64 {
            let started = Duration::from_millis(ms * 30);
            stats.record(Kind::MintJson, started, Duration::from_millis(ms), Ok(1));
        }
        stats.record(
            Kind::MintJson,
            Duration::ZERO,
            Duration::from_millis(5),
            Err(429),
        );
        let summary = stats.summary(Duration::from_secs(10));
        let s = &summary["mint_json"];
        assert_eq!(s.requests, 101);
        assert_eq!(s.errors, 1);
        assert_eq!(s.error_statuses.get(&429), Some(&1));
        assert!((s.requests_per_s - 10.0).abs() < 1e-9);
        assert!((s.p50_ms - 50.0).abs() < 0.5, "p50 {}", s.p50_ms);
        assert!((s.p99_ms - 99.0).abs() < 0.5, "p99 {}", s.p99_ms);
        // Started at 30 ms × n: 34 in second 0 (with the refused one), 33 in 1, 33 in 2,
        // 1 in 3 (the slowest, 100 ms, the only one above p99).
        let started: Vec<u64> = s.timeline.iter().map(|at| at.started).collect();
        assert_eq!(started, vec![34, 33, 33, 1]);
        assert_eq!(s.timeline[2].slowest_us, 99_000);
        assert_eq!(s.seconds_over_p99, vec![3]);
    }
}
