//! Helpers shared by the `wallet-server` end-to-end tests: start the real binary on a free
//! port, read the address it prints, capture its log (stderr) in a file, talk HTTP to it,
//! and stop it when the test ends — whatever happens, every wait is bounded.

// Each test file uses a different part of this module.
#![allow(dead_code)]

pub mod backend;
pub mod canteen;
pub mod drills;
pub mod rush;
pub mod tls;
pub mod wallet;

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use serde_json::Value;
use tempfile::TempDir;

/// Longest wait for the server to print its address.
pub const START_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest wait for any one HTTP exchange.
pub const HTTP_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest wait for the process to exit (after SIGTERM, or a refused start).
pub const EXIT_TIMEOUT: Duration = Duration::from_secs(10);

/// Settings the server reads from the environment: removed so the environment the tests
/// run in cannot change what they see.
const SERVER_ENV: &[&str] = &[
    "WALLET_DEMO",
    "LISTEN_ADDR",
    "DATA_DIR",
    "DATABASE_URL",
    "WALLET_CONFIG",
    "JWT_ISSUER",
    "JWT_AUDIENCE",
    "JWT_ALGORITHM",
    "JWT_PUBLIC_KEY_FILE",
    "JWT_JWKS_FILE",
    "MAX_BODY_BYTES",
    "LOG_FORMAT",
    "RUST_LOG",
    "PASS_KEYS_FILE",
    "PASS_MINT_LIMIT",
    "PASS_MINT_WINDOW_SECS",
    "SMS_GATEWAY_URL",
    "BMG_URL",
    "WALLET_LINK",
    "WALLET_DEMO_STALL",
    "PUBLIC_URL",
    "CONSOLE_OIDC_ISSUER",
    "CONSOLE_OIDC_CLIENT_ID",
    "CONSOLE_OIDC_CLIENT_SECRET",
    "CONSOLE_OIDC_CLIENT_SECRET_FILE",
    "CONSOLE_OIDC_REDIRECT_URL",
    "WALLET_DEMO_CLOCK",
    "PROGRAMME_START",
    "PROGRAMME_END",
];

/// The demo school and the second demo school.
pub const DEMO_SCHOOL_BIN: &str = "050140001238";
pub const DEMO_SCHOOL_NAME: &str = "КГУ «Средняя школа №1» (демо)";
pub const OTHER_SCHOOL_BIN: &str = "070240004567";
/// The demo parent: mother of Айгерим (2А, voucher activated) and Нурлан (7Б, no voucher).
pub const DEMO_PARENT_IIN: &str = "880512412342";

/// Where the tests' story begins: a Tuesday in term time. Every `--demo` server a test starts
/// runs on the story clock (below) unless the test picks its own `--demo-clock`, so the
/// tests tell the same story on whatever day they run (none may depend on the real date).
pub const STORY_START: time::OffsetDateTime = time::macros::datetime!(2026-11-24 10:00 +5);

/// The story clock: [`STORY_START`] at its first reading in this test process, then running
/// with the machine's clock. One timeline for every server of the process, so a restarted
/// server carries on where its predecessor was.
pub fn story_now() -> time::OffsetDateTime {
    static SHIFT: std::sync::OnceLock<time::Duration> = std::sync::OnceLock::new();
    let shift = *SHIFT.get_or_init(|| STORY_START - time::OffsetDateTime::now_utc());
    time::OffsetDateTime::now_utc() + shift
}

/// `args` with `--demo-clock` at [`story_now`] added when they start a `--demo` server
/// without a clock of their own.
fn on_story_clock(args: &[&str]) -> Vec<String> {
    let mut all: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    if args.contains(&"--demo") && !args.contains(&"--demo-clock") {
        let now = story_now()
            .format(&time::format_description::well_known::Rfc3339)
            .expect("an RFC 3339 instant");
        all.extend(["--demo-clock".to_string(), now]);
    }
    all
}

/// A `wallet-server` command with a clean environment, run from `cwd` (so a default
/// `./data` could never land in the repository).
pub fn server_command(cwd: &Path) -> Command {
    let mut cmd = Command::new(tests::binary("wallet-server"));
    for var in SERVER_ENV {
        cmd.env_remove(var);
    }
    cmd.current_dir(cwd).stdin(Stdio::null());
    cmd
}

/// Kills and reaps the child when dropped, so a failing test never leaves a server behind.
struct ChildGuard(Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
        }
        let _ = self.0.wait();
    }
}

