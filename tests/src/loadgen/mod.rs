//! `loadgen`: the lunch-rush load generator (issue 7). It seeds a `--demo` wallet server
//! through its public API, then drives scenarios over real HTTP on loopback and reports
//! throughput and latency per request kind, the server's peak memory, and the limits each
//! figure is compared with (bare Ed25519 signing, bare batched insert), as a table and a
//! JSON result file.
//!
//! Designed for a 2-core machine: the load generator runs on one core (a single-threaded
//! runtime, pinned with `taskset`) and the server it starts on the other.

pub mod baseline;
pub mod client;
pub mod scenarios;
pub mod seed;
pub mod server;
pub mod stats;
pub mod terminal;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::{Parser, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use tokio::task::JoinSet;

use client::Api;
use scenarios::{MintMix, Run};
use stats::KindSummary;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scenario {
    /// Parents minting JSON passes.
    Mint,
    /// Parents minting PNG passes.
    MintPng,
    /// Terminals pushing meal batches and pulling rosters.
    Sync,
    /// Full roster pulls, one at a time, nothing else running.
    Roster,
    /// Minting (JSON and PNG), syncing and табель downloads at once.
    Mixed,
}

/// Lunch-rush load generator for the wallet server.
#[derive(Debug, Parser)]
#[command(name = "loadgen", version)]
pub struct Options {
    /// A running `wallet-server --demo` to load (e.g. http://127.0.0.1:8080).
    #[arg(long, conflicts_with = "spawn")]
    pub server: Option<String>,
    /// Its process id, to sample its memory.
    #[arg(long, requires = "server")]
    pub server_pid: Option<u32>,
    /// Start this `wallet-server` binary with `--demo` on a fresh data directory instead.
    #[arg(long)]
    pub spawn: Option<PathBuf>,
    /// How many servers to start (`--spawn`), all on `--database-url` and on the one core
    /// `--pin` gives the server; more than one needs `--balancer`.
    #[arg(long, default_value_t = 1, requires = "spawn")]
    pub servers: usize,
    /// Put HAProxy (Debian's package) in front of the started servers, as a deployment does
    /// (each caller's token to one server, health check on `/readyz`), pinned with the load
    /// generator to CPU 0.
    #[arg(long, requires = "spawn")]
    pub balancer: bool,
    /// `--database-url` for the started server (PostgreSQL); SQLite when absent. Also where
    /// the bare-insert baseline runs (in a scratch database).
    #[arg(long)]
    pub database_url: Option<String>,
    /// Pin the load generator to CPU 0 and the started server to CPU 1.
    #[arg(long)]
    pub pin: bool,
    /// Scenarios to run, in order.
    #[arg(long, value_enum, num_args = 1.., default_values = ["roster", "mint", "mint-png", "sync", "mixed"])]
    pub scenario: Vec<Scenario>,
    #[arg(long, default_value_t = 10)]
    pub schools: usize,
    #[arg(long, default_value_t = 2000)]
    pub students: usize,
    /// Virtual terminals per school.
    #[arg(long, default_value_t = 2)]
    pub terminals: usize,
    /// Service days of meals available to push (the demo clock is moved past them).
    #[arg(long, default_value_t = 40)]
    pub days: u32,
    /// Seconds per scenario.
    #[arg(long, default_value_t = 20)]
    pub duration: u64,
    /// Concurrent parents minting.
    #[arg(long, default_value_t = 32)]
    pub concurrency: usize,
    /// Meal events per push.
    #[arg(long, default_value_t = 500)]
    pub batch: usize,
    /// `sync`: each virtual terminal starts a push every this many milliseconds, the
    /// terminals spread evenly over the interval (a real terminal syncs on an interval); 0:
    /// back to back, the saturation run (40 terminals then wait on each other by design).
    #[arg(long, default_value_t = 0)]
    pub push_every_ms: u64,
    /// Skip the baselines (bare signing, bare insert).
    #[arg(long)]
    pub no_baselines: bool,
    /// Extra arguments for the started server, e.g. `--server-arg=--pass-mint-limit=100`.
    #[arg(long = "server-arg", allow_hyphen_values = true)]
    pub server_args: Vec<String>,
    /// Also measure this `canteen-terminal` binary's memory with a big roster and a month
    /// of unsent meals.
    #[arg(long)]
    pub terminal: Option<PathBuf>,
    /// Roster size for the terminal footprint.
    #[arg(long, default_value_t = 5000)]
    pub terminal_students: usize,
    /// Days of unsent meals (one per student per day) for the terminal footprint.
    #[arg(long, default_value_t = 30)]
    pub terminal_days: u32,
    /// Where to write the JSON result.
    #[arg(long, default_value = "target/loadgen/result.json")]
    pub out: PathBuf,
}

#[derive(Serialize)]
struct ScenarioResult {
    scenario: Scenario,
    seconds: f64,
    kinds: BTreeMap<&'static str, KindSummary>,
    server_peak_rss_mb: Option<f64>,
}

#[derive(Serialize)]
struct Report {
    started_at: String,
    backend: &'static str,
    pinned: bool,
    schools: usize,
    students_per_school: usize,
    terminals_per_school: usize,
    /// The `sync` pace (`--push-every-ms`; 0: back to back).
    push_every_ms: u64,
    seed_seconds: f64,
    /// Each school's eligibility list over HTTP, seconds, in order.
    list_seconds: Vec<f64>,
    /// Servers behind the balancer (1 without `--balancer`).
    servers: usize,
    balancer: bool,
    baselines: Baselines,
    scenarios: Vec<ScenarioResult>,
    ratios: BTreeMap<String, f64>,
    terminal: Option<terminal::Footprint>,
}

#[derive(Serialize, Default)]
struct Baselines {
    ed25519_signs_per_s: Option<f64>,
    bare_insert: Option<baseline::BareInsert>,
}

/// Runs the load generator; the caller builds a single-threaded runtime.
pub async fn run(opts: Options) -> anyhow::Result<()> {
    let started_at = time::OffsetDateTime::now_utc();
    let pinned = opts.pin && server::can_pin();
    if opts.pin && !pinned {
        eprintln!("taskset not found: running unpinned");
    }
    if pinned {
        server::pin_self(0)?;
    }
    if opts.servers > 1 && (opts.database_url.is_none() || !opts.balancer) {
        bail!("several servers share one PostgreSQL (--database-url) behind --balancer");
    }
    let spawned = match &opts.spawn {
        Some(bin) => Some(
            server::spawn(
                bin,
                opts.servers,
                opts.database_url.as_deref(),
                pinned.then_some(1),
                &opts.server_args,
            )
            .await?,
        ),
        None => None,
    };
    let (mut url, pid) = match (&spawned, &opts.server) {
        (Some(s), _) => (s.urls[0].clone(), s.pids.first().copied()),
        (None, Some(url)) => (url.clone(), opts.server_pid),
        (None, None) => bail!("give --server URL or --spawn PATH"),
    };
    let servers: Vec<String> = spawned.as_ref().map_or_else(Vec::new, |s| s.urls.clone());
    let _balancer = match opts.balancer {
        true => {
            let addrs: Vec<String> = servers
                .iter()
                .map(|u| u.trim_start_matches("http://").to_string())
                .collect();
            let b = crate::balancer::Balancer::start(&addrs, pinned.then_some(0))
                .context("HAProxy is not installed (apt-get install haproxy)")?;
            url = b.base.clone();
            Some(b)
        }
        false => None,
    };
    let backend = if opts.database_url.is_some() {
        "postgres"
    } else {
        "sqlite"
    };
    let api = Api::new(&url)?.with_clocks(&servers);
    let baselines = if opts.no_baselines {
        Baselines::default()
    } else {
        baselines(&opts).await?
    };

    let seed_started = Instant::now();
    let plan = seed::SeedPlan {
        schools: opts.schools,
        students: opts.students,
        terminals: opts.terminals,
        days: opts.days,
        concurrency: 32,
    };
    let world = seed::seed(&api, plan).await.context("seeding")?;
    let seed_seconds = seed_started.elapsed().as_secs_f64();
    eprintln!(
        "seeded {} schools × {} students in {seed_seconds:.1} s",
        opts.schools, opts.students
    );
    let slowest_list = world.list_seconds.iter().copied().fold(0.0, f64::max);
    let lists_total: f64 = world.list_seconds.iter().sum();
    println!(
        "list intake ({} students each): mean {:.3} s, slowest {slowest_list:.3} s",
        opts.students,
        lists_total / world.list_seconds.len().max(1) as f64
    );

    let mut results = Vec::new();
    for &scenario in &opts.scenario {
        let result = run_scenario(&api, &world, &opts, scenario, pid).await?;
        stats::print_table(
            &format!("{scenario:?} ({backend}, {:.1} s)", result.seconds),
            &result.kinds,
        );
        if let Some(mb) = result.server_peak_rss_mb {
            println!("  server peak RSS: {mb:.1} MB");
        }
        results.push(result);
    }
    let footprint = match &opts.terminal {
        Some(bin) => {
            let f = terminal::footprint(
                &api,
                &url,
                bin,
                opts.schools * opts.students,
                opts.terminal_students,
                opts.terminal_days,
            )
            .await
            .context("terminal footprint")?;
            println!(
                "\nterminal: roster {}, unsent {}: idle peak RSS {:.1} MB, pushing peak RSS {:.1} MB ({:.1} s to push all)",
                f.roster, f.unsent_meals, f.idle_peak_rss_mb, f.push_peak_rss_mb, f.push_seconds
            );
            Some(f)
        }
        None => None,
    };
    let ratios = ratios(&baselines, &results);
    for (k, v) in &ratios {
        println!("  ratio {k}: {v:.3}");
    }
    let report = Report {
        started_at: started_at.format(&time::format_description::well_known::Rfc3339)?,
        backend,
        pinned,
        schools: opts.schools,
        students_per_school: opts.students,
        terminals_per_school: opts.terminals,
        push_every_ms: opts.push_every_ms,
        seed_seconds,
        list_seconds: world.list_seconds.clone(),
        servers: opts.servers,
        balancer: opts.balancer,
        baselines,
        scenarios: results,
        ratios,
        terminal: footprint,
    };
    if let Some(dir) = opts.out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&opts.out, serde_json::to_vec_pretty(&report)?)
        .with_context(|| format!("writing {}", opts.out.display()))?;
    println!("\nresult written to {}", opts.out.display());
    drop(spawned);
    Ok(())
}

