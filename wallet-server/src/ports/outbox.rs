//! The outbox delivery worker: takes due messages from the durable outbox to the adapter of
//! their kind — SMS to the `SmsGateway`, reports to NOBD and complaints to e-Otinish (each a
//! `MessageSink`) — retrying with exponential backoff, until the adapter acknowledges or
//! refuses them.
//!
//! Exactly-once, as far as a network allows: a message is claimed for a lease before it is
//! sent, so no two workers send it at once; once the gateway acknowledged it, it is marked
//! `sent` and never claimed again. If the process dies between the acknowledgement and that
//! record, the lease runs out and the message is sent again *with the same idempotency key*
//! (its id), which the gateway uses to drop the duplicate.
//!
//! SMS keep quiet hours (09:00–21:00 Astana, [`quiet_hours`]): at night the worker does not
//! claim them, and a failed SMS's retry that would fall in the night is set for the morning.
//!
//! A kind is claimed only when its adapter exists: without `NOBD_URL` reports, statuses and
//! табель notices, and without `EOTINISH_URL` complaints, stay `pending` (never marked sent by
//! a stand-in). Notices are also shown in the school console, whatever their delivery.

use std::sync::Arc;

use shared::time::Clock;
use time::OffsetDateTime;
use tokio::sync::watch;

use super::{mask_phone, DeliveryError, Ports, Sms};
use crate::domain::job::backoff;
use crate::domain::outbox::{OutboxKind, OutboxMessage};
use crate::domain::quiet_hours;
use crate::ports::StallPoint;
use crate::store::{Claim, Retry, Store, StoreError};

/// How long a claimed message is this worker's (longer than the gateway timeout).
pub const LEASE: time::Duration = time::Duration::seconds(60);
/// Attempts before a message is marked `failed`.
pub const MAX_ATTEMPTS: i64 = 10;
/// How often the worker looks for due messages when nobody wakes it.
pub const POLL: std::time::Duration = std::time::Duration::from_secs(1);
const BATCH: i64 = 20;

/// Delivers the outbox's messages.
#[derive(Clone)]
pub struct OutboxWorker {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    ports: Arc<Ports>,
}

impl OutboxWorker {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, ports: Arc<Ports>) -> OutboxWorker {
        OutboxWorker {
            store,
            clock,
            ports,
        }
    }

    /// The kinds this worker can deliver at `now`: SMS (in the daytime only, see
    /// [`quiet_hours`]), and those whose sink is configured. An SMS due at night is not
    /// claimed, so it waits for the morning with no attempt counted.
    fn kinds(&self, now: OffsetDateTime) -> Vec<OutboxKind> {
        std::iter::once(OutboxKind::Sms)
            .chain(
                [
                    OutboxKind::Report,
                    OutboxKind::Status,
                    OutboxKind::Notice,
                    OutboxKind::Complaint,
                    OutboxKind::Activations,
                ]
                .into_iter()
                .filter(|k| self.ports.sink(*k).is_some()),
            )
            .filter(|k| quiet_hours::may_deliver(*k, now))
            .collect()
    }

    /// Claims a batch of due messages and delivers them; how many were claimed.
    pub async fn pass(&self) -> Result<usize, StoreError> {
        let now = self.clock.now();
        let claim = Claim {
            worker: &self.ports.worker_id,
            now,
            lease: LEASE,
            limit: BATCH,
        };
        let claimed = self.store.claim_messages(&self.kinds(now), claim).await?;
        for message in &claimed {
            self.deliver(message).await?;
        }
        Ok(claimed.len())
    }

    /// Delivers everything due now (batch after batch).
    pub async fn drain(&self) -> Result<(), StoreError> {
        while self.pass().await? == usize::try_from(BATCH).unwrap_or(usize::MAX) {}
        Ok(())
    }

    /// Hands a message to the adapter of its kind: (outcome, adapter name).
    async fn send(&self, m: &OutboxMessage) -> (Result<(), DeliveryError>, &'static str) {
        if m.kind == OutboxKind::Sms {
            let sms = Sms {
                id: m.id,
                to: &m.recipient,
                text: &m.body,
            };
            return (self.ports.sms.send(&sms).await, self.ports.sms.name());
        }
        match self.ports.sink(m.kind) {
            Some(sink) => (sink.deliver(m).await, sink.name()),
            None => (
                Err(DeliveryError::Retry(format!(
                    "no adapter for {} messages",
                    m.kind
                ))),
                "none",
            ),
        }
    }

    async fn deliver(&self, m: &OutboxMessage) -> Result<(), StoreError> {
        // Phone numbers are masked in logs; other recipients (`nobd`, `e-otinish`) are names.
        let to = match m.kind {
            OutboxKind::Sms => mask_phone(&m.recipient),
            _ => m.recipient.clone(),
        };
        let (outcome, adapter) = self.send(m).await;
        let (error, give_up) = match outcome {
            Ok(()) => {
                if self.ports.stall == Some(StallPoint::OutboxAfterSend) {
                    // The crash tests wait for this very line.
                    tracing::warn!(id = %m.id, kind = %m.kind,
                        "demo stall: SMS acknowledged, not yet recorded");
                    std::future::pending::<()>().await;
                }
                self.store.message_sent(m.id, self.clock.now()).await?;
                tracing::info!(id = %m.id, kind = %m.kind, %to, attempt = m.attempts,
                    adapter, "outbox message delivered");
                return Ok(());
            }
            Err(DeliveryError::Retry(e)) => (e, m.attempts >= MAX_ATTEMPTS),
            Err(DeliveryError::Permanent(e)) => (e, true),
        };
        let now = self.clock.now();
        let retry = Retry {
            worker: &self.ports.worker_id,
            // A retry whose backoff ends in the night waits for the morning.
            at: if give_up {
                now
            } else {
                quiet_hours::first_delivery(m.kind, now + backoff(m.attempts))
            },
            error: &error,
            give_up,
        };
        self.store.message_retry(m.id, &retry).await?;
        tracing::warn!(id = %m.id, kind = %m.kind, %to, attempt = m.attempts,
            give_up, %error, "outbox message not delivered");
        Ok(())
    }

    /// Runs until `stop` turns true: a pass whenever woken, at least every [`POLL`].
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        loop {
            if *stop.borrow() {
                return;
            }
            if let Err(e) = self.drain().await {
                tracing::error!(error = %e, "outbox delivery pass failed");
            }
            tokio::select! {
                _ = self.ports.outbox_woken() => {}
                _ = tokio::time::sleep(POLL) => {}
                _ = stop.changed() => {}
            }
        }
    }
}

/// Delivers what is due now, waiting at most `wait`: a request that queued SMS answers
/// after they left (with a slow gateway, the rest goes on in the background).
pub async fn flush(worker: OutboxWorker, wait: std::time::Duration) {
    let ports = worker.ports.clone();
    let task = tokio::spawn(async move { worker.drain().await });
    match tokio::time::timeout(wait, task).await {
        Ok(Ok(Ok(()))) => {}
        Ok(Ok(Err(e))) => tracing::error!(error = %e, "outbox delivery failed"),
        Ok(Err(e)) => tracing::error!(error = %e, "outbox delivery task failed"),
        Err(_) => ports.wake_outbox(),
    }
}

#[cfg(test)]
#[path = "outbox_tests.rs"]
mod tests;
