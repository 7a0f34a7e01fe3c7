//! The NOBD / e-Otinish adapter against a tiny local receiver (plain, and over TLS with a CA
//! the test made: trusted through `--ca-file` only), and the outbox worker taking reports and
//! complaints to it — only when a URL is configured.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use shared::http::test_pki::TestCa;
use shared::http::{ClientTls, TlsOptions};
use shared::time::{Clock, ShiftedClock, SystemClock};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio_rustls::TlsAcceptor;
use uuid::Uuid;

use super::{HttpPost, MessageSink};
use crate::domain::outbox::{OutboxKind, OutboxMessage, OutboxState};
use crate::ports::outbox::OutboxWorker;
use crate::ports::{tls, DeliveryError, Ports};
use crate::store::{SqliteStore, Store};

/// Statuses to answer, in turn (the last one repeats); returns the URL and requests seen.
async fn receiver(statuses: Vec<u16>) -> (String, Arc<Mutex<Vec<String>>>) {
    receiver_on(statuses, None).await
}

/// [`receiver`], over TLS when `tls` is set (a failed handshake is no request).
async fn receiver_on(
    statuses: Vec<u16>,
    tls: Option<TlsAcceptor>,
) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let scheme = if tls.is_some() { "https" } else { "http" };
    let url = format!("{scheme}://{}", listener.local_addr().expect("addr"));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        let mut n = 0;
        while let Ok((conn, _)) = listener.accept().await {
            let status = statuses[n.min(statuses.len() - 1)];
            let request = match &tls {
                None => answer(conn, status).await,
                Some(acceptor) => match acceptor.accept(conn).await {
                    Ok(conn) => answer(conn, status).await,
                    Err(_) => continue,
                },
            };
            n += 1;
            log.lock().expect("lock").push(request);
        }
    });
    (url, seen)
}

/// Reads one request and answers `status`; the request.
async fn answer<S: AsyncRead + AsyncWrite + Unpin>(mut conn: S, status: u16) -> String {
    let request = read_request(&mut conn).await;
    let reply =
        format!("HTTP/1.1 {status} X\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{{}}");
    let _ = conn.write_all(reply.as_bytes()).await;
    let _ = conn.shutdown().await;
    request
}

