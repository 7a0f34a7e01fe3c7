//! Concurrent one-key store calls answered by one statement per batch.
//!
//! At the morning rush every pass mint asks two one-row questions (whose voucher is this,
//! may it mint one more), hundreds at once. One statement each cost PostgreSQL more in
//! protocol, commit and loopback traffic than in the query itself: 274 µs of its CPU per
//! mint against 59 µs of execution (BENCHMARKS.md, issue 18). A [`Coalesce`] queues the
//! calls that arrive while a batch runs and answers all of them with the next one.
//!
//! No timer and no added wait: a call that finds a slot free starts a batch at once (a
//! batch of one when the server is quiet), and batches grow only while the slots are
//! busy. Each batch runs in a task of its own, so a caller that goes away (its client hung
//! up) never takes the answers of the others with it.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::{oneshot, OwnedSemaphorePermit, Semaphore};

use super::StoreError;

/// Batches running at once: one in flight and one filling is enough to keep the database
/// busy; more would only split the queue into smaller batches.
const SLOTS: usize = 2;

/// Most calls in one statement (its arrays, its result).
const MAX_BATCH: usize = 512;

type Answer<V> = oneshot::Sender<Result<V, StoreError>>;
type BatchFuture<V> = Pin<Box<dyn Future<Output = Result<Vec<V>, StoreError>> + Send>>;
type RunBatch<K, V> = Box<dyn Fn(Vec<K>) -> BatchFuture<V> + Send + Sync>;

/// Runs calls with key `K` in batches; `run` answers a batch's keys with one value each,
/// in their order.
pub(crate) struct Coalesce<K, V> {
    inner: Arc<Inner<K, V>>,
}

struct Inner<K, V> {
    queue: Mutex<Vec<(K, Answer<V>)>>,
    slots: Arc<Semaphore>,
    run: RunBatch<K, V>,
}

impl<K, V> std::fmt::Debug for Coalesce<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Coalesce")
            .field("free_slots", &self.inner.slots.available_permits())
            .finish_non_exhaustive()
    }
}

impl<K: Send + 'static, V: Send + 'static> Coalesce<K, V> {
    /// `run(on.clone(), keys)` answers a batch (`on`: the pool it runs on).
    pub(crate) fn new<P, F, Fut>(on: P, run: F) -> Self
    where
        P: Clone + Send + Sync + 'static,
        F: Fn(P, Vec<K>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Vec<V>, StoreError>> + Send + 'static,
    {
        Coalesce {
            inner: Arc::new(Inner {
                queue: Mutex::new(Vec::new()),
                slots: Arc::new(Semaphore::new(SLOTS)),
                run: Box::new(move |keys| Box::pin(run(on.clone(), keys))),
            }),
        }
    }

    /// The answer for `key`, from the batch it joins.
    pub(crate) async fn call(&self, key: K) -> Result<V, StoreError> {
        let (answer, answered) = oneshot::channel();
        self.inner.lock().push((key, answer));
        if let Ok(slot) = self.inner.slots.clone().try_acquire_owned() {
            tokio::spawn(Inner::run_batches(self.inner.clone(), slot));
        }
        // Every queued call is taken by a running batch: a runner looks at the queue again
        // after giving its slot back (`run_batches`).
        answered
            .await
            .unwrap_or_else(|_| Err(StoreError::Corrupt("a batch ended unanswered".into())))
    }
}

impl<K: Send + 'static, V: Send + 'static> Inner<K, V> {
    fn lock(&self) -> MutexGuard<'_, Vec<(K, Answer<V>)>> {
        // A panic elsewhere while holding the lock leaves a queue that is still a queue.
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn take(&self) -> Vec<(K, Answer<V>)> {
        let mut queue = self.lock();
        let at = queue.len().min(MAX_BATCH);
        let rest = queue.split_off(at);
        std::mem::replace(&mut *queue, rest)
    }

