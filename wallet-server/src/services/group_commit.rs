//! Group commit: requests that wait at one moment are written together, in arrival order,
//! in one write transaction, and each is answered with its own result after the commit.
//!
//! Why: on SQLite every writer queues on the one write lock, and writers that find it taken
//! sleep in SQLite's busy handler (backing off up to 100 ms), so under a burst the lock sits
//! idle while the queue grows and whoever wakes first wins — unfair and slow (issue 18:
//! 40 terminals pushing at once, p99 2.1 s). One writer per process takes the waiting
//! requests first in, first out and pays one commit (one fsync) per group.
//!
//! The first request to arrive while no group is being written starts a writer task, which
//! takes what waits (up to [`GroupWrite::CAP`] weight, at least one request), writes it,
//! answers each, and goes on until nothing waits. The writer is a task of its own so that a
//! request dropped midway (a client gone) never strands the others; its group is still
//! committed and the client's retry gets the stored answers. If a group fails, each of its
//! requests is written again on its own, so one bad request cannot fail the others.
//! Per process only: several servers on one database still meet in the database (locks and
//! unique indexes), as single writes do.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use tokio::sync::oneshot;

use crate::store::StoreError;

/// What is written in groups.
#[async_trait]
pub trait GroupWrite: Send + Sync + 'static {
    type Job: Send + 'static;
    type Answer: Send + 'static;
    /// Most weight in one group (a single heavier job still goes alone).
    const CAP: usize;
    /// What a job weighs against [`Self::CAP`].
    fn weight(job: &Self::Job) -> usize;
    /// Writes `jobs` in one transaction, in order; one answer per job, in order.
    async fn write(&self, jobs: &[Self::Job]) -> Result<Vec<Self::Answer>, StoreError>;
}

type Reply<W> = oneshot::Sender<Result<<W as GroupWrite>::Answer, StoreError>>;

struct Queue<W: GroupWrite> {
    waiting: VecDeque<(W::Job, Reply<W>)>,
    writing: bool,
}

/// The requests of one process waiting to be written by `W`.
pub struct Grouped<W: GroupWrite> {
    writer: Arc<W>,
    queue: Arc<Mutex<Queue<W>>>,
}

impl<W: GroupWrite> Clone for Grouped<W> {
    fn clone(&self) -> Self {
        Grouped {
            writer: self.writer.clone(),
            queue: self.queue.clone(),
        }
    }
}

impl<W: GroupWrite> Grouped<W> {
    pub fn new(writer: W) -> Self {
        Grouped {
            writer: Arc::new(writer),
            queue: Arc::new(Mutex::new(Queue {
                waiting: VecDeque::new(),
                writing: false,
            })),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Queue<W>> {
        // A panic elsewhere while holding the lock must not stop the writes.
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues `job` and waits for its answer, given after its group's commit.
    pub async fn submit(&self, job: W::Job) -> Result<W::Answer, StoreError> {
        let (tx, rx) = oneshot::channel();
        let lead = {
            let mut queue = self.lock();
            queue.waiting.push_back((job, tx));
            !std::mem::replace(&mut queue.writing, true)
        };
        if lead {
            tokio::spawn(self.clone().write_all());
        }
        // No answer: the writer task died (a bug) before committing or answering.
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
            queue.writing = false;
        }
        group
    }

    /// Writes groups until nothing waits.
    async fn write_all(self) {
        let _stop = StopGuard(&self);
        loop {
            let group = self.next_group();
            if group.is_empty() {
                return;
            }
            let (jobs, replies): (Vec<_>, Vec<_>) = group.into_iter().unzip();
            match self.writer.write(&jobs).await {
                Ok(answers) if answers.len() == jobs.len() => {
                    for (reply, answer) in replies.into_iter().zip(answers) {
                        let _ = reply.send(Ok(answer));
                    }
                }
                outcome => self.one_by_one(jobs, replies, outcome.err()).await,
            }
        }
    }

    /// After a failed group: each request written on its own, answered with its own result.
    async fn one_by_one(&self, jobs: Vec<W::Job>, replies: Vec<Reply<W>>, err: Option<StoreError>) {
        let missing = || StoreError::Corrupt("a group write gave no answer for a request".into());
        if jobs.len() == 1 {
            // Alone already: its own error.
            let e = err.unwrap_or_else(missing);
            if let Some(reply) = replies.into_iter().next() {
                let _ = reply.send(Err(e));
            }
            return;
        }
        if let Some(e) = &err {
            tracing::warn!(error = %e, requests = jobs.len(), "a group write failed; writing each on its own");
        }
        for (job, reply) in jobs.into_iter().zip(replies) {
            let alone = self.writer.write(std::slice::from_ref(&job)).await;
            let answer = alone.and_then(|a| a.into_iter().next().ok_or_else(missing));
            let _ = reply.send(answer);
        }
    }
}

/// Should the writer task end by a panic, the waiting requests are answered (with an error,
/// their senders dropped) and the next request starts a new writer.
struct StopGuard<'a, W: GroupWrite>(&'a Grouped<W>);

impl<W: GroupWrite> Drop for StopGuard<'_, W> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let mut queue = self.0.lock();
            queue.waiting.clear();
            queue.writing = false;
        }
    }
}

#[cfg(test)]
#[path = "group_commit_tests.rs"]
mod tests;