async fn read_request<S: AsyncRead + Unpin>(conn: &mut S) -> String {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let text = String::from_utf8_lossy(&buf).into_owned();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length = head
                .lines()
                .find_map(|l| {
                    l.to_lowercase()
                        .strip_prefix("content-length:")
                        .and_then(|v| v.trim().parse::<usize>().ok())
                })
                .unwrap_or(0);
            if body.len() >= length {
                return text;
            }
        }
        match conn.read(&mut chunk).await {
            Ok(0) | Err(_) => return String::from_utf8_lossy(&buf).into_owned(),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

fn message(kind: OutboxKind, recipient: &str, body: &str) -> OutboxMessage {
    let now = SystemClock.now();
    OutboxMessage {
        id: Uuid::now_v7(),
        kind,
        recipient: recipient.into(),
        body: body.into(),
        state: OutboxState::Pending,
        attempts: 0,
        created_at: now,
        next_attempt_at: now,
        sent_at: None,
    }
}

#[tokio::test]
async fn the_body_is_posted_with_its_idempotency_key_and_answers_are_read() {
    let (url, seen) = receiver(vec![200, 409, 503, 429, 408, 400, 404]).await;
    let nobd = HttpPost::new(
        "NOBD",
        &format!("{url}/reports"),
        Duration::from_secs(5),
        &tls(),
    )
    .expect("client");
    let m = message(
        OutboxKind::Report,
        "nobd",
        r#"{"date":"2026-09-01","schools":[]}"#,
    );
    assert_eq!(nobd.deliver(&m).await, Ok(()));
    assert_eq!(nobd.deliver(&m).await, Ok(()), "409: NOBD already has it");
    for _ in 0..3 {
        assert!(matches!(
            nobd.deliver(&m).await,
            Err(DeliveryError::Retry(_))
        ));
    }
    for _ in 0..2 {
        assert!(matches!(
            nobd.deliver(&m).await,
            Err(DeliveryError::Permanent(e)) if e.contains("NOBD")
        ));
    }
    let first = seen.lock().expect("lock")[0].clone();
    let lower = first.to_lowercase();
    assert!(lower.starts_with("post /reports "), "{first}");
    assert!(
        lower.contains(&format!("idempotency-key: {}", m.id)),
        "{first}"
    );
    assert!(lower.contains("content-type: application/json"), "{first}");
    assert!(first.ends_with(&m.body), "the body goes as it is: {first}");

    let closed = HttpPost::new(
        "NOBD",
        "http://127.0.0.1:9/reports",
        Duration::from_secs(2),
        &tls(),
    )
    .expect("client");
    assert!(matches!(
        closed.deliver(&m).await,
        Err(DeliveryError::Retry(_))
    ));
}

#[tokio::test]
async fn an_https_receiver_is_trusted_through_the_ca_file_only() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ca = TestCa::new("NOBD test CA").expect("CA");
    let server = ca.server().expect("server certificate");
    let config = server.server_config(None).expect("server TLS");
    let (url, seen) = receiver_on(vec![201], Some(TlsAcceptor::from(Arc::new(config)))).await;
    let m = message(OutboxKind::Report, "nobd", r#"{"date":"2026-09-01"}"#);

    let system_only = HttpPost::new("NOBD", &url, Duration::from_secs(5), &tls()).expect("client");
    match system_only.deliver(&m).await {
        Err(DeliveryError::Retry(why)) => assert!(
            why.contains("TLS certificate is not trusted (issued by an unknown CA"),
            "{why}"
        ),
        other => panic!("a certificate from an unknown CA was accepted: {other:?}"),
    }
    assert!(
        seen.lock().expect("lock").is_empty(),
        "no request got through"
    );

    let with_ca = ClientTls::load(&TlsOptions {
        ca_file: Some(ca.write(dir.path(), "ca").expect("write CA")),
        identity: None,
    })
    .expect("TLS with the CA file");
    let nobd = HttpPost::new("NOBD", &url, Duration::from_secs(5), &with_ca).expect("client");
    assert_eq!(nobd.deliver(&m).await, Ok(()));
    let seen = seen.lock().expect("lock");
    assert!(seen[0].ends_with(&m.body), "the body arrived: {seen:?}");
}

/// The outbox worker's parts: a fresh SQLite store, the test's clock and its ports.
struct Parts {
    store: Arc<dyn Store>,
    clock: Arc<ShiftedClock>,
    ports: Arc<Ports>,
}

async fn state(dir: &tempfile::TempDir, ports: Ports, clock: Arc<ShiftedClock>) -> Parts {
    let store = SqliteStore::open_file(&dir.path().join("w.db"))
        .await
        .expect("store");
    Parts {
        store: Arc::new(store),
        clock,
        ports: Arc::new(ports),
    }
}

async fn state_of(store: &Arc<dyn Store>, id: Uuid) -> (OutboxState, i64) {
    let m = store
        .outbox_message(id)
        .await
        .expect("read")
        .expect("stored");
    (m.state, m.attempts)
}

#[tokio::test]
async fn the_worker_delivers_reports_and_complaints_only_where_a_url_is_set() {
    let dir = tempfile::tempdir().expect("tempdir");
    // NOBD answers 503 once (the report), then 201; e-Otinish is not configured.
    let (url, seen) = receiver(vec![503, 201]).await;
    let ports = Ports {
        nobd: Some(Arc::new(
            HttpPost::new("NOBD", &url, Duration::from_secs(5), &tls()).expect("client"),
        )),
        ..Ports::default()
    };
    let clock = Arc::new(ShiftedClock::new());
    let state = state(&dir, ports, clock.clone()).await;
    let report = message(OutboxKind::Report, "nobd", r#"{"date":"2026-09-01"}"#);
    let complaint = message(
        OutboxKind::Complaint,
        "e-otinish",
        r#"{"text":"холодный суп"}"#,
    );
    let notice = message(
        OutboxKind::Notice,
        "school:050140001238",
        r#"{"text":"табель"}"#,
    );
    for m in [&report, &complaint, &notice] {
        state.store.enqueue_message(m).await.expect("enqueue");
    }
    let worker = OutboxWorker::new(
        state.store.clone(),
        state.clock.clone(),
        state.ports.clone(),
    );
    worker.drain().await.expect("drain");
    assert_eq!(
        state_of(&state.store, report.id).await,
        (OutboxState::Pending, 1),
        "503: retried later"
    );
    // Not claimed at all: no adapter, no attempt.
    assert_eq!(
        state_of(&state.store, complaint.id).await,
        (OutboxState::Pending, 0)
    );
    // The табель notice goes to NOBD too (the school's own system), marked as one.
    assert_eq!(
        state_of(&state.store, notice.id).await,
        (OutboxState::Sent, 1)
    );
    // After the backoff the retry is due: it goes with the same key and is recorded sent.
    clock
        .set(SystemClock.now() + crate::domain::job::backoff(1) + time::Duration::seconds(1))
        .expect("forward");
    worker.drain().await.expect("drain");
    assert_eq!(
        state_of(&state.store, report.id).await,
        (OutboxState::Sent, 2)
    );
    let seen = seen.lock().expect("lock").clone();
    assert_eq!(seen.len(), 3);
    let key = format!("idempotency-key: {}", report.id);
    let reports: Vec<String> = seen
        .iter()
        .map(|r| r.to_lowercase())
        .filter(|r| r.contains("x-message-kind: report"))
        .collect();
    assert_eq!(reports.len(), 2);
    assert!(
        reports.iter().all(|r| r.contains(&key)),
        "same key on the retry"
    );
    assert!(seen.iter().any(|r| r
        .to_lowercase()
        .contains(&format!("idempotency-key: {}", notice.id))
        && r.to_lowercase().contains("x-message-kind: notice")));
    worker.drain().await.expect("drain");
    assert_eq!(seen.len(), 3, "a sent report is not sent again");
}
