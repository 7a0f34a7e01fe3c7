//! HAProxy (Debian's package) in front of several `wallet-server`s, as a deployment runs
//! them: each caller's requests to one server (a consistent hash of the `Authorization`
//! header, so that its token check and voucher stay in that server's caches; round robin
//! for requests without one), each server health-checked on `GET /readyz` every 200 ms (out
//! after two failures, back after two successes), a failed connection retried on another
//! server. It runs in the foreground as the test's child; its stats socket says which
//! servers are UP and which DOWN.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::free_port;

/// A running HAProxy balancing over `servers` (`127.0.0.1:PORT` each, named `s1`, `s2`…).
pub struct Balancer {
    child: Child,
    /// `http://127.0.0.1:PORT`: where clients send their requests.
    pub base: String,
    dir: TempDir,
}

/// The configuration: what the README's example says, on loopback ports.
pub fn config(listen: &str, servers: &[String], socket: &Path) -> String {
    let backends: String = servers
        .iter()
        .enumerate()
        .map(|(i, addr)| format!("    server s{} {addr} check\n", i + 1))
        .collect();
    format!(
        "global\n    stats socket {} mode 600 level admin\n\n\
         defaults\n    mode http\n    timeout connect 1s\n    timeout client 30s\n\
         \x20   timeout server 30s\n    retries 2\n    option redispatch\n\n\
         frontend wallet\n    bind {listen}\n    default_backend wallet_servers\n\n\
         backend wallet_servers\n    balance hdr(Authorization)\n    hash-type consistent\n\
         \x20   option httpchk GET /readyz\n\
         \x20   http-check expect status 200\n    default-server inter 200ms fall 2 rise 2\n\
         {backends}",
        socket.display()
    )
}

impl Balancer {
    /// `None` when HAProxy is not installed (the caller skips or fails, as it requires).
    /// `cpu`: pin it there (the load generator keeps it off the servers' core).
    pub fn start(servers: &[String], cpu: Option<usize>) -> Option<Balancer> {
        let binary = which_haproxy()?;
        let dir = crate::private_tempdir();
        let listen = format!("127.0.0.1:{}", free_port());
        let cfg = dir.path().join("haproxy.cfg");
        let text = config(&listen, servers, &dir.path().join("stats.sock"));
        std::fs::write(&cfg, text).expect("write haproxy.cfg");
        let log = std::fs::File::create(dir.path().join("haproxy.log")).expect("haproxy log");
        let mut command = match cpu {
            Some(cpu) => {
                let mut c = Command::new("taskset");
                c.args(["-c", &cpu.to_string()]).arg(binary);
                c
            }
            None => Command::new(binary),
        };
        let child = command
            .arg("-db")
            .arg("-f")
            .arg(&cfg)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("start haproxy");
        let balancer = Balancer {
            child,
            base: format!("http://{listen}"),
            dir,
        };
        balancer.wait_until(Duration::from_secs(10), |states| {
            states.len() == servers.len()
        });
        Some(balancer)
    }

    /// Each server's status as HAProxy's stats say it (`UP`, `DOWN`, `UP 1/2`…), by name.
    pub fn states(&self) -> Vec<(String, String)> {
        let Ok(mut socket) = UnixStream::connect(self.dir.path().join("stats.sock")) else {
            return Vec::new();
        };
        let mut csv = String::new();
        let asked = socket
            .write_all(b"show stat\n")
            .and_then(|()| socket.read_to_string(&mut csv));
        if asked.is_err() {
            return Vec::new();
        }
        // `# pxname,svname,…,status(18th),…`: the server rows of the backend.
        csv.lines()
            .filter(|l| l.starts_with("wallet_servers,s"))
            .filter_map(|l| {
                let fields: Vec<&str> = l.split(',').collect();
                Some((fields.get(1)?.to_string(), fields.get(17)?.to_string()))
            })
            .collect()
    }

    /// The status of server `name` (`s1`…); empty when the stats do not answer.
    pub fn state_of(&self, name: &str) -> String {
        self.states()
            .into_iter()
            .find(|(n, _)| n == name)
            .map(|(_, s)| s)
            .unwrap_or_default()
    }

    /// Polls the stats until `done` holds (at most `timeout`, else the test fails); how long
    /// that took.
    pub fn wait_until(
        &self,
        timeout: Duration,
        done: impl Fn(&[(String, String)]) -> bool,
    ) -> Duration {
        let started = Instant::now();
        loop {
            let states = self.states();
            if done(&states) {
                return started.elapsed();
            }
            assert!(
                started.elapsed() < timeout,
                "HAProxy's stats never got there within {timeout:?}: {states:?}\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Everything HAProxy printed.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("haproxy.log")).unwrap_or_default()
    }
}

impl Drop for Balancer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `haproxy` on the `PATH` or in Debian's `/usr/sbin`.
fn which_haproxy() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin")])
        .map(|dir| dir.join("haproxy"))
        .find(|candidate| candidate.exists())
}
