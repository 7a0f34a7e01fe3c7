//! The server under test: started by the load generator on its own core (`taskset`) — one,
//! or several on one PostgreSQL sharing one data directory (as `--demo` servers behind a
//! balancer must: they share the demo's signing key) — or an already running one; its
//! resident memory sampled from `/proc`.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};

use super::client::Api;

/// `wallet-server --demo` child processes; killed when dropped.
pub struct Spawned {
    children: Vec<Child>,
    /// Each server's own address, in start order.
    pub urls: Vec<String>,
    pub pids: Vec<u32>,
    data: tempfile::TempDir,
}

impl Drop for Spawned {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Whether `taskset` can pin processes here.
pub fn can_pin() -> bool {
    Command::new("taskset")
        .arg("-V")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Pins this process (all its threads) to CPU `cpu`.
pub fn pin_self(cpu: usize) -> anyhow::Result<()> {
    let status = Command::new("taskset")
        .args([
            "-a",
            "-p",
            "-c",
            &cpu.to_string(),
            &std::process::id().to_string(),
        ])
        .stdout(Stdio::null())
        .status()
        .context("running taskset")?;
    if !status.success() {
        bail!("taskset could not pin the load generator");
    }
    Ok(())
}

/// Starts `servers` × `binary --demo`, each on a free port, on one fresh data directory,
/// pinned to `cpu` when given, one after the other (the first seeds the demo), each waited
/// for until ready.
pub async fn spawn(
    binary: &Path,
    servers: usize,
    database_url: Option<&str>,
    cpu: Option<usize>,
    extra: &[String],
) -> anyhow::Result<Spawned> {
    let data = crate::private_tempdir_builder()
        .prefix("loadgen-server-")
        .tempdir()?;
    let mut spawned = Spawned {
        children: Vec::new(),
        urls: Vec::new(),
        pids: Vec::new(),
        data,
    };
    for n in 1..=servers.max(1) {
        let port = crate::free_port();
        let mut cmd = match cpu {
            Some(cpu) => {
                let mut c = Command::new("taskset");
                c.args(["-c", &cpu.to_string()]).arg(binary);
                c
            }
            None => Command::new(binary),
        };
        let log = spawned.data.path().join(format!("server-{n}.log"));
        cmd.arg("--demo")
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .arg("--data-dir")
            .arg(spawned.data.path())
            .args(["--log-format", "json"])
            .args(extra)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log)?);
        if let Some(url) = database_url {
            cmd.args(["--database-url", url]);
        }
        let child = cmd
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        spawned.pids.push(child.id());
        spawned.children.push(child);
        let url = format!("http://127.0.0.1:{port}");
        spawned.urls.push(url.clone());
        wait_ready(&url, &log).await?;
    }
    Ok(spawned)
}

async fn wait_ready(url: &str, log: &Path) -> anyhow::Result<()> {
    let api = Api::new(url)?;
    for _ in 0..600 {
        if api.ready().await {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!(
        "the server did not become ready in 60 s (log: {})",
        log.display()
    )
}

pub fn rss_bytes(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Samples the peak RSS of `pid` every 100 ms until dropped.
pub struct RssSampler {
    pub peak: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl RssSampler {
    pub fn start(pid: u32) -> RssSampler {
        let peak = Arc::new(AtomicU64::new(rss_bytes(pid).unwrap_or(0)));
        let p = peak.clone();
        let task = tokio::spawn(async move {
            loop {
                if let Some(rss) = rss_bytes(pid) {
                    p.fetch_max(rss, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
        RssSampler { peak, task }
    }

    pub fn peak_mb(&self) -> f64 {
        self.peak.load(Ordering::Relaxed) as f64 / (1024.0 * 1024.0)
    }
}

impl Drop for RssSampler {
    fn drop(&mut self) {
        self.task.abort();
    }
}