    /// Runs batches while calls are queued, holding a slot.
    async fn run_batches(self: Arc<Self>, slot: OwnedSemaphorePermit) {
        let mut slot = Some(slot);
        loop {
            let batch = self.take();
            if batch.is_empty() {
                drop(slot.take());
                // A call queued after the take above may have found no free slot: look
                // again now that this one is free.
                if self.lock().is_empty() {
                    return;
                }
                match self.slots.clone().try_acquire_owned() {
                    Ok(again) => {
                        slot = Some(again);
                        continue;
                    }
                    // Another runner holds a slot and will look before it stops.
                    Err(_) => return,
                }
            }
            let (keys, answers): (Vec<K>, Vec<Answer<V>>) = batch.into_iter().unzip();
            let asked = keys.len();
            match (self.run)(keys).await {
                Ok(values) if values.len() == asked => {
                    for (answer, value) in answers.into_iter().zip(values) {
                        // The caller may have gone: nothing to tell it.
                        let _ = answer.send(Ok(value));
                    }
                }
                Ok(values) => {
                    let e = format!("a batch of {asked} was answered {} times", values.len());
                    for answer in answers {
                        let _ = answer.send(Err(StoreError::Corrupt(e.clone())));
                    }
                }
                Err(e) => {
                    let e = Arc::new(e);
                    for answer in answers {
                        let _ = answer.send(Err(StoreError::Batch(e.clone())));
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Doubles each key, counting statements and the largest batch.
    fn doubler() -> (Coalesce<u32, u32>, Arc<(AtomicUsize, AtomicUsize)>) {
        let seen = Arc::new((AtomicUsize::new(0), AtomicUsize::new(0)));
        let coalesce = Coalesce::new(seen.clone(), |seen, keys: Vec<u32>| async move {
            seen.0.fetch_add(1, Ordering::SeqCst);
            seen.1.fetch_max(keys.len(), Ordering::SeqCst);
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            Ok(keys.into_iter().map(|k| k * 2).collect())
        });
        (coalesce, seen)
    }

    #[tokio::test]
    async fn a_lone_call_runs_at_once_and_gets_its_own_answer() {
        let (coalesce, seen) = doubler();
        assert_eq!(coalesce.call(21).await.expect("answer"), 42);
        assert_eq!(seen.0.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_calls_share_statements_and_each_gets_its_answer() {
        let (coalesce, seen) = doubler();
        let coalesce = Arc::new(coalesce);
        let calls: Vec<_> = (0..1000u32)
            .map(|k| {
                let c = coalesce.clone();
                tokio::spawn(async move { (k, c.call(k).await) })
            })
            .collect();
        for call in calls {
            let (k, answer) = call.await.expect("joined");
            assert_eq!(answer.expect("answer"), k * 2);
        }
        let statements = seen.0.load(Ordering::SeqCst);
        assert!(statements < 100, "{statements} statements for 1,000 calls");
        assert!(seen.1.load(Ordering::SeqCst) <= MAX_BATCH);
    }

    #[tokio::test]
    async fn a_failed_batch_fails_every_call_in_it_and_the_next_batch_runs() {
        let fail = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let coalesce = Arc::new(Coalesce::new(
            fail.clone(),
            |fail, keys: Vec<u32>| async move {
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                if fail.load(Ordering::SeqCst) {
                    Err(StoreError::Database(sqlx::Error::PoolTimedOut))
                } else {
                    Ok(keys)
                }
            },
        ));
        let calls: Vec<_> = (0..10u32)
            .map(|k| {
                let c = coalesce.clone();
                tokio::spawn(async move { c.call(k).await })
            })
            .collect();
        for call in calls {
            let e = call.await.expect("joined").expect_err("failed");
            assert!(e.is_unavailable(), "the cause carries over: {e}");
        }
        fail.store(false, Ordering::SeqCst);
        assert_eq!(coalesce.call(7).await.expect("answer"), 7);
    }

    #[tokio::test]
    async fn a_caller_that_goes_away_leaves_the_others_answered() {
        let (coalesce, _) = doubler();
        let coalesce = Arc::new(coalesce);
        let gone = {
            let c = coalesce.clone();
            tokio::spawn(async move { c.call(1).await })
        };
        let stays = {
            let c = coalesce.clone();
            tokio::spawn(async move { c.call(2).await })
        };
        tokio::task::yield_now().await;
        gone.abort();
        assert_eq!(stays.await.expect("joined").expect("answer"), 4);
    }
}
