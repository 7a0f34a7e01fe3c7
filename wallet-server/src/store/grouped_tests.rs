//! Grouped work against a fake worker: groups in arrival order under the cap, each
//! request answered with its own result, a failed group run again one by one (unless the
//! database is out of reach).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use async_trait::async_trait;

use super::{GroupWork, Grouped};
use crate::store::StoreError;

/// Doubles numbers; a group containing a negative number fails, and so does a negative
/// number on its own; a group containing 0 finds the database unreachable. Records every group it is asked to write.
#[derive(Default)]
struct Doubler {
    groups: Mutex<Vec<Vec<i64>>>,
    /// Writes begun (before the gate).
    started: AtomicUsize,
    /// Holds the first write until released, so that the others queue behind it.
    gate: tokio::sync::Mutex<()>,
}

#[async_trait]
impl GroupWork for Doubler {
    type Job = i64;
    type Answer = i64;
    const CAP: usize = 10;

    fn weight(job: &i64) -> usize {
        job.unsigned_abs() as usize
    }

    async fn run(&self, jobs: &[i64]) -> Result<Vec<i64>, StoreError> {
        self.started.fetch_add(1, Ordering::SeqCst);
        let _open = self.gate.lock().await;
        self.groups.lock().expect("groups").push(jobs.to_vec());
        if jobs.contains(&0) {
            // Zero stands for the database being out of reach.
            return Err(StoreError::Database(sqlx::Error::PoolTimedOut));
        }
        if jobs.iter().any(|j| *j < 0) {
            return Err(StoreError::Conflict {
                current: "negative".into(),
            });
        }
        Ok(jobs.iter().map(|j| j * 2).collect())
    }
}

/// Submits `jobs` while the writer is held at its gate, then releases it.
async fn burst(jobs: &[i64]) -> (Vec<Result<i64, StoreError>>, Vec<Vec<i64>>) {
    let grouped = Grouped::new(Doubler::default());
    let gate = grouped.worker.gate.lock().await;
    let mut tasks = Vec::new();
    for (i, &job) in jobs.iter().enumerate() {
        let g = grouped.clone();
        tasks.push(tokio::spawn(async move { g.submit(job).await }));
        // Arrival order is submission order: the first is taken by the writer (held at the
        // gate), the others queue behind it.
        while !(grouped.worker.started.load(Ordering::SeqCst) == 1
            && grouped.lock().waiting.len() == i)
        {
            tokio::task::yield_now().await;
        }
    }
    drop(gate);
    let mut answers = Vec::new();
    for t in tasks {
        answers.push(t.await.expect("task"));
    }
    let groups = grouped.worker.groups.lock().expect("groups").clone();
    (answers, groups)
}

#[tokio::test]
async fn waiting_requests_are_written_together_in_order_under_the_cap() {
    let (answers, groups) = burst(&[1, 2, 3, 4, 5, 6, 7]).await;
    let doubled: Vec<i64> = answers.into_iter().map(|a| a.expect("answer")).collect();
    assert_eq!(doubled, vec![2, 4, 6, 8, 10, 12, 14]);
    // The first went alone (the writer started at once); then groups of at most 10.
    assert_eq!(
        groups,
        vec![vec![1], vec![2, 3, 4], vec![5], vec![6], vec![7]]
    );
}

#[tokio::test]
async fn a_failed_group_is_written_one_by_one_and_only_the_bad_request_fails() {
    let (answers, groups) = burst(&[1, 2, -3, 4]).await;
    assert_eq!(answers[0].as_ref().ok(), Some(&2));
    assert_eq!(answers[1].as_ref().ok(), Some(&4));
    assert!(matches!(answers[2], Err(StoreError::Conflict { .. })));
    assert_eq!(answers[3].as_ref().ok(), Some(&8));
    assert_eq!(
        groups,
        vec![vec![1], vec![2, -3, 4], vec![2], vec![-3], vec![4]]
    );
}

#[tokio::test]
async fn a_group_that_finds_the_database_unreachable_is_not_run_again_one_by_one() {
    let (answers, groups) = burst(&[1, 2, 0, 4]).await;
    assert_eq!(answers[0].as_ref().ok(), Some(&2));
    for answer in &answers[1..] {
        let e = answer.as_ref().expect_err("unreachable");
        assert!(e.is_unavailable(), "each gets the cause: {e}");
    }
    assert_eq!(groups, vec![vec![1], vec![2, 0, 4]]);
}

#[tokio::test]
async fn a_request_heavier_than_the_cap_goes_alone() {
    let (answers, groups) = burst(&[1, 25, 2]).await;
    assert!(answers.iter().all(|a| a.is_ok()));
    assert_eq!(groups, vec![vec![1], vec![25], vec![2]]);
}

#[tokio::test]
async fn the_writer_stops_when_nothing_waits_and_starts_again() {
    let grouped = Grouped::new(Doubler::default());
    assert_eq!(grouped.submit(3).await.expect("first"), 6);
    assert!(!grouped.lock().running, "the writer task ended");
    assert_eq!(grouped.submit(4).await.expect("second"), 8);
}

/// Records when each group ran; rests [`Rester::PAUSE`] after each.
#[derive(Default)]
struct Rester {
    groups: Mutex<Vec<(Vec<i64>, tokio::time::Instant)>>,
}

#[async_trait]
impl GroupWork for Rester {
    type Job = i64;
    type Answer = i64;
    const PAUSE: std::time::Duration = std::time::Duration::from_secs(1);

    async fn run(&self, jobs: &[i64]) -> Result<Vec<i64>, StoreError> {
        let now = tokio::time::Instant::now();
        self.groups
            .lock()
            .expect("groups")
            .push((jobs.to_vec(), now));
        Ok(jobs.to_vec())
    }
}

#[tokio::test(start_paused = true)]
async fn a_resting_worker_runs_a_lone_request_at_once_and_gathers_the_next_ones() {
    let grouped = Grouped::new(Rester::default());
    let start = tokio::time::Instant::now();
    assert_eq!(grouped.submit(1).await.expect("first"), 1);
    let mut tasks = Vec::new();
    for job in [2, 3, 4] {
        // Spread over the rest: each arrives while the worker rests after the first.
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        let g = grouped.clone();
        tasks.push(tokio::spawn(async move { g.submit(job).await }));
    }
    for (t, job) in tasks.into_iter().zip([2, 3, 4]) {
        assert_eq!(t.await.expect("task").expect("answer"), job);
    }
    let groups = grouped.worker.groups.lock().expect("groups").clone();
    let runs: Vec<(Vec<i64>, std::time::Duration)> =
        groups.into_iter().map(|(g, at)| (g, at - start)).collect();
    assert_eq!(
        runs,
        vec![
            (vec![1], std::time::Duration::ZERO),
            (vec![2, 3, 4], std::time::Duration::from_secs(1)),
        ]
    );
    // Without work the worker ends after its rest, and a new request runs at once again.
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    assert!(!grouped.lock().running, "the worker ended");
    let before = tokio::time::Instant::now();
    assert_eq!(grouped.submit(5).await.expect("later"), 5);
    let last = grouped
        .worker
        .groups
        .lock()
        .expect("groups")
        .last()
        .cloned();
    assert_eq!(last, Some((vec![5], before)));
}
