//! The NOBD / e-Otinish adapter against a tiny local receiver, and the outbox worker taking
//! reports and complaints to it — only when a URL is configured.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use shared::time::{Clock, ShiftedClock, SystemClock};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use uuid::Uuid;

use super::{HttpPost, MessageSink};
use crate::domain::outbox::{OutboxKind, OutboxMessage, OutboxState};
use crate::ports::outbox::OutboxWorker;
use crate::ports::{DeliveryError, Ports};
use crate::store::{SqliteStore, Store};

/// Statuses to answer, in turn (the last one repeats); returns the URL and requests seen.
async fn receiver(statuses: Vec<u16>) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        let mut n = 0;
        while let Ok((mut conn, _)) = listener.accept().await {
            let request = read_request(&mut conn).await;
            let status = statuses[n.min(statuses.len() - 1)];
            n += 1;
            log.lock().expect("lock").push(request);
            let reply = format!(
                "HTTP/1.1 {status} X\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{{}}"
            );
            let _ = conn.write_all(reply.as_bytes()).await;
        }
    });
    (url, seen)
}

async fn read_request(conn: &mut tokio::net::TcpStream) -> String {
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
    let nobd =
        HttpPost::new("NOBD", &format!("{url}/reports"), Duration::from_secs(5)).expect("client");
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

    let closed = HttpPost::new("NOBD", "http://127.0.0.1:9/reports", Duration::from_secs(2))
        .expect("client");
    assert!(matches!(
        closed.deliver(&m).await,
        Err(DeliveryError::Retry(_))
    ));
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
            HttpPost::new("NOBD", &url, Duration::from_secs(5)).expect("client"),
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
