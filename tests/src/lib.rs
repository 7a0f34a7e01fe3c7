//! Helpers for the end-to-end tests: find (and build once) the real binaries of the
//! workspace, start them as child processes and stop them cleanly.
//!
//! The tests in `tests/tests/` run the programs a user runs — no in-process shortcuts —
//! so they prove the binaries, their flags and their output, not just the libraries.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

/// An HTTP client builder as every client of the project gets one (`shared::http`: rustls
/// on ring, the system's CAs), trusting `ca_file` too when given — a server a test started
/// with a certificate from its own CA. reqwest's own builder has no TLS provider in this
/// build and would panic.
pub fn http_client(ca_file: Option<&std::path::Path>) -> reqwest::ClientBuilder {
    shared::http::ClientTls::load(&shared::http::TlsOptions {
        ca_file: ca_file.map(std::path::Path::to_path_buf),
        identity: None,
    })
    .expect("outbound TLS settings")
    .builder()
}

/// Path of a workspace binary (`wallet-server`, `canteen-terminal`, `firmware-sim`),
/// built with the same profile as the running test on first use — or taken as they are from
/// `TESTS_BIN_DIR` when set (e.g. a benchmark run against release binaries built apart).
pub fn binary(name: &str) -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    let dir = BUILT.get_or_init(|| {
        if let Some(dir) = std::env::var_os("TESTS_BIN_DIR") {
            return PathBuf::from(dir);
        }
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        // target/<profile>/deps/<test-exe> → target/<profile>
        let exe = std::env::current_exe().expect("current test executable");
        let profile_dir = exe
            .parent()
            .and_then(|deps| deps.parent())
            .expect("test executable lives in target/<profile>/deps")
            .to_path_buf();
        let release = profile_dir.file_name().is_some_and(|n| n == "release");
        let mut cmd = Command::new(cargo);
        cmd.args([
            "build",
            "--quiet",
            "-p",
            "wallet-server",
            "-p",
            "canteen-terminal",
            "-p",
            "firmware-sim",
            "--bins",
        ]);
        if release {
            cmd.arg("--release");
        }
        let status = cmd.status().expect("run cargo build for the binaries");
        assert!(status.success(), "building the workspace binaries failed");
        profile_dir
    });
    let path = dir.join(name);
    assert!(path.exists(), "binary {} not found", path.display());
    path
}
pub mod balancer;
pub mod loadgen;

/// A port that was free a moment ago on 127.0.0.1 (the OS picks it; there is a small race
/// with other processes between this call and the bind that uses it).
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local address").port()
}

/// Creates a data directory for a server as the server wants it: owner-only (`0700`), since
/// `wallet-server` refuses a data directory open to group or others.
pub fn private_dir(path: &std::path::Path) {
    shared::private_file::create_dir(path)
        .unwrap_or_else(|e| panic!("creating {}: {e}", path.display()));
}

/// A temporary directory only its owner may enter (`0700`), for a server's data: the server
/// refuses a data directory open to group or others, and `tempfile` makes its directories
/// `0755` under the usual umask.
pub fn private_tempdir() -> tempfile::TempDir {
    private_tempdir_builder()
        .tempdir()
        .expect("a private temporary directory")
}

/// A `tempfile` builder for `0700` directories (loadgen names its directories).
pub fn private_tempdir_builder() -> tempfile::Builder<'static, 'static> {
    let mut builder = tempfile::Builder::new();
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700));
    builder
}