/// Waits at most `timeout` for the child to exit.
fn wait_with_timeout(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(25)),
            Ok(None) => return None,
            Err(e) => panic!("waiting for wallet-server: {e}"),
        }
    }
}

/// `http://ADDR` (or `https://ADDR`) from a line like `  listening on http://127.0.0.1:PORT`
/// (demo banner) or `wallet-server listening on https://ADDR`.
fn address_in(line: &str) -> Option<String> {
    let (_, rest) = line.split_once("listening on ")?;
    let url = rest.split_whitespace().next()?;
    let addr = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))?;
    (!addr.is_empty()).then(|| url.to_string())
}

/// A running `wallet-server`.
pub struct Server {
    child: ChildGuard,
    /// `http://127.0.0.1:PORT`
    pub base: String,
    /// What the server printed on stdout at start (the whole banner in `--demo`).
    pub stdout: Vec<String>,
    stderr_path: PathBuf,
    /// Holds the stderr file and serves as the working directory.
    _scratch: TempDir,
    client: reqwest::Client,
}

impl Server {
    /// `wallet-server --demo` on `data_dir`.
    pub fn demo(data_dir: &Path) -> Server {
        Server::start(data_dir, &["--demo"], &[])
    }

    /// `wallet-server --demo` on `data_dir` with its clock starting at `start`, so a story
    /// of fixed dates is the same story on whatever day the test runs.
    pub fn demo_from(data_dir: &Path, start: time::OffsetDateTime) -> Server {
        let start = start
            .format(&time::format_description::well_known::Rfc3339)
            .expect("an RFC 3339 instant");
        Server::start(data_dir, &["--demo", "--demo-clock", &start], &[])
    }

    /// Starts the server on `127.0.0.1:0` with `data_dir`, the extra `args` and `env`, and
    /// waits (bounded) until it prints the address it serves on.
    pub fn start(data_dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Server {
        Server::launch(data_dir, "127.0.0.1:0", args, env)
            .unwrap_or_else(|why| panic!("wallet-server {args:?} {why}"))
    }

    /// The one way a test starts `wallet-server`: listening on `listen`, with `data_dir`,
    /// `args` (on the story clock, see [`on_story_clock`]) and `env`, its stdout read until it
    /// prints the address it serves on, its stderr kept in a file. `Err` (with what it
    /// printed) when it exits before that; a server that neither exits nor prints an address
    /// within [`START_TIMEOUT`] fails the test.
    fn launch(
        data_dir: &Path,
        listen: &str,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Result<Server, String> {
        let scratch = tests::private_tempdir();
        let stderr_path = scratch.path().join("stderr.log");
        let stderr = File::create(&stderr_path).expect("create stderr log");
        let mut cmd = server_command(scratch.path());
        cmd.arg("--listen")
            .arg(listen)
            .arg("--data-dir")
            .arg(data_dir)
            .args(on_story_clock(args))
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(stderr));
        let mut child = cmd.spawn().expect("start wallet-server");
        let out = child.stdout.take().expect("piped stdout");
        let mut child = ChildGuard(child);
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let read_stderr = || std::fs::read_to_string(&stderr_path).unwrap_or_default();
        let deadline = Instant::now() + START_TIMEOUT;
        let mut stdout = Vec::new();
        let base = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match lines.recv_timeout(left) {
                Ok(line) => {
                    let found = address_in(&line);
                    stdout.push(line);
                    if let Some(base) = found {
                        break base;
                    }
                }
                Err(RecvTimeoutError::Timeout) => panic!(
                    "wallet-server {args:?} on {listen} printed no address within \
                     {START_TIMEOUT:?}\nstdout: {stdout:#?}\nstderr:\n{}",
                    read_stderr()
                ),
                Err(RecvTimeoutError::Disconnected) => {
                    let status = wait_with_timeout(&mut child.0, EXIT_TIMEOUT);
                    return Err(format!(
                        "exited before printing its address ({status:?})\nstdout: {stdout:#?}\n\
                         stderr:\n{}",
                        read_stderr()
                    ));
                }
            }
        };
        // The demo banner is printed in one go: the rest of it is already in the pipe.
        let stdout = collect_rest(stdout, &lines);
        let client = Server::client(None);
        Ok(Server {
            child,
            base,
            stdout,
            stderr_path,
            _scratch: scratch,
            client,
        })
    }