async fn baselines(opts: &Options) -> anyhow::Result<Baselines> {
    let signs = baseline::sign_rate(Duration::from_secs(2))?;
    eprintln!("baseline: bare Ed25519 signing {signs:.0}/s on one core");
    // Removed when dropped, after the baseline.
    let scratch = tempfile::Builder::new().prefix("loadgen-bare-").tempdir()?;
    let target = match &opts.database_url {
        Some(url) => baseline::BareTarget::Postgres(url.clone()),
        None => baseline::BareTarget::Sqlite(scratch.path().join("bare.db")),
    };
    let bare = baseline::bare_insert(&target, opts.students, 50, opts.batch)
        .await
        .context("bare insert baseline")?;
    eprintln!(
        "baseline: bare batched insert {:.0} rows/s ({})",
        bare.rows_per_s, bare.backend
    );
    Ok(Baselines {
        ed25519_signs_per_s: Some(signs),
        bare_insert: Some(bare),
    })
}

fn ratios(b: &Baselines, results: &[ScenarioResult]) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    for r in results {
        let name = serde_json::to_value(r.scenario)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        if let (Some(signs), Some(k)) = (b.ed25519_signs_per_s, r.kinds.get("mint_json")) {
            out.insert(
                format!("{name}: mint_json / bare sign"),
                k.requests_per_s / signs,
            );
        }
        if let (Some(signs), Some(k)) = (b.ed25519_signs_per_s, r.kinds.get("mint_png")) {
            out.insert(
                format!("{name}: mint_png / bare sign"),
                k.requests_per_s / signs,
            );
        }
        if let (Some(bare), Some(k)) = (&b.bare_insert, r.kinds.get("meal_push")) {
            out.insert(
                format!("{name}: meal events / bare insert"),
                k.items_per_s / bare.rows_per_s,
            );
        }
    }
    out
}

