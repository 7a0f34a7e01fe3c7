//! Listens for `voucher_facts` notifications (migration 0018's triggers) and makes this
//! process' represented-voucher cache forget what another process — or this one — changed.
//!
//! The cache answers only while this listener listens: it is switched off (and emptied) the
//! moment the connection is lost, and on again, empty, once `LISTEN` is back, so no change
//! made during a gap is ever missed. The listener has a pool of its own (one connection), outside the store's.

use std::sync::Weak;
use std::time::Duration;

use shared::VoucherId;
use sqlx::postgres::{PgListener, PgPool};

use crate::store::facts_cache::FactsCache;

/// The channel migration 0018 notifies on.
const CHANNEL: &str = "voucher_facts";

/// Pause before reconnecting after a failure.
const RETRY: Duration = Duration::from_secs(1);

/// Runs until the cache is dropped (checked whenever something arrives or fails).
pub(super) async fn run(pool: PgPool, cache: Weak<FactsCache>) {
    loop {
        match listen(&pool).await {
            Ok(mut listener) => {
                let Some(c) = cache.upgrade() else { return };
                c.set_live(true);
                drop(c);
                // `Ok(None)`: the connection was lost (no eager reconnect, so it says so now).
                while let Ok(Some(note)) = listener.try_recv().await {
                    let Some(c) = cache.upgrade() else { return };
                    forget(&c, note.payload());
                }
                tracing::warn!("voucher change listener lost its connection; mints read the database until it is back");
            }
            Err(e) => {
                tracing::warn!(error = %e, "voucher change listener cannot listen; mints read the database")
            }
        }
        let Some(c) = cache.upgrade() else { return };
        c.set_live(false);
        drop(c);
        tokio::time::sleep(RETRY).await;
    }
}

async fn listen(pool: &PgPool) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.eager_reconnect(false);
    listener.listen(CHANNEL).await?;
    Ok(listener)
}

/// The payload names voucher ids, comma-separated; anything else forgets everything.
fn forget(cache: &FactsCache, payload: &str) {
    let ids: Result<Vec<VoucherId>, _> = payload.split(',').map(str::parse).collect();
    match ids {
        Ok(ids) if !payload.is_empty() => cache.forget(ids),
        _ => cache.forget_all(),
    }
}