    /// The client tests reach the server with: trusting `ca_file` (the test's own CA) when
    /// the server serves HTTPS.
    fn client(ca_file: Option<&Path>) -> reqwest::Client {
        tests::http_client(ca_file)
            .no_proxy()
            .timeout(HTTP_TIMEOUT)
            .build()
            .expect("HTTP client")
    }

    /// This server, reached with a client that trusts `ca_file` (its certificate's CA).
    pub fn trusting(mut self, ca_file: &Path) -> Server {
        self.client = Server::client(Some(ca_file));
        self
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn pid(&self) -> u32 {
        self.child.0.id()
    }

    /// Everything the server logged so far.
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&std::fs::read(&self.stderr_path).unwrap_or_default()).into_owned()
    }

    /// Sends SIGTERM and waits (bounded) for the process to exit; `None` if it did not.
    pub fn terminate(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let status = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -TERM failed: {status}");
        wait_with_timeout(&mut self.child.0, timeout)
    }

    /// Stops the server cleanly (SIGTERM), failing the test if it does not exit with 0.
    pub fn stop(mut self) {
        let status = self.terminate(EXIT_TIMEOUT);
        assert!(
            status.is_some_and(|s| s.success()),
            "wallet-server did not exit cleanly after SIGTERM: {status:?}\nstderr:\n{}",
            self.stderr()
        );
    }

    /// Any request; `json` sets the body and the JSON content type.
    pub async fn request(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        json: Option<&Value>,
    ) -> Resp {
        let mut req = self.client.request(method.clone(), self.url(path));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        if let Some(json) = json {
            req = req.json(json);
        }
        self.send(req, &format!("{method} {path}")).await
    }

    /// Sends a prepared request (for raw bodies and headers).
    pub async fn send(&self, req: reqwest::RequestBuilder, what: &str) -> Resp {
        let resp = req
            .send()
            .await
            .unwrap_or_else(|e| panic!("{what}: {e}\nstderr:\n{}", self.stderr()));
        let status = resp.status().as_u16();
        let content_type = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let headers = resp.headers().clone();
        let bytes = resp
            .bytes()
            .await
            .unwrap_or_else(|e| panic!("{what}: reading the body: {e}"))
            .to_vec();
        Resp {
            what: what.to_string(),
            status,
            content_type,
            text: String::from_utf8_lossy(&bytes).into_owned(),
            headers,
            bytes,
        }
    }

    pub fn builder(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client.request(method, self.url(path))
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Resp {
        self.request(reqwest::Method::GET, path, token, None).await
    }

    pub async fn post_json(&self, path: &str, token: Option<&str>, body: &Value) -> Resp {
        self.request(reqwest::Method::POST, path, token, Some(body))
            .await
    }

    /// `POST /dev/token` (demo only) → the token.
    pub async fn dev_token(&self, body: &Value) -> String {
        let resp = self.post_json("/dev/token", None, body).await;
        let json = resp.ok_json();
        json["token"]
            .as_str()
            .unwrap_or_else(|| panic!("no token in {json}"))
            .to_string()
    }

    pub async fn parent_token(&self, iin: &str) -> String {
        self.dev_token(&serde_json::json!({"sub": iin, "role": "parent"}))
            .await
    }

    pub async fn staff_token(&self, role: &str, school: &str) -> String {
        self.dev_token(&serde_json::json!({"sub": "staff-1", "role": role, "school": school}))
            .await
    }

    pub async fn integration_token(&self) -> String {
        self.dev_token(&serde_json::json!({"sub": "pep", "role": "integration"}))
            .await
    }
}

fn collect_rest(mut stdout: Vec<String>, lines: &Receiver<String>) -> Vec<String> {
    while let Ok(line) = lines.recv_timeout(Duration::from_millis(300)) {
        stdout.push(line);
    }
    stdout
}

/// An HTTP answer, read in full.
#[derive(Debug)]
pub struct Resp {
    pub what: String,
    pub status: u16,
    pub content_type: String,
    /// The body as text (lossy for binary bodies: use `bytes` for those).
    pub text: String,
    pub headers: reqwest::header::HeaderMap,
    pub bytes: Vec<u8>,
}

