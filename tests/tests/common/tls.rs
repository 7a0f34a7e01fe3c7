//! `wallet-server` over HTTPS in a test: a CA made at run time (nothing committed), a
//! certificate it issued for `127.0.0.1`, and the server started with `--tls-cert` and
//! `--tls-key` — clients (the test's own, the terminal's `--ca-file`) trust that CA.

use std::path::{Path, PathBuf};

use shared::http::test_pki::TestCa;

use super::Server;

/// The files of a test's own PKI.
pub struct TestTls {
    /// The CA certificate: what `--ca-file` names.
    pub ca_file: PathBuf,
    cert: PathBuf,
    key: PathBuf,
}

impl TestTls {
    /// A new CA and a server certificate, written to `dir`.
    pub fn new(dir: &Path) -> TestTls {
        let ca = TestCa::new("test CA").expect("make a CA");
        let ca_file = ca.write(dir, "test-ca").expect("write the CA certificate");
        let (cert, key) = ca
            .server()
            .expect("issue a server certificate")
            .write(dir, "server")
            .expect("write the server certificate");
        TestTls { ca_file, cert, key }
    }

    /// The server's flags that serve HTTPS with this certificate.
    pub fn server_args(&self) -> Vec<String> {
        vec![
            "--tls-cert".into(),
            self.cert.display().to_string(),
            "--tls-key".into(),
            self.key.display().to_string(),
        ]
    }
}

impl Server {
    /// `wallet-server --demo` over HTTPS on exactly `addr`, reached by a client trusting the
    /// test's CA.
    pub fn demo_tls_at(data_dir: &Path, addr: &str, tls: &TestTls) -> Server {
        let args = || {
            let mut args = vec!["--demo".to_string()];
            args.extend(tls.server_args());
            args
        };
        let server = Server::start_at(data_dir, addr, args, &[]).trusting(&tls.ca_file);
        assert!(server.base.starts_with("https://"), "{}", server.base);
        server
    }
}
