//! The durable scheduler: due work lives in the `jobs` table, never only in memory.
//!
//! A worker claims due jobs for a lease (`FOR UPDATE SKIP LOCKED` on PostgreSQL, the write
//! lock of `BEGIN IMMEDIATE` on SQLite), runs each job's handler, then marks it done —
//! scheduling a recurring job's next run in the same transaction. A restart loses nothing:
//! jobs that came due while the server was down are simply due; a job whose process died
//! mid-run is claimed again when its lease has passed. Handlers are idempotent (their
//! effects are compare-and-set transitions), so a job run again after a crash between its
//! effect and its completion changes nothing the second time.
//!
//! Time is the injected clock's: after `POST /dev/clock` the demo wakes the scheduler and
//! whatever came due runs at once.

mod handlers;
mod monthly;
mod signals;

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use handlers::{ConsentRemind, ConsentTimeout, DailyReportJob, TabelNotice, VoucherExpiry};
pub use monthly::{MonthlyHandover, MonthlyRemind, MonthlyTimeout};
pub use signals::SignalsJob;

use crate::domain::job::{backoff, JobKind};
use crate::domain::job::{Job, NewJob};
use crate::ports::StallPoint;
use crate::services::Deps;
use crate::store::{Claim, Retry, StoreError};

/// How long a claimed job is its worker's.
pub const LEASE: time::Duration = time::Duration::seconds(60);
/// Attempts before a failing job is given up (and left `failed` with its error).
pub const MAX_ATTEMPTS: i64 = 20;
/// How often the scheduler looks for due jobs when nobody wakes it.
pub const POLL: std::time::Duration = std::time::Duration::from_secs(1);
const BATCH: i64 = 20;

/// Why a job's run failed (it is retried with backoff).
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Invalid(String),
}

/// What a kind of job does. `Ok(next)` completes the job and schedules `next`.
#[async_trait::async_trait]
pub trait JobHandler: Send + Sync {
    async fn run(&self, deps: &Deps, job: &Job) -> Result<Option<NewJob>, JobError>;
}

/// Runs due jobs with the handlers registered for their kinds.
pub struct Scheduler {
    deps: Deps,
    handlers: HashMap<JobKind, Arc<dyn JobHandler>>,
}

impl Scheduler {
    /// A scheduler with the built-in handlers: consent reminders and timeouts, voucher
    /// expiry. Others (the daily report) are added with [`Scheduler::with_handler`].
    pub fn new(deps: Deps) -> Scheduler {
        Scheduler {
            deps,
            handlers: HashMap::new(),
        }
        .with_handler(JobKind::ConsentRemind, Arc::new(ConsentRemind))
        .with_handler(JobKind::ConsentTimeout, Arc::new(ConsentTimeout))
        .with_handler(JobKind::VoucherExpiry, Arc::new(VoucherExpiry))
    }

    pub fn with_handler(mut self, kind: JobKind, handler: Arc<dyn JobHandler>) -> Scheduler {
        self.handlers.insert(kind, handler);
        self
    }

    /// Schedules the recurring jobs that must always exist (today's expiry sweep).
    pub async fn seed(&self) -> Result<(), StoreError> {
        let now = self.deps.clock.now();
        self.deps
            .store
            .schedule_job(&handlers::expiry_sweep(shared::time::service_day(now), now))
            .await?;
        Ok(())
    }

    /// Claims and runs one batch of due jobs; how many were claimed.
    pub async fn tick(&self) -> Result<usize, StoreError> {
        let kinds: Vec<JobKind> = self.handlers.keys().copied().collect();
        let claim = Claim {
            worker: &self.deps.ports.worker_id,
            now: self.deps.clock.now(),
            lease: LEASE,
            limit: BATCH,
        };
        let jobs = self.deps.store.claim_jobs(&kinds, claim).await?;
        for job in &jobs {
            self.run_one(job).await?;
        }
        Ok(jobs.len())
    }

    fn stall_here(&self, point: StallPoint) -> bool {
        self.deps.ports.stall == Some(point)
    }

    async fn run_one(&self, job: &Job) -> Result<(), StoreError> {
        let Some(handler) = self.handlers.get(&job.kind) else {
            return Ok(());
        };
        if self.stall_here(StallPoint::JobBefore(job.kind)) {
            tracing::warn!(kind = %job.kind, id = %job.id, "demo stall: job claimed, not run");
            std::future::pending::<()>().await;
        }
        let worker = &self.deps.ports.worker_id;
        match handler.run(&self.deps, job).await {
            Ok(next) => {
                if self.stall_here(StallPoint::JobAfter(job.kind)) {
                    tracing::warn!(kind = %job.kind, id = %job.id, "demo stall: job run, not completed");
                    std::future::pending::<()>().await;
                }
                let now = self.deps.clock.now();
                let done = self
                    .deps
                    .store
                    .complete_job(job.id, worker, now, next.as_ref())
                    .await?;
                if !done {
                    tracing::warn!(kind = %job.kind, id = %job.id, "job lease lost before completion");
                }
            }
            Err(e) => {
                let now = self.deps.clock.now();
                let give_up = job.attempts >= MAX_ATTEMPTS;
                let error = e.to_string();
                let at = if give_up {
                    now
                } else {
                    now + backoff(job.attempts)
                };
                let retry = Retry {
                    worker,
                    at,
                    error: &error,
                    give_up,
                };
                self.deps.store.retry_job(job.id, &retry).await?;
                tracing::error!(kind = %job.kind, id = %job.id, attempt = job.attempts, give_up,
                    error = %error, "job failed");
            }
        }
        Ok(())
    }

    /// Runs until `stop` turns true: a batch whenever woken, at least every [`POLL`].
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        if let Err(e) = self.seed().await {
            tracing::error!(error = %e, "cannot schedule the recurring jobs");
        }
        loop {
            if *stop.borrow() {
                return;
            }
            match self.tick().await {
                Ok(n) if i64::try_from(n).unwrap_or(0) == BATCH => continue,
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "scheduler tick failed"),
            }
            tokio::select! {
                _ = self.deps.ports.jobs_woken() => {}
                _ = tokio::time::sleep(POLL) => {}
                _ = stop.changed() => {}
            }
        }
    }
}

/// The background workers of a running server: the scheduler and the outbox worker.
pub struct Workers {
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Workers {
    /// Starts `scheduler` and an outbox worker on the store, clock and ports of `deps`.
    pub fn start(deps: &Deps, scheduler: Scheduler) -> Workers {
        let (stop, watch) = watch::channel(false);
        let outbox = crate::ports::outbox::OutboxWorker::new(
            deps.store.clone(),
            deps.clock.clone(),
            deps.ports.clone(),
        );
        let tasks = vec![
            tokio::spawn(scheduler.run(watch.clone())),
            tokio::spawn(outbox.run(watch)),
        ];
        Workers { stop, tasks }
    }

    /// Asks the workers to stop after their current item and waits for them (at most
    /// `grace`; a worker still busy then is aborted — its lease makes the item run again).
    pub async fn stop(self, grace: std::time::Duration) {
        let _ = self.stop.send(true);
        for task in self.tasks {
            let abort = task.abort_handle();
            if tokio::time::timeout(grace, task).await.is_err() {
                abort.abort();
            }
        }
    }
}