impl Resp {
    /// A response header as text, if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text)
            .unwrap_or_else(|e| panic!("{}: body is not JSON ({e}): {:?}", self.what, self.text))
    }

    /// Asserts 200 with a JSON body and returns it.
    pub fn ok_json(&self) -> Value {
        assert_eq!(self.status, 200, "{}: {}", self.what, self.text);
        assert!(
            self.content_type.starts_with("application/json"),
            "{}: content type {:?}",
            self.what,
            self.content_type
        );
        self.json()
    }

    /// Asserts the status and exactly `{"error": {"code": CODE, "message": "<non-empty>"}}`.
    pub fn assert_error(&self, status: u16, code: &str) {
        assert_eq!(
            (self.status, self.error_code().as_deref()),
            (status, Some(code)),
            "{}: expected {status} {code}, got {} {}",
            self.what,
            self.status,
            self.text
        );
        assert!(
            self.content_type.starts_with("application/json"),
            "{}: error content type {:?}",
            self.what,
            self.content_type
        );
        let body = self.json();
        let outer = body.as_object().expect("error body is an object");
        assert_eq!(
            outer.keys().collect::<Vec<_>>(),
            ["error"],
            "{}: {body}",
            self.what
        );
        let inner = body["error"].as_object().expect("`error` is an object");
        let mut keys: Vec<_> = inner.keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["code", "message"], "{}: {body}", self.what);
        let message = inner["message"].as_str().expect("message is a string");
        assert!(!message.trim().is_empty(), "{}: empty message", self.what);
    }

    fn error_code(&self) -> Option<String> {
        let body: Value = serde_json::from_str(&self.text).ok()?;
        body["error"]["code"].as_str().map(str::to_string)
    }
}

/// Runs the server with `args` expecting it to refuse to start: returns its exit status
/// and what it printed (stdout then stderr). Fails the test if it is still running after
/// [`START_TIMEOUT`].
pub fn run_expecting_exit(args: &[&str]) -> (ExitStatus, String) {
    let scratch = tests::private_tempdir();
    run_expecting_exit_on(&scratch.path().join("data"), args)
}

/// [`run_expecting_exit`] on the data directory `data_dir`.
pub fn run_expecting_exit_on(data_dir: &Path, args: &[&str]) -> (ExitStatus, String) {
    let scratch = tests::private_tempdir();
    let out_path = scratch.path().join("stdout.log");
    let err_path = scratch.path().join("stderr.log");
    let mut cmd = server_command(scratch.path());
    cmd.arg("--listen")
        .arg("127.0.0.1:0")
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .stdout(File::create(&out_path).expect("stdout file"))
        .stderr(File::create(&err_path).expect("stderr file"));
    let mut child = ChildGuard(cmd.spawn().expect("start wallet-server"));
    let status = wait_with_timeout(&mut child.0, START_TIMEOUT);
    let output = format!(
        "{}{}",
        std::fs::read_to_string(&out_path).unwrap_or_default(),
        std::fs::read_to_string(&err_path).unwrap_or_default()
    );
    let status = status.unwrap_or_else(|| {
        panic!("wallet-server {args:?} should refuse to start but is still running:\n{output}")
    });
    (status, output)
}

/// Base64 (standard alphabet, padded) — for PEM.
pub fn base64_std(data: &[u8]) -> String {
    encode64(
        data,
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
        true,
    )
}

/// Base64url without padding — for JWT segments and JWK members.
pub fn base64_url(data: &[u8]) -> String {
    encode64(
        data,
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
        false,
    )
}

fn encode64(data: &[u8], alphabet: &[u8; 64], pad: bool) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let chars = chunk.len() + 1;
        for i in 0..4 {
            if i < chars {
                out.push(char::from(alphabet[((n >> (18 - 6 * i)) & 63) as usize]));
            } else if pad {
                out.push('=');
            }
        }
    }
    out
}

#[test]
fn base64_matches_rfc4648_vectors() {
    let vectors = [
        ("", ""),
        ("f", "Zg=="),
        ("fo", "Zm8="),
        ("foo", "Zm9v"),
        ("foob", "Zm9vYg=="),
        ("fooba", "Zm9vYmE="),
        ("foobar", "Zm9vYmFy"),
    ];
    for (plain, encoded) in vectors {
        assert_eq!(base64_std(plain.as_bytes()), encoded);
        assert_eq!(base64_url(plain.as_bytes()), encoded.trim_end_matches('='));
    }
    assert_eq!(base64_url(&[0xfb, 0xff]), "-_8");
}