async fn run_scenario(
    api: &Api,
    world: &seed::World,
    opts: &Options,
    scenario: Scenario,
    pid: Option<u32>,
) -> anyhow::Result<ScenarioResult> {
    let run = Run::new(api.clone(), Duration::from_secs(opts.duration));
    let mut set = JoinSet::new();
    match scenario {
        Scenario::Mint => scenarios::spawn_mint(
            &mut set,
            &run,
            world,
            opts.concurrency,
            MintMix { png_every: 0 },
        ),
        Scenario::MintPng => scenarios::spawn_mint(
            &mut set,
            &run,
            world,
            opts.concurrency,
            MintMix { png_every: 1 },
        ),
        Scenario::Sync => scenarios::spawn_sync(
            &mut set,
            &run,
            world,
            opts.batch,
            Duration::from_millis(opts.push_every_ms),
        ),
        Scenario::Roster => scenarios::spawn_roster(&mut set, &run, world),
        Scenario::Mixed => {
            scenarios::spawn_mint(
                &mut set,
                &run,
                world,
                opts.concurrency / 2,
                MintMix { png_every: 10 },
            );
            scenarios::spawn_sync(
                &mut set,
                &run,
                world,
                opts.batch,
                Duration::from_millis(opts.push_every_ms),
            );
            scenarios::spawn_tabel(&mut set, &run, world, 2);
        }
    }
    let sampler = pid.map(server::RssSampler::start);
    let bar = progress(&format!("{scenario:?}"), opts.duration);
    let started = Instant::now();
    let ticker = {
        let (run, bar) = (run.clone(), bar.clone());
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(250)).await;
                let done = run.done.load(Ordering::Relaxed);
                let secs = started.elapsed().as_secs_f64().max(1e-3);
                bar.set_position(started.elapsed().as_secs().min(bar.length().unwrap_or(0)));
                bar.set_message(format!("{done} requests, {:.0}/s", done as f64 / secs));
            }
        })
    };
    while let Some(joined) = set.join_next().await {
        joined.context("a load worker panicked")?;
    }
    let seconds = started.elapsed().as_secs_f64();
    ticker.abort();
    bar.finish_and_clear();
    let stats = run
        .stats
        .lock()
        .map_err(|_| anyhow::anyhow!("statistics lock poisoned"))?;
    Ok(ScenarioResult {
        scenario,
        seconds,
        kinds: stats.summary(Duration::from_secs_f64(seconds)),
        server_peak_rss_mb: sampler.as_ref().map(server::RssSampler::peak_mb),
    })
}

fn progress(name: &str, seconds: u64) -> ProgressBar {
    let bar = ProgressBar::new(seconds);
    let style = ProgressStyle::with_template("{prefix:>9} [{bar:30}] {pos}/{len} s  {msg}")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
    bar.set_style(style);
    bar.set_prefix(name.to_string());
    bar
}

/// Entry point for the binary: one single-threaded runtime (one core).
pub fn main_with(opts: Options) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        tokio::select! {
            done = run(opts) => done,
            signal = stop_signal() => bail!("stopped by {signal}"),
        }
    })
}

/// SIGTERM or SIGINT. The run is dropped when one arrives, and with it the servers and
/// the balancer it started (their `Drop` kills them): a script that stops the load
/// generator leaves no server behind. (SIGINT from a terminal reaches them anyway, as
/// they share its process group; SIGTERM from `kill` does not.)
async fn stop_signal() -> &'static str {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = int.recv() => "SIGINT",
    }
}
