//! The outbox worker keeps quiet hours: an SMS due at night is not claimed (no attempt
//! counted) until 09:00 Astana, and a retry whose backoff ends at night waits for 09:00.
//! Other kinds go out at any hour.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use shared::time::{Clock, ManualClock};
use time::macros::datetime;
use time::OffsetDateTime;
use uuid::Uuid;

use super::OutboxWorker;
use crate::domain::outbox::{OutboxKind, OutboxMessage, OutboxState};
use crate::ports::{DeliveryError, ListPhoneDirectory, MessageSink, Ports, Sms, SmsGateway};
use crate::store::{SqliteStore, Store};

/// A gateway that refuses (for now) its first `fail` SMS, then takes every one.
#[derive(Default)]
struct Gateway {
    fail: usize,
    calls: AtomicUsize,
}

#[async_trait]
impl SmsGateway for Gateway {
    async fn send(&self, _sms: &Sms<'_>) -> Result<(), DeliveryError> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst);
        if n < self.fail {
            return Err(DeliveryError::Retry("busy".into()));
        }
        Ok(())
    }
    fn name(&self) -> &'static str {
        "test"
    }
}

/// A NOBD that takes every report.
struct Nobd;

#[async_trait]
impl MessageSink for Nobd {
    async fn deliver(&self, _m: &OutboxMessage) -> Result<(), DeliveryError> {
        Ok(())
    }
    fn name(&self) -> &'static str {
        "nobd"
    }
}

struct World {
    _dir: tempfile::TempDir,
    store: Arc<dyn Store>,
    clock: Arc<ManualClock>,
    gateway: Arc<Gateway>,
    worker: OutboxWorker,
}

async fn world(at: OffsetDateTime, fail: usize) -> World {
    let dir = tempfile::tempdir().expect("tempdir");
    let store: Arc<dyn Store> = Arc::new(
        SqliteStore::open_file(&dir.path().join("w.db"))
            .await
            .expect("store"),
    );
    let clock = Arc::new(ManualClock::at(at));
    let gateway = Arc::new(Gateway {
        fail,
        ..Gateway::default()
    });
    let mut ports = Ports::new(gateway.clone(), Arc::new(ListPhoneDirectory), "link".into());
    ports.nobd = Some(Arc::new(Nobd));
    let worker = OutboxWorker::new(store.clone(), clock.clone(), Arc::new(ports));
    World {
        _dir: dir,
        store,
        clock,
        gateway,
        worker,
    }
}

async fn state_of(w: &World, id: Uuid) -> (OutboxState, i64, OffsetDateTime) {
    let m = w
        .store
        .outbox_message(id)
        .await
        .expect("read")
        .expect("stored");
    (m.state, m.attempts, m.next_attempt_at)
}

fn due(kind: OutboxKind, at: OffsetDateTime) -> OutboxMessage {
    OutboxMessage {
        kind,
        next_attempt_at: at,
        ..OutboxMessage::sms("77015550000", "text".into(), at)
    }
}

fn set(clock: &ManualClock, to: OffsetDateTime) {
    clock.advance(to - clock.now());
}

#[tokio::test]
async fn an_sms_due_at_night_waits_for_nine_without_an_attempt() {
    let night = datetime!(2026-11-30 21:00 +5);
    let w = world(night, 0).await;
    // Due at 20:59 (a queue that was busy), found at 21:00; a report due at the same time.
    let sms = due(OutboxKind::Sms, datetime!(2026-11-30 20:59 +5));
    let report = OutboxMessage {
        recipient: "nobd".into(),
        ..due(OutboxKind::Report, datetime!(2026-11-30 20:59 +5))
    };
    for m in [&sms, &report] {
        w.store.enqueue_message(m).await.expect("enqueue");
    }
    w.worker.drain().await.expect("drain");
    assert_eq!(state_of(&w, sms.id).await.0, OutboxState::Pending);
    assert_eq!(state_of(&w, sms.id).await.1, 0, "no attempt counted");
    assert_eq!(
        state_of(&w, report.id).await.0,
        OutboxState::Sent,
        "reports are not held"
    );
    set(&w.clock, datetime!(2026-12-01 08:59:59 +5));
    w.worker.drain().await.expect("drain");
    assert_eq!(state_of(&w, sms.id).await.1, 0, "still night at 08:59:59");
    set(&w.clock, datetime!(2026-12-01 09:00 +5));
    w.worker.drain().await.expect("drain");
    assert_eq!(
        state_of(&w, sms.id).await.0,
        OutboxState::Sent,
        "sent at 09:00"
    );
    assert_eq!(w.gateway.calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_retry_whose_backoff_ends_at_night_waits_for_nine() {
    // The gateway is busy at 20:59:50; the backoff would end after 21:00.
    let evening = datetime!(2026-11-30 20:59:50 +5);
    let w = world(evening, 1).await;
    let sms = OutboxMessage::sms("77015550000", "text".into(), evening);
    assert_eq!(
        sms.next_attempt_at, evening,
        "queued in the daytime: at once"
    );
    w.store.enqueue_message(&sms).await.expect("enqueue");
    w.worker.drain().await.expect("drain");
    let nine = datetime!(2026-12-01 09:00 +5);
    assert_eq!(
        state_of(&w, sms.id).await,
        (OutboxState::Pending, 1, nine),
        "the retry is set for the morning"
    );
    // Queued at 23:30: its first attempt is already the morning.
    let late = OutboxMessage::sms("77015550001", "text".into(), datetime!(2026-11-30 23:30 +5));
    assert_eq!(late.next_attempt_at, nine);
    set(&w.clock, nine);
    w.worker.drain().await.expect("drain");
    assert_eq!(state_of(&w, sms.id).await.0, OutboxState::Sent);
}
