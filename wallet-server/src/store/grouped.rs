//! Grouped store work: requests that wait at one moment are run together, in arrival order,
//! in one statement or transaction, and each is answered with its own result afterwards.
//!
//! Why, for writes (group commit, `services::meals`): on SQLite every writer queues on the
//! one write lock, and writers that find it taken sleep in SQLite's busy handler (backing off
//! up to 100 ms), so under a burst the lock sits idle while the queue grows and whoever wakes
//! first wins — unfair and slow (issue 18: 40 terminals pushing at once, p99 2.1 s). One
//! writer per process takes the waiting requests first in, first out and pays one commit
//! (one fsync) per group.
//!
//! Why, for a pass mint's one-row statements (the represented-voucher lookups that miss the
//! cache, the mint counts; `sql/vouchers.rs`, `sql/mint_windows.rs`): at the morning rush
//! hundreds arrive at once, and one statement each cost PostgreSQL more in protocol, commit
//! and loopback traffic than in the query itself (274 µs of its CPU per mint against 59 µs
//! of execution; BENCHMARKS.md, issue 18).
//!
//! Why, for the corrections of late days' reports (`services::meals`): every push of a
//! terminal back from days offline asks for one, and each counts the school's day afresh;
//! one version per day, counting the schools of all that waited, is enough.
//!
//! The first request to arrive while no group is running starts a worker task, which takes
//! what waits (up to [`GroupWork::CAP`] weight, at least one request), runs it, answers
//! each, and goes on until nothing waits: no timer, a lone request runs at once, and groups
//! grow only while one runs (and, for work that sets [`GroupWork::PAUSE`], while the worker
//! rests after it). The worker is a task of its own so that a request dropped
//! midway (a client gone) never strands the others; a write group is still committed and the
//! client's retry gets the stored answers. If a group fails, each of its requests is run
//! again on its own, so one bad request cannot fail the others — unless the database is
//! unreachable, when each gets the group's error at once rather than its own wait.
//! Per process only: several servers on one database still meet in the database (locks and
//! unique indexes), as single writes do.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::oneshot;

use crate::store::StoreError;

/// What is run in groups.
#[async_trait]
pub trait GroupWork: Send + Sync + 'static {
    type Job: Send + 'static;
    type Answer: Send + 'static;
    /// Most weight in one group (a single heavier job still goes alone). The default suits
    /// one-row jobs: 512 rows keep one statement's parameters and parse time small.
    const CAP: usize = 512;
    /// How long the worker rests after a group before it takes the next, so that what
    /// arrives meanwhile makes one group. Zero (the default) for requests someone waits on;
    /// work nobody waits for (report corrections) can trade a little delay for fewer groups.
    const PAUSE: Duration = Duration::ZERO;
    /// What a job weighs against [`Self::CAP`]; one by default.
    fn weight(_job: &Self::Job) -> usize {
        1
    }
    /// Runs `jobs` in one statement or transaction; one answer per job, in order.
    async fn run(&self, jobs: &[Self::Job]) -> Result<Vec<Self::Answer>, StoreError>;
}

type Reply<W> = oneshot::Sender<Result<<W as GroupWork>::Answer, StoreError>>;

struct Queue<W: GroupWork> {
    waiting: VecDeque<(W::Job, Reply<W>)>,
    running: bool,
}

/// The requests of one process waiting to be run by `W`.
pub struct Grouped<W: GroupWork> {
    worker: Arc<W>,
    queue: Arc<Mutex<Queue<W>>>,
}

impl<W: GroupWork> Clone for Grouped<W> {
    fn clone(&self) -> Self {
        Grouped {
            worker: self.worker.clone(),
            queue: self.queue.clone(),
        }
    }
}

impl<W: GroupWork> std::fmt::Debug for Grouped<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Grouped")
            .field("waiting", &self.lock().waiting.len())
            .finish_non_exhaustive()
    }
}

