//! The TLS listener against real clients: a changed certificate is served to the next
//! connection, a changed pair that does not load keeps the old one. Certificates come from
//! CAs made by the test.

use std::path::Path;
use std::time::Duration;

use shared::http::test_pki::{Leaf, TestCa};
use shared::http::{ClientTls, TlsOptions};

use super::acceptor;
use crate::config::TlsFiles;

/// GET `/` with a fresh client (so a fresh connection) trusting only `ca_file` besides the
/// system's roots; the body or the explained error.
async fn get(url: &str, ca_file: &Path) -> Result<String, String> {
    let tls = ClientTls::load(&TlsOptions {
        ca_file: Some(ca_file.to_path_buf()),
        identity: None,
    })
    .expect("client TLS");
    let client = tls
        .builder()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("client");
    let response = client
        .get(url)
        .send()
        .await
        .map_err(|e| shared::http::explain(&e))?;
    response.text().await.map_err(|e| e.to_string())
}

fn install(leaf: &Leaf, files: &TlsFiles) {
    std::fs::write(&files.cert, &leaf.cert_pem).expect("write certificate");
    std::fs::write(&files.key, &leaf.key_pem).expect("write key");
}

#[tokio::test]
async fn a_renewed_certificate_is_served_to_the_next_connection() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (old_ca, new_ca) = (
        TestCa::new("old CA").expect("CA"),
        TestCa::new("new CA").expect("CA"),
    );
    let old_ca_file = old_ca.write(dir.path(), "old-ca").expect("write");
    let new_ca_file = new_ca.write(dir.path(), "new-ca").expect("write");
    let files = TlsFiles {
        cert: dir.path().join("server.crt"),
        key: dir.path().join("server.key"),
    };
    install(&old_ca.server().expect("leaf"), &files);
    // Checked at every handshake here; CHECK_EVERY in production.
    let tls = acceptor(&files, Duration::ZERO).expect("acceptor");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!(
        "https://127.0.0.1:{}/",
        listener.local_addr().expect("addr").port()
    );
    let app = axum::Router::new().route("/", axum::routing::get(|| async { "ok" }));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(crate::web::listen::serve(listener, app, Some(tls), async {
        let _ = stopped.await;
    }));

    assert_eq!(get(&url, &old_ca_file).await, Ok("ok".into()));

    // A half-done renewal (the new certificate, a key that is not its own) keeps the old pair.
    let renewed = new_ca.server().expect("leaf");
    let stray = new_ca.server().expect("leaf");
    install(
        &Leaf {
            cert_pem: renewed.cert_pem.clone(),
            key_pem: stray.key_pem.clone(),
        },
        &files,
    );
    assert_eq!(get(&url, &old_ca_file).await, Ok("ok".into()));

    install(&renewed, &files);
    assert_eq!(get(&url, &new_ca_file).await, Ok("ok".into()));
    let refused = get(&url, &old_ca_file)
        .await
        .expect_err("the old CA's client");
    assert!(refused.contains("not trusted"), "{refused}");

    let _ = stop.send(());
    server.await.expect("server task").expect("served");
}
