//! The mint-limit chapter of the store story: the per-voucher pass count lives in the store,
//! so a new limiter (a restarted process, or another one) sees what was counted, concurrent
//! mints never count past the limit, and past windows are swept out — on every backend.
//! On SQLite a limiter counts in memory and stores behind (one process owns the file), so a
//! process hands over with `flush`, as the server does at a graceful stop.

use std::sync::Arc;

use shared::VoucherId;
use time::macros::datetime;
use time::Duration;
use wallet_server::services::passes::mint::MintLimiter;
use wallet_server::store::{Backend, Store};

const LIMIT: u32 = 5;

/// `second` is another pool on the same database, as another server process would hold.
pub async fn story(store: Arc<dyn Store>, second: Arc<dyn Store>) {
    let window = Duration::minutes(10);
    let t0 = datetime!(2026-11-24 02:00 UTC);
    let voucher = VoucherId::new();
    let limiter = MintLimiter::new(LIMIT, window);
    for i in 0..LIMIT {
        let at = t0 + Duration::seconds(i64::from(i));
        let counted = limiter.check(&store, voucher, at).await;
        assert_eq!(counted.expect("store"), Ok(()), "mint {i}");
    }
    let later = t0 + Duration::minutes(4);
    assert_eq!(
        limiter.check(&store, voucher, later).await.expect("store"),
        Err(Duration::minutes(6)),
        "over the limit, retry when the window ends"
    );

    // A restarted or another process starts with a new limiter: the count is the store's.
    limiter.flush(store.as_ref()).await;
    let restarted = MintLimiter::new(LIMIT, window);
    assert_eq!(
        restarted
            .check(&second, voucher, later)
            .await
            .expect("store"),
        Err(Duration::minutes(6))
    );
    // Other vouchers have their own allowance; the next window starts afresh.
    let other = VoucherId::new();
    assert_eq!(
        restarted.check(&store, other, later).await.expect("store"),
        Ok(())
    );
    let next = t0 + window;
    assert_eq!(
        restarted.check(&store, voucher, next).await.expect("store"),
        Ok(())
    );

    restarted.flush(store.as_ref()).await;

    concurrent_mints_never_pass_the_limit([&store, &second], next).await;

    // A limiter's first mint sweeps the windows before its own, in a task beside the
    // request: the first window's full count goes (a count there starts afresh), and the
    // sweep deletes that new row too.
    swept(&store, t0).await;
    assert!(store.count_mint(voucher, t0, 1).await.expect("count"));
    assert_eq!(store.forget_mint_windows(next).await.expect("sweep"), 1);
    // The current window's count was kept; a fresh voucher's first mint fills its window.
    let other_next = VoucherId::new();
    let counted = [
        store.count_mint(voucher, next, 1).await.expect("count"),
        store.count_mint(other_next, next, 1).await.expect("count"),
        store.count_mint(other_next, next, 1).await.expect("count"),
    ];
    assert_eq!(counted, [false, true, false]);

    // Counts made in memory are stored as "at least": a lower one never overwrites a higher,
    // and another pool (a restarted process) loads them.
    let later_window = next + window;
    let (x, y) = (VoucherId::new(), VoucherId::new());
    for counts in [[(x, 3), (y, 1)], [(x, 2), (y, 4)]] {
        let rows = counts.map(|(v, n)| (v, later_window, n));
        store.store_mint_counts(&rows).await.expect("store counts");
    }
    let mut stored = second
        .mint_counts_in_window(later_window)
        .await
        .expect("load counts");
    stored.sort_by_key(|(_, n)| *n);
    assert_eq!(stored, [(x, 3), (y, 4)]);
}

/// Waits (at most 10 s) until the window starting at `start` holds no count.
async fn swept(store: &Arc<dyn Store>, start: time::OffsetDateTime) {
    for _ in 0..1000 {
        if store
            .mint_counts_in_window(start)
            .await
            .expect("read")
            .is_empty()
        {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("the window of {start} was never swept");
}

/// Many mints of three vouchers at once, half through each pool, with a limiter of its own
/// for each on PostgreSQL (two processes) and one on SQLite (its one process): exactly
/// `LIMIT` of each voucher are counted, however the store batches them (`coalesce.rs`).
async fn concurrent_mints_never_pass_the_limit(
    stores: [&Arc<dyn Store>; 2],
    at: time::OffsetDateTime,
) {
    let vouchers = [VoucherId::new(), VoucherId::new(), VoucherId::new()];
    let one = Arc::new(MintLimiter::new(LIMIT, Duration::minutes(10)));
    let limiters = match stores[0].backend() {
        Backend::Sqlite => [one.clone(), one],
        Backend::Postgres => [
            one,
            Arc::new(MintLimiter::new(LIMIT, Duration::minutes(10))),
        ],
    };
    let mut tasks = Vec::new();
    for i in 0..120 {
        let (store, limiter) = (stores[i % 2].clone(), limiters[i % 2].clone());
        let voucher = vouchers[i % 3];
        tasks.push(tokio::spawn(async move {
            (voucher, limiter.check(&store, voucher, at).await)
        }));
    }
    let mut allowed = std::collections::HashMap::new();
    for task in tasks {
        let (voucher, counted) = task.await.expect("task");
        if counted.expect("store").is_ok() {
            *allowed.entry(voucher).or_insert(0) += 1;
        }
    }
    for voucher in vouchers {
        assert_eq!(
            allowed.get(&voucher),
            Some(&LIMIT),
            "concurrent mints counted"
        );
    }
}
