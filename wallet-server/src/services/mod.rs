//! The use cases: what a parent, a school, a terminal or an integration can do, each written
//! once. They take narrow dependencies (the store, a clock, the ports they need), never the
//! web layer's state; the JSON API, the console, the jobs and `--demo` all call these.

use std::sync::Arc;

use shared::time::Clock;

use crate::ports::outbox::{flush, OutboxWorker};
use crate::ports::Ports;
use crate::store::Store;

pub mod calendar;
pub mod cards;
pub mod consent;
pub mod counter;
pub mod enrollment;
pub mod feedback;
pub mod lists;
pub mod meals;
pub mod mint_notes;
pub mod monthly;
pub mod ops;
pub mod passes;
pub mod reports;
pub mod school_terminals;
pub mod signals;
pub mod tabel;
pub mod vouchers;

/// What a use case or a background job may touch: storage, time and the outside world.
/// Narrower use cases take only the parts they need (`&dyn Store`, a `now`).
#[derive(Clone)]
pub struct Deps {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub ports: Arc<Ports>,
}

/// How long a request that queued SMS waits for them to leave before it answers (the rest
/// goes on in the background).
const FLUSH_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

impl Deps {
    /// Delivers what the outbox has due now, waiting at most [`FLUSH_WAIT`].
    pub async fn flush_outbox(&self) {
        let worker = OutboxWorker::new(self.store.clone(), self.clock.clone(), self.ports.clone());
        flush(worker, FLUSH_WAIT).await;
    }
}
