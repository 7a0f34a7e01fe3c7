//! The terminal's server connection over TLS, against a small rustls server with
//! certificates from CAs this test makes: a server certificate from another CA is refused
//! with a sentence an operator understands, and a terminal with `--client-cert` and
//! `--client-key` presents them to a server that requires one (one without is refused).

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::mpsc::{self, Receiver};
use std::sync::Arc;
use std::time::Duration;

use canteen_terminal::store::DeviceToken;
use canteen_terminal::sync::{HttpServer, Server, ServerError};
use shared::http::test_pki::TestCa;
use shared::http::{ClientTls, Identity, TlsOptions};

/// What the server saw of one connection: whether a client certificate came with a request,
/// or why the connection failed.
type Seen = Result<bool, String>;

/// A TLS server on 127.0.0.1 answering every request `401`; its URL and what it saw.
fn tls_server(config: rustls::ServerConfig) -> (String, Receiver<Seen>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!(
        "https://127.0.0.1:{}",
        listener.local_addr().expect("addr").port()
    );
    let config = Arc::new(config);
    let (tx, seen) = mpsc::channel();
    std::thread::spawn(move || {
        for tcp in listener.incoming().map_while(Result::ok) {
            let _ = tcp.set_read_timeout(Some(Duration::from_secs(5)));
            let conn = rustls::ServerConnection::new(config.clone()).expect("connection");
            let mut tls = rustls::StreamOwned::new(conn, tcp);
            let result = read_head(&mut tls).map(|()| tls.conn.peer_certificates().is_some());
            if result.is_ok() {
                let _ = tls.write_all(
                    b"HTTP/1.1 401 Unauthorized\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                );
                tls.conn.send_close_notify();
                let _ = tls.flush();
            }
            if tx.send(result.map_err(|e| e.to_string())).is_err() {
                break;
            }
        }
    });
    (url, seen)
}

fn read_head(stream: &mut impl Read) -> std::io::Result<()> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        stream.read_exact(&mut byte)?;
        head.push(byte[0]);
    }
    Ok(())
}

/// The terminal's client to `url`, trusting `ca_file` (and the system), with `identity`.
fn terminal(url: &str, ca_file: &Path, identity: Option<Identity>) -> HttpServer {
    let tls = ClientTls::load(&TlsOptions {
        ca_file: Some(ca_file.to_path_buf()),
        identity,
    })
    .expect("terminal TLS settings");
    HttpServer::new(url, Duration::from_secs(5), &tls).expect("client")
}

fn pull(server: &HttpServer) -> Result<(), ServerError> {
    server
        .pull(&DeviceToken::new("token".into()), 0, None)
        .map(drop)
}

#[test]
fn a_server_certificate_from_another_ca_is_refused_in_plain_words() {
    let dir = tempfile::tempdir().expect("tempdir");
    let school_ca = TestCa::new("school CA").expect("CA");
    let other_ca = TestCa::new("someone else's CA").expect("CA");
    let ca_file = school_ca.write(dir.path(), "ca").expect("write");
    let config = other_ca
        .server()
        .expect("leaf")
        .server_config(None)
        .expect("TLS");
    let (url, _seen) = tls_server(config);
    match pull(&terminal(&url, &ca_file, None)) {
        Err(ServerError::Unreachable(why)) => {
            let plain = "the server's TLS certificate is not trusted (issued by an unknown CA";
            assert!(why.starts_with(plain), "{why}");
            assert!(why.contains("UnknownIssuer"), "the details follow: {why}");
        }
        other => panic!("a certificate from another CA was accepted: {other:?}"),
    }
    // The same server trusted through its own CA answers (401 is an answer).
    let own_ca_file = other_ca.write(dir.path(), "other-ca").expect("write");
    assert_eq!(
        pull(&terminal(&url, &own_ca_file, None)),
        Err(ServerError::Unauthorized)
    );
}

#[test]
fn a_client_certificate_is_presented_to_a_server_that_requires_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ca = TestCa::new("school CA").expect("CA");
    let ca_file = ca.write(dir.path(), "ca").expect("write");
    let config = ca
        .server()
        .expect("leaf")
        .server_config(Some(&ca))
        .expect("TLS requiring client certificates");
    let (url, seen) = tls_server(config);
    let (cert_file, key_file) = ca
        .client("terminal 7")
        .expect("client certificate")
        .write(dir.path(), "terminal")
        .expect("write");

    let with = terminal(
        &url,
        &ca_file,
        Some(Identity {
            cert_file,
            key_file,
        }),
    );
    assert_eq!(pull(&with), Err(ServerError::Unauthorized), "TLS held");
    assert_eq!(
        seen.recv_timeout(Duration::from_secs(5)),
        Ok(Ok(true)),
        "the server saw the terminal's certificate"
    );

    match pull(&terminal(&url, &ca_file, None)) {
        Err(ServerError::Unreachable(why)) => assert!(
            why.starts_with("the server requires a client certificate"),
            "{why}"
        ),
        other => panic!("a terminal without a certificate got through: {other:?}"),
    }
    let refused = seen.recv_timeout(Duration::from_secs(5)).expect("seen");
    assert!(refused.is_err(), "{refused:?}");
}
