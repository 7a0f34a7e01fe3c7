//! Both binaries speak systemd's notify protocol, as their packaged units (`Type=notify`,
//! `WatchdogSec=`) expect: `READY=1` once serving, then `WATCHDOG=1` at half the timeout
//! systemd armed, for as long as the main loop runs; the server says `STOPPING=1` on
//! SIGTERM. The test plays systemd: it binds the notify socket, starts the real binaries with
//! `NOTIFY_SOCKET` and `WATCHDOG_USEC`, and reads the datagrams.

use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Watchdog timeout the test arms: pings are due every 200 ms.
const WATCHDOG_USEC: &str = "400000";
/// Longest wait for readiness (the demo server seeds its school first).
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// The fake service manager's end of `NOTIFY_SOCKET`.
struct Manager {
    socket: UnixDatagram,
}

impl Manager {
    fn bind(path: &Path) -> Self {
        let socket = UnixDatagram::bind(path).expect("bind the notify socket");
        Self { socket }
    }

    /// Messages until `wanted` arrives (which is included); fails after `timeout`.
    fn until(&self, wanted: &str, timeout: Duration, child: &mut Child) -> Vec<String> {
        let deadline = Instant::now() + timeout;
        let mut seen = Vec::new();
        let mut buf = [0u8; 4096];
        while !seen.iter().any(|m: &String| m.lines().any(|l| l == wanted)) {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "no {wanted} within {timeout:?}; got {seen:?}"
            );
            if let Ok(Some(status)) = child.try_wait() {
                panic!("the binary exited ({status}) before {wanted}; got {seen:?}");
            }
            self.socket
                .set_read_timeout(Some(left.min(Duration::from_millis(500))))
                .expect("read timeout");
            if let Ok(n) = self.socket.recv(&mut buf) {
                seen.push(String::from_utf8_lossy(&buf[..n]).into_owned());
            }
        }
        seen
    }

    /// Counts `WATCHDOG=1` pings during `window`.
    fn pings_during(&self, window: Duration, child: &mut Child) -> usize {
        let mut pings = 0;
        let end = Instant::now() + window;
        while Instant::now() < end {
            let seen = self.until("WATCHDOG=1", Duration::from_secs(5), child);
            pings += seen
                .iter()
                .filter(|m| m.lines().any(|l| l == "WATCHDOG=1"))
                .count();
        }
        pings
    }
}

/// Kills and reaps the child when the test ends, however it ends.
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(mut command: Command, socket: &Path) -> Reaped {
    command
        .env("NOTIFY_SOCKET", socket)
        .env("WATCHDOG_USEC", WATCHDOG_USEC)
        .env_remove("WATCHDOG_PID")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    Reaped(command.spawn().expect("start the binary"))
}

#[test]
fn the_server_says_ready_pings_the_watchdog_and_says_stopping() {
    let dir = tests::private_tempdir();
    let socket = dir.path().join("notify");
    let manager = Manager::bind(&socket);
    let mut server = Command::new(tests::binary("wallet-server"));
    server.args(["--demo", "--listen", "127.0.0.1:0", "--data-dir"]);
    server.arg(dir.path().join("data"));
    let mut child = start(server, &socket);

    manager.until("READY=1", READY_TIMEOUT, &mut child.0);
    // 2 s at one ping per 200 ms: about 10; fewer than 5 means pings are not at half the
    // timeout.
    let pings = manager.pings_during(Duration::from_secs(2), &mut child.0);
    assert!(pings >= 5, "only {pings} watchdog pings in 2 s");

    let status = Command::new("kill")
        .args(["-TERM", &child.0.id().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success());
    manager.until("STOPPING=1", Duration::from_secs(10), &mut child.0);
}

#[test]
fn the_terminal_says_ready_and_its_decision_loop_pings_the_watchdog() {
    let dir = tests::private_tempdir();
    let socket = dir.path().join("notify");
    let manager = Manager::bind(&socket);
    let mut terminal = Command::new(tests::binary("canteen-terminal"));
    // No server answers on port 9 and no scanner is plugged in: the terminal still runs
    // (offline, waiting for its device), which is exactly when the watchdog matters.
    terminal.args([
        "--server",
        "http://127.0.0.1:9",
        "--school",
        "000000000000",
        "--ui",
        "plain",
        "--qr-port",
    ]);
    terminal.arg(dir.path().join("no-such-scanner"));
    terminal.arg("--db").arg(dir.path().join("terminal.db"));
    let mut child = start(terminal, &socket);

    manager.until("READY=1", READY_TIMEOUT, &mut child.0);
    let pings = manager.pings_during(Duration::from_secs(2), &mut child.0);
    assert!(pings >= 5, "only {pings} watchdog pings in 2 s");
}