impl<W: GroupWork> Grouped<W> {
    pub fn new(worker: W) -> Self {
        Grouped {
            worker: Arc::new(worker),
            queue: Arc::new(Mutex::new(Queue {
                waiting: VecDeque::new(),
                running: false,
            })),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Queue<W>> {
        // A panic elsewhere while holding the lock must not stop the writes.
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues `job` and waits for its answer, given once its group has run (committed).
    pub async fn submit(&self, job: W::Job) -> Result<W::Answer, StoreError> {
        let (tx, rx) = oneshot::channel();
        let lead = {
            let mut queue = self.lock();
            queue.waiting.push_back((job, tx));
            !std::mem::replace(&mut queue.running, true)
        };
        if lead {
            tokio::spawn(self.clone().run_all());
        }
        // No answer: the worker task died (a bug) before committing or answering.
        rx.await
            .unwrap_or(Err(StoreError::Database(sqlx::Error::WorkerCrashed)))
    }

    /// The next group: the oldest requests up to the cap; empty when nothing waits.
    fn next_group(&self) -> Vec<(W::Job, Reply<W>)> {
        let mut queue = self.lock();
        let mut weight = 0;
        let mut group = Vec::new();
        while let Some((job, _)) = queue.waiting.front() {
            let w = W::weight(job);
            if !group.is_empty() && weight + w > W::CAP {
                break;
            }
            weight += w;
            group.extend(queue.waiting.pop_front());
        }
        if group.is_empty() {
            queue.running = false;
        }
        group
    }

    /// Runs groups until nothing waits.
    async fn run_all(self) {
        let _stop = StopGuard(&self);
        loop {
            let group = self.next_group();
            if group.is_empty() {
                return;
            }
            let (jobs, replies): (Vec<_>, Vec<_>) = group.into_iter().unzip();
            match self.worker.run(&jobs).await {
                Ok(answers) if answers.len() == jobs.len() => {
                    for (reply, answer) in replies.into_iter().zip(answers) {
                        let _ = reply.send(Ok(answer));
                    }
                }
                outcome => self.one_by_one(jobs, replies, outcome.err()).await,
            }
            if !W::PAUSE.is_zero() {
                tokio::time::sleep(W::PAUSE).await;
            }
        }
    }

    /// After a failed group: each request run on its own, answered with its own result.
    async fn one_by_one(&self, jobs: Vec<W::Job>, replies: Vec<Reply<W>>, err: Option<StoreError>) {
        let missing = || StoreError::Corrupt("a group gave no answer for a request".into());
        if jobs.len() == 1 {
            // Alone already: its own error.
            let e = err.unwrap_or_else(missing);
            if let Some(reply) = replies.into_iter().next() {
                let _ = reply.send(Err(e));
            }
            return;
        }
        let err = match err {
            Some(e) if e.is_unavailable() => {
                // Alone, each would only wait for the database again: all get the cause now.
                let e = Arc::new(e);
                for reply in replies {
                    let _ = reply.send(Err(StoreError::Batch(e.clone())));
                }
                return;
            }
            other => other,
        };
        if let Some(e) = &err {
            tracing::warn!(error = %e, requests = jobs.len(), "a group failed; running each on its own");
        }
        for (job, reply) in jobs.into_iter().zip(replies) {
            let alone = self.worker.run(std::slice::from_ref(&job)).await;
            let answer = alone.and_then(|a| a.into_iter().next().ok_or_else(missing));
            let _ = reply.send(answer);
        }
    }
}

/// Should the worker task end by a panic, the waiting requests are answered (with an error,
/// their senders dropped) and the next request starts a new worker.
struct StopGuard<'a, W: GroupWork>(&'a Grouped<W>);

impl<W: GroupWork> Drop for StopGuard<'_, W> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let mut queue = self.0.lock();
            queue.waiting.clear();
            queue.running = false;
        }
    }
}

#[cfg(test)]
#[path = "grouped_tests.rs"]
mod tests;
